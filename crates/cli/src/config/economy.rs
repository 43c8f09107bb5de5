//! The upstream economy's settings (SPEC §9): the negative cache's TTL, the fallback rate
//! while the shared budget does not answer, and the share of the budget unknown ids may use.

use std::time::Duration;

use super::{ConfigError, Named, Picker, Setting};

/// A request rate of the fallback limiter: as `DIRCACHE_UPSTREAM_RPM`'s, 60 by default.
const FALLBACK_RATES: super::Bound = (1..=100_000, "a request rate is 1..=100000 a minute", 60);
/// The default negative TTL.
const DEFAULT_NEGATIVE_TTL: Duration = Duration::from_secs(30);
/// The default share of the budget unknown ids may use.
const DEFAULT_UNKNOWN_SHARE: f64 = 0.2;

/// How dircache spends the OAuth client's upstream allowance.
#[derive(Debug, Clone, Copy)]
pub(crate) struct EconomySettings {
    /// How long upstream's 404 and 403 are remembered (zero: not at all).
    pub(crate) negative_ttl: Duration,
    /// Requests a minute each instance may send while the shared budget does not answer.
    pub(crate) fallback_per_minute: u32,
    /// The fraction of the budget ids with no cached copy may use.
    pub(crate) unknown_share: f64,
}

/// Reads `DIRCACHE_NEGATIVE_TTL`, `DIRCACHE_UPSTREAM_RPM_FALLBACK` and
/// `DIRCACHE_UNKNOWN_SHARE` (and their file keys).
pub(super) fn resolve_economy(pick: &Picker<'_>) -> Result<EconomySettings, ConfigError> {
    let file = &pick.inputs.file;
    let negative_ttl = pick
        .bounded(
            Setting::NegativeTtl,
            file.cache.negative_ttl,
            0..=cache_core::MAX_NEGATIVE_TTL.as_secs() as i64,
            "a negative TTL is 0..=3600 seconds (0 turns negative caching off)",
        )?
        .map_or(DEFAULT_NEGATIVE_TTL, |n| {
            Duration::from_secs(n.value as u64)
        });
    let fallback = pick.bounded_or(
        Setting::UpstreamRpmFallback,
        file.genesys.requests_per_minute_fallback,
        FALLBACK_RATES,
    )?;
    let unknown_share = match pick.given(Setting::UnknownShare) {
        Some(given) => given
            .value
            .trim()
            .parse::<f64>()
            .map(|share| Named::new(share, given.name.clone()))
            .map_err(|_| given.refuse(format!("{:?} is not a number", given.value)))?,
        None => Named::new(
            file.genesys.unknown_share.unwrap_or(DEFAULT_UNKNOWN_SHARE),
            Setting::UnknownShare.toml_key(),
        ),
    };
    if !(0.0..=1.0).contains(&unknown_share.value) {
        return Err(unknown_share.refuse(format!(
            "{} is out of range: a share of the budget is 0..=1",
            unknown_share.value
        )));
    }
    Ok(EconomySettings {
        negative_ttl,
        fallback_per_minute: fallback.value as u32,
        unknown_share: unknown_share.value,
    })
}
