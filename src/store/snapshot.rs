//! What a scrape captured (pointers to packed blocks, plus the sources of families that changed
//! since packing) and the iterator that writes it out, plain or gzip, without any lock.
//!
//! Output is family-major: for each kind with objects, for each family, the HELP/TYPE lines
//! once and then that family's run from every block. Plain runs of at least [`SHARE_MIN`] bytes
//! go to hyper as slices of the packed buffer (no copy); cold runs (their fragment alone held)
//! are decoded into the chunk being filled; gzip output is one gzip member whose
//! deflate stream splices each unchanged run's cached fragment as it is and compresses
//! everything else on the fly.

use std::collections::VecDeque;
use std::ops::Range;
use std::sync::Arc;

use bytes::Bytes;

use super::block::{Bits, Packed, RunLines, Source};
use super::gzip::{Inflater, MemberWriter, StreamWriter};
use crate::exposition::Format;
use crate::families::FamilyHeader;

/// Shared runs at least this long are sent as they are; shorter ones are copied into a chunk.
const SHARE_MIN: usize = 16 * 1024;

/// Content coding of a scrape body.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Encoding {
    /// No compression.
    Identity,
    /// Gzip (one member).
    Gzip,
}

/// A block as captured by a snapshot.
pub(super) struct BlockView {
    pub packed: Arc<Packed>,
    /// Present when some family's run no longer matches the slots.
    pub changes: Option<Box<Changes>>,
}

/// The families that changed since packing and where every object's current lines are.
pub(super) struct Changes {
    pub changed: Bits,
    pub sources: Box<[Source]>,
}

pub(super) struct KindSnapshot {
    pub headers: Arc<[FamilyHeader]>,
    pub blocks: Vec<BlockView>,
    pub objects: usize,
}

/// A consistent view for one scrape, written out in chunks without holding any lock.
pub struct Snapshot {
    kinds: Vec<KindSnapshot>,
    /// The families in output order, each with the kinds whose lines it gathers.
    sections: Vec<Section>,
}

/// One family of the output: its HELP/TYPE once, then its lines from every kind that has a
/// family of that name (custom resources configured with the same metric name share one; KSM
/// would print the header twice and split the family, which parsers reject).
struct Section {
    /// `(kind, family)` indexes, in kind order; the first one's header is printed.
    sources: Vec<(usize, usize)>,
    /// Whether any source kind holds an object (KSM prints a kind's headers only then).
    has_objects: bool,
}

/// A place in the output: a block's run of one source of one section.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct Cursor {
    section: usize,
    source: usize,
    block: usize,
}

impl Snapshot {
    /// Orders the captured kinds' families into sections: kind by kind, family by family, a
    /// family whose name an earlier kind already has joining that kind's section.
    pub(super) fn new(kinds: Vec<KindSnapshot>) -> Snapshot {
        let mut sections: Vec<Section> = Vec::new();
        let mut by_name: std::collections::HashMap<&str, usize> = std::collections::HashMap::new();
        for (k, kind) in kinds.iter().enumerate() {
            for (f, header) in kind.headers.iter().enumerate() {
                let has_objects = kind.objects > 0;
                match by_name.get(&*header.name) {
                    Some(&at) => {
                        sections[at].sources.push((k, f));
                        sections[at].has_objects |= has_objects;
                    }
                    None => {
                        by_name.insert(&header.name, sections.len());
                        sections.push(Section {
                            sources: vec![(k, f)],
                            has_objects,
                        });
                    }
                }
            }
        }
        Snapshot { kinds, sections }
    }

    /// Streams the exposition in chunks of about `chunk_size` bytes.
    pub fn into_chunks(self, format: Format, encoding: Encoding, chunk_size: usize) -> SnapshotChunks {
        SnapshotChunks::new(Arc::new(self), format, encoding, chunk_size, Cursor::default(), None)
    }

