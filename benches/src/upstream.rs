//! The upstream every bench reads: genesys-mock serving one 500-entry directory in two pages.

use std::time::Duration;

use cache_core::{DirectoryCache, DirectoryId};
use genesys_client::GenesysClient;
use genesys_mock::{GenesysMock, MockDirectory};
use secrecy::SecretString;
use serde::Deserialize;

use crate::raw::read_json;
use crate::{Error, RawFetch};

/// The id of the directory the mock serves.
pub const DIRECTORY: &str = "bench_directory";
/// How many entries it has: the default limit of a cached directory (SPEC §3).
pub const ENTRIES: usize = 500;
/// The page size it is read at: Genesys' default, so it takes two pages.
pub const PAGE_SIZE: u32 = 250;
/// Seed of the generated entries, so every run measures the same bytes.
const SEED: u64 = 0x00d1_cac4e;
/// The client-side request rate: high enough that the limiter never makes a bench wait, while
/// its check still runs on every request as it does in production.
const REQUESTS_PER_MINUTE: u32 = 60_000_000;

/// A running genesys-mock holding [`DIRECTORY`], and the clients that read it.
#[derive(Debug)]
pub struct Upstream {
    mock: GenesysMock,
    id: DirectoryId,
}

impl Upstream {
    /// Starts the mock, answering without added latency.
    pub fn start() -> Result<Upstream, Error> {
        Self::start_with_latency(Duration::ZERO)
    }

    /// Starts the mock, adding `latency` to every response (as a real upstream takes time).
    pub fn start_with_latency(latency: Duration) -> Result<Upstream, Error> {
        let mock = GenesysMock::builder()
            .latency(latency)
            .start()
            .map_err(|source| Error::MockStart { source })?;
        mock.put_directory(DIRECTORY, MockDirectory::generated(ENTRIES, SEED));
        let id = DirectoryId::new(DIRECTORY).map_err(|source| Error::Cache { source })?;
        Ok(Upstream { mock, id })
    }

    /// The mock, to read its request counts.
    pub fn mock(&self) -> &GenesysMock {
        &self.mock
    }

    /// The id of [`DIRECTORY`].
    pub fn directory_id(&self) -> &DirectoryId {
        &self.id
    }

    /// Directory requests the mock has served for [`DIRECTORY`] (token requests not counted).
    pub fn upstream_requests(&self) -> u64 {
        self.mock.stats().requests_for(DIRECTORY)
    }

    /// A Genesys client for the mock, reading [`PAGE_SIZE`] entries a page.
    pub fn client(&self) -> Result<GenesysClient, Error> {
        testkit::client_builder(&self.mock)
            .page_size(PAGE_SIZE)
            .requests_per_minute(REQUESTS_PER_MINUTE)
            .build()
            .map_err(|source| Error::Client {
                source: Box::new(source),
            })
    }

    /// The pipeline as a user builds it: a cache with its default (memory) backend and
    /// settings, in front of [`Self::client`].
    pub fn cache(&self) -> Result<DirectoryCache, Error> {
        DirectoryCache::builder()
            .source(self.client()?)
            .build()
            .map_err(|source| Error::Cache { source })
    }

    /// The raw baseline of a cold fetch: bare reqwest holding an access token from the mock.
    pub async fn raw_fetch(&self) -> Result<RawFetch, Error> {
        /// The one field of the token response the baseline needs; not `Debug`, it is secret.
        #[derive(Deserialize)]
        struct Token {
            access_token: String,
        }
        let http = reqwest::Client::new();
        let url = format!("{}/oauth/token", self.mock.login_url());
        let request = http
            .post(&url)
            .basic_auth(self.mock.client_id(), Some(self.mock.client_secret()))
            .form(&[("grant_type", "client_credentials")]);
        let token: Token = read_json(request, &url).await?;
        let pages = (1..=ENTRIES.div_ceil(PAGE_SIZE as usize))
            .map(|page| {
                format!(
                    "{}/api/v2/routing/directories/{DIRECTORY}/entries?pageSize={PAGE_SIZE}&pageNumber={page}",
                    self.mock.api_url()
                )
            })
            .collect();
        Ok(RawFetch::new(
            http,
            SecretString::from(token.access_token),
            pages,
        ))
    }
}

/// The runtime benches measure on: one thread, as criterion's `to_async` blocks on it, so
/// neither side of a comparison pays for hand-offs between threads.
pub fn runtime() -> Result<tokio::runtime::Runtime, Error> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|source| Error::Runtime { source })
}

#[cfg(test)]
mod tests {
    use cache_core::Outcome;

    use super::*;

    /// The two sides of `cold_fetch` read the same two pages and get the same entries.
    #[test]
    fn the_raw_baseline_reads_what_the_pipeline_caches() {
        let upstream = Upstream::start().unwrap();
        let runtime = runtime().unwrap();
        let cache = upstream.cache().unwrap();
        let lookup = runtime
            .block_on(cache.get(upstream.directory_id()))
            .unwrap();
        assert_eq!(lookup.outcome, Outcome::Miss);
        assert_eq!(upstream.upstream_requests(), 2, "500 entries at 250 a page");

        let raw = runtime.block_on(upstream.raw_fetch()).unwrap();
        let entries = runtime.block_on(raw.fetch()).unwrap();
        assert_eq!(upstream.upstream_requests(), 4);
        let cached_ids: Vec<String> = lookup
            .directory
            .entries()
            .unwrap()
            .iter()
            .map(|entry| entry.id().unwrap().to_owned())
            .collect();
        let raw_ids: Vec<&str> = entries
            .iter()
            .map(|entry| entry["id"].as_str().unwrap())
            .collect();
        assert_eq!(cached_ids.len(), ENTRIES);
        assert_eq!(raw_ids, cached_ids);
    }

    #[test]
    fn added_latency_delays_every_response() {
        let upstream = Upstream::start_with_latency(Duration::from_millis(40)).unwrap();
        let runtime = runtime().unwrap();
        let cache = upstream.cache().unwrap();
        let started = std::time::Instant::now();
        runtime
            .block_on(cache.get(upstream.directory_id()))
            .unwrap();
        // A token and two pages, one after the other.
        assert!(
            started.elapsed() >= Duration::from_millis(120),
            "{:?}",
            started.elapsed()
        );
    }
}
