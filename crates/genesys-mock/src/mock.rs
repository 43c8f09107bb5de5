//! The public handle: starting a mock, scripting its directories and faults, reading its stats.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;

use crate::directory::{MockDirectory, StoredDirectory};
use crate::faults::{Fault, Target};
use crate::server::Server;
use crate::sources::MockSource;
use crate::state::{Config, PageChange, Shared};
use crate::stats::{MockStats, RecordedRequest};

/// Default OAuth client id.
const DEFAULT_CLIENT_ID: &str = "dircache-mock-client";
/// Default OAuth client secret.
const DEFAULT_CLIENT_SECRET: &str = "dircache-mock-secret";
/// Genesys' default token lifetime.
const DEFAULT_TOKEN_LIFETIME: Duration = Duration::from_secs(24 * 60 * 60);

/// Handle to a running mock of the Genesys Cloud login and directory API on `127.0.0.1`.
///
/// The server runs on its own OS thread with its own tokio runtime, so it works from sync code
/// (criterion benches), from any test runtime, and from a test whose clock is paused. Dropping
/// the handle stops the server and closes its connections.
pub struct GenesysMock {
    shared: Arc<Shared>,
    server: Server,
    base_url: String,
}

impl GenesysMock {
    /// Starts a mock with the defaults of [`MockBuilder`] on a free port.
    pub fn start() -> std::io::Result<GenesysMock> {
        Self::builder().start()
    }

    /// Configures a mock before starting it.
    pub fn builder() -> MockBuilder {
        MockBuilder::default()
    }

    /// `http://127.0.0.1:PORT`; serves both the login and the API paths.
    pub fn base_url(&self) -> String {
        self.base_url.clone()
    }

    /// The API base (`GENESYS_API_URL`): the same as [`Self::base_url`].
    pub fn api_url(&self) -> String {
        self.base_url()
    }

    /// The login base (`GENESYS_LOGIN_URL`): the same as [`Self::base_url`].
    pub fn login_url(&self) -> String {
        self.base_url()
    }

    /// The OAuth client id the token endpoint accepts.
    pub fn client_id(&self) -> &str {
        &self.shared.config.client_id
    }

    /// The OAuth client secret the token endpoint accepts.
    pub fn client_secret(&self) -> &str {
        &self.shared.config.client_secret
    }

    /// Creates directory `id`, or replaces it under a new version.
    pub fn put_directory(&self, id: &str, directory: MockDirectory) {
        let mut state = self.shared.lock();
        let tag = state.next_tag(self.shared.salt);
        match state.directories.get_mut(id) {
            Some(stored) => {
                stored.directory = directory;
                stored.bump(tag);
            }
            None => {
                state
                    .directories
                    .insert(id.to_owned(), StoredDirectory::new(directory, tag));
            }
        }
    }

    /// Changes the entries of directory `id` in place and bumps its version (a new `ETag` and a
    /// later `Last-Modified` when validators are on), whether or not `change` altered anything.
    ///
    /// `change` runs with the mock's state locked, so requests see the change whole or not at
    /// all; it must not call back into this mock.
    ///
    /// # Panics
    ///
    /// When there is no directory `id`: a test updating a directory it never created is wrong.
    #[track_caller]
    pub fn update_directory(&self, id: &str, change: impl FnOnce(&mut Vec<Value>)) {
        let mut state = self.shared.lock();
        let tag = state.next_tag(self.shared.salt);
        let Some(stored) = state.directories.get_mut(id) else {
            panic!("genesys-mock: update_directory on unknown directory `{id}`");
        };
        change(stored.directory.entries_mut());
        stored.bump(tag);
    }

    /// Removes directory `id`: its listing answers 404 from now on.
    pub fn remove_directory(&self, id: &str) {
        self.shared.lock().directories.remove(id);
    }

    /// The current entries of directory `id`.
    pub fn directory_entries(&self, id: &str) -> Option<Vec<Value>> {
        let state = self.shared.lock();
        state
            .directories
            .get(id)
            .map(|stored| stored.directory.entries().to_vec())
    }

    /// Creates (or replaces) the org listing `source` with `entities`, served in its own paging
    /// style; [`MockSource::generated`] makes realistic ones.
    pub fn put_listing(&self, source: &MockSource, entities: Vec<Value>) {
        self.shared.lock().listings.insert(source.path(), entities);
    }

