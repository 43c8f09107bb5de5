//! The metrics the audit sinks report, and their descriptions.

use metrics::{Unit, describe_counter};

/// Audit events that were never written because the queue was full or the writer had shut
/// down; label `reason` is `queue_full` or `writer_closed`.
pub const EVENTS_DROPPED_TOTAL: &str = "dircache_audit_events_dropped_total";
/// Audit events written to the audit log.
pub const EVENTS_WRITTEN_TOTAL: &str = "dircache_audit_events_written_total";
/// Failed writes (or syncs) of the audit log.
pub const WRITE_ERRORS_TOTAL: &str = "dircache_audit_write_errors_total";

/// Registers the HELP text of the audit metrics with the installed `metrics` recorder.
///
/// [`JsonLinesSink`](crate::JsonLinesSink) calls it when it opens; call it yourself if the
/// recorder is installed later than that. Calling it more than once is harmless.
pub fn describe_metrics() {
    describe_counter!(
        EVENTS_DROPPED_TOTAL,
        Unit::Count,
        "Audit events dropped instead of written, because the audit queue was full or its writer had shut down."
    );
    describe_counter!(
        EVENTS_WRITTEN_TOTAL,
        Unit::Count,
        "Audit events written to the audit log."
    );
    describe_counter!(
        WRITE_ERRORS_TOTAL,
        Unit::Count,
        "Failed writes or syncs of the audit log; the events of a failed write are lost."
    );
}
