//! Consistency verification: check a cached copy against upstream and say what was found.

use std::time::SystemTime;

use audit::AuditEventKind;
use serde::Serialize;
use serde_json::json;

use crate::metrics;
use crate::refresh::{Cause, RefreshKind, RefreshRequest};
use crate::{DirectoryCache, DirectoryId, Error, Fingerprint};

/// What a verification found.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum VerifyResult {
    /// Upstream confirmed the cached copy: its TTL was restarted (revalidated).
    Unchanged,
    /// Upstream differed: the copy was overwritten.
    Changed,
    /// Nothing was cached: the directory was filled.
    Filled,
    /// While upstream was asked, another instance stored a copy checked later, which was
    /// kept and is what is cached now.
    Superseded,
}

impl VerifyResult {
    /// The name used in JSON, metrics and the CLI.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Unchanged => "unchanged",
            Self::Changed => "changed",
            Self::Filled => "filled",
            Self::Superseded => "superseded",
        }
    }
}

/// How upstream was asked.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum VerifyMethod {
    /// A conditional request (`If-None-Match` / `If-Modified-Since`): validators were known.
    Conditional,
    /// A full read compared by content fingerprint: no validators were known.
    Fingerprint,
}

impl VerifyMethod {
    /// The name used in JSON and the CLI.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Conditional => "conditional",
            Self::Fingerprint => "fingerprint",
        }
    }
}

/// What a consistency verification found.
#[derive(Clone, Debug, Serialize)]
#[non_exhaustive]
pub struct VerifyReport {
    /// The directory.
    pub directory_id: DirectoryId,
    /// Whether the copy cached now differs from the one cached before (or there was none).
    pub changed: bool,
    /// What was found.
    pub result: VerifyResult,
    /// How upstream was asked.
    pub method: VerifyMethod,
    /// The fingerprint of the copy that was cached before, if any.
    pub previous_fingerprint: Option<Fingerprint>,
    /// The fingerprint cached now.
    pub fingerprint: Fingerprint,
    /// How many entries are cached now.
    pub entry_count: usize,
    /// When the cached copy now expires.
    #[serde(with = "rfc3339")]
    pub expires_at: SystemTime,
}

impl DirectoryCache {
    /// Checks the cached copy of `id` against upstream: a conditional request when validators
    /// are known, else a fingerprint comparison. Unchanged: the TTL restarts (`revalidated`).
    /// Changed: the copy is overwritten, listeners are told, and `consistency_mismatch` is
    /// audited. Nothing cached: the directory is filled.
    pub async fn verify(&self, id: &DirectoryId) -> Result<VerifyReport, Error> {
        let pipeline = &*self.inner.pipeline;
        pipeline.declared(id)?;
        let cached = match pipeline.backend.get(id).await {
            Ok(cached) => cached,
            Err(e) => {
                pipeline.backend_failed("get", id, &e);
                None
            }
        };
        let method = match &cached {
            Some(d) if d.etag().is_some() || d.last_modified().is_some() => {
                VerifyMethod::Conditional
            }
            _ => VerifyMethod::Fingerprint,
        };
        let previous_fingerprint = cached.as_ref().map(|d| d.fingerprint().clone());
        let refreshed = pipeline
            .refresh(RefreshRequest {
                id: id.clone(),
                seen: cached,
                retry_budget: None,
                cause: Cause::Verify,
            })
            .await;
        let refreshed = match refreshed {
            Ok(refreshed) => refreshed,
            Err(e) => {
                metrics::verification("error");
                return Err(e);
            }
        };
        let result = match refreshed.kind {
            RefreshKind::Populated => VerifyResult::Filled,
            RefreshKind::Overwritten => VerifyResult::Changed,
            RefreshKind::Revalidated => VerifyResult::Unchanged,
            RefreshKind::Joined => VerifyResult::Superseded,
        };
        metrics::verification(result.as_str());
        let directory = &refreshed.directory;
        if result == VerifyResult::Changed {
            pipeline.auditor.record(
                AuditEventKind::ConsistencyMismatch,
                id.as_str(),
                json!({
                    "method": method.as_str(),
                    "previous_fingerprint": previous_fingerprint.as_ref().map(Fingerprint::as_str),
                    "fingerprint": directory.fingerprint().as_str(),
                    "entry_count": directory.entry_count(),
                }),
            );
        }
        Ok(VerifyReport {
            directory_id: id.clone(),
            changed: previous_fingerprint.as_ref() != Some(directory.fingerprint()),
            result,
            method,
            previous_fingerprint,
            fingerprint: directory.fingerprint().clone(),
            entry_count: directory.entry_count(),
            expires_at: directory.expires_at(),
        })
    }
}

mod rfc3339 {
    use std::time::SystemTime;

    use serde::Serializer;

    pub(super) fn serialize<S: Serializer>(at: &SystemTime, s: S) -> Result<S::Ok, S::Error> {
        let text = audit::timestamp::rfc3339(*at).map_err(serde::ser::Error::custom)?;
        s.serialize_str(&text)
    }
}
