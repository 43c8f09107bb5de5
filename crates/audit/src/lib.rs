//! The audit trail of dircache: events, the `Auditor` handle, and in-memory and JSON-lines sinks.
#![doc = include_str!("../README.md")]

mod auditor;
mod error;
mod event;
mod json_lines;
mod log_file;
mod memory;
mod metrics;
mod sink;
pub mod timestamp;

pub use crate::auditor::Auditor;
pub use crate::error::AuditError;
pub use crate::event::{AuditEvent, AuditEventKind};
pub use crate::json_lines::{AuditWriter, DEFAULT_CAPACITY, JsonLinesSink, JsonLinesSinkBuilder};
pub use crate::memory::MemoryAuditSink;
pub use crate::metrics::{
    EVENTS_DROPPED_TOTAL, EVENTS_WRITTEN_TOTAL, WRITE_ERRORS_TOTAL, describe_metrics,
};
pub use crate::sink::AuditSink;
