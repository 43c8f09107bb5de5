//! The settings of `dircache`, each declared once (its environment variable, from which its
//! flag follows, its TOML key and its help), the file schema they make, and the values one
//! source (the command line or the environment) gave for them.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::LazyLock;

use super::declare::settings;
use super::directories::DirectoryTable;
use super::file::{FileSecret, Switch, WebhookTable};

settings! {
    /// `[genesys]`.
    genesys: GenesysTable {
        /// OAuth client id (client-credentials grant).
        ClientId client_id: String = "GENESYS_CLIENT_ID", flag "ID";
        /// The OAuth client secret.
        ClientSecret client_secret: FileSecret = "GENESYS_CLIENT_SECRET";
        /// A file holding the OAuth client secret (or set GENESYS_CLIENT_SECRET).
        ClientSecretFile client_secret_file: PathBuf = "GENESYS_CLIENT_SECRET_FILE", flag "FILE";
        /// Genesys Cloud region (eu-west-1) or domain (mypurecloud.ie) [default: us-east-1].
        Region region: String = "GENESYS_REGION", flag "REGION";
        /// Overrides the API base URL of the region.
        ApiUrl api_url: String = "GENESYS_API_URL", flag "URL";
        /// Overrides the login base URL of the region.
        LoginUrl login_url: String = "GENESYS_LOGIN_URL", flag "URL";
        /// Entries per upstream page, 1..=500 [default: 250].
        PageSize page_size: i64 = "DIRCACHE_PAGE_SIZE", flag "N";
        /// Requests a minute this instance may send to Genesys; instances sharing one OAuth client
        /// share its allowance [default: 300].
        UpstreamRpm requests_per_minute: i64 = "DIRCACHE_UPSTREAM_RPM", flag "N";
        /// Requests a minute each instance may send while the shared budget in Redis does not
        /// answer [default: 60].
        UpstreamRpmFallback requests_per_minute_fallback: i64 = "DIRCACHE_UPSTREAM_RPM_FALLBACK", flag "N";
        /// The fraction of the budget that ids with no cached copy may use, 0..=1 [default: 0.2].
        UnknownShare unknown_share: f64 = "DIRCACHE_UNKNOWN_SHARE", flag "FRACTION";
    }
    /// `[ttl]` and `[ttl.directories]`.
    ttl: TtlTable {
        /// Default TTL in seconds, 30..=3600 [default: 300].
        TtlDefault default: i64 = "DIRCACHE_TTL_DEFAULT", flag "SECONDS";
        + /// The TTL of each directory named, in seconds.
        directories: BTreeMap<String, i64>;
    }
    /// `[cache]`.
    cache: CacheTable {
        /// Most entries a cached directory may have; a larger one is refused [default: 500].
        MaxEntries max_entries: i64 = "DIRCACHE_MAX_ENTRIES", flag "N";
        /// How long after expiry a copy is served while upstream fails [default: 3600].
        StaleIfError stale_if_error: i64 = "DIRCACHE_STALE_IF_ERROR", flag "SECONDS";
        /// What an id no `[directories.<id>]` table declares is: routing_directory (the seed's
        /// listing) or refuse (404 unknown_directory) [default: routing_directory].
        Undeclared undeclared: String = "DIRCACHE_UNDECLARED", flag "routing_directory|refuse";
        /// How long a 404 or 403 from Genesys is remembered, 0..=3600 (0 off) [default: 30].
        NegativeTtl negative_ttl: i64 = "DIRCACHE_NEGATIVE_TTL", flag "SECONDS";
        /// Cache backend: memory or redis [default: memory].
        Backend backend: String = "DIRCACHE_BACKEND", flag "BACKEND";
        /// Most bytes of upstream JSON a directory may have; a larger one is refused [default:
        /// 536870912].
        MaxDirectoryBytes max_directory_bytes: i64 = "DIRCACHE_MAX_DIRECTORY_BYTES", flag "BYTES";
        /// Compressed forms made when a copy is cached: a comma-separated list of zstd, br and
        /// gzip, or none; the others are made when first asked for [default: zstd,gzip].
        EagerEncodings eager_encodings: String = "DIRCACHE_EAGER_ENCODINGS", flag "LIST";
    }
    /// `[redis]`.
    redis: RedisTable {
        /// The Redis URL, or several comma-separated naming nodes of one cluster. It may carry a
        /// password, so it has no flag.
        RedisUrl url: FileSecret = "DIRCACHE_REDIS_URL";
        /// Prefix of every Redis key [default: dircache]. The URL is DIRCACHE_REDIS_URL.
        RedisPrefix prefix: String = "DIRCACHE_REDIS_PREFIX", flag "PREFIX";
        /// In-process cache in front of Redis: on or off [default: on].
        L1 l1: Switch = "DIRCACHE_L1", flag "on|off";
    }
    /// `[audit]`.
    audit: AuditTable {
        /// Append audit events (JSON lines) to this file [default: none].
        AuditLog path: PathBuf = "DIRCACHE_AUDIT_LOG", flag "FILE";
        /// Also audit every cache hit: true or false [default: false].
        AuditHits hits: bool = "DIRCACHE_AUDIT_HITS", flag "true|false";
    }
    /// `[serve]`.
    serve: ServeTable {
        /// The address to listen on [default: 127.0.0.1:8080].
        Listen listen: String = "DIRCACHE_LISTEN", flag "ADDR" in "serve";
        /// The admin bearer token.
        AdminToken admin_token: FileSecret = "DIRCACHE_ADMIN_TOKEN";
        /// A file holding the admin bearer token (or set DIRCACHE_ADMIN_TOKEN).
        AdminTokenFile admin_token_file: PathBuf = "DIRCACHE_ADMIN_TOKEN_FILE", flag "FILE";
        /// This instance's name in the audit log [default: HOSTNAME-PID].
        InstanceId instance_id: String = "DIRCACHE_INSTANCE_ID", flag "ID";
        /// Most connections served at once; the next ones wait to be accepted [default: 10000].
        MaxConnections max_connections: i64 = "DIRCACHE_MAX_CONNECTIONS", flag "N" in "serve";
        /// The TLS certificate chain (PEM) to serve HTTPS with, beside DIRCACHE_TLS_KEY.
        TlsCert tls_cert: PathBuf = "DIRCACHE_TLS_CERT", flag "FILE" in "serve";
        /// The TLS private key (PEM) of DIRCACHE_TLS_CERT.
        TlsKey tls_key: PathBuf = "DIRCACHE_TLS_KEY", flag "FILE" in "serve";
    }
    + /// `[[webhooks]]`: the change listeners.
    webhooks: Vec<WebhookTable>;
    + /// `[directories.<id>]`: the declared directories (SPEC §7).
    directories: BTreeMap<String, DirectoryTable>;
}

