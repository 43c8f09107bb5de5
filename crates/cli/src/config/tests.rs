//! Tests of the configuration merge: precedence, the TTL matrix, and each refusal.

use std::path::Path;

use secrecy::ExposeSecret;

use super::*;

const CREDENTIALS: [(Setting, &str); 2] = [
    (Setting::ClientId, "client"),
    (Setting::ClientSecret, "s3cr3t-value"),
];

fn file(text: &str) -> FileConfig {
    FileConfig::parse(text, Path::new("dircache.toml"), "--config").unwrap()
}

fn inputs(flags: &[(Setting, &str)], env: &[(Setting, &str)], toml: &str) -> Inputs {
    let mut env_values = CREDENTIALS.to_vec();
    env_values.extend_from_slice(env);
    Inputs {
        flags: Layer::of(flags.iter().copied()),
        env: Layer::of(env_values),
        file: file(toml),
    }
}

fn resolve(flags: &[(Setting, &str)], env: &[(Setting, &str)], toml: &str) -> Config {
    Config::resolve(&inputs(flags, env, toml), Upstream::Required).unwrap()
}

fn refusal(flags: &[(Setting, &str)], env: &[(Setting, &str)], toml: &str) -> ConfigError {
    Config::resolve(&inputs(flags, env, toml), Upstream::Required).unwrap_err()
}

#[test]
fn defaults_apply_when_nothing_is_given() {
    let config = resolve(&[], &[], "");
    let id = DirectoryId::new("anything").unwrap();
    assert_eq!(config.ttl.ttl_for(&id).as_secs(), 300);
    assert_eq!(config.genesys.page_size.value, 250);
    assert_eq!(config.genesys.requests_per_minute.value, 300);
    assert_eq!(config.genesys.region, Region::UsEast1);
    assert_eq!(config.limits.max_entries, 500);
    assert_eq!(config.stale_if_error, Duration::from_secs(3600));
    assert_eq!(config.backend.value.name(), "memory");
    assert_eq!(config.listen.value, "127.0.0.1:8080".parse().unwrap());
    assert!(config.admin_token.is_none() && config.audit.path.is_none() && !config.audit.hits);
    assert!(
        config
            .instance_id
            .ends_with(&format!("-{}", std::process::id()))
    );
    assert!(config.webhooks.is_empty());
}

#[test]
fn a_flag_beats_the_environment_which_beats_the_file() {
    let toml = "[ttl]\ndefault = 600\n[genesys]\npage_size = 100\nregion = \"eu-west-1\"\n";
    let all = resolve(
        &[(Setting::TtlDefault, "60")],
        &[(Setting::TtlDefault, "120"), (Setting::PageSize, "50")],
        toml,
    );
    let id = DirectoryId::new("x").unwrap();
    assert_eq!(all.ttl.ttl_for(&id).as_secs(), 60, "flag wins");
    assert_eq!(
        all.genesys.page_size.value, 50,
        "environment beats the file"
    );
    assert_eq!(all.genesys.page_size.name, "DIRCACHE_PAGE_SIZE");
    assert_eq!(
        all.genesys.region,
        Region::EuWest1,
        "the file beats the default"
    );

    let env_only = resolve(&[], &[(Setting::TtlDefault, "120")], toml);
    assert_eq!(env_only.ttl.ttl_for(&id).as_secs(), 120);
    let file_only = resolve(&[], &[], toml);
    assert_eq!(file_only.ttl.ttl_for(&id).as_secs(), 600);
}

#[test]
fn a_blank_value_counts_as_unset() {
    let config = resolve(&[], &[(Setting::TtlDefault, " ")], "[ttl]\ndefault = 90\n");
    let id = DirectoryId::new("x").unwrap();
    assert_eq!(config.ttl.ttl_for(&id).as_secs(), 90);
}

#[test]
fn the_ttl_matrix_comes_from_the_file() {
    let config = resolve(
        &[],
        &[],
        r#"
        [ttl]
        default = 300
        [ttl.directories]
        internal_agents = 120
        external_vendors = 300
        emergency_contacts = 60
        "#,
    );
    let ttl = |id: &str| config.ttl.ttl_for(&DirectoryId::new(id).unwrap()).as_secs();
    assert_eq!(
        (
            ttl("internal_agents"),
            ttl("external_vendors"),
            ttl("emergency_contacts"),
            ttl("other")
        ),
        (120, 300, 60, 300)
    );
}

