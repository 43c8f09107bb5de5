//! `rediss://`: TLS with the server certificate verified, against a TLS redis-server.

mod support;

use std::sync::Arc;

use cache_core::{CacheBackend, conformance};
use cache_redis::RedisBackend;
use testkit::RedisServer;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rediss_works_with_a_trusted_ca_and_refuses_an_unknown_one() {
    let server = RedisServer::start_tls().expect("a TLS redis-server starts");
    let trusted = RedisBackend::builder(&server.tls_url())
        .tls_root_certificates(server.tls_ca_pem().unwrap())
        .build()
        .await
        .expect("the TLS backend builds");
    let trusted: Arc<dyn CacheBackend> = Arc::new(trusted);
    conformance::ping_and_name(Arc::clone(&trusted)).await;
    conformance::put_then_get_round_trips(trusted).await;

    // With the system's roots, the test CA is unknown: the certificate is not accepted.
    let untrusted = RedisBackend::builder(&server.tls_url())
        .build()
        .await
        .unwrap();
    let err = untrusted
        .ping()
        .await
        .expect_err("an unknown CA is refused");
    let text = format!("{err:?}");
    assert!(text.to_lowercase().contains("certificate"), "{text}");
}