    /// The current entities of the org listing `source`.
    pub fn listing_entities(&self, source: &MockSource) -> Option<Vec<Value>> {
        self.shared.lock().listings.get(&source.path()).cloned()
    }

    /// Changes the entities of the org listing `source` in place, with the mock's state locked
    /// (`change` must not call back into this mock); an absent listing starts empty.
    pub fn update_listing(&self, source: &MockSource, change: impl FnOnce(&mut Vec<Value>)) {
        change(
            self.shared
                .lock()
                .listings
                .entry(source.path())
                .or_default(),
        );
    }

    /// Makes the next `times` requests for the org listing `source` answer `fault`.
    pub fn fail_listing(&self, source: &MockSource, fault: Fault, times: u32) {
        self.inject(Target::Listing(source.path()), fault, times);
    }

    /// After page `after_page` of the org listing `source` is served, one new entity is added
    /// at its front, `times` times: a user added while a client reads the pages.
    pub fn add_between_pages(&self, source: &MockSource, after_page: u32, times: u32) {
        self.shared.lock().changes.push(PageChange {
            id: source.path(),
            after_page,
            remaining: times,
        });
    }

    /// Queues `fault` for the next `times` requests matching `target`. Rules are consumed in
    /// FIFO order: a request takes one use of the first rule that matches it.
    pub fn inject(&self, target: Target, fault: Fault, times: u32) {
        self.shared.lock().faults.push(target, fault, times);
    }

    /// Makes the next `times` requests for directory `id` answer `fault`: [`Self::inject`]
    /// with [`Target::Directory`].
    pub fn fail_directory(&self, id: &str, fault: Fault, times: u32) {
        self.inject(Target::Directory(id.to_owned()), fault, times);
    }

    /// After page `after_page` of directory `id` is served (with 200), the directory changes,
    /// `times` times: its first entry is renamed, one entry is appended (so `total` changes),
    /// and its version bumps. This is how a client meets a torn snapshot.
    pub fn change_between_pages(&self, id: &str, after_page: u32, times: u32) {
        if times > 0 {
            self.shared.lock().changes.push(PageChange {
                id: id.to_owned(),
                after_page,
                remaining: times,
            });
        }
    }

    /// Invalidates every token issued so far: API requests bearing one answer 401.
    pub fn expire_tokens(&self) {
        self.shared.lock().tokens.expire_all();
    }

    /// Counts of the requests served so far.
    pub fn stats(&self) -> MockStats {
        self.shared.lock().stats.clone()
    }

    /// Zeroes the counts and empties the request log.
    pub fn reset_stats(&self) {
        let mut state = self.shared.lock();
        state.stats = MockStats::default();
        state.requests.clear();
    }

    /// Every request served since the start (or the last [`Self::reset_stats`]), in order.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.shared.lock().requests.clone()
    }
}

impl fmt::Debug for GenesysMock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GenesysMock")
            .field("base_url", &self.base_url)
            .field("config", &self.shared.config)
            .field("server", &self.server)
            .finish_non_exhaustive()
    }
}

/// Settings for a [`GenesysMock`], from [`GenesysMock::builder`].
#[must_use]
pub struct MockBuilder {
    config: Config,
}

impl Default for MockBuilder {
    fn default() -> Self {
        Self {
            config: Config {
                client_id: DEFAULT_CLIENT_ID.to_owned(),
                client_secret: DEFAULT_CLIENT_SECRET.to_owned(),
                token_lifetime: DEFAULT_TOKEN_LIFETIME,
                rate_limit: None,
                latency: Duration::ZERO,
            },
        }
    }
}

impl MockBuilder {
    /// The OAuth client the token endpoint accepts (default `dircache-mock-client` /
    /// `dircache-mock-secret`).
    pub fn credentials(
        mut self,
        client_id: impl Into<String>,
        client_secret: impl Into<String>,
    ) -> Self {
        self.config.client_id = client_id.into();
        self.config.client_secret = client_secret.into();
        self
    }

    /// How long an access token stays valid (default 24 h); an older token answers 401.
    /// `expires_in` reports it in whole seconds, rounded down.
    pub fn token_lifetime(mut self, lifetime: Duration) -> Self {
        self.config.token_lifetime = lifetime;
        self
    }

