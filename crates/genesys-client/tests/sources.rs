//! Every source of SPEC §7 read from genesys-mock: every entity with every field, in the fewest
//! pages each allows (counted at the mock), torn listings re-read whole, 403s naming the grant.

mod support;

use genesys_client::{DirectorySnapshot, Error, FetchOptions, Listing, Source};
use genesys_mock::{Fault, GenesysMock, MockSource};

use support::{as_values, client_for, listing_page_sizes, modified};

const QUEUE: &str = "5f0b8b3c-9d1e-4c2a-8f6b-0a1b2c3d4e5f";
const GROUP: &str = "a1b2c3d4-0000-4000-8000-123456789abc";

/// The listing of `source` with the mock's queue or group as its parameter.
fn listing(source: Source) -> Listing {
    let parameters: Vec<(&str, &str)> = match source {
        Source::QueueMembers => vec![("queue_id", QUEUE)],
        Source::GroupMembers => vec![("group_id", GROUP)],
        _ => vec![],
    };
    Listing::new(source, parameters).unwrap()
}

/// The mock's listing for `source`.
fn mock_source(source: Source) -> MockSource {
    match source {
        Source::Users => MockSource::Users,
        Source::Groups => MockSource::Groups,
        Source::GroupMembers => MockSource::GroupMembers(GROUP.into()),
        Source::Queues => MockSource::Queues,
        Source::QueueMembers => MockSource::QueueMembers(QUEUE.into()),
        Source::ExternalContacts => MockSource::ExternalContacts,
        Source::ExternalOrganizations => MockSource::ExternalOrganizations,
        Source::Skills => MockSource::Skills,
        Source::WrapupCodes => MockSource::WrapupCodes,
        Source::Locations => MockSource::Locations,
        other => panic!("no org listing for {other}"),
    }
}

async fn snapshot(client: &genesys_client::GenesysClient, source: Source) -> DirectorySnapshot {
    let options = FetchOptions::new();
    modified(
        client
            .fetch_listing("dir", &listing(source), &options)
            .await
            .unwrap(),
    )
}

#[tokio::test]
async fn every_source_returns_every_entity_whole_in_the_fewest_pages() {
    let mock = GenesysMock::start().unwrap();
    let client = client_for(&mock).build().unwrap();
    // (source, entities, pages): 500 a page for page-numbered listings, 100 for queue members
    // (a full last page is followed by an empty one), 200 for the scans.
    let cases = [
        (Source::Users, 1100, 3),
        (Source::Groups, 7, 1),
        (Source::GroupMembers, 501, 2),
        (Source::Queues, 500, 1),
        (Source::QueueMembers, 250, 3),
        (Source::ExternalContacts, 450, 3),
        (Source::ExternalOrganizations, 400, 2),
        (Source::Skills, 30, 1),
        (Source::WrapupCodes, 12, 1),
        (Source::Locations, 5, 1),
    ];
    for (index, (source, count, pages)) in cases.into_iter().enumerate() {
        let mocked = mock_source(source);
        let entities = mocked.generated(count, index as u64);
        mock.put_listing(&mocked, entities.clone());
        mock.reset_stats();
        let snapshot = snapshot(&client, source).await;
        assert_eq!(as_values(&snapshot), entities, "{source}");
        assert_eq!(snapshot.pages, pages, "{source}");
        assert_eq!(
            mock.stats().requests_for_listing(&mocked),
            u64::from(pages),
            "{source}"
        );
        assert_eq!(mock.stats().directory_requests, 0, "{source}");
    }
}

#[tokio::test]
async fn queue_members_end_on_a_page_without_next_uri_or_without_entities() {
    let mock = GenesysMock::start().unwrap();
    let client = client_for(&mock).build().unwrap();
    let members = MockSource::QueueMembers(QUEUE.into());
    for (count, pages) in [(200, 3), (99, 1), (0, 1)] {
        mock.put_listing(&members, members.generated(count, 3));
        mock.reset_stats();
        let snapshot = snapshot(&client, Source::QueueMembers).await;
        assert_eq!(snapshot.entry_count, count);
        assert_eq!(
            mock.stats().requests_for_listing(&members),
            pages,
            "{count}"
        );
        let sizes = listing_page_sizes(&mock);
        assert!(sizes.iter().all(|s| *s == Some(100)), "{sizes:?}");
    }
}

#[tokio::test]
async fn the_contacts_scan_follows_its_cursor_and_never_the_capped_listing() {
    let mock = GenesysMock::start().unwrap();
    let client = client_for(&mock).build().unwrap();
    let contacts = MockSource::ExternalContacts;
    let entities = contacts.generated(2500, 11);
    mock.put_listing(&contacts, entities.clone());
    let snapshot = snapshot(&client, Source::ExternalContacts).await;
    assert_eq!(as_values(&snapshot), entities);
    let stats = mock.stats();
    assert_eq!(stats.requests_for_listing(&contacts), 13);
    assert_eq!(stats.by_listing.len(), 1, "{:?}", stats.by_listing);
    let sizes = listing_page_sizes(&mock);
    assert!(sizes.iter().all(|s| *s == Some(200)), "{sizes:?}");
}

