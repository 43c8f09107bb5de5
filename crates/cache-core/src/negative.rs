//! Negative caching: a recent 404 or 403 from upstream, remembered for a short TTL so that
//! asking for the same missing or forbidden directory again costs no upstream request.

use std::fmt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use async_trait::async_trait;
use audit::AuditEventKind;
use metrics::{counter, describe_counter};
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::pipeline::Pipeline;
use crate::{Clock, DirectoryId, Error, SourceError, SourceErrorKind};

const NEGATIVE_HITS: &str = "dircache_negative_hits_total";
const NEGATIVE_FILLS: &str = "dircache_negative_fills_total";

/// The longest a refusal may be remembered (`DIRCACHE_NEGATIVE_TTL` is 0..=3600 s).
pub const MAX_NEGATIVE_TTL: Duration = Duration::from_secs(3600);

/// Describes the negative cache's metrics (HELP text) to the installed recorder.
pub(crate) fn describe() {
    describe_counter!(
        NEGATIVE_HITS,
        "Directory requests answered from the negative cache (a remembered 404 or 403), by status."
    );
    describe_counter!(
        NEGATIVE_FILLS,
        "Upstream 404 and 403 answers remembered in the negative cache, by status."
    );
}

/// What upstream answered when it refused a directory (404 or 403), and until when the
/// answer is remembered. It holds what the error body shows (status, code, message,
/// correlation id), so that a remembered answer reads exactly as the first one did.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NegativeAnswer {
    status: u16,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    code: Option<String>,
    message: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    correlation_id: Option<String>,
    /// Unix milliseconds.
    expires_at_ms: u64,
}

impl NegativeAnswer {
    /// The answer to remember for `error`, until `expires_at`; `None` unless `error` is a
    /// refusal that asking again will not change (not found, forbidden).
    pub fn of(error: &SourceError, expires_at: SystemTime) -> Option<Self> {
        let status = match error.kind() {
            SourceErrorKind::NotFound => 404,
            SourceErrorKind::Forbidden => 403,
            _ => return None,
        };
        Some(Self {
            status: error.status().unwrap_or(status),
            code: error.code().map(str::to_owned),
            message: error.to_string(),
            correlation_id: error.correlation_id().map(str::to_owned),
            expires_at_ms: unix_millis(expires_at),
        })
    }

    /// The HTTP status upstream answered (404 or 403).
    pub fn status(&self) -> u16 {
        self.status
    }

    /// When the answer is forgotten.
    pub fn expires_at(&self) -> SystemTime {
        UNIX_EPOCH + Duration::from_millis(self.expires_at_ms)
    }

    /// Whether the answer is still remembered at `now`.
    pub fn is_live_at(&self, now: SystemTime) -> bool {
        now < self.expires_at()
    }

    /// How long the answer is still remembered after `now` (zero once it is not).
    pub fn remaining_at(&self, now: SystemTime) -> Duration {
        self.expires_at().duration_since(now).unwrap_or_default()
    }

    /// The error a request is answered with: upstream's refusal as it was, marked
    /// [remembered](SourceError::is_remembered).
    pub fn to_error(&self) -> SourceError {
        let kind = if self.status == 403 {
            SourceErrorKind::Forbidden
        } else {
            SourceErrorKind::NotFound
        };
        let mut error = SourceError::new(kind, self.message.clone())
            .with_status(self.status)
            .remembered();
        if let Some(code) = &self.code {
            error = error.with_code(code.clone());
        }
        if let Some(correlation_id) = &self.correlation_id {
            error = error.with_correlation_id(correlation_id.clone());
        }
        error
    }

    /// The stored form (JSON: a refusal is small and rare).
    pub fn to_bytes(&self) -> Vec<u8> {
        serde_json::to_vec(self).expect("a negative answer always serialises")
    }

    /// Reads back [`Self::to_bytes`]; `Err(Error::Corrupt)` for anything else.
    pub fn from_bytes(id: &DirectoryId, bytes: &[u8]) -> Result<Self, Error> {
        let answer: Self = serde_json::from_slice(bytes).map_err(|e| Error::Corrupt {
            directory_id: id.clone(),
            reason: format!("the negative cache entry is unreadable: {e}"),
        })?;
        if !matches!(answer.status, 403 | 404) {
            return Err(Error::Corrupt {
                directory_id: id.clone(),
                reason: format!(
                    "the negative cache entry has status {}, not 403 or 404",
                    answer.status
                ),
            });
        }
        Ok(answer)
    }
}

fn unix_millis(at: SystemTime) -> u64 {
    at.duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// Where a backend remembers upstream's refusals ([`NegativeAnswer`]s), next to its copies:
/// in process for the memory backend, shared by every instance for Redis.
#[async_trait]
pub trait NegativeCache: Send + Sync + fmt::Debug {
    /// The refusal remembered for `id`, if it is still live.
    async fn get_refusal(&self, id: &DirectoryId) -> Result<Option<NegativeAnswer>, Error>;

    /// Remembers `answer` for `id` until its expiry.
    async fn put_refusal(&self, id: &DirectoryId, answer: &NegativeAnswer) -> Result<(), Error>;

    /// Forgets the refusal of `id`; `true` if one was remembered.
    async fn forget_refusal(&self, id: &DirectoryId) -> Result<bool, Error>;
}

/// A [`NegativeCache`] in process, bounded by count; each answer is dropped at its expiry.
#[derive(Clone)]
pub struct InProcessNegatives {
    answers: moka::sync::Cache<DirectoryId, NegativeAnswer>,
    clock: Clock,
}

impl InProcessNegatives {
    /// Remembers at most `max_entries` refusals, judging expiry by `clock`.
    pub fn new(max_entries: u64, clock: Clock) -> Self {
        Self {
            answers: moka::sync::Cache::builder()
                .max_capacity(max_entries)
                // A backstop: the clock decides liveness, moka frees the memory.
                .time_to_live(MAX_NEGATIVE_TTL)
                .build(),
            clock,
        }
    }
}

impl fmt::Debug for InProcessNegatives {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("InProcessNegatives")
            .field("entry_count", &self.answers.entry_count())
            .finish()
    }
}

