//! `CachedDirectory`: one directory's entries as cached, with its TTL, validators and JSON body.

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use audit::timestamp::rfc3339;
use bytes::Bytes;
use genesys_client::{DirectorySnapshot, Entry, Fingerprint};
use serde::{Deserialize, Serialize};

use crate::encoders::Encoders;
use crate::{
    ContentCoding, DirectoryId, EncodedBodies, Error, LookupIndex, MIN_COMPRESSED_LEN, Ttl,
};

/// A body worth compressing is charged `1 / ENCODED_ALLOWANCE_DIVISOR` of its size for its
/// compressed forms ([`CachedDirectory::size_bytes`]).
const ENCODED_ALLOWANCE_DIVISOR: usize = 4;

/// Why a cached copy was written (the seed's `invalidation_directive`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum InvalidationDirective {
    /// The first fill of a directory.
    Fresh,
    /// Replaced after upstream changed.
    Overwrite,
    /// TTL extended after upstream confirmed it unchanged.
    Revalidated,
}

impl InvalidationDirective {
    /// The name used in JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Fresh => "fresh",
            Self::Overwrite => "overwrite",
            Self::Revalidated => "revalidated",
        }
    }
}

/// Limits a directory must meet to be cached.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// The most entries a cached directory may have (default 500); a larger one is refused
    /// whole, never cached truncated.
    pub max_entries: usize,
}

impl Limits {
    /// The default limits (SPEC §3).
    pub const DEFAULT: Limits = Limits { max_entries: 500 };
}

impl Default for Limits {
    fn default() -> Self {
        Self::DEFAULT
    }
}

/// Everything about a cached directory except its entries: what a backend stores beside them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct DirectoryMeta {
    /// The directory.
    pub directory_id: DirectoryId,
    /// The source it is a copy of (SPEC §7), e.g. `queue_members`.
    pub source: String,
    /// Its TTL.
    pub ttl_seconds: u32,
    /// When this content was first cached (kept when a check finds it unchanged).
    pub created_at: SystemTime,
    /// When upstream last confirmed this content; a backend keeps the copy with the later one.
    pub checked_at: SystemTime,
    /// Upstream's `Last-Modified`, if it sent one.
    pub last_modified: Option<String>,
    /// Upstream's `ETag`, if it sent one.
    pub etag: Option<String>,
    /// The content fingerprint of the entries.
    pub fingerprint: Fingerprint,
    /// Why this copy was written.
    pub invalidation_directive: InvalidationDirective,
    /// How many entries the directory has.
    pub entry_count: usize,
}

impl DirectoryMeta {
    /// When this copy stops being fresh.
    pub fn expires_at(&self) -> SystemTime {
        self.checked_at + Duration::from_secs(u64::from(self.ttl_seconds))
    }
}

/// A cached directory: its metadata and the JSON document served for it, built once.
///
/// The entries are kept only as JSON, inside the body a hit returns, so a hit copies nothing
/// and a cached entry costs about its JSON size. [`CachedDirectory::entries`] parses them when
/// a caller really needs values.
#[derive(Clone)]
pub struct CachedDirectory {
    meta: DirectoryMeta,
    /// `meta.expires_at()`, computed once: every read compares against it.
    expires_at: SystemTime,
    /// `W/"<fingerprint>"`, built once like the body.
    entity_tag: Bytes,
    body: Bytes,
    entries_at: usize,
    /// The lookup index of the entries, built with the copy (SPEC §8).
    lookup: Arc<LookupIndex>,
    /// The body's compressed forms, shared by every clone of this copy.
    encoded: Arc<EncodedBodies>,
}

