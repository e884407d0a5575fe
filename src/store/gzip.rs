//! Gzip (RFC 1952) around raw deflate, written here so precompressed pieces can be spliced.
//!
//! A scrape body is one gzip member whose deflate stream is assembled from [`Fragment`]s —
//! each packed run compressed once, on its own, ending byte-aligned with a sync flush and no
//! final block — and the bytes between them (headers, changed runs), compressed on the fly.
//! Before a fragment the on-the-fly compressor is sync-flushed and reset, so nothing refers back
//! across a splice; the trailer's CRC-32 is combined from the pieces' CRCs.
//!
//! A fragment is also the only copy of a cold run's lines (see `block.rs`): it is stored with an
//! empty final block after the sync flush, which makes it a complete raw deflate stream that
//! [`Inflater`] decodes in one call (libdeflate, about twice zlib's speed) into a buffer of the
//! known size; splicing leaves those two bytes out. One member rather
//! than concatenated members, because curl, browsers and many libraries stop at the end of the
//! first member (Go's `gzip.Reader` in Prometheus would not).

use bytes::Bytes;
use flate2::{Compress, Compression, FlushCompress, Status};

/// An empty final fixed-Huffman block: appended to a byte-aligned sync-flushed stream, it ends
/// the stream without adding output.
const FINAL_EMPTY_BLOCK: [u8; 2] = [0x03, 0x00];

/// Member header: deflate, no flags, no mtime, no extra flags, OS unknown.
const HEADER: [u8; 10] = [0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff];

/// Writes gzip members into caller-owned buffers, at the fast level the scrape path always used.
pub struct MemberWriter {
    deflate: Compress,
    crc: crc32fast::Hasher,
    len: u32,
    open: bool,
}

impl Default for MemberWriter {
    fn default() -> Self {
        MemberWriter {
            deflate: Compress::new(Compression::fast(), false),
            crc: crc32fast::Hasher::new(),
            len: 0,
            open: false,
        }
    }
}

impl MemberWriter {
    /// Compresses `data` into `out`, starting a member if none is open.
    pub fn write(&mut self, data: &[u8], out: &mut Vec<u8>) {
        if !self.open {
            out.extend_from_slice(&HEADER);
            self.open = true;
        }
        self.crc.update(data);
        // ISIZE is the length modulo 2^32 by definition.
        self.len = self.len.wrapping_add(data.len() as u32);
        deflate_into(&mut self.deflate, data, out, FlushCompress::None);
    }

    /// Ends the open member (or writes an empty one when none is open) and resets for the next.
    pub fn finish(&mut self, out: &mut Vec<u8>) {
        if !self.open {
            out.extend_from_slice(&HEADER);
        }
        deflate_into(&mut self.deflate, &[], out, FlushCompress::Finish);
        let crc = std::mem::take(&mut self.crc).finalize();
        out.extend_from_slice(&crc.to_le_bytes());
        out.extend_from_slice(&self.len.to_le_bytes());
        self.deflate.reset();
        self.len = 0;
        self.open = false;
    }

    /// `data` as a [`Fragment`] (the writer must have no member open).
    pub fn fragment(&mut self, data: &[u8]) -> Fragment {
        let mut out = Vec::with_capacity(data.len() / 4 + 64);
        deflate_into(&mut self.deflate, data, &mut out, FlushCompress::Sync);
        self.deflate.reset();
        out.extend_from_slice(&FINAL_EMPTY_BLOCK);
        let mut crc = crc32fast::Hasher::new();
        crc.update(data);
        Fragment {
            stream: Bytes::from(out.into_boxed_slice()),
            crc,
        }
    }

    /// One complete member holding `data`.
    #[cfg(test)]
    pub fn member(&mut self, data: &[u8]) -> Vec<u8> {
        let mut out = Vec::with_capacity(data.len() / 4 + 64);
        self.write(data, &mut out);
        self.finish(&mut out);
        out
    }
}

