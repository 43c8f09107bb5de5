//! Audit events and sinks for dircache (not built yet: issue "cache-core and audit").
#![doc = include_str!("../README.md")]
