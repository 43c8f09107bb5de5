//! The stored value format: a versioned binary header, the metadata, the (compressed) entries.
//!
//! ```text
//! offset  bytes  field
//!      0      4  magic `DIRC`
//!      4      1  format version (2; version 1 had no `source` in the metadata)
//!      5      1  flags: bit 1 = the zstd document (below); the others must be 0 (bit 0
//!                 meant LZ4 entries in version 1)
//!      6     15  checked_at: milliseconds since the Unix epoch, ASCII decimal, zero-padded
//!     21      4  CRC-32 (IEEE, little endian) of every other byte of the value
//!     25      4  metadata length M (u32, little endian)
//!     29      M  `DirectoryMeta`, postcard-encoded (its serde form)
//!   29+M      4  entries JSON length J, before compression (u32, little endian); with
//!                 bit 1, the length of the whole served document instead
//!   33+M      …  the entries: J bytes of JSON; with bit 1, one zstd frame of the whole
//!                 served document (`CachedDirectory::body`)
//! ```
//!
//! This build writes the zstd document for every body worth compressing (at least
//! `cache_core::MIN_COMPRESSED_LEN` bytes): it is the zstd form a client gets, made once at
//! fill, so an instance reading the copy serves `Content-Encoding: zstd` without compressing
//! it again, and it is smaller than the LZ4 entries of version 1 were (0.10 of the JSON
//! against 0.19).
//!
//! The magic and `checked_at` keep their offsets in every format version: the newer-wins Lua
//! script reads `checked_at` from the first 21 bytes without decoding anything else. A change
//! to `DirectoryMeta`'s fields changes its postcard encoding and needs a new format version
//! (the golden test below fails when that happens). A value of another version is corrupt to
//! this build: it is fetched again and overwritten, once per directory after an upgrade.

use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use cache_core::{CachedDirectory, ContentCoding, DirectoryId, DirectoryMeta, Error};

/// The first bytes of every value this crate writes.
pub(crate) const MAGIC: &[u8; 4] = b"DIRC";
/// The format written, and the only one read.
pub(crate) const FORMAT_VERSION: u8 = 2;
/// How many leading bytes the newer-wins script reads: magic, version, flags, `checked_at`.
pub(crate) const COMPARED_PREFIX_LEN: usize = 21;

const FLAG_ZSTD_DOCUMENT: u8 = 0b0000_0010;
/// A document claiming more than this is damage (directories are bounded far below it).
const MAX_DOCUMENT_LEN: usize = 1 << 30;
/// Where the entries start in a served document: after the header's fields, as
/// `CachedDirectory` writes it. Header values are JSON strings and numbers, in which this
/// byte sequence (with its unescaped quotes) cannot occur.
const ENTRIES_FIELD: &[u8] = br#","entries":"#;
const CHECKED_AT_AT: usize = 6;
const CHECKED_AT_DIGITS: usize = 15;
const CRC_AT: usize = COMPARED_PREFIX_LEN;
const META_LEN_AT: usize = 25;
const META_AT: usize = 29;

/// Encodes `directory` as the value stored in Redis.
pub fn encode(directory: &CachedDirectory) -> Result<Vec<u8>, Error> {
    let id = directory.directory_id();
    let encode_error = |reason: String| Error::Encode {
        directory_id: id.clone(),
        reason,
    };
    let checked_at = millis_since_epoch(directory.checked_at())
        .filter(|ms| *ms < 10u64.pow(CHECKED_AT_DIGITS as u32))
        .ok_or_else(|| {
            encode_error("checked_at is not between 1970 and the year 33000".to_owned())
        })?;
    let meta = postcard::to_allocvec(directory.meta())
        .map_err(|e| encode_error(format!("metadata: {e}")))?;
    let (flags, plain_len, stored_entries) = match directory.encoded(ContentCoding::Zstd) {
        Some(zstd) => (FLAG_ZSTD_DOCUMENT, directory.body().len(), zstd.as_ref()),
        None => {
            let entries = directory.entries_json();
            (0, entries.len(), entries)
        }
    };
    let meta_len =
        u32::try_from(meta.len()).map_err(|_| encode_error("metadata over 4 GiB".to_owned()))?;
    let entries_len =
        u32::try_from(plain_len).map_err(|_| encode_error("entries over 4 GiB".to_owned()))?;

    let mut value = Vec::with_capacity(META_AT + meta.len() + 4 + stored_entries.len());
    value.extend_from_slice(MAGIC);
    value.push(FORMAT_VERSION);
    value.push(flags);
    value.extend_from_slice(format!("{checked_at:0width$}", width = CHECKED_AT_DIGITS).as_bytes());
    value.extend_from_slice(&[0; 4]);
    value.extend_from_slice(&meta_len.to_le_bytes());
    value.extend_from_slice(&meta);
    value.extend_from_slice(&entries_len.to_le_bytes());
    value.extend_from_slice(stored_entries);
    let crc = checksum(&value);
    value[CRC_AT..META_LEN_AT].copy_from_slice(&crc.to_le_bytes());
    Ok(value)
}