#[test]
fn every_setting_is_read_from_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let token_file = dir.path().join("admin");
    std::fs::write(&token_file, "from-a-file\n").unwrap();
    let config = Config::resolve(
        &Inputs {
            file: file(&format!(
                r#"
                [genesys]
                client_id = "file-client"
                client_secret = "file-secret"
                region = "mypurecloud.de"
                api_url = "http://127.0.0.1:9"
                login_url = "http://127.0.0.1:10"
                page_size = 500
                requests_per_minute = 100
                [cache]
                max_entries = 20
                stale_if_error = 0
                backend = "redis"
                [redis]
                url = "redis://127.0.0.1:6390/0"
                prefix = "team-a"
                l1 = false
                [audit]
                path = "/tmp/audit.jsonl"
                hits = true
                [serve]
                listen = "0.0.0.0:9000"
                admin_token_file = {token_file:?}
                instance_id = "pod-7"
                [[webhooks]]
                url = "https://cdn.example/hook"
                secret = "hook-secret"
                "#
            )),
            ..Inputs::default()
        },
        Upstream::Required,
    )
    .unwrap();
    let g = &config.genesys;
    assert_eq!(g.client_id.as_ref().unwrap().value, "file-client");
    assert_eq!(
        g.client_secret.as_ref().unwrap().value.expose_secret(),
        "file-secret"
    );
    assert_eq!(g.region, Region::EuCentral1);
    assert_eq!(g.api_url.as_ref().unwrap().name, "genesys.api_url");
    assert_eq!(g.page_size.value, 500);
    assert_eq!(g.requests_per_minute.value, 100);
    assert_eq!(config.limits.max_entries, 20);
    assert_eq!(config.stale_if_error, Duration::ZERO);
    match &config.backend.value {
        BackendSettings::Redis { urls, prefix, l1 } => {
            assert_eq!(urls.name, "redis.url");
            assert_eq!(urls.value.len(), 1);
            assert_eq!(urls.value[0].expose_secret(), "redis://127.0.0.1:6390/0");
            assert_eq!((prefix.as_str(), *l1), ("team-a", false));
        }
        other => panic!("{other:?}"),
    }
    let audit_path = config.audit.path.as_ref().unwrap();
    assert_eq!(audit_path.value, Path::new("/tmp/audit.jsonl"));
    assert_eq!(audit_path.name, "audit.path");
    assert!(config.audit.hits);
    assert_eq!(config.listen.value.port(), 9000);
    assert_eq!(config.admin_token.unwrap().expose_secret(), "from-a-file");
    assert_eq!(config.instance_id, "pod-7");
    assert_eq!(config.webhooks[0].url, "https://cdn.example/hook");
}

#[test]
fn secrets_follow_the_same_precedence_and_never_show_in_debug() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("secret");
    std::fs::write(&path, "secret-from-flag-file").unwrap();
    let path = path.to_str().unwrap();
    let config = resolve(
        &[(Setting::ClientSecretFile, path)],
        &[],
        "[genesys]\nclient_secret = \"secret-from-toml\"\n",
    );
    let secret = config.genesys.client_secret.as_ref().unwrap();
    assert_eq!(secret.value.expose_secret(), "secret-from-flag-file");
    assert_eq!(secret.name, "--client-secret-file");

    let config = resolve(
        &[],
        &[],
        "[genesys]\nclient_secret = \"secret-from-toml\"\n",
    );
    assert_eq!(
        config
            .genesys
            .client_secret
            .as_ref()
            .unwrap()
            .value
            .expose_secret(),
        "s3cr3t-value",
        "the environment beats the file"
    );
    let debug = format!("{config:?}");
    assert!(!debug.contains("s3cr3t-value"), "{debug}");
}

#[test]
fn credentials_are_required_except_for_demo() {
    let bare = Inputs::default();
    let err = Config::resolve(&bare, Upstream::Required).unwrap_err();
    assert_eq!(err.setting, "GENESYS_CLIENT_ID");
    let id_only = Inputs {
        env: Layer::of([(Setting::ClientId, "client")]),
        ..Inputs::default()
    };
    let err = Config::resolve(&id_only, Upstream::Required).unwrap_err();
    assert_eq!(err.setting, "GENESYS_CLIENT_SECRET");
    assert!(Config::resolve(&bare, Upstream::NotNeeded).is_ok());
}

