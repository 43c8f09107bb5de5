//! The `AuditSink` trait: where audit events go.

use std::fmt;
use std::sync::Arc;

use crate::event::AuditEvent;

/// A destination for audit events.
///
/// `record` is called on the cache's hot path, so an implementation must never block the caller
/// (no locks held across I/O, no waiting for a full queue). Under overload it may drop events,
/// and must count what it drops so the loss is visible.
pub trait AuditSink: Send + Sync + fmt::Debug {
    /// Takes one event. Returns at once, whatever happens to the event afterwards.
    fn record(&self, event: AuditEvent);
}

impl<T: AuditSink + ?Sized> AuditSink for Arc<T> {
    fn record(&self, event: AuditEvent) {
        (**self).record(event);
    }
}

impl<T: AuditSink + ?Sized> AuditSink for Box<T> {
    fn record(&self, event: AuditEvent) {
        (**self).record(event);
    }
}
