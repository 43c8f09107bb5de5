#![doc = include_str!("../README.md")]
//! The Genesys Cloud client crate: its modules and public items.
#![allow(
    clippy::result_large_err,
    reason = "Error keeps the whole Genesys error body inline, as the public contract says; \
              errors are rare and never on a hot path"
)]

mod auth;
mod backoff;
mod body_limit;
mod budget;
mod client;
mod config;
mod config_field;
mod entries_json;
mod entry;
mod error;
mod fetch;
mod fingerprint;
mod key_field;
mod key_members;
mod limiter;
pub mod metrics;
mod page;
mod region;
mod response;
mod retry;
mod source;
mod transcode;
mod url_safety;

pub use backoff::Backoff;
pub use body_limit::{DEFAULT_MAX_DIRECTORY_BYTES, DEFAULT_MAX_PAGE_BYTES, Exceeded};
pub use budget::{
    LocalBudget, RefusalReason, RequestClass, UpstreamBudget, unknown_allowance,
    unknown_share_spent, wait_within,
};
pub use client::GenesysClient;
pub use config::GenesysClientBuilder;
pub use config_field::ConfigField;
pub use entry::Entry;
pub use error::{ApiErrorBody, Error};
pub use fetch::{DirectorySnapshot, FetchOptions, FetchOutcome};
pub use fingerprint::{Fingerprint, canonical_json};
pub use key_field::KeyField;
pub use key_members::{KeyMember, KeyMembers};
pub use region::Region;
pub use retry::{RetryPolicy, parse_retry_after};
/// The secret type of [`GenesysClientBuilder::client_secret`], re-exported for convenience.
pub use secrecy::SecretString;
pub use source::{Listing, PagingStyle, Parameter, ParameterError, Source, SourceSpec};
pub use transcode::plain_string;
pub use url_safety::{is_loopback, redact_url};