impl CachedDirectory {
    /// Builds the cached copy of a snapshot of `source` fetched (or confirmed) at `checked_at`.
    ///
    /// A directory with more entries than `limits` allow is refused whole.
    pub fn from_snapshot(
        directory_id: DirectoryId,
        source: &str,
        snapshot: &DirectorySnapshot,
        ttl: Ttl,
        checked_at: SystemTime,
        directive: InvalidationDirective,
        limits: Limits,
    ) -> Result<Self, Error> {
        let entry_count = snapshot.entry_count;
        if entry_count > limits.max_entries {
            return Err(Error::TooManyEntries {
                directory_id,
                count: entry_count,
                limit: limits.max_entries,
            });
        }
        let meta = DirectoryMeta {
            directory_id,
            source: source.to_owned(),
            ttl_seconds: ttl.as_secs(),
            created_at: checked_at,
            checked_at,
            last_modified: snapshot.last_modified.clone(),
            etag: snapshot.etag.clone(),
            fingerprint: snapshot.fingerprint.clone(),
            invalidation_directive: directive,
            entry_count,
        };
        // The client wrote the entries as canonical JSON once, for the fingerprint: those
        // bytes are what is stored and served. Where it wrote each key is known too, so the
        // index reads those values rather than parsing the entries again.
        let entries_json = &snapshot.entries_json;
        let lookup = crate::lookup::index_of(&meta, entries_json, snapshot.key_members.as_ref())?;
        Self::with_index(meta, entries_json, lookup)
    }

    /// Rebuilds a cached copy from its metadata and the JSON array of its entries (what a
    /// backend stored). The array must be JSON with as many entries as the metadata says.
    pub fn from_parts(meta: DirectoryMeta, entries_json: &[u8]) -> Result<Self, Error> {
        let lookup = crate::lookup::index_of(&meta, entries_json, None)?;
        Self::with_index(meta, entries_json, lookup)
    }

