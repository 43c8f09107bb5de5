//! Fetching a directory from genesys-mock: every paging style, bounded pages, consistent snapshots, conditional requests, fingerprints.

mod support;

use std::time::Duration;

use genesys_mock::{GenesysMock, MockDirectory, Paging};
use serde_json::json;

use genesys_client::{Error, FetchOptions, FetchOutcome, Fingerprint};
use support::{as_values, client_for, directory_requests, modified};

#[tokio::test]
async fn every_paging_style_returns_every_entry() {
    let mock = GenesysMock::start().unwrap();
    let client = client_for(&mock).build().unwrap();
    let styles = [
        Paging::Full,
        Paging::NextUriOnly,
        Paging::NextPage,
        Paging::PageCount,
    ];
    for (i, paging) in styles.into_iter().enumerate() {
        let id = format!("dir-{i}");
        mock.put_directory(&id, MockDirectory::generated(600, 7).paging(paging));
        let expected = mock.directory_entries(&id).unwrap();
        for page_size in [250, 100] {
            mock.reset_stats();
            let options = FetchOptions::new().page_size(page_size);
            let snapshot = modified(client.fetch_directory(&id, &options).await.unwrap());
            assert_eq!(as_values(&snapshot), expected, "{paging:?} by {page_size}");
            let pages = 600u32.div_ceil(page_size);
            assert_eq!(snapshot.pages, pages, "{paging:?} by {page_size}");
            let numbers: Vec<Option<u32>> = directory_requests(&mock)
                .into_iter()
                .map(|(n, _, _)| n)
                .collect();
            assert_eq!(
                numbers,
                (1..=pages).map(Some).collect::<Vec<_>>(),
                "{paging:?}"
            );
            assert!(
                mock.requests()
                    .iter()
                    .all(|r| r.page_size.is_none_or(|s| s == page_size))
            );
            assert!(snapshot.upstream_bytes > 600 * 50);
            assert_eq!(
                snapshot.fingerprint,
                Fingerprint::of(&snapshot.entries().unwrap())
            );
        }
    }
}

#[tokio::test]
async fn the_page_count_is_bounded() {
    let mock = GenesysMock::start().unwrap();
    mock.put_directory("big", MockDirectory::generated(600, 7));
    let client = client_for(&mock).max_pages(2).build().unwrap();
    let err = client
        .fetch_directory("big", &FetchOptions::new())
        .await
        .unwrap_err();
    assert!(
        matches!(&err, Error::TooManyPages { limit: 2, directory_id } if directory_id == "big"),
        "{err:?}"
    );
    assert_eq!(mock.stats().directory_requests, 2);
    let client = client_for(&mock).max_pages(3).build().unwrap();
    client
        .fetch_directory("big", &FetchOptions::new())
        .await
        .unwrap();
}

#[tokio::test]
async fn a_change_while_paging_is_reread_whole_with_or_without_validators() {
    for validators in [true, false] {
        let mock = GenesysMock::start().unwrap();
        let client = client_for(&mock).build().unwrap();
        mock.put_directory("d", MockDirectory::generated(600, 7).validators(validators));
        let before = mock.directory_entries("d").unwrap();
        mock.change_between_pages("d", 1, 1);
        let snapshot = modified(
            client
                .fetch_directory("d", &FetchOptions::new())
                .await
                .unwrap(),
        );
        let after = mock.directory_entries("d").unwrap();
        assert_ne!(before, after);
        assert_eq!(as_values(&snapshot), after, "validators {validators}");
        // Pages 1 and 2 of the old version, then all three pages of the new one.
        let numbers: Vec<Option<u32>> = directory_requests(&mock)
            .into_iter()
            .map(|(n, _, _)| n)
            .collect();
        assert_eq!(numbers, [Some(1), Some(2), Some(1), Some(2), Some(3)]);
    }
}

