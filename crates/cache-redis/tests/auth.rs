//! AUTH: a password in the URL works, a wrong or missing one is a clear configuration error,
//! and the password never shows in `Debug` or in errors.

mod support;

use std::error::Error as _;
use std::sync::Arc;

use cache_core::{BackendField, CacheBackend, ConfigField, Error, conformance};
use cache_redis::RedisBackend;
use testkit::RedisServer;

const PASSWORD: &str = "c0rrect-h0rse";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_password_in_the_url_authenticates_and_is_never_shown() {
    let server = RedisServer::start_with_password(PASSWORD).expect("redis-server starts");
    assert!(server.url().contains(PASSWORD));
    let backend = RedisBackend::builder(&server.url()).build().await.unwrap();
    let shown = format!("{backend:?}");
    assert!(!shown.contains(PASSWORD), "{shown}");
    assert!(
        shown.contains(&format!("127.0.0.1:{}", server.port())),
        "{shown}"
    );
    let backend: Arc<dyn CacheBackend> = Arc::new(backend);
    conformance::ping_and_name(Arc::clone(&backend)).await;
    conformance::put_then_get_round_trips(backend).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_or_missing_password_is_a_clear_error_without_the_password() {
    let server = RedisServer::start_with_password(PASSWORD).expect("redis-server starts");
    let wrong = format!("redis://:wr0ng-b4ttery@127.0.0.1:{}/", server.port());
    let missing = format!("redis://127.0.0.1:{}/", server.port());
    for url in [wrong, missing] {
        let err = RedisBackend::builder(&url).build().await.unwrap_err();
        let Error::Config { setting, reason } = &err else {
            panic!("expected a configuration error for {url}, got {err:?}");
        };
        println!("{err}");
        assert!(
            matches!(
                setting,
                ConfigField::Backend {
                    field: BackendField::Url,
                    ..
                }
            ),
            "{setting}"
        );
        assert!(reason.contains("refused the credentials"), "{reason}");
        let mut text = format!("{err} {err:?}");
        let mut source = err.source();
        while let Some(cause) = source {
            text.push_str(&cause.to_string());
            source = cause.source();
        }
        assert!(!text.contains("wr0ng-b4ttery"), "{text}");
        assert!(!text.contains(PASSWORD), "{text}");
    }
}
