//! The dircache pipeline (not built yet: issue "cache-core and audit").
#![doc = include_str!("../README.md")]