#[tokio::test]
async fn a_user_added_between_pages_gives_a_whole_current_snapshot() {
    let mock = GenesysMock::start().unwrap();
    let client = client_for(&mock).build().unwrap();
    // (source, entities, pages of the torn read, pages of the whole one): a changed `total`,
    // or without totals an id repeated from page 1, shows on page 2 and ends the torn read.
    for (source, count, torn, pages) in [
        (Source::Users, 1100, 2u64, 3u64),
        (Source::QueueMembers, 250, 2, 3),
        (Source::ExternalContacts, 450, 2, 3),
    ] {
        let mocked = mock_source(source);
        mock.put_listing(&mocked, mocked.generated(count, 5));
        mock.add_between_pages(&mocked, 1, 1);
        mock.reset_stats();
        let snapshot = snapshot(&client, source).await;
        let current = mock.listing_entities(&mocked).unwrap();
        assert_eq!(current.len(), count + 1, "{source}");
        assert_eq!(as_values(&snapshot), current, "{source}");
        let requests = mock.stats().requests_for_listing(&mocked);
        assert_eq!(requests, torn + pages, "{source}");
    }
}

#[tokio::test]
async fn a_listing_that_keeps_changing_is_refused_never_mixed() {
    let mock = GenesysMock::start().unwrap();
    let client = client_for(&mock).snapshot_attempts(2).build().unwrap();
    let users = MockSource::Users;
    mock.put_listing(&users, users.generated(700, 1));
    mock.add_between_pages(&users, 1, 5);
    let err = client
        .fetch_listing("people", &listing(Source::Users), &FetchOptions::new())
        .await
        .unwrap_err();
    assert!(
        matches!(err, Error::TornSnapshot { attempts: 2, .. }),
        "{err:?}"
    );
}

#[tokio::test]
async fn a_403_names_the_scope_and_permission_and_400_404_are_not_retried() {
    let mock = GenesysMock::start().unwrap();
    let client = client_for(&mock).build().unwrap();
    let members = MockSource::QueueMembers(QUEUE.into());
    mock.put_listing(&members, members.generated(3, 1));
    mock.fail_listing(&members, Fault::Forbidden, 1);
    let err = client
        .fetch_listing(
            "support",
            &listing(Source::QueueMembers),
            &FetchOptions::new(),
        )
        .await
        .unwrap_err();
    let message = err.to_string();
    assert!(matches!(err, Error::Forbidden { .. }), "{err:?}");
    assert!(
        message.contains("routing:readonly; routing:queue:view") && message.contains("support"),
        "{message}"
    );

    mock.reset_stats();
    mock.fail_listing(&members, Fault::Status(400), 1);
    let err = snapshot_error(&client, Source::QueueMembers).await;
    assert_eq!(err.status(), Some(400), "{err:?}");
    assert_eq!(mock.stats().requests_for_listing(&members), 1);

    // A queue the org does not have: Genesys' 404, asked once.
    let unknown = Listing::new(Source::QueueMembers, [("queue_id", "no-such-queue")]).unwrap();
    let err = client
        .fetch_listing("support", &unknown, &FetchOptions::new())
        .await
        .unwrap_err();
    assert!(matches!(err, Error::NotFound { .. }), "{err:?}");
    let path = MockSource::QueueMembers("no-such-queue".into());
    assert_eq!(mock.stats().requests_for_listing(&path), 1);
}

#[tokio::test]
async fn every_fault_of_the_mock_reaches_every_listing_and_is_retried_as_for_directories() {
    let mock = GenesysMock::start().unwrap();
    let client = client_for(&mock).build().unwrap();
    let skills = MockSource::Skills;
    mock.put_listing(&skills, skills.generated(20, 2));
    mock.fail_listing(&skills, Fault::Status(503), 1);
    mock.fail_listing(&skills, Fault::MalformedBody, 1);
    let err = snapshot_error(&client, Source::Skills).await;
    assert!(matches!(err, Error::InvalidResponse { .. }), "{err:?}");
    assert_eq!(mock.stats().requests_for_listing(&skills), 2);
    assert_eq!(snapshot(&client, Source::Skills).await.entry_count, 20);
}

#[tokio::test]
async fn page_sizes_out_of_a_source_bounds_are_refused_before_any_request() {
    let mock = GenesysMock::start().unwrap();
    let client = client_for(&mock).build().unwrap();
    for (source, size) in [
        (Source::QueueMembers, 101),
        (Source::ExternalContacts, 9),
        (Source::Users, 501),
    ] {
        let err = client
            .fetch_listing("d", &listing(source), &FetchOptions::new().page_size(size))
            .await
            .unwrap_err();
        assert!(matches!(err, Error::Config { .. }), "{source}: {err:?}");
    }
    assert!(mock.requests().is_empty());
}

async fn snapshot_error(client: &genesys_client::GenesysClient, source: Source) -> Error {
    client
        .fetch_listing("dir", &listing(source), &FetchOptions::new())
        .await
        .unwrap_err()
}
