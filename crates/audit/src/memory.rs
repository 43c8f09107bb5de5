//! `MemoryAuditSink`: audit events kept in memory, for tests and embedding.

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use crate::event::{AuditEvent, AuditEventKind};
use crate::sink::AuditSink;

/// Collects audit events in memory, in the order they were recorded.
///
/// Clones share one list, so a test can hand a clone to the code under test and read the events
/// from its own. It grows without bound: meant for tests and short-lived embedding, not for a
/// long-running service.
#[derive(Clone, Debug, Default)]
pub struct MemoryAuditSink {
    events: Arc<Mutex<Vec<AuditEvent>>>,
}

impl MemoryAuditSink {
    /// An empty sink.
    pub fn new() -> Self {
        Self::default()
    }

    /// A copy of every event recorded so far, oldest first.
    pub fn events(&self) -> Vec<AuditEvent> {
        self.lock().clone()
    }

    /// How many events of `kind` were recorded.
    pub fn count(&self, kind: AuditEventKind) -> usize {
        self.lock().iter().filter(|e| e.event == kind).count()
    }

    /// How many events were recorded in all.
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    /// Whether nothing was recorded.
    pub fn is_empty(&self) -> bool {
        self.lock().is_empty()
    }

    /// Forgets every event recorded so far.
    pub fn clear(&self) {
        self.lock().clear();
    }

    // A panic elsewhere while the list was locked leaves the list itself intact (a push either
    // happened or not), so poisoning is no reason to lose the events.
    fn lock(&self) -> MutexGuard<'_, Vec<AuditEvent>> {
        self.events.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl AuditSink for MemoryAuditSink {
    fn record(&self, event: AuditEvent) {
        self.lock().push(event);
    }
}

#[cfg(test)]
mod tests {
    use serde_json::Map;

    use super::*;

    #[test]
    fn clones_share_events_and_count_by_kind() {
        let sink = MemoryAuditSink::new();
        let handed_out = sink.clone();
        for kind in [
            AuditEventKind::CachePopulate,
            AuditEventKind::FetchFailed,
            AuditEventKind::FetchFailed,
        ] {
            handed_out.record(AuditEvent::new(kind, "dir", "i1", Map::new()));
        }
        assert_eq!(sink.len(), 3);
        assert_eq!(sink.count(AuditEventKind::FetchFailed), 2);
        assert_eq!(sink.count(AuditEventKind::CachePopulate), 1);
        assert_eq!(sink.count(AuditEventKind::CacheEvict), 0);
        let kinds: Vec<_> = sink.events().iter().map(|e| e.event).collect();
        assert_eq!(
            kinds,
            [
                AuditEventKind::CachePopulate,
                AuditEventKind::FetchFailed,
                AuditEventKind::FetchFailed
            ]
        );
        sink.clear();
        assert!(handed_out.is_empty());
    }
}