#[tokio::test]
async fn a_directory_that_keeps_changing_is_a_torn_snapshot_error() {
    let mock = GenesysMock::start().unwrap();
    mock.put_directory("d", MockDirectory::generated(300, 7).validators(true));
    mock.change_between_pages("d", 1, 3);
    let client = client_for(&mock).snapshot_attempts(3).build().unwrap();
    let options = FetchOptions::new().page_size(100);
    let err = client.fetch_directory("d", &options).await.unwrap_err();
    assert!(
        matches!(err, Error::TornSnapshot { attempts: 3, .. }),
        "{err:?}"
    );
    assert_eq!(mock.stats().directory_requests, 6);
}

#[tokio::test]
async fn validators_make_a_conditional_request_and_304_is_not_modified() {
    let mock = GenesysMock::start().unwrap();
    let client = client_for(&mock).build().unwrap();
    mock.put_directory("d", MockDirectory::generated(600, 7).validators(true));
    let first = modified(
        client
            .fetch_directory("d", &FetchOptions::new())
            .await
            .unwrap(),
    );
    let etag = first.etag.clone().expect("an ETag");
    let last_modified = first.last_modified.clone().expect("a Last-Modified");

    mock.reset_stats();
    let options = FetchOptions::new().if_none_match(etag.clone());
    let outcome = client.fetch_directory("d", &options).await.unwrap();
    assert!(matches!(outcome, FetchOutcome::NotModified));
    let requests = mock.requests();
    assert_eq!(requests.len(), 1, "only page 1 is asked for");
    assert_eq!(requests[0].if_none_match.as_deref(), Some(etag.as_str()));
    assert_eq!(requests[0].status, 304);

    let options = FetchOptions::new().if_modified_since(last_modified.clone());
    let outcome = client.fetch_directory("d", &options).await.unwrap();
    assert!(matches!(outcome, FetchOutcome::NotModified));

    mock.update_directory("d", |entries| entries.truncate(10));
    mock.reset_stats();
    let options = FetchOptions::new()
        .if_none_match(etag.clone())
        .if_modified_since(last_modified);
    let changed = modified(client.fetch_directory("d", &options).await.unwrap());
    assert_eq!(changed.entry_count, 10);
    assert_ne!(changed.etag.as_deref(), Some(etag.as_str()));
    assert_ne!(changed.fingerprint, first.fingerprint);
    // Later pages are never conditional.
    assert!(
        mock.requests()
            .iter()
            .skip(1)
            .all(|r| r.if_none_match.is_none())
    );
}

#[tokio::test]
async fn every_field_upstream_sent_is_kept() {
    let mock = GenesysMock::start().unwrap();
    let client = client_for(&mock).build().unwrap();
    let sent = vec![
        json!({"id": "1", "name": "Ada", "email": null, "x-unknown": {"nested": [1, null, "two"]},
               "custom_attributes": {"tier": "gold", "since": 2019}, "flag": false}),
        json!({"id": "2", "name": "Zoë ☎", "phone": "+44 20 7946 0000", "address": null}),
    ];
    mock.put_directory("d", MockDirectory::new(sent.clone()));
    let snapshot = modified(
        client
            .fetch_directory("d", &FetchOptions::new())
            .await
            .unwrap(),
    );
    assert_eq!(as_values(&snapshot), sent);
    assert_eq!(
        snapshot.entries().unwrap()[0].custom_attributes().unwrap()["since"],
        2019
    );
    assert_eq!(snapshot.entries().unwrap()[1].name(), Some("Zoë ☎"));
    assert_eq!(snapshot.etag, None);
}

#[tokio::test]
async fn the_fingerprint_follows_content_not_fetches() {
    let mock = GenesysMock::start().unwrap();
    let client = client_for(&mock).build().unwrap();
    mock.put_directory("d", MockDirectory::generated(40, 7));
    let fetch = || async {
        let options = FetchOptions::new()
            .page_size(7)
            .retry_budget(Duration::from_secs(5));
        modified(client.fetch_directory("d", &options).await.unwrap())
    };
    let (a, b) = (fetch().await, fetch().await);
    assert_eq!(a.fingerprint, b.fingerprint);
    mock.update_directory("d", |entries| entries[39]["name"] = json!("Someone Else"));
    assert_ne!(fetch().await.fingerprint, a.fingerprint);
}
