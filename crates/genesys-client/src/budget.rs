//! The upstream budget: where every request to Genesys takes its token, in process
//! ([`LocalBudget`]) or shared by every instance of one OAuth client (cache-redis'
//! `RedisBudget`), with the share unknown directories may use and the pause a 429 asks for.

use std::fmt;
use std::num::NonZeroU32;
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use async_trait::async_trait;
use tokio::time::Instant;

use crate::limiter::RequestLimiter;
use crate::{Error, metrics};

/// Why a request needs upstream, which decides the part of the budget it may use.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum RequestClass {
    /// A directory that is cached, declared, or otherwise expected: the whole budget.
    #[default]
    Known,
    /// A directory with no cached copy and no remembered refusal: at most the unknown share
    /// of the budget, refused at once beyond it, so that unknown ids never starve the
    /// refreshes of known ones.
    Unknown,
}

impl RequestClass {
    /// The label in metrics (`known`, `unknown`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Known => "known",
            Self::Unknown => "unknown",
        }
    }
}

/// Why the budget refused a request (the `reason` label of
/// `dircache_upstream_budget_refused_total`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum RefusalReason {
    /// The unknown ids' share of the budget is spent.
    UnknownShare,
    /// The whole budget is spent and the next token comes after the request's retry budget.
    Exhausted,
    /// Upstream asked every caller to pause (a 429), past the request's retry budget.
    Paused,
}

impl RefusalReason {
    /// The label in metrics.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::UnknownShare => "unknown_share",
            Self::Exhausted => "exhausted",
            Self::Paused => "paused",
        }
    }
}

/// Where every upstream request takes its token.
///
/// "N a minute" means never more than N in any 60 s window. An implementation waits for a
/// token until `deadline` (the request's retry budget) and otherwise refuses with
/// [`Error::RateLimited`] (retryable, with the wait as `retry_after`), or, for an
/// [`RequestClass::Unknown`] request beyond its share, with [`Error::BudgetExhausted`] at
/// once.
#[async_trait]
pub trait UpstreamBudget: Send + Sync + fmt::Debug + 'static {
    /// Takes one request token for a request of `class`, waiting no later than `deadline`.
    async fn take(&self, class: RequestClass, deadline: Instant) -> Result<(), Error>;

    /// Upstream answered 429 asking to wait `wait`: no request is to be sent before then, by
    /// this caller or (for a shared budget) any other.
    async fn pause(&self, wait: Duration);
}

/// Sleeps `wait` if that ends by `deadline`; otherwise refuses for `reason` with the wait as
/// `retry_after`. For implementations of [`UpstreamBudget`].
pub async fn wait_within(
    wait: Duration,
    deadline: Instant,
    reason: RefusalReason,
) -> Result<(), Error> {
    if Instant::now() + wait > deadline {
        metrics::budget_refused(reason);
        return Err(Error::RateLimited {
            retry_after: Some(wait),
            correlation_id: None,
        });
    }
    metrics::rate_limit_wait();
    tokio::time::sleep(wait).await;
    Ok(())
}

/// The refusal of an unknown id beyond its share, to be tried again after `retry_after`.
/// For implementations of [`UpstreamBudget`].
pub fn unknown_share_spent(retry_after: Duration) -> Error {
    metrics::budget_refused(RefusalReason::UnknownShare);
    Error::BudgetExhausted { retry_after }
}

/// The requests a minute unknown ids may use out of `per_minute` (`None`: none at all).
pub fn unknown_allowance(per_minute: u32, share: f64) -> Option<NonZeroU32> {
    NonZeroU32::new((f64::from(per_minute) * share.clamp(0.0, 1.0)).floor() as u32)
}

/// The budget of one process: a GCRA limiter for every request, a second one for the unknown
/// ids' share, and the pause of the last 429.
pub struct LocalBudget {
    all: RequestLimiter,
    unknown: Option<RequestLimiter>,
    share: f64,
    paused_until: Mutex<Option<Instant>>,
}

impl LocalBudget {
    /// `per_minute` requests a minute, at most `burst` at once, of which unknown ids may use
    /// `unknown_share` (0..=1).
    pub fn new(per_minute: NonZeroU32, burst: NonZeroU32, unknown_share: f64) -> Self {
        let unknown = unknown_allowance(per_minute.get(), unknown_share).map(|rate| {
            let scaled = (f64::from(burst.get()) * unknown_share).floor() as u32;
            RequestLimiter::new(rate, NonZeroU32::new(scaled).unwrap_or(NonZeroU32::MIN))
        });
        Self {
            all: RequestLimiter::new(per_minute, burst),
            unknown,
            share: unknown_share,
            paused_until: Mutex::new(None),
        }
    }

