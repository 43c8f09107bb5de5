//! The negative-cache behaviours: a remembered refusal comes back, expires, and is forgotten.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use crate::{CacheBackend, DirectoryId, NegativeAnswer, SourceError, SourceErrorKind};

/// A refusal put in the backend's negative cache comes back with its status and message
/// until its expiry, is gone after it, and `forget_refusal` forgets it; refusals are not
/// cached directories (`list` and `len` do not count them).
pub async fn refusals_are_remembered_until_expiry(backend: Arc<dyn CacheBackend>) {
    let name = backend.name();
    let id = DirectoryId::new("conformance.refused").expect("valid id");
    let _ = backend.negatives().forget_refusal(&id).await;
    let _ = backend.remove(&id).await;
    let count = async || {
        backend
            .len()
            .await
            .unwrap_or_else(|e| panic!("[{name}] len failed: {e}"))
    };
    let before = count().await;

    let error = SourceError::new(SourceErrorKind::NotFound, "`conformance.refused` not found")
        .with_status(404)
        .with_correlation_id("corr-conformance");
    let lifetime = Duration::from_millis(1_500);
    let answer = remember(&*backend, &id, &error, lifetime).await;
    let read = refusal(&*backend, &id).await;
    assert_eq!(
        read.as_ref(),
        Some(&answer),
        "[{name}] a remembered refusal must come back"
    );
    assert_eq!(
        read.map(|a| a.to_error().to_string()),
        Some(error.to_string()),
        "[{name}] the refusal's message must be kept"
    );
    assert_eq!(
        count().await,
        before,
        "[{name}] a refusal must not count as a cached directory"
    );
    assert!(
        !backend.list().await.unwrap_or_default().contains(&id),
        "[{name}] a refusal must not be listed as a cached directory"
    );

    tokio::time::sleep(lifetime + Duration::from_millis(200)).await;
    assert_eq!(
        refusal(&*backend, &id).await,
        None,
        "[{name}] a refusal must be gone after its expiry"
    );

    remember(&*backend, &id, &error, Duration::from_secs(60)).await;
    let forgot = backend
        .negatives()
        .forget_refusal(&id)
        .await
        .unwrap_or_else(|e| panic!("[{name}] forget_refusal failed: {e}"));
    assert!(
        forgot,
        "[{name}] forget_refusal must say it forgot a remembered refusal"
    );
    assert_eq!(
        refusal(&*backend, &id).await,
        None,
        "[{name}] a forgotten refusal must not come back"
    );
}

/// Remembers `error` for `id` for `lifetime` from now.
async fn remember(
    backend: &dyn CacheBackend,
    id: &DirectoryId,
    error: &SourceError,
    lifetime: Duration,
) -> NegativeAnswer {
    let answer =
        NegativeAnswer::of(error, SystemTime::now() + lifetime).expect("a 404 is remembered");
    backend
        .negatives()
        .put_refusal(id, &answer)
        .await
        .unwrap_or_else(|e| panic!("[{}] put_refusal failed: {e}", backend.name()));
    answer
}

async fn refusal(backend: &dyn CacheBackend, id: &DirectoryId) -> Option<NegativeAnswer> {
    backend
        .negatives()
        .get_refusal(id)
        .await
        .unwrap_or_else(|e| panic!("[{}] get_refusal failed: {e}", backend.name()))
}
