//! Everything a running mock knows, shared between the handle and the server behind one mutex.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use crate::auth::TokenStore;
use crate::directory::StoredDirectory;
use crate::faults::FaultQueue;
use crate::ratelimit::{DEFAULT_ALLOWED, RateWindow};
use crate::stats::{MockStats, RecordedRequest};

/// Settings fixed when the mock starts.
#[derive(Clone)]
pub(crate) struct Config {
    pub(crate) client_id: String,
    pub(crate) client_secret: String,
    pub(crate) token_lifetime: Duration,
    pub(crate) rate_limit: Option<u32>,
    pub(crate) latency: Duration,
}

impl Config {
    /// The allowance reported in `inin-ratelimit-allowed`, enforced or not.
    pub(crate) fn allowed(&self) -> u32 {
        self.rate_limit.unwrap_or(DEFAULT_ALLOWED)
    }
}

impl std::fmt::Debug for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Config")
            .field("client_id", &self.client_id)
            .field("client_secret", &"[redacted]")
            .field("token_lifetime", &self.token_lifetime)
            .field("rate_limit", &self.rate_limit)
            .field("latency", &self.latency)
            .finish()
    }
}

/// A scheduled torn read: after page `after_page` of `id` (a directory id, or an org listing's
/// path) is served, the directory or listing changes.
#[derive(Debug)]
pub(crate) struct PageChange {
    pub(crate) id: String,
    pub(crate) after_page: u32,
    pub(crate) remaining: u32,
}

/// The mutable part, only ever locked for short synchronous sections (never across an await).
#[derive(Debug)]
pub(crate) struct State {
    pub(crate) directories: HashMap<String, StoredDirectory>,
    /// The org listings' entities, by [`MockSource::path`](crate::MockSource::path).
    pub(crate) listings: HashMap<String, Vec<serde_json::Value>>,
    pub(crate) tokens: TokenStore,
    pub(crate) faults: FaultQueue,
    pub(crate) changes: Vec<PageChange>,
    pub(crate) stats: MockStats,
    pub(crate) requests: Vec<RecordedRequest>,
    pub(crate) window: RateWindow,
    versions: u64,
}

impl State {
    /// A fresh version tag; `salt` keeps tags of two mocks in one process apart.
    pub(crate) fn next_tag(&mut self, salt: u32) -> String {
        self.versions += 1;
        format!("{salt:08x}-{}", self.versions)
    }

    /// A seed for content the mock invents, never the same twice in one mock.
    pub(crate) fn next_seed(&mut self, salt: u32) -> u64 {
        self.versions += 1;
        (u64::from(salt) << 32) ^ self.versions
    }

    pub(crate) fn record(&mut self, request: RecordedRequest) {
        self.stats.count(&request);
        self.requests.push(request);
    }
}

/// Configuration plus state, behind an `Arc` in the handle and the router.
#[derive(Debug)]
pub(crate) struct Shared {
    pub(crate) config: Config,
    /// Distinguishes this mock's version tags from another mock's.
    pub(crate) salt: u32,
    state: Mutex<State>,
}

impl Shared {
    pub(crate) fn new(config: Config) -> Self {
        let state = State {
            directories: HashMap::new(),
            listings: HashMap::new(),
            tokens: TokenStore::default(),
            faults: FaultQueue::default(),
            changes: Vec::new(),
            stats: MockStats::default(),
            requests: Vec::new(),
            window: RateWindow::new(Instant::now()),
            versions: 0,
        };
        Self {
            config,
            salt: fastrand::u32(..),
            state: Mutex::new(state),
        }
    }

    /// The state; a panic in a test thread while holding the lock must not wedge the server.
    pub(crate) fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}