    /// `per_minute` with the client's default burst (a tenth of it, at least 1).
    pub fn per_minute(per_minute: NonZeroU32, unknown_share: f64) -> Self {
        Self::new(per_minute, default_burst(per_minute), unknown_share)
    }

    fn paused_for(&self) -> Option<Duration> {
        let until = (*self
            .paused_until
            .lock()
            .unwrap_or_else(PoisonError::into_inner))?;
        until
            .checked_duration_since(Instant::now())
            .filter(|d| !d.is_zero())
    }
}

/// A tenth of the rate, at least 1.
pub(crate) fn default_burst(per_minute: NonZeroU32) -> NonZeroU32 {
    NonZeroU32::new(per_minute.get() / 10).unwrap_or(NonZeroU32::MIN)
}

impl fmt::Debug for LocalBudget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LocalBudget")
            .field("all", &self.all)
            .field("unknown_share", &self.share)
            .finish_non_exhaustive()
    }
}

#[async_trait]
impl UpstreamBudget for LocalBudget {
    async fn take(&self, class: RequestClass, deadline: Instant) -> Result<(), Error> {
        while let Some(wait) = self.paused_for() {
            wait_within(wait, deadline, RefusalReason::Paused).await?;
        }
        if class == RequestClass::Unknown {
            match &self.unknown {
                None => return Err(unknown_share_spent(Duration::from_secs(60))),
                Some(unknown) => unknown.try_acquire().map_err(unknown_share_spent)?,
            }
        }
        while let Err(wait) = self.all.try_acquire() {
            // A little jitter so that many waiting tasks do not wake in lockstep.
            let jitter = Duration::from_millis(fastrand::u64(0..20));
            wait_within(wait + jitter, deadline, RefusalReason::Exhausted).await?;
        }
        metrics::budget_taken(class);
        Ok(())
    }

    async fn pause(&self, wait: Duration) {
        let until = Instant::now() + wait;
        let mut paused = self
            .paused_until
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if paused.is_none_or(|current| current < until) {
            *paused = Some(until);
        }
        metrics::budget_pause();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn budget(per_minute: u32, burst: u32, share: f64) -> LocalBudget {
        LocalBudget::new(
            NonZeroU32::new(per_minute).unwrap(),
            NonZeroU32::new(burst).unwrap(),
            share,
        )
    }

    #[tokio::test]
    async fn unknown_ids_beyond_their_share_are_refused_at_once_known_ones_are_not() {
        // 600 a minute, a burst of 10: unknown ids get 120 a minute with a burst of 2.
        let budget = budget(600, 10, 0.2);
        let deadline = Instant::now() + Duration::from_secs(5);
        for _ in 0..2 {
            budget.take(RequestClass::Unknown, deadline).await.unwrap();
        }
        let started = Instant::now();
        let refused = budget.take(RequestClass::Unknown, deadline).await;
        assert!(
            matches!(refused, Err(Error::BudgetExhausted { retry_after }) if !retry_after.is_zero()),
            "{refused:?}"
        );
        assert!(
            started.elapsed() < Duration::from_millis(50),
            "refused at once"
        );
        budget.take(RequestClass::Known, deadline).await.unwrap();
    }

    #[tokio::test]
    async fn a_share_of_zero_refuses_every_unknown_id() {
        let budget = budget(600, 10, 0.0);
        let deadline = Instant::now() + Duration::from_secs(5);
        assert!(matches!(
            budget.take(RequestClass::Unknown, deadline).await,
            Err(Error::BudgetExhausted { .. })
        ));
    }

    #[tokio::test]
    async fn a_pause_holds_requests_and_one_past_the_deadline_is_refused() {
        let budget = budget(600, 10, 0.2);
        budget.pause(Duration::from_millis(300)).await;
        let soon = Instant::now() + Duration::from_millis(100);
        assert!(matches!(
            budget.take(RequestClass::Known, soon).await,
            Err(Error::RateLimited {
                retry_after: Some(_),
                ..
            })
        ));
        let started = Instant::now();
        let later = Instant::now() + Duration::from_secs(5);
        budget.take(RequestClass::Known, later).await.unwrap();
        assert!(
            started.elapsed() >= Duration::from_millis(150),
            "{:?}",
            started.elapsed()
        );
    }
}
