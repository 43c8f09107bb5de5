//! Fixtures for the pipeline tests: an in-process scripted source, and a cache over genesys-mock.

#![allow(
    dead_code,
    unused_imports,
    unreachable_pub,
    reason = "each test file is a crate of its own and uses its own part of the support"
)]

use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use cache_core::{
    DirectoryId, DirectorySnapshot, DirectorySource, Entry, FetchOptions, FetchOutcome,
    SourceError, SourceErrorKind,
};
use serde_json::{Value, json};

/// A source answering from memory, with a script of failures and delays, on tokio's clock (so
/// that tests can pause time), counting its calls.
#[derive(Debug)]
pub struct ScriptedSource {
    state: Mutex<Script>,
    calls: AtomicUsize,
}

#[derive(Debug)]
struct Script {
    entries: Vec<Value>,
    failing_status: Option<u16>,
    delay: Duration,
}

impl ScriptedSource {
    pub fn new(entries: Vec<Value>) -> Self {
        Self {
            state: Mutex::new(Script {
                entries,
                failing_status: None,
                delay: Duration::ZERO,
            }),
            calls: AtomicUsize::new(0),
        }
    }

    pub fn calls(&self) -> usize {
        self.calls.load(Ordering::SeqCst)
    }

    pub fn fail_with(&self, status: Option<u16>) {
        self.state.lock().unwrap().failing_status = status;
    }

    pub fn set_entries(&self, entries: Vec<Value>) {
        self.state.lock().unwrap().entries = entries;
    }

    pub fn delay(&self, delay: Duration) {
        self.state.lock().unwrap().delay = delay;
    }
}

#[async_trait]
impl DirectorySource for ScriptedSource {
    async fn fetch(
        &self,
        _id: &DirectoryId,
        _options: &FetchOptions,
    ) -> Result<FetchOutcome, SourceError> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        let delay = self.state.lock().unwrap().delay;
        tokio::time::sleep(delay).await;
        let state = self.state.lock().unwrap();
        if let Some(status) = state.failing_status {
            let kind = match status {
                429 => SourceErrorKind::RateLimited,
                502..=504 => SourceErrorKind::Unavailable,
                _ => SourceErrorKind::Rejected,
            };
            return Err(SourceError::new(kind, format!("scripted HTTP {status}"))
                .with_status(status)
                .with_correlation_id("corr-1"));
        }
        let entries = state
            .entries
            .iter()
            .cloned()
            .map(|v| Entry::try_from(v).unwrap())
            .collect();
        Ok(FetchOutcome::Modified(DirectorySnapshot::new(entries)))
    }
}

pub fn entries(n: usize, tag: &str) -> Vec<Value> {
    (0..n)
        .map(|i| json!({"id": format!("{tag}-{i}"), "name": format!("Zoë {tag} {i}")}))
        .collect()
}

pub use testkit::directory_id as id;
