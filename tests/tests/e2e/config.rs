//! Invalid configuration: exit status 2 before any work, one stderr line naming the setting, no secret echoed.

use std::time::Duration;

use anyhow::Result;
use dircache_e2e::{CLIENT_SECRET, mock_with, setup, start_mock};
use genesys_mock::{GenesysMock, MockDirectory};
use testkit::{Dircache, Outcome};

/// A refused configuration exits at once; a server that started anyway is killed after this.
const REFUSAL_TIMEOUT: Duration = Duration::from_secs(20);

/// Runs `dircache <args>` with `setup` and checks it was refused for `setting` (the prefix of
/// the setting name, as the user wrote it) without doing any work.
fn assert_refused(
    mock: &GenesysMock,
    setup: &Dircache,
    args: &[&str],
    setting: &str,
) -> Result<()> {
    let outcome: Outcome = setup.run_within(args, REFUSAL_TIMEOUT)?;
    assert_eq!(outcome.code(), Some(2), "{setting}: {outcome}");
    let prefix = format!("dircache: invalid configuration: {setting}");
    assert!(
        outcome.stderr.starts_with(&prefix) && outcome.stderr.lines().count() == 1,
        "stderr should be one line starting `{prefix}`: {outcome}"
    );
    assert!(outcome.stdout.is_empty(), "{outcome}");
    assert!(!outcome.stderr.contains(CLIENT_SECRET), "{outcome}");
    let stats = mock.stats();
    assert_eq!(
        (stats.token_requests, stats.directory_requests),
        (0, 0),
        "{setting}: no work before the configuration is checked"
    );
    Ok(())
}

const SERVE: &[&str] = &["serve", "--listen", "127.0.0.1:0"];

#[test]
fn bad_environment_settings_are_refused_by_name() -> Result<()> {
    let mock = start_mock()?;
    let cases = [
        ("DIRCACHE_TTL_DEFAULT", "5", "DIRCACHE_TTL_DEFAULT:"),
        ("DIRCACHE_TTL_DEFAULT", "3601", "DIRCACHE_TTL_DEFAULT:"),
        ("DIRCACHE_BACKEND", "memcached", "DIRCACHE_BACKEND:"),
        ("DIRCACHE_PAGE_SIZE", "501", "DIRCACHE_PAGE_SIZE:"),
        ("DIRCACHE_PAGE_SIZE", "0", "DIRCACHE_PAGE_SIZE:"),
        ("GENESYS_API_URL", "http://example.com", "GENESYS_API_URL:"),
        ("GENESYS_LOGIN_URL", "not a url", "GENESYS_LOGIN_URL:"),
    ];
    for (key, value, setting) in cases {
        let setup = setup(&mock)?.env(key, value);
        assert_refused(&mock, &setup, SERVE, setting)?;
    }
    let missing_file = setup(&mock)?;
    let path = missing_file.path("missing.toml").display().to_string();
    let missing_file = missing_file.env("DIRCACHE_CONFIG", path);
    assert_refused(&mock, &missing_file, SERVE, "DIRCACHE_CONFIG: cannot read ")?;
    Ok(())
}

#[test]
fn a_listen_address_without_a_port_is_refused_by_its_flag() -> Result<()> {
    let mock = start_mock()?;
    let args = &["serve", "--listen", "localhost"];
    assert_refused(&mock, &setup(&mock)?, args, "--listen: ")
}

#[test]
fn missing_or_unreadable_credentials_are_refused_by_name() -> Result<()> {
    let mock = start_mock()?;
    let no_secret = setup(&mock)?.without("GENESYS_CLIENT_SECRET");
    assert_refused(&mock, &no_secret, SERVE, "GENESYS_CLIENT_SECRET:")?;
    let no_id = setup(&mock)?.without("GENESYS_CLIENT_ID");
    assert_refused(&mock, &no_id, SERVE, "GENESYS_CLIENT_ID:")?;
    let missing_file = setup(&mock)?.without("GENESYS_CLIENT_SECRET");
    let path = missing_file.path("no-such-secret");
    let missing_file = missing_file.env("GENESYS_CLIENT_SECRET_FILE", path.display().to_string());
    assert_refused(&mock, &missing_file, SERVE, "GENESYS_CLIENT_SECRET_FILE:")?;
    Ok(())
}

#[test]
fn bad_config_file_settings_are_refused_by_their_toml_name() -> Result<()> {
    let mock = start_mock()?;
    let cases = [
        ("[ttl]\ndefault = 5\n", "ttl.default:"),
        ("[ttl.directories]\nfast = 4000\n", "ttl.directories"),
        ("[cache]\nbackend = \"memcached\"\n", "cache.backend:"),
    ];
    for (toml, setting) in cases {
        let setup = setup(&mock)?.config_file(toml)?;
        assert_refused(&mock, &setup, SERVE, setting)?;
    }
    let unknown = setup(&mock)?.config_file("[cache]\nmax_entires = 10\n")?;
    assert_refused(&mock, &unknown, SERVE, "cache.max_entires: ")
}

#[test]
fn one_shot_commands_check_the_configuration_before_any_work() -> Result<()> {
    let mock = mock_with("vendors", MockDirectory::generated(3, 1))?;
    let setup = setup(&mock)?.env("DIRCACHE_TTL_DEFAULT", "5");
    assert_refused(&mock, &setup, &["get", "vendors"], "DIRCACHE_TTL_DEFAULT:")?;
    assert_refused(&mock, &setup, &["warm", "vendors"], "DIRCACHE_TTL_DEFAULT:")?;
    let nothing_set = Dircache::new()?;
    assert_refused(&mock, &nothing_set, &["stats"], "GENESYS_CLIENT_ID: ")
}

#[test]
fn bad_directories_tables_are_refused_naming_the_key() -> Result<()> {
    let mock = start_mock()?;
    let queue = "[directories.q]\nsource = \"queue_members\"\n";
    let cases = [
        (
            "[directories.q]\nttl = 60\n".to_owned(),
            "directories.q.source:",
        ),
        (
            "[directories.q]\nsource = \"contacts\"\n".to_owned(),
            "directories.q.source:",
        ),
        (queue.to_owned(), "directories.q.queue_id:"),
        (
            format!("{queue}queue_id = \"a/b\"\n"),
            "directories.q.queue_id:",
        ),
        (
            format!("{queue}queue_id = \"q1\"\ngroup_id = \"g1\"\n"),
            "directories.q.group_id:",
        ),
        (
            format!("{queue}queue_id = \"q1\"\nttl = 5\n"),
            "directories.q.ttl:",
        ),
        (
            format!("{queue}queue_id = \"q1\"\nmax_entries = 0\n"),
            "directories.q.max_entries:",
        ),
        (
            format!("{queue}queue_id = \"q1\"\nqueueid = \"x\"\n"),
            "directories.q.queueid",
        ),
        (
            "[directories.u]\nsource = \"users\"\nstate = \"gone\"\n".to_owned(),
            "directories.u.state:",
        ),
        (
            format!("{queue}queue_id = \"q1\"\nttl = 60\n[ttl.directories]\nq = 120\n"),
            "directories.q.ttl:",
        ),
        (
            "[cache]\nundeclared = \"maybe\"\n".to_owned(),
            "cache.undeclared:",
        ),
    ];
    for (toml, setting) in cases {
        let setup = setup(&mock)?.config_file(&toml)?;
        assert_refused(&mock, &setup, SERVE, setting)?;
    }
    assert!(mock.stats().by_listing.is_empty());
    Ok(())
}