/// Decodes the value stored under `id`'s key; anything but a whole, undamaged value of this
/// format for this directory is [`Error::Corrupt`]. Public for tools that read the stored
/// values directly (and for the benchmark that compares a bare `GET` + decode with a hit).
pub fn decode(id: &DirectoryId, value: &[u8]) -> Result<CachedDirectory, Error> {
    match decode_parts(id, value, None) {
        Ok(Some(directory)) => Ok(directory),
        Ok(None) => unreachable!("no known copy was given"),
        Err(reason) => Err(corrupt(id, reason)),
    }
}

/// [`decode`], answering `known` itself when the value holds that very copy (the same
/// metadata): an instance's in-process copy, its compressed forms and its lookup index are
/// kept, not built again, when Redis still has what the instance already holds.
pub(crate) fn decode_known(
    id: &DirectoryId,
    value: &[u8],
    known: Option<&Arc<CachedDirectory>>,
) -> Result<Arc<CachedDirectory>, Error> {
    match decode_parts(id, value, known) {
        Ok(Some(directory)) => Ok(Arc::new(directory)),
        Ok(None) => Ok(Arc::clone(known.expect("only a known copy is matched"))),
        Err(reason) => Err(corrupt(id, reason)),
    }
}

fn corrupt(id: &DirectoryId, reason: String) -> Error {
    Error::Corrupt {
        directory_id: id.clone(),
        reason,
    }
}

fn decode_parts(
    id: &DirectoryId,
    value: &[u8],
    known: Option<&Arc<CachedDirectory>>,
) -> Result<Option<CachedDirectory>, String> {
    // `None`: the value holds `known`.
    if value.len() < META_AT {
        return Err(format!(
            "{} bytes is shorter than the {META_AT}-byte header",
            value.len()
        ));
    }
    if &value[..MAGIC.len()] != MAGIC {
        return Err("not a dircache value (wrong magic bytes)".to_owned());
    }
    let version = value[4];
    if version != FORMAT_VERSION {
        return Err(format!(
            "unknown format version {version} (this build reads {FORMAT_VERSION})"
        ));
    }
    let flags = value[5];
    if flags & !FLAG_ZSTD_DOCUMENT != 0 {
        return Err(format!("unknown flags {flags:#010b}"));
    }
    let checked_at = std::str::from_utf8(&value[CHECKED_AT_AT..CRC_AT])
        .ok()
        .filter(|digits| digits.bytes().all(|b| b.is_ascii_digit()))
        .and_then(|digits| digits.parse::<u64>().ok())
        .ok_or("checked_at is not decimal digits")?;
    let crc = u32::from_le_bytes(array(&value[CRC_AT..META_LEN_AT]));
    if checksum(value) != crc {
        return Err(format!(
            "checksum mismatch over {} bytes (damaged or truncated)",
            value.len()
        ));
    }

    let mut rest = &value[META_LEN_AT..];
    let meta_bytes = take_sized(&mut rest, "metadata")?;
    let (meta, unread) = postcard::take_from_bytes::<DirectoryMeta>(meta_bytes)
        .map_err(|e| format!("metadata does not decode: {e}"))?;
    if !unread.is_empty() {
        return Err(format!("{} stray bytes after the metadata", unread.len()));
    }
    if &meta.directory_id != id {
        return Err(format!(
            "the value is the copy of `{}`, not of `{id}`",
            meta.directory_id
        ));
    }
    if millis_since_epoch(meta.checked_at) != Some(checked_at) {
        return Err("the header's checked_at differs from the metadata's".to_owned());
    }
    if known.is_some_and(|known| known.meta() == &meta) {
        return Ok(None);
    }

    let entries_len = u32::from_le_bytes(array(take(&mut rest, 4, "entries length")?)) as usize;
    if flags & FLAG_ZSTD_DOCUMENT != 0 {
        return zstd_document(meta, entries_len, rest).map(Some);
    }
    let entries = rest;
    if entries.len() != entries_len {
        return Err(format!(
            "{} bytes of entries, not {entries_len}",
            entries.len()
        ));
    }
    if entries.first() != Some(&b'[') || entries.last() != Some(&b']') {
        return Err("the entries are not a JSON array".to_owned());
    }
    CachedDirectory::from_parts(meta, entries)
        .map(Some)
        .map_err(|e| e.to_string())
}

