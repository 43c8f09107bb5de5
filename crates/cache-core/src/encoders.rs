//! Encoders kept from one body to the next, so that making many compressed forms in a row
//! allocates nothing but the forms themselves.
//!
//! Why it matters for memory, not just time: each zstd context is a few megabytes and each
//! worst-case output buffer is the size of the body. Allocated and freed once per form, they
//! raise glibc's dynamic mmap threshold, after which the next ones (and bodies, and forms) come
//! from the heap, whose holes between long-lived copies stay resident: `serve_rss` measured
//! 1.85–2.00 RSS bytes per JSON byte with fresh encoders per form, 1.56 with the threshold
//! pinned (`MALLOC_MMAP_THRESHOLD_`), and 1.34 with no eager forms at all.

use std::fmt;

use bytes::Bytes;
use flate2::{Compress, Compression, Crc, FlushCompress, Status};

use crate::encoded_body::GZIP_LEVEL;
use crate::{ContentCoding, MIN_COMPRESSED_LEN, ZSTD_LEVEL};

/// The gzip member header (RFC 1952) that flate2's `GzEncoder` writes at level 6: deflate, no
/// flags, no time, no extra flags, unknown OS.
const GZIP_HEADER: [u8; 10] = [0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff];

/// Bytes DEFLATE writes at a time (flate2's own `GzEncoder` uses 32 KiB).
const DEFLATE_CHUNK: usize = 64 * 1024;

/// A zstd context, a DEFLATE state and an output buffer, reused for every form made with them.
///
/// Each form is compressed into the buffer and then copied out at its exact size, so a form
/// kept for its copy's life holds no spare room and is never shrunk by a reallocation. The
/// buffer stays as large as the largest form made so far (only the bytes written to are
/// resident).
pub(crate) struct Encoders {
    zstd: zstd::bulk::Compressor<'static>,
    deflate: Compress,
    /// What DEFLATE writes into before it is appended to `out`.
    chunk: Box<[u8]>,
    out: Vec<u8>,
}

impl Encoders {
    /// Fresh encoders at the levels served bodies are compressed at.
    pub(crate) fn new() -> Self {
        let zstd = zstd::bulk::Compressor::new(ZSTD_LEVEL)
            .expect("the zstd level is a constant within zstd's range");
        Self {
            zstd,
            // Raw DEFLATE: the gzip header and trailer are written around it here.
            deflate: Compress::new(Compression::new(GZIP_LEVEL), false),
            chunk: vec![0; DEFLATE_CHUNK].into_boxed_slice(),
            out: Vec::new(),
        }
    }

    /// `body` in `coding`, the same bytes [`ContentCoding::encode`] makes; `None` when it is
    /// shorter than [`MIN_COMPRESSED_LEN`] and should be sent as it is.
    pub(crate) fn encode(&mut self, coding: ContentCoding, body: &[u8]) -> Option<Bytes> {
        if body.len() < MIN_COMPRESSED_LEN {
            return None;
        }
        self.out.clear();
        match coding {
            ContentCoding::Zstd => self.zstd(body),
            ContentCoding::Gzip => self.gzip(body),
            // Made when first asked for unless configured eager: not worth a kept state.
            ContentCoding::Brotli => return coding.encode(body),
        }
        Some(Bytes::copy_from_slice(&self.out))
    }

    fn zstd(&mut self, body: &[u8]) {
        self.out
            .reserve(zstd::zstd_safe::compress_bound(body.len()));
        self.zstd
            .compress_to_buffer(body, &mut self.out)
            .expect("zstd cannot fail with room for its worst case");
    }

    fn gzip(&mut self, body: &[u8]) {
        self.deflate.reset();
        self.out.extend_from_slice(&GZIP_HEADER);
        // Through a small buffer, not straight into `out`: flate2's Rust backend zeroes all the
        // room it is given first, and `out` has room for zstd's worst case (a whole body: a
        // 100,000-entry directory left 80 MB more resident).
        loop {
            let (read, written) = (self.deflate.total_in(), self.deflate.total_out());
            let status = self
                .deflate
                .compress(
                    &body[offset(read)..],
                    &mut self.chunk,
                    FlushCompress::Finish,
                )
                .expect("DEFLATE into memory cannot fail");
            let made = offset(self.deflate.total_out() - written);
            self.out.extend_from_slice(&self.chunk[..made]);
            if status == Status::StreamEnd {
                break;
            }
        }
        let mut crc = Crc::new();
        crc.update(body);
        self.out.extend_from_slice(&crc.sum().to_le_bytes());
        // RFC 1952's ISIZE: the length modulo 2^32.
        self.out
            .extend_from_slice(&(body.len() as u32).to_le_bytes());
    }
}

/// A DEFLATE byte count as an index: never more than the body's length.
fn offset(count: u64) -> usize {
    usize::try_from(count).expect("within the body")
}

impl fmt::Debug for Encoders {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Encoders")
            .field("out_capacity", &self.out.capacity())
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use std::io::Read;

    use super::*;

    fn json(len: usize) -> Vec<u8> {
        let mut body = b"[".to_vec();
        let mut i = 0u64;
        while body.len() < len {
            let line = format!("{{\"id\":\"{i}\",\"name\":\"agent {}\"}},", i * 7919 % 1000);
            body.extend_from_slice(line.as_bytes());
            i += 1;
        }
        body
    }

    /// Bytes no encoder can shrink, so the output outgrows any estimate.
    fn noise(len: usize) -> Vec<u8> {
        let mut state = 0x9e37_79b9_7f4a_7c15_u64;
        (0..len)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                state as u8
            })
            .collect()
    }

    fn gunzip(form: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        flate2::read::GzDecoder::new(form)
            .read_to_end(&mut out)
            .unwrap();
        out
    }

    #[test]
    fn forms_are_the_bytes_of_a_fresh_encoder_one_body_after_another() {
        let mut encoders = Encoders::new();
        for len in [300_000, 2_000, 40_000] {
            let body = json(len);
            for coding in ContentCoding::ALL {
                let form = encoders.encode(coding, &body).unwrap();
                assert_eq!(Some(&form), coding.encode(&body).as_ref(), "{coding} {len}");
            }
        }
    }

    #[test]
    fn an_incompressible_body_still_round_trips() {
        let mut encoders = Encoders::new();
        let body = noise(200_000);
        let gzip = encoders.encode(ContentCoding::Gzip, &body).unwrap();
        assert_eq!(gunzip(&gzip), body);
        let zstd = encoders.encode(ContentCoding::Zstd, &body).unwrap();
        assert_eq!(zstd::decode_all(&zstd[..]).unwrap(), body);
        // And the encoders are still good for an ordinary body after it.
        let body = json(10_000);
        assert_eq!(
            gunzip(&encoders.encode(ContentCoding::Gzip, &body).unwrap()),
            body
        );
    }

    #[test]
    fn small_bodies_are_not_compressed() {
        let mut encoders = Encoders::new();
        let small = vec![b' '; MIN_COMPRESSED_LEN - 1];
        for coding in ContentCoding::ALL {
            assert!(encoders.encode(coding, &small).is_none(), "{coding}");
        }
    }
}
