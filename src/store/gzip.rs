//! Gzip members (RFC 1952) written with one reusable deflate state.
//!
//! A scrape writes thousands of small members (one per packed family run, plus the pieces in
//! between); a fresh encoder per member would allocate and zero its tables each time, so the
//! header and trailer are written here around a raw deflate stream that is reset, not rebuilt.
//! Concatenated members are one valid gzip stream (RFC 1952 §2.2): Go's `gzip.Reader`, which
//! Prometheus uses, reads them as a single body.

use flate2::{Compress, Compression, FlushCompress, Status};

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
    /// True while a member has been started and not finished.
    pub fn is_open(&self) -> bool {
        self.open
    }

    /// Compresses `data` into `out`, starting a member if none is open.
    pub fn write(&mut self, data: &[u8], out: &mut Vec<u8>) {
        if !self.open {
            out.extend_from_slice(&HEADER);
            self.open = true;
        }
        self.crc.update(data);
        // ISIZE is the length modulo 2^32 by definition.
        self.len = self.len.wrapping_add(data.len() as u32);
        self.run(data, out, FlushCompress::None);
    }

    /// Ends the open member (or writes an empty one when none is open) and resets for the next.
    pub fn finish(&mut self, out: &mut Vec<u8>) {
        if !self.open {
            out.extend_from_slice(&HEADER);
        }
        self.run(&[], out, FlushCompress::Finish);
        let crc = std::mem::take(&mut self.crc).finalize();
        out.extend_from_slice(&crc.to_le_bytes());
        out.extend_from_slice(&self.len.to_le_bytes());
        self.deflate.reset();
        self.len = 0;
        self.open = false;
    }

    /// Finishes the open member, if any.
    pub fn close(&mut self, out: &mut Vec<u8>) {
        if self.open {
            self.finish(out);
        }
    }

    /// One complete member holding `data`.
    pub fn member(&mut self, data: &[u8]) -> Vec<u8> {
        let mut out = Vec::with_capacity(data.len() / 4 + 64);
        self.write(data, &mut out);
        self.finish(&mut out);
        out
    }

    fn run(&mut self, mut input: &[u8], out: &mut Vec<u8>, flush: FlushCompress) {
        loop {
            if out.capacity() - out.len() < 1024 {
                out.reserve(input.len() / 2 + 4096);
            }
            let before = self.deflate.total_in();
            // Compressing into a Vec with spare room cannot fail: the only error flate2 reports
            // is for a corrupt stream, which a state this module alone drives never is.
            let status = self.deflate.compress_vec(input, out, flush);
            let consumed = (self.deflate.total_in() - before) as usize;
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
                    w.close(&mut stream);
                }
            }
        }
        w.close(&mut stream);
        assert!(!w.is_open());
        assert_eq!(gunzip_all(&stream), expected);
        assert!(
            stream.len() < expected.len() / 5,
            "compresses: {} of {}",
            stream.len(),
            expected.len()
        );
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