impl Setting {
    /// The command-line flag, without its `--`: the environment variable without its
    /// `GENESYS_` or `DIRCACHE_`, in lower case with dashes (`DIRCACHE_TTL_DEFAULT` is
    /// `--ttl-default`). Secrets have none (a flag's value shows in `ps`).
    pub(crate) fn flag(self) -> Option<&'static str> {
        // clap keeps `&'static str` names: the flags are made once, in the order of `ALL`, which is
        // the order of the variants.
        static FLAGS: LazyLock<Vec<Option<String>>> = LazyLock::new(|| {
            Setting::ALL
                .iter()
                .map(|setting| setting.value_name().map(|_| flag_of(setting.env())))
                .collect()
        });
        FLAGS[self as usize].as_deref()
    }
}

/// The flag named after an environment variable.
fn flag_of(env: &str) -> String {
    let name = env
        .strip_prefix("GENESYS_")
        .or_else(|| env.strip_prefix("DIRCACHE_"))
        .unwrap_or(env);
    name.to_ascii_lowercase().replace('_', "-")
}

/// The values one source gave, by setting. An empty value counts as not given, as it does for
/// the Genesys client's own environment variables.
#[derive(Clone, Default)]
pub(crate) struct Layer {
    values: BTreeMap<Setting, String>,
}

impl Layer {
    /// A layer with these values (empty ones left out): the demo's own settings, and the
    /// tests'.
    #[cfg(any(feature = "demo", test))]
    pub(crate) fn of<'a>(values: impl IntoIterator<Item = (Setting, &'a str)>) -> Self {
        let mut layer = Layer::default();
        for (setting, value) in values {
            layer.set(setting, value.to_owned());
        }
        layer
    }

    /// Records `value` for `setting`, unless it is blank.
    pub(crate) fn set(&mut self, setting: Setting, value: String) {
        if !value.trim().is_empty() {
            self.values.insert(setting, value);
        }
    }

    /// The value given for `setting`.
    pub(crate) fn get(&self, setting: Setting) -> Option<&str> {
        self.values.get(&setting).map(String::as_str)
    }
}

