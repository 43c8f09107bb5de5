//! The compressed forms of a served body: one per content coding (zstd, Brotli, gzip), each
//! made at most once per cached copy and shared as [`Bytes`] by every request after.
//!
//! Levels were chosen by measuring the 500-entry directory of genesys-mock (234 KB of JSON;
//! a shared, loaded machine, so the times are rough): zstd 1 gives 0.114 of the JSON in
//! 0.3 ms, zstd 6 0.101 in 7 ms, zstd 19 0.088 in 680 ms; gzip 1 0.150 in 3 ms, gzip 6 0.111 in
//! 9 ms; Brotli 1 0.122 in 3 ms, Brotli 5 0.101 in 15 ms, Brotli 9 0.096 in 108 ms. A copy is
//! compressed once per TTL and served many times, so the levels favour size up to where the
//! time stops being small beside an upstream fetch: zstd 6 and gzip 6 (made at fill), Brotli 5
//! (made when first asked for).

use std::fmt;
use std::io::Write;
use std::sync::OnceLock;

use bytes::Bytes;

use crate::encoders::Encoders;

/// Bodies shorter than this are always sent as they are: a few hundred bytes of JSON fit in
/// one packet either way, and a decode step on the client would cost more than it saves. The
/// same rule holds for any small answer (a lookup's one entry, say): see [`ContentCoding::encode`].
pub const MIN_COMPRESSED_LEN: usize = 1024;

/// The forms made when a copy is written, unless configured otherwise: zstd (also what Redis
/// stores) and gzip (what every client accepts).
pub const DEFAULT_EAGER_ENCODINGS: [ContentCoding; 2] = [ContentCoding::Zstd, ContentCoding::Gzip];

/// The zstd level of served bodies and of the copy stored in Redis.
pub const ZSTD_LEVEL: i32 = 6;
/// The gzip (DEFLATE) level.
pub(crate) const GZIP_LEVEL: u32 = 6;
/// The Brotli quality (0–11).
const BROTLI_QUALITY: u32 = 5;
/// The Brotli window (log2 of its size in bytes).
const BROTLI_WINDOW: u32 = 22;

/// A content coding a served body can be sent in, besides `identity` (the body itself).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ContentCoding {
    /// Zstandard (RFC 8878).
    Zstd,
    /// Brotli (RFC 7932).
    Brotli,
    /// gzip (RFC 1952).
    Gzip,
}

impl ContentCoding {
    /// Every coding, in the order preferred when a client accepts several equally: the
    /// smallest and fastest to decode first.
    pub const ALL: [ContentCoding; 3] = [Self::Zstd, Self::Brotli, Self::Gzip];

    /// The coding's name in `Accept-Encoding` and `Content-Encoding`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Zstd => "zstd",
            Self::Brotli => "br",
            Self::Gzip => "gzip",
        }
    }

    /// The coding named `name` (case-insensitive, as HTTP reads it); `x-gzip` is gzip.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|coding| name.eq_ignore_ascii_case(coding.as_str()))
            .or_else(|| name.eq_ignore_ascii_case("x-gzip").then_some(Self::Gzip))
    }

    /// `body` in this coding, or `None` when it is shorter than [`MIN_COMPRESSED_LEN`] and
    /// should be sent as it is.
    pub fn encode(self, body: &[u8]) -> Option<Bytes> {
        (body.len() >= MIN_COMPRESSED_LEN).then(|| {
            let mut compressed = self.compress(body);
            // The encoders write into room made for the worst case (zstd: more than the body
            // itself); a form kept for the copy's life must not keep that room too.
            compressed.shrink_to_fit();
            Bytes::from(compressed)
        })
    }

    fn compress(self, body: &[u8]) -> Vec<u8> {
        // Writing into a `Vec` cannot fail, and these encoders fail only when their writer does.
        let written = "compressing into memory cannot fail";
        match self {
            Self::Zstd => zstd::bulk::compress(body, ZSTD_LEVEL).expect(written),
            Self::Gzip => {
                let mut encoder = flate2::write::GzEncoder::new(
                    Vec::with_capacity(body.len() / 4),
                    flate2::Compression::new(GZIP_LEVEL),
                );
                encoder.write_all(body).expect(written);
                encoder.finish().expect(written)
            }
            Self::Brotli => {
                let mut out = Vec::with_capacity(body.len() / 4);
                let mut encoder =
                    brotli::CompressorWriter::new(&mut out, 4096, BROTLI_QUALITY, BROTLI_WINDOW);
                encoder.write_all(body).expect(written);
                encoder.flush().expect(written);
                drop(encoder);
                out
            }
        }
    }

    fn index(self) -> usize {
        match self {
            Self::Zstd => 0,
            Self::Brotli => 1,
            Self::Gzip => 2,
        }
    }
}

impl fmt::Display for ContentCoding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The compressed forms of one body, each made on first use (or up front, at fill) and kept.
///
/// Shared by every clone of the copy it belongs to, so a form made for one request serves all
/// later ones.
#[derive(Default)]
pub struct EncodedBodies {
    forms: [OnceLock<Option<Bytes>>; 3],
}

