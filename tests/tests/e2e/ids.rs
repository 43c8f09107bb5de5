//! Directory ids that are refused before any I/O, and the longest id that is not.

use anyhow::Result;
use dircache_e2e::{ADMIN_TOKEN, Start, setup, start_mock};

#[tokio::test(flavor = "multi_thread")]
async fn bad_ids_are_a_400_without_any_upstream_request() -> Result<()> {
    let mock = start_mock()?;
    let served = setup(&mock)?.start().await?;
    let before = mock.stats();
    let long = "a".repeat(300);

    for id in ["%2E%2E", "%2E", "a%20b", "a%2Fb", long.as_str()] {
        let answer = served.raw_get(&format!("/v1/directories/{id}")).await?;
        assert_eq!(answer.status, 400, "{id}: {}", answer.text());
        assert_eq!(answer.error_code()?, "invalid_directory_id", "{id}");
    }
    let delete = served.delete_directory("a%20b", Some(ADMIN_TOKEN)).await?;
    assert_eq!(delete.status, 400, "DELETE: {}", delete.text());
    assert_eq!(delete.error_code()?, "invalid_directory_id");

    let after = mock.stats();
    assert_eq!(after.directory_requests, 0, "{after:?}");
    assert_eq!(after.token_requests, before.token_requests, "{after:?}");
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn the_longest_valid_id_reaches_upstream() -> Result<()> {
    let mock = start_mock()?;
    let served = setup(&mock)?.start().await?;
    let id = format!("Ab0._:-{}", "z".repeat(121));
    assert_eq!(id.len(), 128);

    let answer = served.get_directory(&id).await?;
    assert_eq!(answer.status, 404, "{}", answer.text());
    assert_eq!(answer.error_code()?, "not_found");
    assert_eq!(mock.stats().requests_for(&id), 1);
    Ok(())
}