    fn with_index(
        meta: DirectoryMeta,
        entries_json: &[u8],
        lookup: Arc<LookupIndex>,
    ) -> Result<Self, Error> {
        let header = Header::of(&meta)?;
        let mut body = serde_json::to_vec(&header).map_err(|e| Error::Encode {
            directory_id: meta.directory_id.clone(),
            reason: e.to_string(),
        })?;
        // The header is a JSON object: reopen it to append the entries as its last field, so
        // that the entries can later be sliced out again without parsing them.
        body.pop();
        body.extend_from_slice(br#","entries":"#);
        let entries_at = body.len();
        body.reserve(entries_json.len() + 1);
        body.extend_from_slice(entries_json);
        body.push(b'}');
        Ok(Self {
            expires_at: meta.expires_at(),
            entity_tag: Bytes::from(format!("W/\"{}\"", meta.fingerprint)),
            meta,
            body: Bytes::from(body),
            entries_at,
            lookup,
            encoded: Arc::default(),
        })
    }

    /// The same entries, confirmed unchanged upstream at `checked_at`: TTL restarted, directive
    /// `revalidated`, creation time kept. The TTL may have changed in configuration since.
    pub fn revalidated(&self, checked_at: SystemTime, ttl: Ttl) -> Result<Self, Error> {
        let meta = DirectoryMeta {
            checked_at,
            ttl_seconds: ttl.as_secs(),
            invalidation_directive: InvalidationDirective::Revalidated,
            ..self.meta.clone()
        };
        // The same entries: the same index.
        Self::with_index(meta, self.entries_json(), Arc::clone(&self.lookup))
    }

    /// The metadata.
    pub fn meta(&self) -> &DirectoryMeta {
        &self.meta
    }

    /// The directory id.
    pub fn directory_id(&self) -> &DirectoryId {
        &self.meta.directory_id
    }

    /// The JSON document served for this directory: `{directory_id, source, ttl_seconds,
    /// created_at, expires_at, last_modified, etag, fingerprint, invalidation_directive,
    /// entry_count, entries}`. Cloning it shares the bytes.
    pub fn body(&self) -> &Bytes {
        &self.body
    }

    /// [`Self::body`] in `coding`, made on first use and then kept; `None` when the body is
    /// too small to be worth compressing. The same [`Self::entity_tag`] holds for every form.
    pub fn encoded(&self, coding: ContentCoding) -> Option<&Bytes> {
        self.encoded.get(coding, &self.body)
    }

    /// Makes the compressed forms in `codings` now (at fill), so no request waits for them.
    pub fn prepare_encodings(&self, codings: &[ContentCoding]) {
        self.encoded.prepare(codings, &self.body);
    }

    /// [`Self::prepare_encodings`] with encoders kept from one copy to the next.
    pub(crate) fn prepare_encodings_with(
        &self,
        encoders: &mut Encoders,
        codings: &[ContentCoding],
    ) {
        self.encoded.prepare_with(encoders, codings, &self.body);
    }

    /// Whether [`Self::encoded`] in `coding` has been made (or found too small to make).
    pub fn is_encoded(&self, coding: ContentCoding) -> bool {
        self.encoded.is_made(coding)
    }

    /// This copy with `zstd` as its zstd form, made before (by the instance that stored it).
    pub fn with_zstd(mut self, zstd: Bytes) -> Self {
        self.encoded = Arc::new(EncodedBodies::with_zstd(zstd));
        self
    }

    /// The entity tag of [`Self::body`] for HTTP caching: `W/"<fingerprint>"`. Weak, because
    /// the document also carries times that change when the copy is revalidated while its
    /// entries stay the same. Built once; cloning it shares the bytes.
    pub fn entity_tag(&self) -> &Bytes {
        &self.entity_tag
    }

    /// The JSON array of the entries, exactly as upstream's fields were kept.
    pub fn entries_json(&self) -> &[u8] {
        &self.body[self.entries_at..self.body.len() - 1]
    }

    /// Parses the entries (not needed to serve a hit).
    pub fn entries(&self) -> Result<Vec<Entry>, Error> {
        serde_json::from_slice(self.entries_json()).map_err(|e| Error::Corrupt {
            directory_id: self.meta.directory_id.clone(),
            reason: format!("entries are not a JSON array of objects: {e}"),
        })
    }

    /// How many entries.
    pub fn entry_count(&self) -> usize {
        self.meta.entry_count
    }

    /// The fingerprint of the entries.
    pub fn fingerprint(&self) -> &Fingerprint {
        &self.meta.fingerprint
    }

    /// Upstream's `ETag`, if any.
    pub fn etag(&self) -> Option<&str> {
        self.meta.etag.as_deref()
    }

    /// Upstream's `Last-Modified`, if any.
    pub fn last_modified(&self) -> Option<&str> {
        self.meta.last_modified.as_deref()
    }

    /// When upstream last confirmed this content.
    pub fn checked_at(&self) -> SystemTime {
        self.meta.checked_at
    }

    /// When this copy stops being fresh.
    pub fn expires_at(&self) -> SystemTime {
        self.expires_at
    }

    /// Whether this copy is still fresh at `now`.
    pub fn is_fresh_at(&self, now: SystemTime) -> bool {
        now < self.expires_at()
    }

    /// Why this copy was written.
    pub fn directive(&self) -> InvalidationDirective {
        self.meta.invalidation_directive
    }

    /// What this copy weighs in memory, roughly: its body, its lookup index, an allowance for
    /// its compressed forms and a fixed overhead.
    ///
    /// The forms are made after the copy is stored (eagerly on their own thread, or when first
    /// asked for), so they are not counted as made: a body worth compressing is charged a
    /// quarter of its size for them (zstd and gzip, the default eager forms, take about a fifth
    /// of a realistic directory's JSON; Brotli, if asked for, a tenth more). The weight is
    /// therefore the same all the copy's life, and what a backend adds when it stores a copy is
    /// what it takes off when the copy goes.
    pub fn size_bytes(&self) -> usize {
        let body = self.body.len();
        let encoded = if body >= MIN_COMPRESSED_LEN {
            body / ENCODED_ALLOWANCE_DIVISOR
        } else {
            0
        };
        body + self.lookup.heap_bytes() + encoded + std::mem::size_of::<Self>()
    }

    /// The lookup index of the entries.
    pub fn lookup_index(&self) -> &LookupIndex {
        &self.lookup
    }

    /// Where [`Self::entries_json`] starts in [`Self::body`].
    pub(crate) fn entries_offset(&self) -> usize {
        self.entries_at
    }
}

impl fmt::Debug for CachedDirectory {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The entries are left out: they are data, and can be large.
        f.debug_struct("CachedDirectory")
            .field("meta", &self.meta)
            .field("body_bytes", &self.body.len())
            .field("encoded_bytes", &self.encoded)
            .finish()
    }
}

/// The served document's fields before `entries`, in the order they are written.
#[derive(Serialize)]
struct Header<'a> {
    directory_id: &'a DirectoryId,
    source: &'a str,
    ttl_seconds: u32,
    created_at: String,
    expires_at: String,
    last_modified: Option<&'a str>,
    etag: Option<&'a str>,
    fingerprint: &'a Fingerprint,
    invalidation_directive: InvalidationDirective,
    entry_count: usize,
}

