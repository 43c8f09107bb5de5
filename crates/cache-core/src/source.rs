//! `DirectorySource`: where the pipeline fetches directories from (Genesys, or anything else).

use std::fmt;

use async_trait::async_trait;
use genesys_client::{FetchOptions, FetchOutcome, GenesysClient};

use crate::{DirectoryId, SourceError};

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
