#![doc = include_str!("../README.md")]

mod backend;
mod cache;
mod cached_directory;
mod clock;
mod config_field;
mod directory_id;
mod encoded_body;
mod error;
mod flight;
mod listener;
mod memory;
mod metrics;
mod pipeline;
mod refresh;
mod source;
mod source_error;
mod stats;
mod ttl;
mod verify;
mod webhook;

#[cfg(feature = "conformance")]
pub mod conformance;

pub use backend::{
    CacheBackend, CacheBackendExt, InvalidationNotice, InvalidationNotices, LockToken, PutOutcome,
    RefreshLock,
};
pub use cache::{DirectoryCache, DirectoryCacheBuilder, Lookup};
pub use cached_directory::{CachedDirectory, DirectoryMeta, InvalidationDirective, Limits};
pub use clock::Clock;
pub use config_field::{BackendField, CacheField, ConfigField, WebhookField};
pub use directory_id::{DirectoryId, MAX_DIRECTORY_ID_LEN};
pub use encoded_body::{ContentCoding, EncodedBodies, MIN_COMPRESSED_LEN, ZSTD_LEVEL};
pub use error::Error;
pub use listener::{
    ChangeKind, ChangeListener, ChangeNotifier, DirectoryChange, LISTENER_FAILURES_TOTAL,
    ListenerError,
};
pub use memory::{MemoryBackend, MemoryBackendBuilder};
pub use metrics::describe_metrics;
pub use refresh::RefreshKind;
pub use source::DirectorySource;
pub use source_error::{SourceError, SourceErrorKind};
pub use stats::{CacheStats, Outcome};
pub use ttl::{Ttl, TtlMatrix};
pub use verify::{VerifyMethod, VerifyReport, VerifyResult};
pub use webhook::{SIGNATURE_HEADER, WebhookListener, WebhookListenerBuilder};

pub use genesys_client::{DirectorySnapshot, Entry, FetchOptions, FetchOutcome, Fingerprint};