/// Runs `deflate` over `input` into `out`, growing `out` as needed, until the input is consumed
/// and (for a flush) the flushed output written.
fn deflate_into(deflate: &mut Compress, mut input: &[u8], out: &mut Vec<u8>, flush: FlushCompress) {
    loop {
        if out.capacity() - out.len() < 1024 {
            out.reserve(input.len() / 2 + 4096);
        }
        let before = deflate.total_in();
        // Compressing into a Vec with spare room cannot fail: the only error flate2 reports is
        // for a corrupt stream, which a state this module alone drives never is.
        let status = deflate.compress_vec(input, out, flush);
        let consumed = (deflate.total_in() - before) as usize;
        input = &input[consumed.min(input.len())..];
        let ended = matches!(status, Ok(Status::StreamEnd));
        let room_left = out.capacity() > out.len();
        match flush {
            FlushCompress::Finish if ended => return,
            FlushCompress::Finish => {}
            _ if input.is_empty() && room_left => return,
            _ => {}
        }
        if status.is_err() && consumed == 0 && room_left {
            return;
        }
    }
}

/// One packed run compressed on its own: raw deflate ending byte-aligned and not final, ready
/// to be spliced into a [`StreamWriter`]'s stream, with the CRC state of its input.
#[derive(Clone)]
pub struct Fragment {
    /// The sync-flushed deflate bytes followed by [`FINAL_EMPTY_BLOCK`].
    stream: Bytes,
    /// CRC-32 state of the uncompressed run (its length included).
    pub crc: crc32fast::Hasher,
}

impl Fragment {
    /// The bytes to splice: the deflate stream without its final block.
    pub fn deflate(&self) -> Bytes {
        self.stream.slice(..self.stream.len() - FINAL_EMPTY_BLOCK.len())
    }

    /// Bytes held.
    pub fn heap_size(&self) -> usize {
        self.stream.len()
    }

    /// Length of the uncompressed run.
    pub fn plain_len(&self) -> usize {
        self.crc.total_len() as usize
    }
}

/// Decodes fragments back into lines (libdeflate's one-shot decoder; one per thread).
pub struct Inflater(libdeflater::Decompressor);

impl Default for Inflater {
    fn default() -> Self {
        Inflater(libdeflater::Decompressor::new())
    }
}

impl Inflater {
    /// Decodes `fragment` into `out`, which must be exactly its uncompressed length.
    pub fn inflate_into(&mut self, fragment: &Fragment, out: &mut [u8]) {
        // The stream was written by this process's compressor from exactly `out.len()` bytes, so
        // decoding cannot fail short of memory corruption; a failure must not serve wrong lines.
        let n = self
            .0
            .deflate_decompress(&fragment.stream, out)
            .expect("a fragment written by this process decodes");
        assert_eq!(n, out.len(), "a fragment decodes to its recorded length");
    }

    /// Decodes `fragment` into a new buffer.
    pub fn inflate(&mut self, fragment: &Fragment) -> Bytes {
        let mut out = vec![0u8; fragment.plain_len()];
        self.inflate_into(fragment, &mut out);
        Bytes::from(out)
    }
}

/// Writes one gzip member from on-the-fly bytes and spliced [`Fragment`]s.
pub struct StreamWriter {
    deflate: Compress,
    crc: crc32fast::Hasher,
    started: bool,
    /// Bytes went into `deflate` since its last reset.
    pending: bool,
}

impl Default for StreamWriter {
    fn default() -> Self {
        StreamWriter {
            deflate: Compress::new(Compression::fast(), false),
            crc: crc32fast::Hasher::new(),
            started: false,
            pending: false,
        }
    }
}

impl StreamWriter {
    fn start(&mut self, out: &mut Vec<u8>) {
        if !self.started {
            out.extend_from_slice(&HEADER);
            self.started = true;
        }
    }

    /// Compresses `data` into `out`.
    pub fn write(&mut self, data: &[u8], out: &mut Vec<u8>) {
        self.start(out);
        if data.is_empty() {
            return;
        }
        self.crc.update(data);
        deflate_into(&mut self.deflate, data, out, FlushCompress::None);
        self.pending = true;
    }