    /// Enforces this many API requests per fixed one-minute window: beyond it, 429 with
    /// `Retry-After` (seconds until the window resets). Without it nothing is enforced and the
    /// headers report 300 allowed, upstream's default.
    pub fn rate_limit_per_minute(mut self, allowed: u32) -> Self {
        self.config.rate_limit = Some(allowed);
        self
    }

    /// Delay added to every response (default none).
    pub fn latency(mut self, latency: Duration) -> Self {
        self.config.latency = latency;
        self
    }

    /// Binds `127.0.0.1:0` and starts serving.
    pub fn start(self) -> std::io::Result<GenesysMock> {
        let shared = Arc::new(Shared::new(self.config));
        let server = Server::spawn(Arc::clone(&shared))?;
        let base_url = format!("http://{}", server.addr());
        Ok(GenesysMock {
            shared,
            server,
            base_url,
        })
    }
}

impl fmt::Debug for MockBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MockBuilder")
            .field("config", &self.config)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, Instant};

    use super::GenesysMock;
    use crate::MockDirectory;
    use crate::testing::{entries_path, status_of, token};

    #[test]
    fn starts_and_serves_from_sync_code_and_stops_when_dropped() {
        let mock = GenesysMock::start().unwrap();
        assert!(mock.base_url().starts_with("http://127.0.0.1:"));
        assert_eq!(
            (mock.api_url(), mock.login_url()),
            (mock.base_url(), mock.base_url())
        );
        mock.put_directory("d", MockDirectory::generated(2, 1));
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let status = runtime.block_on(async {
            let token = token(&mock).await;
            status_of(&mock, &token, &entries_path("d", "")).await
        });
        assert_eq!(status, 200);
        let address = mock.base_url().trim_start_matches("http://").to_owned();
        drop(mock);
        assert!(
            std::net::TcpStream::connect(address).is_err(),
            "the port is closed"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn keeps_real_time_when_the_test_clock_is_paused() {
        let mock = GenesysMock::builder()
            .latency(Duration::from_millis(30))
            .token_lifetime(Duration::from_millis(200))
            .start()
            .unwrap();
        mock.put_directory("d", MockDirectory::generated(2, 1));
        let token = token(&mock).await;
        assert_eq!(status_of(&mock, &token, &entries_path("d", "")).await, 200);
        // The test's paused clock does not age the mock's tokens; real time does.
        std::thread::sleep(Duration::from_millis(250));
        assert_eq!(status_of(&mock, &token, &entries_path("d", "")).await, 401);
    }

    #[tokio::test]
    async fn latency_delays_every_response() {
        let mock = GenesysMock::builder()
            .latency(Duration::from_millis(150))
            .start()
            .unwrap();
        let started = Instant::now();
        let token = token(&mock).await;
        assert!(started.elapsed() >= Duration::from_millis(150));
        let started = Instant::now();
        assert_eq!(
            status_of(&mock, &token, &entries_path("none", "")).await,
            404
        );
        assert!(started.elapsed() >= Duration::from_millis(150));
    }

    #[tokio::test]
    async fn put_replaces_and_update_changes_entries_in_place() {
        let mock = GenesysMock::start().unwrap();
        mock.put_directory("d", MockDirectory::generated(2, 1));
        mock.put_directory(
            "d",
            MockDirectory::new(vec![serde_json::json!({"id": "1", "name": "李雷"})]),
        );
        mock.update_directory("d", |entries| {
            entries.push(serde_json::json!({"id": "2", "name": "José Núñez"}))
        });
        let names: Vec<_> = mock
            .directory_entries("d")
            .unwrap()
            .into_iter()
            .map(|e| e["name"].clone())
            .collect();
        assert_eq!(names, ["李雷", "José Núñez"]);
        let debug = format!("{mock:?}");
        assert!(debug.contains("dircache-mock-client") && !debug.contains(mock.client_secret()));
    }

    #[test]
    #[should_panic(expected = "unknown directory `missing`")]
    fn updating_an_unknown_directory_is_a_test_bug() {
        GenesysMock::start()
            .unwrap()
            .update_directory("missing", Vec::clear);
    }
}