/// The copy stored as the zstd frame of its served document (`len` bytes once decompressed),
/// kept as its zstd form. The document must be exactly the one the metadata and its entries
/// make.
fn zstd_document(meta: DirectoryMeta, len: usize, frame: &[u8]) -> Result<CachedDirectory, String> {
    let declared = zstd::zstd_safe::get_frame_content_size(frame)
        .map_err(|_| "the document is not a zstd frame".to_owned())?;
    if len > MAX_DOCUMENT_LEN || declared != Some(len as u64) {
        return Err(format!(
            "the zstd frame declares {declared:?} bytes, the value {len} (at most {MAX_DOCUMENT_LEN})"
        ));
    }
    let document = zstd::bulk::decompress(frame, len)
        .map_err(|e| format!("the document does not decompress: {e}"))?;
    if document.len() != len {
        return Err(format!(
            "the document decompresses to {} bytes, not {len}",
            document.len()
        ));
    }
    let entries_at = document
        .windows(ENTRIES_FIELD.len())
        .position(|window| window == ENTRIES_FIELD)
        .map(|at| at + ENTRIES_FIELD.len())
        .filter(|at| *at < document.len())
        .ok_or("the document has no entries field")?;
    let entries = &document[entries_at..document.len() - 1];
    if entries.first() != Some(&b'[') || entries.last() != Some(&b']') {
        return Err("the entries are not a JSON array".to_owned());
    }
    let directory = CachedDirectory::from_parts(meta, entries).map_err(|e| e.to_string())?;
    if directory.body().as_ref() != document.as_slice() {
        return Err("the document is not the one its metadata and entries make".to_owned());
    }
    Ok(directory.with_zstd(Bytes::copy_from_slice(frame)))
}

/// The CRC-32 of a value, leaving out the bytes that hold it.
fn checksum(value: &[u8]) -> u32 {
    let mut hasher = crc32fast::Hasher::new();
    hasher.update(&value[..CRC_AT]);
    hasher.update(&value[META_LEN_AT..]);
    hasher.finalize()
}

/// Milliseconds since the Unix epoch; `None` before it.
pub(crate) fn millis_since_epoch(at: SystemTime) -> Option<u64> {
    let since = at.duration_since(UNIX_EPOCH).ok()?;
    u64::try_from(since.as_millis()).ok()
}

fn take<'a>(rest: &mut &'a [u8], len: usize, what: &str) -> Result<&'a [u8], String> {
    if rest.len() < len {
        return Err(format!(
            "truncated: {what} needs {len} bytes, {} left",
            rest.len()
        ));
    }
    let (taken, left) = rest.split_at(len);
    *rest = left;
    Ok(taken)
}

fn take_sized<'a>(rest: &mut &'a [u8], what: &str) -> Result<&'a [u8], String> {
    let len = u32::from_le_bytes(array(take(rest, 4, what)?)) as usize;
    take(rest, len, what)
}