    /// Prepares `out` for `fragment`'s bytes, which the caller appends (or sends) next.
    pub fn splice(&mut self, fragment: &Fragment, out: &mut Vec<u8>) {
        self.start(out);
        if self.pending {
            deflate_into(&mut self.deflate, &[], out, FlushCompress::Sync);
            self.deflate.reset();
            self.pending = false;
        }
        self.crc.combine(&fragment.crc);
    }

    /// Ends the stream with a final block and the trailer.
    pub fn finish(&mut self, out: &mut Vec<u8>) {
        self.start(out);
        deflate_into(&mut self.deflate, &[], out, FlushCompress::Finish);
        // ISIZE is the length modulo 2^32 by definition.
        let len = self.crc.total_len() as u32;
        let crc = std::mem::take(&mut self.crc).finalize();
        out.extend_from_slice(&crc.to_le_bytes());
        out.extend_from_slice(&len.to_le_bytes());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    fn gunzip_all(data: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        flate2::read::MultiGzDecoder::new(data).read_to_end(&mut out).unwrap();
        out
    }

    #[test]
    fn members_concatenate_into_one_stream() {
        let mut w = MemberWriter::default();
        let mut stream = Vec::new();
        let mut expected = Vec::new();
        for i in 0..50 {
            let piece = format!("kube_pod_info{{pod=\"p{i}\"}} 1\n").repeat(i * 40 + 1);
            expected.extend_from_slice(piece.as_bytes());
            if i % 3 == 0 {
                stream.extend_from_slice(&w.member(piece.as_bytes()));
            } else {
                w.write(piece.as_bytes(), &mut stream);
                if i % 3 == 2 {
                    w.finish(&mut stream);
                }
            }
        }
        w.finish(&mut stream);
        assert_eq!(gunzip_all(&stream), expected);
        assert!(
            stream.len() < expected.len() / 5,
            "compresses: {} of {}",
            stream.len(),
            expected.len()
        );
    }

    #[test]
    fn spliced_fragments_and_stream_bytes_form_one_member() {
        let mut fragments = MemberWriter::default();
        let mut stream = StreamWriter::default();
        let mut out = Vec::new();
        let mut expected = Vec::new();
        for i in 0..40 {
            let piece = format!("kube_pod_info{{pod=\"p{i}\"}} {i}\n").repeat(i * 30 + 1);
            expected.extend_from_slice(piece.as_bytes());
            if i % 3 == 0 {
                stream.write(piece.as_bytes(), &mut out);
            } else {
                let fragment = fragments.fragment(piece.as_bytes());
                stream.splice(&fragment, &mut out);
                out.extend_from_slice(&fragment.deflate());
                assert_eq!(Inflater::default().inflate(&fragment), piece.as_bytes());
            }
        }
        stream.finish(&mut out);
        // A single-member decoder (as curl and browsers are) sees everything, CRC and length
        // checked.
        let mut decoded = Vec::new();
        flate2::read::GzDecoder::new(&out[..])
            .read_to_end(&mut decoded)
            .unwrap();
        assert_eq!(decoded, expected);
        assert!(
            out.len() < expected.len() / 5,
            "compresses: {} of {}",
            out.len(),
            expected.len()
        );
        // An empty stream is a valid empty body.
        let mut empty = Vec::new();
        StreamWriter::default().finish(&mut empty);
        assert_eq!(gunzip_all(&empty), b"");
    }

    #[test]
    fn empty_member_is_valid_and_large_inputs_round_trip() {
        let mut w = MemberWriter::default();
        let mut out = Vec::new();
        w.finish(&mut out);
        assert_eq!(gunzip_all(&out), b"");
        // Incompressible input larger than any internal buffer.
        let mut noise = vec![0u8; 3 << 20];
        let mut x = 0x2545_f491_4f6c_dd1d_u64;
        for b in &mut noise {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            *b = x as u8;
        }
        assert_eq!(gunzip_all(&w.member(&noise)), noise);
    }
}