impl<'a> Header<'a> {
    fn of(meta: &'a DirectoryMeta) -> Result<Self, Error> {
        let timestamp = |at| {
            rfc3339(at).map_err(|e| Error::Encode {
                directory_id: meta.directory_id.clone(),
                reason: format!("a timestamp cannot be written as RFC 3339: {e}"),
            })
        };
        Ok(Self {
            directory_id: &meta.directory_id,
            source: &meta.source,
            ttl_seconds: meta.ttl_seconds,
            created_at: timestamp(meta.created_at)?,
            expires_at: timestamp(meta.expires_at())?,
            last_modified: meta.last_modified.as_deref(),
            etag: meta.etag.as_deref(),
            fingerprint: &meta.fingerprint,
            invalidation_directive: meta.invalidation_directive,
            entry_count: meta.entry_count,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};

    fn snapshot(entries: Vec<Value>) -> DirectorySnapshot {
        let entries: Vec<Entry> = entries
            .into_iter()
            .map(|v| Entry::try_from(v).unwrap())
            .collect();
        let mut snapshot = DirectorySnapshot::new(entries);
        snapshot.etag = Some("\"v1\"".into());
        snapshot
    }

    fn cached(entries: Vec<Value>, limits: Limits) -> Result<CachedDirectory, Error> {
        CachedDirectory::from_snapshot(
            DirectoryId::new("vendors").unwrap(),
            "routing_directory",
            &snapshot(entries),
            Ttl::from_secs(120).unwrap(),
            SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000),
            InvalidationDirective::Fresh,
            limits,
        )
    }

    #[test]
    fn the_body_is_the_documented_payload_with_every_upstream_field() {
        let entry = json!({"id": "1", "name": "Zoë", "email": null, "division": {"id": "d"}});
        let dir = cached(vec![entry.clone()], Limits::DEFAULT).unwrap();
        let body: Value = serde_json::from_slice(dir.body()).unwrap();
        assert_eq!(body["directory_id"], "vendors");
        assert_eq!(body["source"], "routing_directory");
        assert_eq!(body["ttl_seconds"], 120);
        assert_eq!(body["created_at"], "2027-01-15T08:00:00.000Z");
        assert_eq!(body["expires_at"], "2027-01-15T08:02:00.000Z");
        assert_eq!(body["etag"], "\"v1\"");
        assert_eq!(body["last_modified"], Value::Null);
        assert_eq!(body["invalidation_directive"], "fresh");
        assert_eq!(body["fingerprint"], dir.fingerprint().as_str());
        assert_eq!(
            dir.entity_tag().as_ref(),
            format!("W/\"{}\"", dir.fingerprint()).as_bytes()
        );
        assert_eq!(body["entries"], json!([entry]));
        assert_eq!(dir.entries().unwrap()[0].name(), Some("Zoë"));
    }

    #[test]
    fn over_the_entry_limit_is_refused_whole() {
        let entries = (0..3).map(|i| json!({"id": i.to_string()})).collect();
        let err = cached(entries, Limits { max_entries: 2 }).unwrap_err();
        assert!(
            matches!(
                err,
                Error::TooManyEntries {
                    count: 3,
                    limit: 2,
                    ..
                }
            ),
            "{err}"
        );
    }

    #[test]
    fn revalidation_keeps_the_entries_and_creation_and_restarts_the_ttl() {
        let dir = cached(vec![json!({"id": "1"})], Limits::DEFAULT).unwrap();
        let later = dir.checked_at() + Duration::from_secs(500);
        let again = dir.revalidated(later, Ttl::from_secs(60).unwrap()).unwrap();
        assert_eq!(again.entries_json(), dir.entries_json());
        assert_eq!(again.meta().created_at, dir.meta().created_at);
        assert_eq!(again.expires_at(), later + Duration::from_secs(60));
        assert_eq!(again.directive(), InvalidationDirective::Revalidated);
        let body: Value = serde_json::from_slice(again.body()).unwrap();
        assert_eq!(body["invalidation_directive"], "revalidated");
    }

    #[test]
    fn freshness_ends_at_expiry() {
        let dir = cached(vec![], Limits::DEFAULT).unwrap();
        assert!(dir.is_fresh_at(dir.checked_at()));
        assert!(dir.is_fresh_at(dir.expires_at() - Duration::from_millis(1)));
        assert!(!dir.is_fresh_at(dir.expires_at()));
    }
}
