//! Logs on stderr: one line per request, and never a credential, even at `RUST_LOG=trace`.

use anyhow::Result;
use dircache_e2e::secrets::{basic_credential, mock_token_lookalikes};
use dircache_e2e::{ADMIN_TOKEN, CLIENT_ID, CLIENT_SECRET, Start, mock_with, serving, setup};
use genesys_mock::MockDirectory;

#[tokio::test(flavor = "multi_thread")]
async fn trace_logs_hold_no_secret_and_no_bearer_token() -> Result<()> {
    let mock = mock_with("vendors", MockDirectory::generated(15, 4))?;
    let served = setup(&mock)?.env("RUST_LOG", "trace").start().await?;

    served.read_directory("vendors").await?;
    served.read_directory("vendors").await?;
    assert_eq!(served.delete_directory("vendors", None).await?.status, 401);
    assert_eq!(
        served
            .delete_directory("vendors", Some(ADMIN_TOKEN))
            .await?
            .status,
        204
    );
    // A second token: upstream forgets the first, so dircache must refresh and retry.
    mock.expire_tokens();
    served.read_directory("vendors").await?;
    assert_eq!(
        served.verify("vendors", Some(ADMIN_TOKEN)).await?.status,
        200
    );
    assert!(mock.stats().token_requests >= 2, "{:?}", mock.stats());

    let stopped = served.stop().await?;
    let output = format!("{}\n{}", stopped.stdout, stopped.stderr);
    assert!(
        output.contains("/v1/directories/vendors"),
        "trace logging is on and mentions the requests:\n{output}"
    );
    let basic = basic_credential(CLIENT_ID, CLIENT_SECRET);
    for (what, secret) in [
        ("the client secret", CLIENT_SECRET),
        ("the Basic credential", basic.as_str()),
        ("the admin token", ADMIN_TOKEN),
    ] {
        let leaks: Vec<&str> = output
            .lines()
            .filter(|line| line.contains(secret))
            .collect();
        assert!(leaks.is_empty(), "{what} is logged:\n{}", leaks.join("\n"));
    }
    let tokens = mock_token_lookalikes(&output);
    assert!(tokens.is_empty(), "bearer tokens in the logs: {tokens:?}");
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn each_request_is_logged_on_one_line_with_its_outcome() -> Result<()> {
    let (_mock, served) = serving("vendors", MockDirectory::generated(5, 4)).await?;
    served.read_directory("vendors").await?;
    served.read_directory("vendors").await?;
    assert_eq!(served.get_directory("nobody").await?.status, 404);

    let stopped = served.stop().await?;
    // Other lines may carry the request's span too, so a line with every part is looked for.
    let has_line = |words: &[&str]| {
        stopped
            .stderr
            .lines()
            .any(|line| words.iter().all(|word| line.contains(word)))
    };
    let path = "/v1/directories/vendors";
    for words in [
        ["GET", path, "200", "MISS"],
        ["GET", path, "200", "HIT"],
        ["GET", "/v1/directories/nobody", "404", ""],
    ] {
        assert!(
            has_line(&words),
            "a line with {words:?}:\n{}",
            stopped.stderr
        );
    }
    Ok(())
}
