//! `RedisBudget`: the upstream budget of one OAuth client shared by every instance through
//! Redis, with a local fallback while Redis does not answer.

use std::fmt;
use std::num::NonZeroU32;
use std::sync::{LazyLock, Mutex, PoisonError};
use std::time::Duration;

use async_trait::async_trait;
use genesys_client::{
    Error, LocalBudget, RefusalReason, RequestClass, UpstreamBudget, unknown_allowance,
    unknown_share_spent, wait_within,
};
use redis::Script;
use sha2::{Digest, Sha256};
use tokio::time::Instant;

use crate::RedisBackend;

/// `1` while this instance draws on its local fallback budget because Redis does not answer.
pub const BUDGET_FALLBACK: &str = "dircache_upstream_budget_fallback";

/// How long an instance keeps to its fallback after Redis failed, before asking it again.
const RETRY_SHARED_AFTER: Duration = Duration::from_secs(1);

static TAKE: LazyLock<Script> = LazyLock::new(|| Script::new(include_str!("lua/take_budget.lua")));
static PAUSE: LazyLock<Script> =
    LazyLock::new(|| Script::new(include_str!("lua/pause_budget.lua")));

/// The keys of one client's budget, under one hash tag (one slot of a cluster).
#[derive(Clone, Debug)]
struct BudgetKeys {
    all: String,
    unknown: String,
    paused: String,
}

impl BudgetKeys {
    /// `<prefix>:{budget:<hash>}:…`, the hash being the first 16 hex digits of the SHA-256 of
    /// the client id: the id itself never reaches Redis.
    fn new(prefix: &str, client_id: &str) -> Self {
        let digest = Sha256::digest(client_id.as_bytes());
        let hash = hex::encode(&digest[..8]);
        let key = |name: &str| format!("{prefix}:{{budget:{hash}}}:{name}");
        Self {
            all: key("all"),
            unknown: key("unknown"),
            paused: key("paused"),
        }
    }
}

/// One bucket per OAuth client in Redis, from which every instance takes its upstream
/// requests, so that together they stay under the client's rate.
///
/// - The bucket is a sliding log of the last 60 s of requests, checked and appended in one
///   Lua script on the server's clock: never more than `per_minute` in any 60 s window (a
///   token bucket that starts full and refills at N a minute would allow 2N in the first
///   minute). Unknown ids' requests are also logged on their own, and refused at once beyond
///   their share.
/// - A 429 with `Retry-After` seen by any instance sets the shared "paused until" key; every
///   instance waits for it within its retry budget, or answers 429 with `Retry-After`.
/// - While Redis does not answer, each instance takes its requests from a local budget at
///   the fallback rate (`dircache_upstream_budget_fallback` is 1, and a warning is logged),
///   and asks Redis again a second later: it returns to the shared bucket by itself.
///
/// Keys: `<prefix>:{budget:<hash>}:all|unknown|paused`, `<hash>` from the SHA-256 of the client
/// id, never the id in clear.
pub struct RedisBudget {
    backend: RedisBackend,
    keys: BudgetKeys,
    per_minute: u32,
    unknown_per_minute: u32,
    fallback: LocalBudget,
    /// Until when the fallback is used without asking Redis; `Some` while on the fallback.
    fallback_until: Mutex<Option<Instant>>,
}

impl RedisBudget {
    /// The shared budget of the OAuth client `client_id` on `backend`'s Redis: `per_minute`
    /// requests in any 60 s window for all instances together, of which unknown ids may use
    /// `unknown_share`; `fallback_per_minute` for each instance while Redis does not answer.
    pub fn new(
        backend: &RedisBackend,
        client_id: &str,
        per_minute: NonZeroU32,
        unknown_share: f64,
        fallback_per_minute: NonZeroU32,
    ) -> Self {
        metrics::describe_gauge!(
            BUDGET_FALLBACK,
            "1 while this instance takes upstream requests from its local fallback budget \
             because the shared budget in Redis does not answer, else 0."
        );
        metrics::gauge!(BUDGET_FALLBACK).set(0.0);
        Self {
            keys: BudgetKeys::new(backend.prefix(), client_id),
            backend: backend.clone(),
            per_minute: per_minute.get(),
            unknown_per_minute: unknown_allowance(per_minute.get(), unknown_share)
                .map_or(0, NonZeroU32::get),
            fallback: LocalBudget::per_minute(fallback_per_minute, unknown_share),
            fallback_until: Mutex::new(None),
        }
    }

    /// Whether this instance is on its local fallback now.
    pub fn is_on_fallback(&self) -> bool {
        self.fallback_state().is_some()
    }

