//! The benches' error type: what can stop a bench before it measures anything.

use std::net::SocketAddr;
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
    /// A scratch file or folder of a bench could not be made, written or read.
    #[error("scratch file {}", path.display())]
    Scratch {
        /// The file or folder.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// A server process (`dircache serve`, the static baseline) could not be found, started or
    /// stopped.
    #[error(transparent)]
    Server(#[from] testkit::Error),
    /// The resident set size of a process could not be read.
    #[error("cannot read the resident set size in {}", path.display())]
    Rss {
        /// `/proc/<pid>/status`.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// An HTTP exchange with a server under measurement failed.
    #[error("GET http://{addr}{path} failed")]
    Http {
        /// The server.
        addr: SocketAddr,
        /// The path requested.
        path: String,
        /// Why.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// A server answered, but not what the bench measures.
    #[error("unexpected answer to GET http://{addr}{path}: {reason}")]
    Answer {
        /// The server.
        addr: SocketAddr,
        /// The path requested.
        path: String,
        /// What was wrong.
        reason: String,
    },
    /// A connection of the load generator panicked or was cancelled.
    #[error("a load generator connection did not finish")]
    Load {
        /// Why.
        #[source]
        source: tokio::task::JoinError,
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
