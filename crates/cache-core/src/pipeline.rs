//! `Pipeline`: what every operation of the cache shares (source, backend, rules, clock, audit
//! and listeners), and the reporting of backend failures the operations work around.

use std::sync::Arc;
use std::time::Duration;

use audit::{AuditEventKind, Auditor};
use serde_json::json;

use crate::form_worker::FormWorker;
use crate::listener::ChangeNotifier;
use crate::{CacheBackend, Clock, DirectoryId, DirectorySource, Error, Limits, TtlMatrix, metrics};

/// What every operation of the cache shares: where directories come from and go to, the
/// rules they are cached by, the clock, and who is told what happened. Owned by the
/// [`DirectoryCache`](crate::DirectoryCache) handle and lent to its refresh tasks.
#[derive(Debug)]
pub(crate) struct Pipeline {
    pub(crate) source: Arc<dyn DirectorySource>,
    pub(crate) backend: Arc<dyn CacheBackend>,
    pub(crate) ttl: TtlMatrix,
    pub(crate) limits: Limits,
    /// Makes the compressed forms chosen to be made when a copy is written, before any
    /// request asks for them.
    pub(crate) forms: FormWorker,
    pub(crate) clock: Clock,
    pub(crate) auditor: Auditor,
    pub(crate) notifier: ChangeNotifier,
    /// How long a cross-instance refresh lock is leased (renewed while the fetch runs).
    pub(crate) lock_lease: Duration,
    /// How long to wait for another instance's refresh before fetching ourselves.
    pub(crate) lock_wait: Duration,
    /// How long upstream's 404 and 403 are remembered (zero: not at all).
    pub(crate) negative_ttl: Duration,
    /// The ids that are never unknown.
    pub(crate) declared: crate::DeclaredDirectories,
}

impl Pipeline {
    /// What the source says `id` is; an id it refuses is [`Error::UnknownDirectory`].
    pub(crate) fn declared(&self, id: &DirectoryId) -> Result<crate::Declaration, Error> {
        self.source
            .declaration(id)
            .ok_or_else(|| Error::UnknownDirectory {
                directory_id: id.clone(),
            })
    }

    /// What `id` is cached as: the name of its source, and its limits (its source's own entry
    /// limit, else the cache's).
    pub(crate) fn cached_as(&self, id: &DirectoryId) -> (&'static str, Limits) {
        let declaration = self
            .source
            .declaration(id)
            .unwrap_or(crate::Declaration::ROUTING_DIRECTORY);
        let limits = match declaration.max_entries {
            Some(max_entries) => Limits { max_entries },
            None => self.limits,
        };
        (declaration.source, limits)
    }

    /// Tells other instances to drop their in-process copy of `id`.
    pub(crate) async fn publish_invalidation(&self, id: &DirectoryId) {
        if let Some(notices) = self.backend.invalidations()
            && let Err(e) = notices.publish(id).await
        {
            self.backend_failed("publish", id, &e);
        }
    }

    /// Counts and audits a backend failure that the pipeline works around.
    pub(crate) fn backend_failed(&self, operation: &'static str, id: &DirectoryId, error: &Error) {
        metrics::backend_error(self.backend.name(), operation);
        tracing::warn!(directory_id = %id, operation, error = %error, "cache backend failed");
        self.auditor.record(
            AuditEventKind::BackendError,
            id.as_str(),
            json!({
                "backend": self.backend.name(),
                "operation": operation,
                "error": error.to_string(),
            }),
        );
    }
}