#[test]
fn each_invalid_value_is_refused_by_name() {
    let cases: Vec<(ConfigError, &str)> = vec![
        (
            refusal(&[], &[(Setting::TtlDefault, "10")], ""),
            "DIRCACHE_TTL_DEFAULT",
        ),
        (
            refusal(&[(Setting::TtlDefault, "3601")], &[], ""),
            "--ttl-default",
        ),
        (refusal(&[], &[], "[ttl]\ndefault = -5\n"), "ttl.default"),
        (
            refusal(&[], &[(Setting::TtlDefault, "5m")], ""),
            "DIRCACHE_TTL_DEFAULT",
        ),
        (
            refusal(&[], &[], "[ttl.directories]\ninternal_agents = 7200\n"),
            "ttl.directories.internal_agents",
        ),
        (
            refusal(&[], &[], "[ttl.directories]\n\"a b\" = 60\n"),
            "ttl.directories.\"a b\"",
        ),
        (
            refusal(&[], &[(Setting::PageSize, "0")], ""),
            "DIRCACHE_PAGE_SIZE",
        ),
        (
            refusal(&[], &[], "[genesys]\npage_size = 501\n"),
            "genesys.page_size",
        ),
        (
            refusal(&[], &[(Setting::UpstreamRpm, "0")], ""),
            "DIRCACHE_UPSTREAM_RPM",
        ),
        (
            refusal(&[(Setting::UpstreamRpm, "ten")], &[], ""),
            "--upstream-rpm",
        ),
        (
            refusal(&[], &[(Setting::MaxEntries, "0")], ""),
            "DIRCACHE_MAX_ENTRIES",
        ),
        (
            refusal(&[], &[(Setting::StaleIfError, "-1")], ""),
            "DIRCACHE_STALE_IF_ERROR",
        ),
        (
            refusal(&[], &[(Setting::Region, "mars-1")], ""),
            "GENESYS_REGION",
        ),
        (
            refusal(&[], &[(Setting::ApiUrl, "not a url")], ""),
            "GENESYS_API_URL",
        ),
        (
            refusal(&[], &[], "[genesys]\nlogin_url = \"ftp://x\"\n"),
            "genesys.login_url",
        ),
        (
            refusal(&[], &[(Setting::Backend, "postgres")], ""),
            "DIRCACHE_BACKEND",
        ),
        (
            refusal(&[], &[(Setting::Backend, "redis")], ""),
            "DIRCACHE_REDIS_URL",
        ),
        (
            refusal(&[], &[(Setting::RedisUrl, "http://user:pw@host")], ""),
            "DIRCACHE_REDIS_URL",
        ),
        (refusal(&[], &[(Setting::L1, "maybe")], ""), "DIRCACHE_L1"),
        (
            refusal(&[], &[(Setting::AuditHits, "sometimes")], ""),
            "DIRCACHE_AUDIT_HITS",
        ),
        (
            refusal(&[(Setting::Listen, "localhost")], &[], ""),
            "--listen",
        ),
        (
            refusal(&[], &[(Setting::AdminToken, "two words")], ""),
            "DIRCACHE_ADMIN_TOKEN",
        ),
        (
            refusal(
                &[],
                &[(Setting::AdminTokenFile, "/nonexistent/dircache-token")],
                "",
            ),
            "DIRCACHE_ADMIN_TOKEN_FILE",
        ),
        (
            refusal(&[], &[], "[[webhooks]]\nurl = \"https://a.example\"\n"),
            "webhooks[0].secret",
        ),
        (
            refusal(&[], &[], "[[webhooks]]\nsecret = \"x\"\n"),
            "webhooks[0].url",
        ),
    ];
    for (err, setting) in cases {
        assert_eq!(err.setting, setting, "{err}");
        let text = err.to_string();
        assert!(
            text.starts_with(&format!("invalid configuration: {setting}: ")),
            "{text}"
        );
        assert!(
            !text.contains("s3cr3t-value") && !text.contains(":pw@"),
            "{text}"
        );
    }
}

#[test]
fn several_redis_urls_name_the_nodes_of_one_cluster() {
    let config = resolve(
        &[],
        &[
            (Setting::Backend, "redis"),
            (
                Setting::RedisUrl,
                "redis://:pw@10.0.0.1:7000, redis://:pw@10.0.0.2:7000",
            ),
        ],
        "",
    );
    match &config.backend.value {
        BackendSettings::Redis { urls, prefix, l1 } => {
            assert_eq!(urls.name, "DIRCACHE_REDIS_URL");
            let urls: Vec<&str> = urls.value.iter().map(|u| u.expose_secret()).collect();
            assert_eq!(
                urls,
                ["redis://:pw@10.0.0.1:7000", "redis://:pw@10.0.0.2:7000"]
            );
            assert_eq!((prefix.as_str(), *l1), ("dircache", true));
        }
        other => panic!("{other:?}"),
    }

    let err = refusal(
        &[],
        &[
            (Setting::Backend, "redis"),
            (Setting::RedisUrl, "redis://:pw@10.0.0.1:7000,http://:pw@x"),
        ],
        "",
    );
    assert_eq!(err.setting, "DIRCACHE_REDIS_URL");
    assert!(err.reason.starts_with("URL 2 of the list: "), "{err}");
    assert!(!err.to_string().contains(":pw@"), "{err}");
}

#[test]
fn a_redis_prefix_with_braces_is_refused() {
    let err = refusal(&[(Setting::RedisPrefix, "team{a}")], &[], "");
    assert_eq!(err.setting, "--redis-prefix");
    let err = refusal(&[], &[], "[redis]\nprefix = \"a}\"\n");
    assert_eq!(err.setting, "redis.prefix");
}
