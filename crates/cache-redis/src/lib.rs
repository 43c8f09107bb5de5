//! The Redis backend for dircache (not built yet: issue "cache-redis").
#![doc = include_str!("../README.md")]