    fn fallback_state(&self) -> Option<Instant> {
        *self
            .fallback_until
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    fn set_fallback(&self, until: Option<Instant>) {
        *self
            .fallback_until
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = until;
    }

    /// Redis failed: use the fallback for a while (saying so once).
    fn fall_back(&self, error: &cache_core::Error) {
        if self.fallback_state().is_none() {
            tracing::warn!(
                error = %error,
                "the shared upstream budget in Redis does not answer; using this instance's \
                 local fallback budget"
            );
            metrics::gauge!(BUDGET_FALLBACK).set(1.0);
        }
        self.set_fallback(Some(Instant::now() + RETRY_SHARED_AFTER));
    }

    /// Redis answered: back on the shared bucket (saying so once).
    fn back_on_shared(&self) {
        if self.fallback_state().is_some() {
            tracing::info!("the shared upstream budget in Redis answers again; using it");
            metrics::gauge!(BUDGET_FALLBACK).set(0.0);
            self.set_fallback(None);
        }
    }

    /// One try of the script: `(code, wait)`.
    async fn try_take(&self, class: RequestClass) -> Result<(i64, Duration), cache_core::Error> {
        let inner = &*self.backend.inner;
        let mut invocation = TAKE.prepare_invoke();
        invocation
            .key(&self.keys.all)
            .key(&self.keys.unknown)
            .key(&self.keys.paused)
            .arg(self.per_minute)
            .arg(self.unknown_per_minute)
            .arg(u8::from(class == RequestClass::Unknown))
            .arg(format!("{}:{}", inner.instance_tag, fastrand::u64(..)));
        let (code, wait_ms): (i64, u64) = inner
            .pool
            .invoke("budget_take", inner.command_timeout, &invocation)
            .await?;
        Ok((code, Duration::from_millis(wait_ms)))
    }
}

impl fmt::Debug for RedisBudget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisBudget")
            .field("key", &self.keys.all)
            .field("per_minute", &self.per_minute)
            .field("unknown_per_minute", &self.unknown_per_minute)
            .field("fallback", &self.fallback)
            .field("on_fallback", &self.is_on_fallback())
            .finish()
    }
}

#[async_trait]
impl UpstreamBudget for RedisBudget {
    async fn take(&self, class: RequestClass, deadline: Instant) -> Result<(), Error> {
        loop {
            if self
                .fallback_state()
                .is_some_and(|until| Instant::now() < until)
            {
                return self.fallback.take(class, deadline).await;
            }
            let (code, wait) = match self.try_take(class).await {
                Ok(answer) => answer,
                Err(e) => {
                    self.fall_back(&e);
                    return self.fallback.take(class, deadline).await;
                }
            };
            self.back_on_shared();
            // Wake a little apart, so that instances waiting for one token do not all ask at
            // the same millisecond.
            let jitter = Duration::from_millis(fastrand::u64(0..20));
            match code {
                0 => {
                    genesys_client::metrics::budget_taken(class);
                    return Ok(());
                }
                1 => wait_within(wait + jitter, deadline, RefusalReason::Exhausted).await?,
                2 => wait_within(wait + jitter, deadline, RefusalReason::Paused).await?,
                _ => return Err(unknown_share_spent(wait)),
            }
        }
    }

    async fn pause(&self, wait: Duration) {
        // This instance pauses (and counts the pause) even if Redis cannot tell the others.
        self.fallback.pause(wait).await;
        let inner = &*self.backend.inner;
        let mut invocation = PAUSE.prepare_invoke();
        invocation
            .key(&self.keys.paused)
            .arg(u64::try_from(wait.as_millis()).unwrap_or(u64::MAX).max(1));
        let paused: Result<u64, _> = inner
            .pool
            .invoke("budget_pause", inner.command_timeout, &invocation)
            .await;
        if let Err(e) = paused {
            tracing::warn!(error = %e, "could not share a 429's pause through Redis");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_keys_hash_the_client_id_under_one_tag() {
        let keys = BudgetKeys::new("dircache", "client-1234-secretish");
        for key in [&keys.all, &keys.unknown, &keys.paused] {
            assert!(key.starts_with("dircache:{budget:"), "{key}");
            assert!(!key.contains("client-1234"), "{key}");
        }
        let tag = |key: &str| key.split('}').next().unwrap().to_owned();
        assert_eq!(tag(&keys.all), tag(&keys.paused));
        assert_ne!(
            BudgetKeys::new("dircache", "another").all,
            keys.all,
            "one bucket per client"
        );
    }
}
