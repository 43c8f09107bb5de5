#![doc = include_str!("../README.md")]

mod backend;
mod cache;
mod cached_directory;
mod clock;
mod config_field;
mod directory_id;
mod encoded_body;
mod encoders;
mod error;
mod flight;
mod form_worker;
mod listener;
mod lookup;
mod memory;
mod metrics;
mod negative;
mod org_directories;
mod pipeline;
mod refresh;
mod route;
mod source;
mod source_error;
mod stats;
mod ttl;
mod unknown;
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
pub use encoded_body::{
    ContentCoding, DEFAULT_EAGER_ENCODINGS, EncodedBodies, MIN_COMPRESSED_LEN, ZSTD_LEVEL,
};
pub use error::Error;
pub use listener::{
    ChangeKind, ChangeListener, ChangeNotifier, DirectoryChange, LISTENER_FAILURES_TOTAL,
    ListenerError,
};
pub use lookup::{DEFAULT_LIMIT, LookupIndex, MAX_LIMIT, Matches, Query, parse_limit};
pub use memory::{MemoryBackend, MemoryBackendBuilder};
pub use metrics::describe_metrics;
pub use negative::{InProcessNegatives, MAX_NEGATIVE_TTL, NegativeAnswer, NegativeCache};
pub use org_directories::{DeclaredDirectory, OrgDirectories, Undeclared};
pub use refresh::RefreshKind;
pub use route::Route;
pub use source::{Declaration, DirectorySource};
pub use source_error::{BUDGET_EXHAUSTED, SourceError, SourceErrorKind};
pub use stats::{CacheStats, Outcome};
pub use ttl::{Ttl, TtlMatrix};
pub use unknown::DeclaredDirectories;
pub use verify::{VerifyMethod, VerifyReport, VerifyResult};
pub use webhook::{SIGNATURE_HEADER, WebhookListener, WebhookListenerBuilder};

pub use genesys_client::{
    DirectorySnapshot, Entry, FetchOptions, FetchOutcome, Fingerprint, RequestClass,
};