    /// Cuts the plain exposition into consecutive segments of about `segment_bytes`, each its own
    /// chunk iterator: written by several threads at once, their outputs concatenated in order are
    /// exactly [`Snapshot::into_chunks`]'s (decoding cold runs is the cost of a plain scrape, and
    /// this spreads it over the cores there are).
    pub fn into_segments(self, format: Format, chunk_size: usize, segment_bytes: usize) -> Vec<SnapshotChunks> {
        let mut starts = vec![Cursor::default()];
        let mut size = 0;
        for (section, s) in self.sections.iter().enumerate().filter(|(_, s)| s.has_objects) {
            for (source, &(kind, family)) in s.sources.iter().enumerate() {
                for (block, view) in self.kinds[kind].blocks.iter().enumerate() {
                    if size >= segment_bytes {
                        starts.push(Cursor { section, source, block });
                        size = 0;
                    }
                    size += view.packed.run_len(family);
                }
            }
        }
        let snapshot = Arc::new(self);
        let ends = starts.iter().skip(1).map(|c| Some(*c)).chain([None]);
        starts
            .iter()
            .zip(ends)
            .map(|(start, end)| {
                SnapshotChunks::new(snapshot.clone(), format, Encoding::Identity, chunk_size, *start, end)
            })
            .collect()
    }

    /// Writes the whole exposition into one buffer (for `render` and tests).
    pub fn to_bytes(self, format: Format) -> Vec<u8> {
        let mut out = Vec::new();
        for chunk in self.into_chunks(format, Encoding::Identity, 1 << 20) {
            out.extend_from_slice(&chunk);
        }
        out
    }

    /// Number of objects captured.
    pub fn object_count(&self) -> usize {
        self.kinds.iter().map(|k| k.objects).sum()
    }
}

/// Collects output into chunks; owns the compressors of a gzip scrape.
struct Writer {
    encoding: Encoding,
    chunk_size: usize,
    out: Vec<u8>,
    ready: VecDeque<Bytes>,
    /// The gzip stream: bytes between cached fragments compressed on the fly.
    stream: StreamWriter,
    /// Compresses a run whose fragment the background compressor has not made yet.
    fragments: MemberWriter,
    /// Decodes cold runs for plain scrapes.
    inflater: Inflater,
    plain_bytes: usize,
}

impl Writer {
    fn new(encoding: Encoding, chunk_size: usize) -> Self {
        Writer {
            encoding,
            chunk_size,
            out: Vec::with_capacity(chunk_size + 4096),
            ready: VecDeque::new(),
            stream: StreamWriter::default(),
            fragments: MemberWriter::default(),
            inflater: Inflater::default(),
            plain_bytes: 0,
        }
    }

    fn bytes(&mut self, data: &[u8]) {
        if data.is_empty() {
            return;
        }
        self.plain_bytes += data.len();
        match self.encoding {
            Encoding::Identity => self.out.extend_from_slice(data),
            Encoding::Gzip => self.stream.write(data, &mut self.out),
        }
        if self.out.len() >= self.chunk_size {
            self.flush();
        }
    }

    fn run(&mut self, packed: &Packed, f: usize) {
        let Some(lines) = packed.run_lines(f) else {
            return;
        };
        let shared = match (self.encoding, lines) {
            (Encoding::Identity, RunLines::Hot(bytes)) => bytes,
            (Encoding::Identity, RunLines::Cold(fragment)) => {
                // Decoded straight into the chunk being filled, whatever its size: one frame
                // per chunk rather than per run keeps the hand-offs to the connection few.
                let len = fragment.plain_len();
                let at = self.out.len();
                self.out.resize(at + len, 0);
                self.inflater.inflate_into(&fragment, &mut self.out[at..]);
                self.plain_bytes += len;
                if self.out.len() >= self.chunk_size {
                    self.flush();
                }
                return;
            }
            (Encoding::Gzip, lines) => {
                let fragment = match lines {
                    RunLines::Cold(fragment) => fragment,
                    RunLines::Hot(_) => match packed.gzip_fragment(f, &mut self.fragments) {
                        Some(fragment) => fragment,
                        None => return,
                    },
                };
                self.plain_bytes += fragment.plain_len();
                self.stream.splice(&fragment, &mut self.out);
                let deflate = fragment.deflate();
                self.share(deflate);
                return;
            }
        };
        self.plain_bytes += shared.len();
        self.share(shared);
    }

    /// Sends `shared` as its own frame when large, else copies it into the chunk being filled.
    fn share(&mut self, shared: Bytes) {
        if shared.len() >= SHARE_MIN {
            self.flush();
            self.ready.push_back(shared);
        } else {
            self.out.extend_from_slice(&shared);
            if self.out.len() >= self.chunk_size {
                self.flush();
            }
        }
    }