impl EncodedBodies {
    /// Forms to be made from the body on demand.
    pub fn new() -> Self {
        Self::default()
    }

    /// Forms that start with `zstd`, the zstd form of the body already made (read from a store
    /// that kept it), so it is not compressed again.
    pub fn with_zstd(zstd: Bytes) -> Self {
        let encoded = Self::default();
        let _ = encoded.forms[ContentCoding::Zstd.index()].set(Some(zstd));
        encoded
    }

    /// `body` in `coding`, made now if it was not made before; `None` when the body is too
    /// small to be worth compressing (it is then sent as it is).
    pub fn get(&self, coding: ContentCoding, body: &[u8]) -> Option<&Bytes> {
        self.forms[coding.index()]
            .get_or_init(|| coding.encode(body))
            .as_ref()
    }

    /// Makes the forms in `codings` now (at fill), so that no request waits for them.
    pub fn prepare(&self, codings: &[ContentCoding], body: &[u8]) {
        for coding in codings {
            self.get(*coding, body);
        }
    }

    /// [`Self::prepare`] with encoders kept from one copy to the next: the same bytes, but
    /// nothing allocated besides the forms.
    pub(crate) fn prepare_with(
        &self,
        encoders: &mut Encoders,
        codings: &[ContentCoding],
        body: &[u8],
    ) {
        for coding in codings {
            self.forms[coding.index()].get_or_init(|| encoders.encode(*coding, body));
        }
    }

    /// Whether the form in `coding` has been made.
    pub fn is_made(&self, coding: ContentCoding) -> bool {
        self.forms[coding.index()].get().is_some()
    }
}

impl fmt::Debug for EncodedBodies {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut list = f.debug_map();
        for coding in ContentCoding::ALL {
            if let Some(form) = self.forms[coding.index()].get() {
                list.entry(&coding.as_str(), &form.as_ref().map(Bytes::len));
            }
        }
        list.finish()
    }
}

#[cfg(test)]
mod tests {
    use std::io::Read;

    use super::*;

    fn body(len: usize) -> Vec<u8> {
        let mut body = b"{\"entries\":[".to_vec();
        let mut i = 0;
        while body.len() < len {
            body.extend_from_slice(
                format!("{{\"id\":\"{i}\",\"name\":\"agent {i}\"}},").as_bytes(),
            );
            i += 1;
        }
        body
    }

    fn decode(coding: ContentCoding, encoded: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        match coding {
            ContentCoding::Zstd => out = zstd::decode_all(encoded).unwrap(),
            ContentCoding::Gzip => {
                flate2::read::GzDecoder::new(encoded)
                    .read_to_end(&mut out)
                    .unwrap();
            }
            ContentCoding::Brotli => {
                brotli::Decompressor::new(encoded, 4096)
                    .read_to_end(&mut out)
                    .unwrap();
            }
        }
        out
    }

    #[test]
    fn every_coding_round_trips_and_is_smaller() {
        let body = body(20_000);
        let encoded = EncodedBodies::new();
        for coding in ContentCoding::ALL {
            let form = encoded.get(coding, &body).unwrap();
            assert!(form.len() < body.len() / 4, "{coding}: {}", form.len());
            assert_eq!(decode(coding, form), body, "{coding}");
        }
    }

    #[test]
    fn a_form_is_made_once_and_shared() {
        let body = body(5_000);
        let encoded = EncodedBodies::new();
        assert!(!encoded.is_made(ContentCoding::Gzip));
        encoded.prepare(&[ContentCoding::Gzip], &body);
        assert!(encoded.is_made(ContentCoding::Gzip));
        assert!(!encoded.is_made(ContentCoding::Zstd));
        let first = encoded.get(ContentCoding::Gzip, &body).unwrap().as_ptr();
        let again = encoded.get(ContentCoding::Gzip, &body).unwrap().as_ptr();
        assert_eq!(first, again);
    }

    #[test]
    fn small_bodies_are_not_compressed() {
        let small = body(MIN_COMPRESSED_LEN - 1);
        let small = &small[..MIN_COMPRESSED_LEN - 1];
        for coding in ContentCoding::ALL {
            assert!(
                EncodedBodies::new().get(coding, small).is_none(),
                "{coding}"
            );
            assert!(coding.encode(small).is_none());
        }
    }

    #[test]
    fn a_kept_zstd_form_is_served_as_it_was_stored() {
        let kept = Bytes::from_static(b"not really zstd, but kept");
        let encoded = EncodedBodies::with_zstd(kept.clone());
        assert_eq!(encoded.get(ContentCoding::Zstd, &body(5_000)), Some(&kept));
    }

    #[test]
    fn names_are_read_as_http_reads_them() {
        assert_eq!(ContentCoding::from_name("ZSTD"), Some(ContentCoding::Zstd));
        assert_eq!(ContentCoding::from_name("br"), Some(ContentCoding::Brotli));
        assert_eq!(
            ContentCoding::from_name("x-gzip"),
            Some(ContentCoding::Gzip)
        );
        assert_eq!(ContentCoding::from_name("deflate"), None);
    }
}
