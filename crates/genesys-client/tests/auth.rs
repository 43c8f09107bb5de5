//! The client's OAuth tokens against genesys-mock: one request for concurrent callers, early replacement, a 401 refreshed once, bad credentials.

mod support;

use std::time::Duration;

use genesys_mock::{Fault, GenesysMock, MockDirectory, Target};
use secrecy::SecretString;

use genesys_client::{Error, FetchOptions};
use support::client_for;

fn mock_with(id: &str, builder: genesys_mock::MockBuilder) -> GenesysMock {
    let mock = builder.start().unwrap();
    mock.put_directory(id, MockDirectory::generated(5, 1));
    mock
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_callers_share_one_token_request_cold_and_after_expiry() {
    // Latency makes every caller send its request before any answer is back, so all 64
    // meet the 401 together and all ask for a new token at once.
    let mock = mock_with(
        "d",
        GenesysMock::builder().latency(Duration::from_millis(150)),
    );
    let client = client_for(&mock).build().unwrap();
    let fetch_all = || {
        futures::future::join_all((0..64).map(|_| {
            let client = client.clone();
            async move { client.fetch_directory("d", &FetchOptions::new()).await }
        }))
    };
    for result in fetch_all().await {
        result.unwrap();
    }
    assert_eq!(mock.stats().token_requests, 1, "cold start");

    mock.expire_tokens();
    mock.reset_stats();
    for result in fetch_all().await {
        result.unwrap();
    }
    let stats = mock.stats();
    assert_eq!(stats.token_requests, 1, "after expiry: {stats:?}");
    assert_eq!(stats.status_count(401), 64);
    assert_eq!(stats.status_count(200), 64 + 1);
}

#[tokio::test]
async fn a_token_is_replaced_sixty_seconds_before_it_expires() {
    // A 61 s token is due for replacement 1 s after issue; a 120 s one is not.
    for (lifetime, expected_tokens) in [(61, 2), (120, 1)] {
        let builder = GenesysMock::builder().token_lifetime(Duration::from_secs(lifetime));
        let mock = mock_with("d", builder);
        let client = client_for(&mock).build().unwrap();
        let options = FetchOptions::new();
        client.fetch_directory("d", &options).await.unwrap();
        client.fetch_directory("d", &options).await.unwrap();
        assert_eq!(
            mock.stats().token_requests,
            1,
            "lifetime {lifetime}: reused at once"
        );
        tokio::time::sleep(Duration::from_millis(1100)).await;
        client.fetch_directory("d", &options).await.unwrap();
        let stats = mock.stats();
        assert_eq!(stats.token_requests, expected_tokens, "lifetime {lifetime}");
        // Replaced before upstream would refuse it: no request ever met a 401.
        assert_eq!(stats.status_count(401), 0, "lifetime {lifetime}");
    }
}

#[tokio::test]
async fn a_failed_early_refresh_falls_back_on_the_unexpired_token() {
    // A 61 s token is due for refresh after 1 s and valid upstream for a minute more.
    let mock = mock_with(
        "e",
        GenesysMock::builder().token_lifetime(Duration::from_secs(61)),
    );
    let client = client_for(&mock).build().unwrap();
    client
        .fetch_directory("e", &FetchOptions::new())
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(1100)).await;
    mock.inject(Target::Token, Fault::Status(503), 1);
    client
        .fetch_directory("e", &FetchOptions::new())
        .await
        .unwrap();
    let stats = mock.stats();
    assert_eq!(stats.token_requests, 2, "{stats:?}");
    assert_eq!(stats.status_count(503), 1);
    assert_eq!(
        stats.directory_requests, 2,
        "the old token was used, not a retry"
    );
}

#[tokio::test]
async fn a_401_forces_one_refresh_and_one_retry_never_a_loop() {
    let mock = mock_with("d", GenesysMock::builder());
    let client = client_for(&mock).build().unwrap();
    mock.fail_directory("d", Fault::Unauthorized, 1);
    client
        .fetch_directory("d", &FetchOptions::new())
        .await
        .unwrap();
    let stats = mock.stats();
    assert_eq!((stats.token_requests, stats.directory_requests), (2, 2));

    mock.reset_stats();
    mock.fail_directory("d", Fault::Unauthorized, 5);
    let err = client
        .fetch_directory("d", &FetchOptions::new())
        .await
        .unwrap_err();
    let Error::Unauthorized {
        correlation_id,
        body,
    } = &err
    else {
        panic!("expected Unauthorized, got {err:?}");
    };
    assert!(correlation_id.is_some());
    assert_eq!(
        body.as_ref().and_then(|b| b.code.as_deref()),
        Some("bad.credentials")
    );
    let stats = mock.stats();
    assert_eq!(
        (stats.token_requests, stats.directory_requests),
        (1, 2),
        "{stats:?}"
    );
}

#[tokio::test]
async fn bad_credentials_are_invalid_client_and_not_retried() {
    let mock = mock_with("d", GenesysMock::builder());
    let client = client_for(&mock)
        .client_secret(SecretString::from("wrong-secret"))
        .build()
        .unwrap();
    let err = client
        .fetch_directory("d", &FetchOptions::new())
        .await
        .unwrap_err();
    match &err {
        Error::InvalidClient {
            status,
            error,
            description,
        } => {
            assert_eq!((*status, error.as_str()), (401, "invalid_client"));
            assert!(description.is_some());
        }
        other => panic!("expected InvalidClient, got {other:?}"),
    }
    assert!(!err.is_retryable());
    let stats = mock.stats();
    assert_eq!((stats.token_requests, stats.directory_requests), (1, 0));
}

#[tokio::test]
async fn a_failing_token_endpoint_is_retried_like_the_api() {
    let mock = mock_with("d", GenesysMock::builder());
    let client = client_for(&mock).build().unwrap();
    mock.inject(Target::Token, Fault::Status(503), 1);
    mock.inject(Target::Token, Fault::DropConnection, 1);
    client
        .fetch_directory("d", &FetchOptions::new())
        .await
        .unwrap();
    assert_eq!(mock.stats().token_requests, 3);
}