fn array(bytes: &[u8]) -> [u8; 4] {
    let mut out = [0; 4];
    out.copy_from_slice(bytes);
    out
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use cache_core::conformance::{now_millis, sample_directory};

    use super::*;

    fn id(s: &str) -> DirectoryId {
        DirectoryId::new(s).unwrap()
    }

    fn assert_corrupt(value: &[u8], what: &str) -> String {
        match decode(&id("codec"), value) {
            Err(Error::Corrupt { reason, .. }) => reason,
            Err(e) => panic!("{what}: expected Corrupt, got {e}"),
            Ok(d) => panic!("{what}: decoded garbage into {d:?}"),
        }
    }

    #[test]
    fn a_value_round_trips_with_the_same_metadata_and_bytes() {
        for entries in [0, 1, 3, 500] {
            let directory = sample_directory("codec", entries, now_millis());
            let value = encode(&directory).unwrap();
            let back = decode(directory.directory_id(), &value).unwrap();
            assert_eq!(back.meta(), directory.meta());
            assert_eq!(back.body(), directory.body());
        }
    }

    #[test]
    fn the_header_is_what_the_lua_script_reads() {
        let at = UNIX_EPOCH + Duration::from_millis(1_790_000_000_123);
        let value = encode(&sample_directory("codec", 2, at)).unwrap();
        assert_eq!(&value[..4], b"DIRC");
        assert_eq!(value[4], FORMAT_VERSION);
        assert_eq!(&value[6..COMPARED_PREFIX_LEN], b"001790000000123");
    }

    #[test]
    fn large_directories_are_compressed_and_tiny_ones_are_not() {
        let large = sample_directory("codec", 500, now_millis());
        let value = encode(&large).unwrap();
        assert_eq!(value[5], FLAG_ZSTD_DOCUMENT);
        assert!(
            value.len() < large.entries_json().len() / 3,
            "{}",
            value.len()
        );
        // What was stored is the zstd form a client is sent, not compressed again on reading.
        let back = decode(large.directory_id(), &value).unwrap();
        let served = back.encoded(ContentCoding::Zstd).unwrap();
        assert!(
            value.ends_with(served),
            "the stored frame is the one served"
        );
        assert_eq!(
            zstd::decode_all(served.as_ref()).unwrap(),
            large.body().as_ref()
        );
        let tiny = encode(&sample_directory("codec", 0, now_millis())).unwrap();
        assert_eq!(tiny[5], 0);
    }

    #[test]
    fn every_truncation_of_a_good_value_is_corrupt() {
        for entries in [0, 40] {
            let value = encode(&sample_directory("codec", entries, now_millis())).unwrap();
            for len in 0..value.len() {
                assert_corrupt(&value[..len], &format!("truncated to {len}"));
            }
        }
    }

    #[test]
    fn random_bytes_and_flipped_bits_are_corrupt_never_a_panic() {
        let good = encode(&sample_directory("codec", 40, now_millis())).unwrap();
        let mut rng = fastrand::Rng::with_seed(7);
        for _ in 0..2_000 {
            let len = rng.usize(..600);
            let noise: Vec<u8> = (0..len).map(|_| rng.u8(..)).collect();
            assert_corrupt(&noise, "random bytes");
            // The right header over random content, so decoding gets past the magic.
            let mut forged = good[..META_AT].to_vec();
            forged.extend_from_slice(&noise);
            assert_corrupt(&forged, "a good header over random bytes");
        }
        for i in 0..good.len() {
            let mut flipped = good.clone();
            flipped[i] ^= 1 << rng.u8(..8);
            assert_corrupt(&flipped, &format!("bit flipped at {i}"));
        }
    }

    /// The offset of the entries length field in `value`.
    fn entries_len_at(value: &[u8]) -> usize {
        META_AT + u32::from_le_bytes(array(&value[META_LEN_AT..META_AT])) as usize
    }

    /// `value` with its entries field replaced by `flags`, `len` and `stored`, checksum redone.
    fn reencoded(value: &[u8], flags: u8, len: usize, stored: &[u8]) -> Vec<u8> {
        let at = entries_len_at(value);
        let mut value = value[..at].to_vec();
        value[5] = flags;
        value.extend_from_slice(&(len as u32).to_le_bytes());
        value.extend_from_slice(stored);
        let crc = checksum(&value);
        value[CRC_AT..META_LEN_AT].copy_from_slice(&crc.to_le_bytes());
        value
    }

    #[test]
    fn a_zstd_document_must_declare_its_size_and_be_the_one_its_metadata_make() {
        let directory = sample_directory("codec", 40, now_millis());
        let value = encode(&directory).unwrap();
        let frame = &value[entries_len_at(&value) + 4..];
        let len = directory.body().len();
        let huge = reencoded(&value, FLAG_ZSTD_DOCUMENT, u32::MAX as usize, frame);
        let reason = assert_corrupt(&huge, "a huge claimed size");
        assert!(reason.contains("declares"), "{reason}");
        // Another directory's document under these metadata.
        let other = sample_directory("codec", 41, now_millis());
        let other_frame = other.encoded(ContentCoding::Zstd).unwrap();
        let swapped = reencoded(&value, FLAG_ZSTD_DOCUMENT, other.body().len(), other_frame);
        assert_corrupt(&swapped, "another document");
        let lz4 = reencoded(&value, FLAG_ZSTD_DOCUMENT | 1, len, frame);
        assert!(assert_corrupt(&lz4, "version 1's LZ4 flag").contains("unknown flags"));
    }

    #[test]
    fn foreign_versions_flags_and_ids_are_named_in_the_reason() {
        let good = encode(&sample_directory("codec", 3, now_millis())).unwrap();
        let mut version = good.clone();
        version[4] = 9;
        assert!(assert_corrupt(&version, "version").contains("unknown format version 9"));
        let mut flags = good.clone();
        flags[5] |= 0b1000_0000;
        assert!(assert_corrupt(&flags, "flags").contains("unknown flags"));
        assert!(
            assert_corrupt(br#"{"entries": [], "directory_id": "codec"}"#, "json")
                .contains("wrong magic")
        );
        let other = encode(&sample_directory("other", 3, now_millis())).unwrap();
        assert!(assert_corrupt(&other, "other id").contains("not of `codec`"));
    }

    /// Fails when the encoding of `DirectoryMeta` changes: such a change needs a new format
    /// version, or values written by older instances would be misread.
    #[test]
    fn the_format_is_stable_golden_value() {
        use cache_core::{DirectorySnapshot, Entry, InvalidationDirective, Limits, Ttl};
        let entry = Entry::try_from(serde_json::json!({"id": "1", "name": "Zoë"})).unwrap();
        let mut snapshot = DirectorySnapshot::new(vec![entry]);
        snapshot.etag = Some("\"v1\"".to_owned());
        let directory = CachedDirectory::from_snapshot(
            id("golden"),
            "routing_directory",
            &snapshot,
            Ttl::from_secs(300).unwrap(),
            UNIX_EPOCH + std::time::Duration::from_millis(1_790_000_000_123),
            InvalidationDirective::Overwrite,
            Limits::DEFAULT,
        )
        .unwrap();
        let value = encode(&directory).unwrap();
        let hex = |bytes: &[u8]| -> String { bytes.iter().map(|b| format!("{b:02x}")).collect() };
        assert_eq!(hex(&value), GOLDEN);
        assert_eq!(
            decode(&id("golden"), &value).unwrap().body(),
            directory.body()
        );
    }

    const GOLDEN: &str = concat!(
        "4449524302003030313739303030303030303132333dfc97de5c00000006676f6c64656e11726f75",
        "74696e675f6469726563746f7279ac0280f7c4d506c0a9d33a80f7c4d506c0a9d33a000104227631",
        "2225787868333a37353763343639383736373961613436386462366632623563333066633938300101",
        "1a0000005b7b226964223a2231222c226e616d65223a225a6fc3ab227d5d",
    );
}
