//! The benches' error type: what can stop a bench before it measures anything.

use std::path::PathBuf;

/// A failure while setting up a bench or recording its result.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// genesys-mock could not start.
    #[error("genesys-mock could not start")]
    MockStart {
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The tokio runtime the bench runs on could not be built.
    #[error("the bench's tokio runtime could not be built")]
    Runtime {
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The Genesys client in front of the mock could not be built.
    #[error("the Genesys client could not be built")]
    Client {
        /// Why (boxed: the client's error carries a whole Genesys error body).
        #[source]
        source: Box<genesys_client::Error>,
    },
    /// The cache could not be built or could not answer.
    #[error("the cache failed")]
    Cache {
        /// Why.
        #[source]
        source: cache_core::Error,
    },
    /// A request of the raw baseline failed.
    #[error("the raw request to {url} failed")]
    Raw {
        /// The URL requested (it carries no credential).
        url: String,
        /// Why.
        #[source]
        source: reqwest::Error,
    },
    /// A body the raw baseline received is not what the mock sends.
    #[error("the raw response from {url} is not a directory listing")]
    RawBody {
        /// The URL requested.
        url: String,
        /// Why.
        #[source]
        source: serde_json::Error,
    },
    /// A recorded result could not be written.
    #[error("the bench result could not be written to {}", path.display())]
    Record {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
}
