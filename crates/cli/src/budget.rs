//! Which upstream budget the Genesys client draws on: with the Redis backend, the one bucket
//! every instance of the OAuth client shares (SPEC §9); otherwise the client's own.

use std::num::NonZeroU32;
use std::sync::Arc;

use cache_redis::{RedisBackend, RedisBudget};
use genesys_client::UpstreamBudget;

use crate::config::Config;

/// The shared budget on `redis` for the configured OAuth client (`None` without Redis or
/// without a client id, e.g. for the demo's own fake Genesys): `DIRCACHE_UPSTREAM_RPM` is then
/// the whole client's rate, and `DIRCACHE_UPSTREAM_RPM_FALLBACK` each instance's while Redis
/// does not answer.
pub(crate) fn shared_budget(
    config: &Config,
    redis: Option<&RedisBackend>,
) -> Option<Arc<dyn UpstreamBudget>> {
    let redis = redis?;
    let client_id = config.genesys.client_id.as_ref()?;
    let rate = |n: u32| NonZeroU32::new(n).unwrap_or(NonZeroU32::MIN);
    Some(Arc::new(RedisBudget::new(
        redis,
        &client_id.value,
        rate(config.genesys.requests_per_minute.value),
        config.economy.unknown_share,
        rate(config.economy.fallback_per_minute),
    )))
}
