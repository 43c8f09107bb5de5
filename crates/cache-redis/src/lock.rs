//! The cross-instance refresh lock: `SET NX PX` with a random token, compare-and-delete
//! release announced on a channel, and waiting for that announcement.

use std::time::Duration;

use async_trait::async_trait;
use cache_core::{DirectoryId, Error, LockToken, RefreshLock};
use tokio::sync::broadcast::error::RecvError;
use tokio::time::Instant;

use crate::RedisBackend;
use crate::scripts::{EXTEND_LOCK, RELEASE_LOCK};

/// How often a waiter checks the lock key itself: the release message may be lost (the
/// subscriber reconnecting) and a holder that died never sends one, but its lease expires.
const POLL_EVERY: Duration = Duration::from_millis(200);

fn lease_millis(lease: Duration) -> u64 {
    u64::try_from(lease.as_millis()).unwrap_or(u64::MAX).max(1)
}

#[async_trait]
impl RefreshLock for RedisBackend {
    async fn try_acquire(
        &self,
        id: &DirectoryId,
        lease: Duration,
    ) -> Result<Option<LockToken>, Error> {
        let token = format!("{:032x}", fastrand::u128(..));
        let cmd = redis::cmd("SET")
            .arg(self.lock_key(id))
            .arg(&token)
            .arg("NX")
            .arg("PX")
            .arg(lease_millis(lease))
            .clone();
        let set: Option<String> = self
            .inner
            .pool
            .query("lock_acquire", self.timeout(), &cmd)
            .await?;
        Ok(set.map(|_| LockToken::new(token)))
    }

    async fn extend(
        &self,
        id: &DirectoryId,
        token: &LockToken,
        lease: Duration,
    ) -> Result<bool, Error> {
        let mut invocation = EXTEND_LOCK.prepare_invoke();
        invocation
            .key(self.lock_key(id))
            .arg(token.as_str())
            .arg(lease_millis(lease));
        let extended: i64 = self
            .inner
            .pool
            .invoke("lock_extend", self.timeout(), &invocation)
            .await?;
        Ok(extended == 1)
    }

    async fn release(&self, id: &DirectoryId, token: &LockToken) -> Result<(), Error> {
        let mut invocation = RELEASE_LOCK.prepare_invoke();
        invocation
            .key(self.lock_key(id))
            .arg(token.as_str())
            .arg(self.inner.keys.releases_channel())
            .arg(id.as_str());
        let _released: i64 = self
            .inner
            .pool
            .invoke("lock_release", self.timeout(), &invocation)
            .await?;
        Ok(())
    }

    /// Returns when the holder announces its release, when a check of the lock key (every
    /// 200 ms) finds it gone (released, or its lease expired), or at `timeout`.
    async fn wait_released(&self, id: &DirectoryId, timeout: Duration) -> Result<(), Error> {
        let deadline = Instant::now() + timeout;
        // Listening before the first check: a release between the two is not missed.
        let mut releases = self.inner.notices.subscribe_releases();
        let exists = redis::cmd("EXISTS").arg(self.lock_key(id)).clone();
        loop {
            let held: bool = self
                .inner
                .pool
                .query("lock_wait", self.timeout(), &exists)
                .await?;
            if !held {
                return Ok(());
            }
            let now = Instant::now();
            if now >= deadline {
                return Ok(());
            }
            let check_at = (now + POLL_EVERY).min(deadline);
            loop {
                tokio::select! {
                    released = releases.recv() => match released {
                        Ok(released) if released == *id => return Ok(()),
                        Ok(_) => {}
                        // Some announcements were missed: check the key now.
                        Err(RecvError::Lagged(_)) => break,
                        // The subscriber stopped: only the checks are left.
                        Err(RecvError::Closed) => {
                            tokio::time::sleep_until(check_at).await;
                            break;
                        }
                    },
                    () = tokio::time::sleep_until(check_at) => break,
                }
            }
        }
    }
}