impl std::fmt::Debug for Layer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Layers hold secrets (the client secret, the admin token, the Redis URL): only which
        // settings were given is shown.
        f.debug_set().entries(self.values.keys()).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_and_follow_one_pattern() {
        let mut envs: Vec<_> = Setting::ALL.iter().map(|s| s.env()).collect();
        let mut keys: Vec<_> = Setting::ALL.iter().map(|s| s.toml_key()).collect();
        envs.sort_unstable();
        envs.dedup();
        keys.sort_unstable();
        keys.dedup();
        assert_eq!(
            (envs.len(), keys.len()),
            (Setting::ALL.len(), Setting::ALL.len())
        );
        for setting in Setting::ALL {
            let env = setting.env();
            assert!(
                env.starts_with("GENESYS_") || env.starts_with("DIRCACHE_"),
                "{env}"
            );
            assert!(setting.toml_key().contains('.'));
        }
    }

    #[test]
    fn every_name_is_as_documented() {
        let names: Vec<_> = Setting::ALL
            .iter()
            .map(|s| (s.env(), s.flag(), s.toml_key()))
            .collect();
        let documented = [
            ("GENESYS_CLIENT_ID", Some("client-id"), "genesys.client_id"),
            ("GENESYS_CLIENT_SECRET", None, "genesys.client_secret"),
            (
                "GENESYS_CLIENT_SECRET_FILE",
                Some("client-secret-file"),
                "genesys.client_secret_file",
            ),
            ("GENESYS_REGION", Some("region"), "genesys.region"),
            ("GENESYS_API_URL", Some("api-url"), "genesys.api_url"),
            ("GENESYS_LOGIN_URL", Some("login-url"), "genesys.login_url"),
            ("DIRCACHE_PAGE_SIZE", Some("page-size"), "genesys.page_size"),
            (
                "DIRCACHE_UPSTREAM_RPM",
                Some("upstream-rpm"),
                "genesys.requests_per_minute",
            ),
            ("DIRCACHE_TTL_DEFAULT", Some("ttl-default"), "ttl.default"),
            (
                "DIRCACHE_MAX_ENTRIES",
                Some("max-entries"),
                "cache.max_entries",
            ),
            (
                "DIRCACHE_STALE_IF_ERROR",
                Some("stale-if-error"),
                "cache.stale_if_error",
            ),
            ("DIRCACHE_BACKEND", Some("backend"), "cache.backend"),
            ("DIRCACHE_REDIS_URL", None, "redis.url"),
            (
                "DIRCACHE_REDIS_PREFIX",
                Some("redis-prefix"),
                "redis.prefix",
            ),
            ("DIRCACHE_L1", Some("l1"), "redis.l1"),
            ("DIRCACHE_AUDIT_LOG", Some("audit-log"), "audit.path"),
            ("DIRCACHE_AUDIT_HITS", Some("audit-hits"), "audit.hits"),
            ("DIRCACHE_LISTEN", Some("listen"), "serve.listen"),
            ("DIRCACHE_ADMIN_TOKEN", None, "serve.admin_token"),
            (
                "DIRCACHE_ADMIN_TOKEN_FILE",
                Some("admin-token-file"),
                "serve.admin_token_file",
            ),
            (
                "DIRCACHE_INSTANCE_ID",
                Some("instance-id"),
                "serve.instance_id",
            ),
        ];
        // A new setting needs no line here; a renamed one fails.
        for name in documented {
            assert!(names.contains(&name), "{name:?} is gone");
        }
        assert_eq!(Setting::Listen.subcommand(), Some("serve"));
        assert_eq!(
            Setting::UpstreamRpm.help(),
            "Requests a minute this instance may send to Genesys; instances sharing one OAuth \
             client share its allowance [default: 300]."
        );
    }

    #[test]
    fn secrets_have_no_flag_and_never_show_in_debug() {
        for secret in [
            Setting::ClientSecret,
            Setting::AdminToken,
            Setting::RedisUrl,
        ] {
            assert_eq!(secret.flag(), None);
        }
        let layer = Layer::of([(Setting::ClientSecret, "s3cr3t"), (Setting::ClientId, "")]);
        assert_eq!(layer.get(Setting::ClientSecret), Some("s3cr3t"));
        assert_eq!(layer.get(Setting::ClientId), None, "blank counts as unset");
        let debug = format!("{layer:?}");
        assert!(
            !debug.contains("s3cr3t") && debug.contains("ClientSecret"),
            "{debug}"
        );
    }
}
