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
    let negatives = backend.negatives();
    let _ = negatives.forget_refusal(&id).await;
    let _ = backend.remove(&id).await;
    let before = backend
        .len()
        .await
        .unwrap_or_else(|e| panic!("[{name}] len failed: {e}"));

    let error = SourceError::new(
        SourceErrorKind::NotFound,
        "directory `conformance.refused` not found",
    )
    .with_status(404)
    .with_correlation_id("corr-conformance");
    let lifetime = Duration::from_millis(1_500);
    let answer =
        NegativeAnswer::of(&error, SystemTime::now() + lifetime).expect("a 404 is remembered");
    negatives
        .put_refusal(&id, &answer)
        .await
        .unwrap_or_else(|e| panic!("[{name}] put_refusal failed: {e}"));
    let read = negatives
        .get_refusal(&id)
        .await
        .unwrap_or_else(|e| panic!("[{name}] get_refusal failed: {e}"));
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
    let after = backend
        .len()
        .await
        .unwrap_or_else(|e| panic!("[{name}] len failed: {e}"));
    assert_eq!(
        after, before,
        "[{name}] a refusal must not count as a cached directory"
    );
    assert!(
        !backend.list().await.unwrap_or_default().contains(&id),
        "[{name}] a refusal must not be listed as a cached directory"
    );

    tokio::time::sleep(lifetime + Duration::from_millis(200)).await;
    let expired = negatives
        .get_refusal(&id)
        .await
        .unwrap_or_else(|e| panic!("[{name}] get_refusal failed: {e}"));
    assert_eq!(
        expired, None,
        "[{name}] a refusal must be gone after its expiry"
    );

    let again = NegativeAnswer::of(&error, SystemTime::now() + Duration::from_secs(60))
        .expect("a 404 is remembered");
    negatives
        .put_refusal(&id, &again)
        .await
        .unwrap_or_else(|e| panic!("[{name}] put_refusal failed: {e}"));
    let forgot = negatives
        .forget_refusal(&id)
        .await
        .unwrap_or_else(|e| panic!("[{name}] forget_refusal failed: {e}"));
    assert!(
        forgot,
        "[{name}] forget_refusal must say it forgot a remembered refusal"
    );
    let gone = negatives
        .get_refusal(&id)
        .await
        .unwrap_or_else(|e| panic!("[{name}] get_refusal failed: {e}"));
    assert_eq!(
        gone, None,
        "[{name}] a forgotten refusal must not come back"
    );
}
