//! The settings of `dircache`, each with its environment variable, flag and TOML key, and the
//! values one source (the command line or the environment) gave for them.

use std::collections::BTreeMap;

/// One configurable setting, named the three ways a user can give it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) enum Setting {
    ClientId,
    ClientSecret,
    ClientSecretFile,
    Region,
    ApiUrl,
    LoginUrl,
    PageSize,
    UpstreamRpm,
    TtlDefault,
    MaxEntries,
    StaleIfError,
    Backend,
    RedisUrl,
    RedisPrefix,
    L1,
    AuditLog,
    AuditHits,
    Listen,
    AdminToken,
    AdminTokenFile,
    InstanceId,
}

impl Setting {
    /// Every setting.
    #[cfg(test)]
    pub(crate) const ALL: [Setting; 21] = [
        Setting::ClientId,
        Setting::ClientSecret,
        Setting::ClientSecretFile,
        Setting::Region,
        Setting::ApiUrl,
        Setting::LoginUrl,
        Setting::PageSize,
        Setting::UpstreamRpm,
        Setting::TtlDefault,
        Setting::MaxEntries,
        Setting::StaleIfError,
        Setting::Backend,
        Setting::RedisUrl,
        Setting::RedisPrefix,
        Setting::L1,
        Setting::AuditLog,
        Setting::AuditHits,
        Setting::Listen,
        Setting::AdminToken,
        Setting::AdminTokenFile,
        Setting::InstanceId,
    ];

    /// The environment variable.
    pub(crate) fn env(self) -> &'static str {
        match self {
            Setting::ClientId => "GENESYS_CLIENT_ID",
            Setting::ClientSecret => "GENESYS_CLIENT_SECRET",
            Setting::ClientSecretFile => "GENESYS_CLIENT_SECRET_FILE",
            Setting::Region => "GENESYS_REGION",
            Setting::ApiUrl => "GENESYS_API_URL",
            Setting::LoginUrl => "GENESYS_LOGIN_URL",
            Setting::PageSize => "DIRCACHE_PAGE_SIZE",
            Setting::UpstreamRpm => "DIRCACHE_UPSTREAM_RPM",
            Setting::TtlDefault => "DIRCACHE_TTL_DEFAULT",
            Setting::MaxEntries => "DIRCACHE_MAX_ENTRIES",
            Setting::StaleIfError => "DIRCACHE_STALE_IF_ERROR",
            Setting::Backend => "DIRCACHE_BACKEND",
            Setting::RedisUrl => "DIRCACHE_REDIS_URL",
            Setting::RedisPrefix => "DIRCACHE_REDIS_PREFIX",
            Setting::L1 => "DIRCACHE_L1",
            Setting::AuditLog => "DIRCACHE_AUDIT_LOG",
            Setting::AuditHits => "DIRCACHE_AUDIT_HITS",
            Setting::Listen => "DIRCACHE_LISTEN",
            Setting::AdminToken => "DIRCACHE_ADMIN_TOKEN",
            Setting::AdminTokenFile => "DIRCACHE_ADMIN_TOKEN_FILE",
            Setting::InstanceId => "DIRCACHE_INSTANCE_ID",
        }
    }

    /// The command-line flag, without its `--`. Secrets have none (a flag's value shows in
    /// `ps`), and neither has the Redis URL, which may carry a password.
    pub(crate) fn flag(self) -> Option<&'static str> {
        Some(match self {
            Setting::ClientSecret | Setting::AdminToken | Setting::RedisUrl => return None,
            Setting::ClientId => "client-id",
            Setting::ClientSecretFile => "client-secret-file",
            Setting::Region => "region",
            Setting::ApiUrl => "api-url",
            Setting::LoginUrl => "login-url",
            Setting::PageSize => "page-size",
            Setting::UpstreamRpm => "upstream-rpm",
            Setting::TtlDefault => "ttl-default",
            Setting::MaxEntries => "max-entries",
            Setting::StaleIfError => "stale-if-error",
            Setting::Backend => "backend",
            Setting::RedisPrefix => "redis-prefix",
            Setting::L1 => "l1",
            Setting::AuditLog => "audit-log",
            Setting::AuditHits => "audit-hits",
            Setting::Listen => "listen",
            Setting::AdminTokenFile => "admin-token-file",
            Setting::InstanceId => "instance-id",
        })
    }

    /// The key in the TOML file, as `table.key`.
    pub(crate) fn toml_key(self) -> &'static str {
        match self {
            Setting::ClientId => "genesys.client_id",
            Setting::ClientSecret => "genesys.client_secret",
            Setting::ClientSecretFile => "genesys.client_secret_file",
            Setting::Region => "genesys.region",
            Setting::ApiUrl => "genesys.api_url",
            Setting::LoginUrl => "genesys.login_url",
            Setting::PageSize => "genesys.page_size",
            Setting::UpstreamRpm => "genesys.requests_per_minute",
            Setting::TtlDefault => "ttl.default",
            Setting::MaxEntries => "cache.max_entries",
            Setting::StaleIfError => "cache.stale_if_error",
            Setting::Backend => "cache.backend",
            Setting::RedisUrl => "redis.url",
            Setting::RedisPrefix => "redis.prefix",
            Setting::L1 => "redis.l1",
            Setting::AuditLog => "audit.path",
            Setting::AuditHits => "audit.hits",
            Setting::Listen => "serve.listen",
            Setting::AdminToken => "serve.admin_token",
            Setting::AdminTokenFile => "serve.admin_token_file",
            Setting::InstanceId => "serve.instance_id",
        }
    }

    /// The clap argument id of the flag (the field name in the argument structs).
    pub(crate) fn arg_id(self) -> Option<String> {
        self.flag().map(|flag| flag.replace('-', "_"))
    }
}

/// The values one source gave, by setting. An empty value counts as not given, as it does for
/// the Genesys client's own environment variables.
#[derive(Clone, Default)]
pub(crate) struct Layer {
    values: BTreeMap<Setting, String>,
}

impl Layer {
    /// A layer with these values (empty ones left out).
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