#[async_trait]
impl NegativeCache for InProcessNegatives {
    async fn get_refusal(&self, id: &DirectoryId) -> Result<Option<NegativeAnswer>, Error> {
        let now = self.clock.now();
        Ok(self.answers.get(id).filter(|a| a.is_live_at(now)))
    }

    async fn put_refusal(&self, id: &DirectoryId, answer: &NegativeAnswer) -> Result<(), Error> {
        self.answers.insert(id.clone(), answer.clone());
        Ok(())
    }

    async fn forget_refusal(&self, id: &DirectoryId) -> Result<bool, Error> {
        Ok(self.answers.remove(id).is_some())
    }
}

impl Pipeline {
    /// The remembered refusal of `id` as the error to answer with, if negative caching is on
    /// and one is live. A backend that fails to answer means "not remembered".
    pub(crate) async fn remembered_refusal(&self, id: &DirectoryId) -> Option<Error> {
        if self.negative_ttl.is_zero() {
            return None;
        }
        let answer = match self.backend.negatives().get_refusal(id).await {
            Ok(answer) => answer?,
            Err(e) => {
                self.backend_failed("get_refusal", id, &e);
                return None;
            }
        };
        if !answer.is_live_at(self.clock.now()) {
            return None;
        }
        counter!(NEGATIVE_HITS, "status" => status_label(answer.status())).increment(1);
        Some(Error::Upstream {
            directory_id: id.clone(),
            source: answer.to_error(),
        })
    }

    /// Remembers upstream's refusal of `id` (a 404 or a 403) for the negative TTL, and audits
    /// it once: `cache_populate` with `"negative": true`.
    pub(crate) async fn remember_refusal(&self, id: &DirectoryId, error: &SourceError) {
        if self.negative_ttl.is_zero() {
            return;
        }
        let Some(answer) = NegativeAnswer::of(error, self.clock.now() + self.negative_ttl) else {
            return;
        };
        if let Err(e) = self.backend.negatives().put_refusal(id, &answer).await {
            self.backend_failed("put_refusal", id, &e);
            return;
        }
        counter!(NEGATIVE_FILLS, "status" => status_label(answer.status())).increment(1);
        self.auditor.record(
            AuditEventKind::CachePopulate,
            id.as_str(),
            json!({
                "negative": true,
                "status": answer.status(),
                "correlation_id": error.correlation_id(),
                "ttl_seconds": self.negative_ttl.as_secs(),
            }),
        );
    }

    /// Forgets the remembered refusal of `id` (an invalidation).
    pub(crate) async fn forget_refusal(&self, id: &DirectoryId) -> Result<bool, Error> {
        self.backend
            .negatives()
            .forget_refusal(id)
            .await
            .inspect_err(|e| self.backend_failed("forget_refusal", id, e))
    }
}

fn status_label(status: u16) -> &'static str {
    if status == 403 { "403" } else { "404" }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id() -> DirectoryId {
        DirectoryId::new("gone").unwrap()
    }

    #[test]
    fn a_refusal_reads_back_as_the_same_error_marked_remembered() {
        let error = SourceError::new(SourceErrorKind::Forbidden, "no permission")
            .with_status(403)
            .with_code("missing.division.permission")
            .with_correlation_id("corr-1");
        let at = UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        let answer = NegativeAnswer::of(&error, at).unwrap();
        let back = NegativeAnswer::from_bytes(&id(), &answer.to_bytes()).unwrap();
        assert_eq!(back, answer);
        let again = back.to_error();
        assert_eq!(again.kind(), SourceErrorKind::Forbidden);
        assert_eq!(again.to_string(), "no permission");
        assert_eq!(again.code(), Some("missing.division.permission"));
        assert_eq!(again.correlation_id(), Some("corr-1"));
        assert!(again.is_remembered() && !error.is_remembered());
        assert!(back.is_live_at(at - Duration::from_millis(1)) && !back.is_live_at(at));
    }

    #[test]
    fn only_not_found_and_forbidden_are_remembered() {
        let now = SystemTime::now();
        for kind in [
            SourceErrorKind::RateLimited,
            SourceErrorKind::Unavailable,
            SourceErrorKind::Rejected,
        ] {
            assert_eq!(NegativeAnswer::of(&SourceError::new(kind, "x"), now), None);
        }
        let found = NegativeAnswer::of(&SourceError::new(SourceErrorKind::NotFound, "x"), now);
        assert_eq!(found.map(|a| a.status()), Some(404));
    }

    #[test]
    fn an_unreadable_entry_is_corrupt_not_a_panic() {
        for bytes in [
            &b"\xff\x00"[..],
            br#"{"status":500,"message":"x","expires_at_ms":1}"#,
        ] {
            assert!(matches!(
                NegativeAnswer::from_bytes(&id(), bytes),
                Err(Error::Corrupt { .. })
            ));
        }
    }
}
