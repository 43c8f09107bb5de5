//! The audit event: what happened to which directory, where and when.

use std::fmt;
use std::time::SystemTime;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::timestamp::rfc3339;

/// What happened: the `event` field of an audit line.
///
/// Serialised in `snake_case` (`cache_populate`, `fetch_failed`, …), the same text that
/// [`AuditEventKind::as_str`] returns.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum AuditEventKind {
    /// A directory was fetched and cached for the first time (`fresh`).
    CachePopulate,
    /// A cached directory was replaced by a newer upstream copy (`overwrite`).
    CacheRefresh,
    /// Upstream confirmed the cached copy unchanged and its TTL was extended (`revalidated`).
    CacheRevalidate,
    /// A directory was removed on request.
    CacheInvalidate,
    /// A directory was evicted for capacity or expiry.
    CacheEvict,
    /// A consistency check found the cached copy differs from upstream.
    ConsistencyMismatch,
    /// An upstream fetch failed.
    FetchFailed,
    /// An expired copy was served because upstream failed (stale-if-error).
    StaleServed,
    /// A change listener failed or timed out.
    CallbackFailed,
    /// The cache backend failed (for example Redis unreachable, or an undecodable value).
    BackendError,
    /// A request was served from the cache; recorded only when per-hit auditing is on.
    CacheHit,
}

impl AuditEventKind {
    /// Every kind, in declaration order.
    pub const ALL: &'static [AuditEventKind] = &[
        AuditEventKind::CachePopulate,
        AuditEventKind::CacheRefresh,
        AuditEventKind::CacheRevalidate,
        AuditEventKind::CacheInvalidate,
        AuditEventKind::CacheEvict,
        AuditEventKind::ConsistencyMismatch,
        AuditEventKind::FetchFailed,
        AuditEventKind::StaleServed,
        AuditEventKind::CallbackFailed,
        AuditEventKind::BackendError,
        AuditEventKind::CacheHit,
    ];

    /// The name written in the `event` field, for example `"cache_populate"`.
    pub fn as_str(&self) -> &'static str {
        match self {
            AuditEventKind::CachePopulate => "cache_populate",
            AuditEventKind::CacheRefresh => "cache_refresh",
            AuditEventKind::CacheRevalidate => "cache_revalidate",
            AuditEventKind::CacheInvalidate => "cache_invalidate",
            AuditEventKind::CacheEvict => "cache_evict",
            AuditEventKind::ConsistencyMismatch => "consistency_mismatch",
            AuditEventKind::FetchFailed => "fetch_failed",
            AuditEventKind::StaleServed => "stale_served",
            AuditEventKind::CallbackFailed => "callback_failed",
            AuditEventKind::BackendError => "backend_error",
            AuditEventKind::CacheHit => "cache_hit",
        }
    }
}

impl fmt::Display for AuditEventKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One audit record: one line of the JSON-lines audit log.
///
/// `details` holds counts, fingerprints, durations and error summaries. Callers must never put
/// entry contents (names, addresses, e-mail addresses, phone numbers, custom attributes) or
/// secrets (client secrets, tokens) in it: audit logs are kept long and read widely.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[non_exhaustive]
pub struct AuditEvent {
    /// When it happened, RFC 3339 in UTC with millisecond precision, e.g. `2026-11-28T01:02:03.456Z`.
    pub timestamp: String,
    /// What happened.
    pub event: AuditEventKind,
    /// The directory it happened to.
    pub directory_id: String,
    /// The dircache instance that recorded it.
    pub instance_id: String,
    /// Event-specific facts (counts and fingerprints only).
    pub details: Map<String, Value>,
}

impl AuditEvent {
    /// An event that happened now.
    pub fn new(
        event: AuditEventKind,
        directory_id: impl Into<String>,
        instance_id: impl Into<String>,
        details: Map<String, Value>,
    ) -> Self {
        AuditEvent {
            // Now is always within what RFC 3339 can write.
            timestamp: rfc3339(SystemTime::now()).unwrap_or_default(),
            event,
            directory_id: directory_id.into(),
            instance_id: instance_id.into(),
            details,
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;
    use time::OffsetDateTime;
    use time::format_description::well_known::Rfc3339;

    use super::*;

    #[test]
    fn every_kind_serialises_as_its_snake_case_name() {
        let expected = [
            "cache_populate",
            "cache_refresh",
            "cache_revalidate",
            "cache_invalidate",
            "cache_evict",
            "consistency_mismatch",
            "fetch_failed",
            "stale_served",
            "callback_failed",
            "backend_error",
            "cache_hit",
        ];
        assert_eq!(AuditEventKind::ALL.len(), expected.len());
        for (kind, name) in AuditEventKind::ALL.iter().zip(expected) {
            assert_eq!(serde_json::to_value(kind).unwrap(), json!(name));
            assert_eq!(kind.as_str(), name);
            assert_eq!(kind.to_string(), name);
            let back: AuditEventKind = serde_json::from_value(json!(name)).unwrap();
            assert_eq!(back, *kind);
        }
    }

    #[test]
    fn event_serialises_to_the_documented_line_shape() {
        let details = json!({"entry_count": 42, "fingerprint": "ab12"});
        let Value::Object(details) = details else {
            unreachable!("a json! object literal is an object")
        };
        let event = AuditEvent::new(
            AuditEventKind::CachePopulate,
            "internal_agents",
            "pod-7",
            details,
        );
        let line = serde_json::to_string(&event).unwrap();
        let value: Value = serde_json::from_str(&line).unwrap();
        let object = value.as_object().unwrap();
        let mut keys: Vec<&str> = object.keys().map(String::as_str).collect();
        keys.sort_unstable();
        assert_eq!(
            keys,
            [
                "details",
                "directory_id",
                "event",
                "instance_id",
                "timestamp"
            ]
        );
        assert_eq!(value["event"], "cache_populate");
        assert_eq!(value["directory_id"], "internal_agents");
        assert_eq!(value["instance_id"], "pod-7");
        assert_eq!(
            value["details"],
            json!({"entry_count": 42, "fingerprint": "ab12"})
        );
        assert!(!line.contains('\n'), "one event must fit on one line");

        let stamp = value["timestamp"].as_str().unwrap();
        assert!(stamp.ends_with('Z'), "{stamp} is not UTC with Z");
        let parsed = OffsetDateTime::parse(stamp, &Rfc3339).unwrap();
        assert_eq!(parsed.offset(), time::UtcOffset::UTC);
        let age = OffsetDateTime::now_utc() - parsed;
        assert!(
            age.whole_seconds().abs() < 60,
            "timestamp {stamp} is not now"
        );

        let back: AuditEvent = serde_json::from_str(&line).unwrap();
        assert_eq!(back, event);
    }
}
