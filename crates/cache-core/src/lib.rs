#![doc = include_str!("../README.md")]

mod backend;
mod cached_directory;
mod clock;
mod directory_id;
mod error;
mod listener;
mod memory;
mod source;
mod ttl;
mod webhook;

#[cfg(feature = "conformance")]
pub mod conformance;

pub use backend::{
    CacheBackend, CacheBackendExt, InvalidationNotices, LockToken, PutOutcome, RefreshLock,
};
pub use cached_directory::{CachedDirectory, DirectoryMeta, InvalidationDirective, Limits};
pub use clock::Clock;
pub use directory_id::{DirectoryId, MAX_DIRECTORY_ID_LEN};
pub use error::Error;
pub use source::DirectorySource;
pub use ttl::{Ttl, TtlMatrix};

pub use genesys_client::{DirectorySnapshot, Entry, FetchOptions, FetchOutcome, Fingerprint};