    /// Family `f` of a block whose run changed: every object's current lines, with runs of
    /// consecutive packed objects copied as one slice.
    fn scatter(&mut self, packed: &Packed, sources: &[Source], f: usize) {
        let bytes = packed.run(f);
        let mut pending: Range<usize> = 0..0;
        for source in sources {
            match source {
                Source::Packed(i) => {
                    let r = packed.object(f, *i as usize);
                    if r.is_empty() {
                        continue;
                    }
                    if pending.end == r.start {
                        pending.end = r.end;
                    } else {
                        self.bytes(&bytes[pending]);
                        pending = r;
                    }
                }
                Source::Loose(lines) => {
                    self.bytes(&bytes[std::mem::replace(&mut pending, 0..0)]);
                    self.bytes(lines.family(f));
                }
            }
        }
        self.bytes(&bytes[pending]);
    }

    fn flush(&mut self) {
        if !self.out.is_empty() {
            let chunk = std::mem::replace(&mut self.out, Vec::with_capacity(self.chunk_size + 4096));
            self.ready.push_back(chunk.into());
        }
    }

    fn finish(&mut self) {
        if self.encoding == Encoding::Gzip {
            self.stream.finish(&mut self.out);
        }
        self.flush();
    }
}

/// Iterator over a snapshot's exposition chunks (all of it, or one segment).
pub struct SnapshotChunks {
    snapshot: Arc<Snapshot>,
    format: Format,
    writer: Writer,
    at: Cursor,
    header_done: bool,
    finished: bool,
    /// Where the next segment starts (`None`: this one runs to the end).
    stop: Option<Cursor>,
}

impl SnapshotChunks {
    fn new(
        snapshot: Arc<Snapshot>,
        format: Format,
        encoding: Encoding,
        chunk_size: usize,
        start: Cursor,
        stop: Option<Cursor>,
    ) -> Self {
        SnapshotChunks {
            snapshot,
            format,
            writer: Writer::new(encoding, chunk_size),
            at: start,
            // A segment starting inside a section continues it: the header came before.
            header_done: start.source > 0 || start.block > 0,
            finished: false,
            stop,
        }
    }

    /// Uncompressed bytes produced so far.
    pub fn plain_bytes(&self) -> usize {
        self.writer.plain_bytes
    }

    /// Writes output until at least one chunk is ready or the end is reached.
    fn step(&mut self) {
        if self.stop == Some(self.at) {
            self.writer.flush();
            self.finished = true;
            return;
        }
        let SnapshotChunks {
            snapshot,
            format,
            writer,
            at,
            header_done,
            finished,
            stop,
        } = self;
        let Some(section) = snapshot.sections.get(at.section) else {
            if *format == Format::OpenMetrics {
                writer.bytes(b"# EOF\n");
            }
            writer.finish();
            *finished = true;
            return;
        };
        let next_section = |at: &mut Cursor, header_done: &mut bool| {
            *at = Cursor {
                section: at.section + 1,
                source: 0,
                block: 0,
            };
            *header_done = false;
        };
        if !section.has_objects {
            next_section(at, header_done);
            return;
        }
        let Some(&(kind, family)) = section.sources.get(at.source) else {
            next_section(at, header_done);
            return;
        };
        let current = &snapshot.kinds[kind];
        if !*header_done {
            let (k, f) = section.sources[0];
            let header = &snapshot.kinds[k].headers[f];
            writer.bytes(match format {
                Format::Text => &header.text,
                Format::OpenMetrics => &header.openmetrics,
            });
            *header_done = true;
        }
        // The block of this source where the next segment starts, if it does.
        let stop_block = stop
            .filter(|s| s.section == at.section && s.source == at.source)
            .map(|s| s.block);
        while let Some(view) = current.blocks.get(at.block)
            && writer.ready.is_empty()
            && stop_block != Some(at.block)
        {
            match &view.changes {
                Some(changes) if changes.changed.get(family) => writer.scatter(&view.packed, &changes.sources, family),
                _ => writer.run(&view.packed, family),
            }
            at.block += 1;
        }
        if at.block >= current.blocks.len() {
            at.source += 1;
            at.block = 0;
        }
    }
}

impl Iterator for SnapshotChunks {
    type Item = Bytes;

    fn next(&mut self) -> Option<Bytes> {
        loop {
            if let Some(chunk) = self.writer.ready.pop_front() {
                return Some(chunk);
            }
            if self.finished {
                return None;
            }
            self.step();
        }
    }
}
