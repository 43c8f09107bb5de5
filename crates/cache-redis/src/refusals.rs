//! The negative cache on Redis: upstream's recent refusals, shared by every instance, one
//! key per directory (`<prefix>:{<id>}:refusal`) that Redis expires by itself.

use async_trait::async_trait;
use cache_core::{DirectoryId, Error, NegativeAnswer, NegativeCache};

use crate::RedisBackend;

#[async_trait]
impl NegativeCache for RedisBackend {
    async fn get_refusal(&self, id: &DirectoryId) -> Result<Option<NegativeAnswer>, Error> {
        let inner = &*self.inner;
        let cmd = redis::cmd("GET").arg(inner.keys.refusal(id)).clone();
        let stored: Option<Vec<u8>> = inner
            .pool
            .query("get_refusal", inner.command_timeout, &cmd)
            .await?;
        let Some(bytes) = stored else {
            return Ok(None);
        };
        let answer = NegativeAnswer::from_bytes(id, &bytes)?;
        Ok(answer.is_live_at(inner.clock.now()).then_some(answer))
    }

    async fn put_refusal(&self, id: &DirectoryId, answer: &NegativeAnswer) -> Result<(), Error> {
        let inner = &*self.inner;
        let remaining = answer.remaining_at(inner.clock.now());
        if remaining.is_zero() {
            return Ok(());
        }
        let cmd = redis::cmd("SET")
            .arg(inner.keys.refusal(id))
            .arg(answer.to_bytes())
            .arg("PX")
            .arg(
                u64::try_from(remaining.as_millis())
                    .unwrap_or(u64::MAX)
                    .max(1),
            )
            .clone();
        let () = inner
            .pool
            .query("put_refusal", inner.command_timeout, &cmd)
            .await?;
        Ok(())
    }

    async fn forget_refusal(&self, id: &DirectoryId) -> Result<bool, Error> {
        let inner = &*self.inner;
        let cmd = redis::cmd("DEL").arg(inner.keys.refusal(id)).clone();
        let removed: i64 = inner
            .pool
            .query("forget_refusal", inner.command_timeout, &cmd)
            .await?;
        Ok(removed > 0)
    }
}
