//! Byte limits on what upstream sends: a page over the page limit (declared or streamed) and
//! a directory over its limit are refused while read, never retried, nothing kept.

mod support;

use genesys_client::{Error, Exceeded, FetchOptions};
use genesys_mock::{Fault, GenesysMock, MockDirectory, Target};
use support::client_for;

const MIB: u64 = 1024 * 1024;

#[tokio::test]
async fn a_page_over_the_page_limit_is_refused_declared_or_streamed() {
    let mock = GenesysMock::start().unwrap();
    mock.put_directory("big", MockDirectory::generated(3, 1));
    let client = client_for(&mock).max_page_bytes(MIB).build().unwrap();
    for declared in [true, false] {
        mock.reset_stats();
        let fault = Fault::OversizedPage {
            bytes: 3 * MIB,
            declared,
        };
        mock.inject(Target::AnyDirectory, fault, 1);
        let err = client
            .fetch_directory("big", &FetchOptions::new())
            .await
            .unwrap_err();
        assert!(
            matches!(&err, Error::TooLarge { exceeded: Exceeded::Page(limit), directory_id }
                if *limit == MIB && directory_id == "big"),
            "declared {declared}: {err:?}"
        );
        assert!(!err.is_retryable());
        assert_eq!(mock.stats().directory_requests, 1, "never asked again");
    }
    // A page just under the limit is read (and is a valid, empty listing).
    let fault = Fault::OversizedPage {
        bytes: MIB - 1,
        declared: false,
    };
    mock.inject(Target::AnyDirectory, fault, 1);
    let read = client.fetch_directory("big", &FetchOptions::new()).await;
    assert!(read.is_ok(), "{read:?}");
}

#[tokio::test]
async fn a_directory_over_its_byte_limit_is_refused() {
    let mock = GenesysMock::start().unwrap();
    mock.put_directory("wide", MockDirectory::generated(600, 7));
    let whole = client_for(&mock)
        .build()
        .unwrap()
        .fetch_directory("wide", &FetchOptions::new().page_size(100))
        .await
        .unwrap();
    let genesys_client::FetchOutcome::Modified(snapshot) = whole else {
        panic!("a first fetch is a snapshot");
    };
    let limit = snapshot.upstream_bytes as u64 / 2;
    let client = client_for(&mock)
        .max_directory_bytes(limit)
        .build()
        .unwrap();
    let err = client
        .fetch_directory("wide", &FetchOptions::new().page_size(100))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, Error::TooLarge { exceeded: Exceeded::Directory(l), .. } if *l == limit),
        "{err:?}"
    );
    assert!(err.to_string().contains("directory limit"), "{err}");
}
