//! `DirectorySource`: where the pipeline fetches directories from (Genesys, or anything else).

use std::fmt;

use async_trait::async_trait;
use genesys_client::{FetchOptions, FetchOutcome, GenesysClient};

use crate::DirectoryId;

/// An upstream of directory listings. [`GenesysClient`] is the real one; tests and embedders
/// can drive the pipeline with their own.
#[async_trait]
pub trait DirectorySource: Send + Sync + fmt::Debug + 'static {
    /// Fetches the whole entry list of `id` (or learns it is unchanged, for a conditional
    /// request).
    async fn fetch(
        &self,
        id: &DirectoryId,
        options: &FetchOptions,
    ) -> Result<FetchOutcome, genesys_client::Error>;
}

#[async_trait]
impl DirectorySource for GenesysClient {
    async fn fetch(
        &self,
        id: &DirectoryId,
        options: &FetchOptions,
    ) -> Result<FetchOutcome, genesys_client::Error> {
        self.fetch_directory(id.as_str(), options).await
    }
}
