//! `DirectorySource`: where the pipeline fetches directories from (Genesys, or anything else).

use std::fmt;

use async_trait::async_trait;
use genesys_client::{FetchOptions, FetchOutcome, GenesysClient};

use crate::{DirectoryId, SourceError};

/// What a source says a directory is: the name of the listing it reads (SPEC §7's source) and
/// its own entry limit, when it has one (else the cache's [`Limits`](crate::Limits)).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Declaration {
    /// The source name, e.g. `queue_members`; served in the directory document.
    pub source: &'static str,
    /// The most entries this directory may have, instead of the cache's limit.
    pub max_entries: Option<usize>,
}

impl Declaration {
    /// The seed's routing directory under the cache's own limit: what an undeclared id is.
    pub const ROUTING_DIRECTORY: Declaration = Declaration {
        source: "routing_directory",
        max_entries: None,
    };
}

/// How to fetch one named listing: the directory id is the key, the source knows where the
/// listing lives and how it is paged. [`GenesysClient`] is the real one; tests and embedders
/// can drive the pipeline with their own, failing with the core's [`SourceError`].
#[async_trait]
pub trait DirectorySource: Send + Sync + fmt::Debug + 'static {
    /// Fetches the whole entry list of `id` (or learns it is unchanged, for a conditional
    /// request).
    async fn fetch(
        &self,
        id: &DirectoryId,
        options: &FetchOptions,
    ) -> Result<FetchOutcome, SourceError>;

    /// What `id` is to this source; `None` when the source refuses it outright (an undeclared
    /// id under `undeclared = "refuse"`), which the cache answers with
    /// [`Error::UnknownDirectory`](crate::Error::UnknownDirectory) before any I/O. By default
    /// every id is a routing directory.
    fn declaration(&self, id: &DirectoryId) -> Option<Declaration> {
        let _ = id;
        Some(Declaration::ROUTING_DIRECTORY)
    }
}

#[async_trait]
impl DirectorySource for GenesysClient {
    async fn fetch(
        &self,
        id: &DirectoryId,
        options: &FetchOptions,
    ) -> Result<FetchOutcome, SourceError> {
        Ok(self.fetch_directory(id.as_str(), options).await?)
    }
}
