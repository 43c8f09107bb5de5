//! `Auditor`: the handle the cache pipeline records audit events through.

use std::sync::Arc;

use serde_json::{Map, Value};

use crate::event::{AuditEvent, AuditEventKind};
use crate::sink::AuditSink;

/// The handle the pipeline holds: a cheap `Clone` (two reference counts) that stamps every event
/// with this instance's id and the current time, and knows whether per-hit events are wanted.
///
/// Details must be counts, fingerprints, durations and error summaries only: never entry
/// contents, never secrets.
#[derive(Clone, Debug)]
pub struct Auditor {
    sink: Option<Arc<dyn AuditSink>>,
    instance_id: Arc<str>,
    hits: bool,
}

impl Auditor {
    /// An auditor that sends events to `sink`, stamped with `instance_id`. Per-hit events are
    /// off; see [`Auditor::with_hits`].
    pub fn new(sink: Arc<dyn AuditSink>, instance_id: impl Into<String>) -> Self {
        Auditor {
            sink: Some(sink),
            instance_id: Arc::from(instance_id.into()),
            hits: false,
        }
    }

    /// An auditor that records nothing: every call returns at once without allocating.
    pub fn disabled() -> Self {
        Auditor {
            sink: None,
            instance_id: Arc::from(""),
            hits: false,
        }
    }

    /// Turns per-hit events ([`AuditEventKind::CacheHit`]) on or off. Off by default: a busy
    /// cache serves far more hits than anything else, and an audit line per hit is rarely
    /// worth its cost. Has no effect on a disabled auditor.
    #[must_use]
    pub fn with_hits(mut self, on: bool) -> Self {
        self.hits = on && self.sink.is_some();
        self
    }

    /// Records `event` for `directory_id`.
    ///
    /// `details` is a JSON object, or `Null` for none; any other value is kept under the key
    /// `"value"` so that `details` is always an object in the log.
    pub fn record(&self, event: AuditEventKind, directory_id: &str, details: Value) {
        let Some(sink) = &self.sink else {
            return;
        };
        let details = match details {
            Value::Object(map) => map,
            Value::Null => Map::new(),
            other => Map::from_iter([("value".to_owned(), other)]),
        };
        sink.record(AuditEvent::new(
            event,
            directory_id,
            &*self.instance_id,
            details,
        ));
    }

    /// Records a cache hit, only if per-hit events are on; otherwise does nothing and allocates
    /// nothing. Callers that build costly details should check [`Auditor::hits_enabled`] first.
    pub fn hit(&self, directory_id: &str, details: Value) {
        if self.hits {
            self.record(AuditEventKind::CacheHit, directory_id, details);
        }
    }

    /// Whether [`Auditor::hit`] records anything.
    pub fn hits_enabled(&self) -> bool {
        self.hits
    }

    /// Whether this auditor records anything at all (false for [`Auditor::disabled`]).
    pub fn is_enabled(&self) -> bool {
        self.sink.is_some()
    }

    /// The instance id stamped on every event (empty for a disabled auditor).
    pub fn instance_id(&self) -> &str {
        &self.instance_id
    }
}

impl Default for Auditor {
    /// The same as [`Auditor::disabled`].
    fn default() -> Self {
        Auditor::disabled()
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::memory::MemoryAuditSink;

    fn auditor_with_memory(instance: &str) -> (Auditor, MemoryAuditSink) {
        let sink = MemoryAuditSink::new();
        (Auditor::new(Arc::new(sink.clone()), instance), sink)
    }

    #[test]
    fn stamps_instance_id_directory_and_details() {
        let (auditor, sink) = auditor_with_memory("pod-3");
        assert_eq!(auditor.instance_id(), "pod-3");
        auditor.clone().record(
            AuditEventKind::CacheInvalidate,
            "external_vendors",
            json!({"entry_count": 7}),
        );
        let events = sink.events();
        assert_eq!(events.len(), 1);
        let event = &events[0];
        assert_eq!(event.event, AuditEventKind::CacheInvalidate);
        assert_eq!(event.instance_id, "pod-3");
        assert_eq!(event.directory_id, "external_vendors");
        assert_eq!(
            Value::Object(event.details.clone()),
            json!({"entry_count": 7})
        );
        assert!(event.timestamp.ends_with('Z'));
    }

    #[test]
    fn details_are_always_an_object() {
        let (auditor, sink) = auditor_with_memory("i");
        auditor.record(AuditEventKind::CacheEvict, "d", Value::Null);
        auditor.record(AuditEventKind::FetchFailed, "d", json!("timeout"));
        let events = sink.events();
        assert!(events[0].details.is_empty());
        assert_eq!(
            Value::Object(events[1].details.clone()),
            json!({"value": "timeout"})
        );
    }

    #[test]
    fn hits_are_recorded_only_when_turned_on() {
        let (auditor, sink) = auditor_with_memory("i");
        assert!(!auditor.hits_enabled());
        auditor.hit("d", json!({"entry_count": 1}));
        assert!(sink.is_empty(), "hits are off by default");

        let auditor = auditor.with_hits(true);
        assert!(auditor.hits_enabled());
        auditor.hit("d", json!({"entry_count": 1}));
        assert_eq!(sink.count(AuditEventKind::CacheHit), 1);

        let auditor = auditor.with_hits(false);
        auditor.hit("d", Value::Null);
        assert_eq!(sink.len(), 1);
    }

    #[test]
    fn disabled_auditor_records_nothing_even_with_hits_asked_for() {
        let auditor = Auditor::disabled().with_hits(true);
        assert!(!auditor.is_enabled());
        assert!(!auditor.hits_enabled(), "callers skip building hit details");
        auditor.record(AuditEventKind::CachePopulate, "d", json!({"n": 1}));
        auditor.hit("d", Value::Null);
        assert!(!Auditor::default().is_enabled());

        let (enabled, _sink) = auditor_with_memory("i");
        assert!(enabled.is_enabled());
    }
}
