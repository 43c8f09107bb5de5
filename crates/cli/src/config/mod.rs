//! The validated configuration of `dircache`: flags beat the environment, which beats the TOML
//! file, which beats the defaults; every refusal names the setting as the user wrote it.

mod declare;
mod directories;
mod economy;
mod edge;
mod file;
mod secret;
mod setting;

use std::borrow::Cow;
use std::fmt;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

use cache_core::{DirectoryId, Limits, Ttl, TtlMatrix};
use genesys_client::Region;
use secrecy::{ExposeSecret, SecretString};

pub(crate) use directories::Directories;
pub(crate) use economy::EconomySettings;
pub(crate) use edge::{EdgeSettings, TlsFiles};
use file::{FileSecret, Switch};
use secret::{SecretSource, first_secret};
pub(crate) use setting::{FileConfig, Layer, Setting};

/// The default listen address of `dircache serve`.
const DEFAULT_LISTEN: &str = "127.0.0.1:8080";
/// The accepted values of a whole-number setting, the rule a refusal states, the default.
type Bound = (std::ops::RangeInclusive<i64>, &'static str, i64);
/// Page sizes; the default is Genesys' own.
const PAGE_SIZES: Bound = (1..=500, "a page size is 1..=500", 250);
/// Requests a minute; the default is Genesys' allowance per OAuth client.
const RATES: Bound = (1..=100_000, "a request rate is 1..=100000 a minute", 300);
/// The default stale-if-error window.
const DEFAULT_STALE_IF_ERROR: Duration = Duration::from_secs(3600);
/// A week: a longer stale-if-error window is almost certainly a unit mistake.
const MAX_STALE_IF_ERROR: u64 = 7 * 24 * 3600;
/// The largest entry limit accepted: a bound on memory per directory.
const MAX_ENTRY_LIMIT: i64 = 100_000;
/// The Redis key prefix by default.
const DEFAULT_REDIS_PREFIX: &str = "dircache";

/// A setting that cannot work; `setting` is its name as the user wrote it (`DIRCACHE_TTL_DEFAULT`,
/// `--ttl-default`, `ttl.default`), `reason` never holds a secret.
#[derive(Debug)]
pub(crate) struct ConfigError {
    pub(crate) setting: String,
    pub(crate) reason: String,
}

impl ConfigError {
    pub(crate) fn new(setting: impl Into<String>, reason: impl Into<String>) -> Self {
        Self {
            setting: setting.into(),
            reason: reason.into(),
        }
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "invalid configuration: {}: {}",
            self.setting, self.reason
        )
    }
}

/// A value and the name of the setting it came from, for errors found later (when the Genesys
/// client or a backend is built).
#[derive(Clone, Debug)]
pub(crate) struct Named<T> {
    pub(crate) value: T,
    pub(crate) name: Cow<'static, str>,
}

impl<T> Named<T> {
    pub(crate) fn new(value: T, name: impl Into<Cow<'static, str>>) -> Self {
        Self {
            value,
            name: name.into(),
        }
    }

    /// The same name on `f(value)`.
    fn map<U>(self, f: impl FnOnce(T) -> U) -> Named<U> {
        Named::new(f(self.value), self.name)
    }

    /// The refusal of this value, naming the setting it came from.
    pub(crate) fn refuse(&self, reason: impl Into<String>) -> ConfigError {
        ConfigError::new(self.name.clone(), reason)
    }
}

/// Whether the command talks to Genesys, and so needs credentials.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Upstream {
    /// Every command but `demo`.
    Required,
    /// `demo`, which brings its own fake Genesys (so not in a build without it).
    #[cfg(any(feature = "demo", test))]
    NotNeeded,
}

/// Everything the configuration sources said, before any of it is checked.
#[derive(Debug, Default)]
pub(crate) struct Inputs {
    /// From command-line flags.
    pub(crate) flags: Layer,
    /// From environment variables.
    pub(crate) env: Layer,
    /// From the TOML file (empty when there is none).
    pub(crate) file: FileConfig,
}

/// The Genesys client's settings.
#[derive(Debug)]
pub(crate) struct GenesysSettings {
    pub(crate) client_id: Option<Named<String>>,
    pub(crate) client_secret: Option<Named<SecretString>>,
    pub(crate) region: Region,
    pub(crate) api_url: Option<Named<String>>,
    pub(crate) login_url: Option<Named<String>>,
    pub(crate) page_size: Named<u32>,
    /// Requests a minute this instance may send to Genesys: the OAuth client's allowance is
    /// shared by every instance that uses the client, so several instances each take a share.
    pub(crate) requests_per_minute: Named<u32>,
}

/// Where cached directories are kept.
#[derive(Debug)]
pub(crate) enum BackendSettings {
    /// In this process only.
    Memory,
    /// In Redis, shared by every instance.
    Redis {
        /// The URLs given, in order: one names a single server; several name nodes of one
        /// Redis Cluster (the rest of the cluster is discovered from them).
        urls: Named<Vec<SecretString>>,
        /// The prefix of every key and channel.
        prefix: String,
        /// Whether an in-process copy (L1) sits in front of Redis.
        l1: bool,
    },
}

impl BackendSettings {
    /// `memory` or `redis`, as configured and as `/v1/stats` reports it.
    pub(crate) fn name(&self) -> &'static str {
        match self {
            BackendSettings::Memory => "memory",
            BackendSettings::Redis { .. } => "redis",
        }
    }
}

/// The audit log's settings.
#[derive(Debug)]
pub(crate) struct AuditSettings {
    pub(crate) path: Option<Named<PathBuf>>,
    pub(crate) hits: bool,
}

/// One webhook change listener.
#[derive(Debug)]
pub(crate) struct WebhookSettings {
    /// `webhooks[i]`, for errors.
    pub(crate) name: String,
    pub(crate) url: String,
    pub(crate) secret: SecretString,
}

/// The whole, validated configuration.
#[derive(Debug)]
pub(crate) struct Config {
    pub(crate) genesys: GenesysSettings,
    pub(crate) ttl: TtlMatrix,
    pub(crate) limits: Limits,
    pub(crate) stale_if_error: Duration,
    pub(crate) backend: Named<BackendSettings>,
    pub(crate) audit: AuditSettings,
    pub(crate) listen: Named<SocketAddr>,
    pub(crate) admin_token: Option<SecretString>,
    pub(crate) instance_id: String,
    pub(crate) webhooks: Vec<WebhookSettings>,
    /// `[directories.<id>]` and `[cache] undeclared`.
    pub(crate) directories: Directories,
    /// The upstream economy (SPEC §9).
    pub(crate) economy: EconomySettings,
    pub(crate) edge: EdgeSettings,
}

impl Config {
    /// Merges the sources (flags > environment > file > defaults) and checks every value,
    /// section by section in the order of the file (the first refusal is the one reported).
    pub(crate) fn resolve(inputs: &Inputs, upstream: Upstream) -> Result<Config, ConfigError> {
        let pick = Picker { inputs };
        let genesys = resolve_genesys(&pick, upstream)?;
        let mut ttl = resolve_ttl(&pick)?;
        let (limits, stale_if_error) = resolve_cache(&pick)?;
        let file = &inputs.file;
        let cache_limit_set =
            pick.given(Setting::MaxEntries).is_some() || file.cache.max_entries.is_some();
        let undeclared = pick.text(Setting::Undeclared, file.cache.undeclared.as_ref())?;
        let directories = directories::resolve(
            &file.directories,
            &file.ttl.directories,
            undeclared,
            cache_limit_set.then_some(limits),
            &mut ttl,
        )?;
        let backend = resolve_backend(&pick)?;
        let audit = resolve_audit(&pick)?;
        let (listen, admin_token, instance_id) = resolve_serve(&pick)?;
        let webhooks = resolve_webhooks(&inputs.file)?;
        let economy = economy::resolve_economy(&pick)?;
        let edge = edge::resolve_edge(&pick)?;
        Ok(Config {
            genesys,
            ttl,
            limits,
            stale_if_error,
            backend,
            audit,
            listen,
            admin_token,
            instance_id,
            webhooks,
            directories,
            economy,
            edge,
        })
    }
}

/// `[genesys]`: the credentials (required unless the command brings its own fake Genesys),
/// the region or base URLs, and the client's limits.
fn resolve_genesys(pick: &Picker<'_>, upstream: Upstream) -> Result<GenesysSettings, ConfigError> {
    let file = &pick.inputs.file.genesys;
    let client_id = pick.text(Setting::ClientId, file.client_id.as_ref())?;
    let client_secret = pick.secret(
        Setting::ClientSecret,
        Setting::ClientSecretFile,
        file.client_secret.as_ref(),
        file.client_secret_file.as_ref(),
    )?;
    if upstream == Upstream::Required {
        if client_id.is_none() {
            return Err(ConfigError::new(
                Setting::ClientId.env(),
                "is required: the OAuth client id (or genesys.client_id in the config file)",
            ));
        }
        if client_secret.is_none() {
            return Err(ConfigError::new(
                Setting::ClientSecret.env(),
                format!(
                    "is required: the OAuth client secret (or {}, or genesys.client_secret \
                     / genesys.client_secret_file in the config file)",
                    Setting::ClientSecretFile.env()
                ),
            ));
        }
    }
    let region = match pick.text(Setting::Region, file.region.as_ref())? {
        Some(region) => region
            .value
            .parse::<Region>()
            .map_err(|e| region.refuse(reason_of(&e)))?,
        None => Region::default(),
    };
    let api_url = pick.text(Setting::ApiUrl, file.api_url.as_ref())?;
    let login_url = pick.text(Setting::LoginUrl, file.login_url.as_ref())?;
    for url in [&api_url, &login_url].into_iter().flatten() {
        check_http_url(url)?;
    }
    // A u32 each: the ranges are checked first.
    let page_size = pick.bounded_or(Setting::PageSize, file.page_size, PAGE_SIZES)?;
    let page_size = page_size.map(|n| n as u32);
    let rate = pick.bounded_or(Setting::UpstreamRpm, file.requests_per_minute, RATES)?;
    let requests_per_minute = rate.map(|n| n as u32);
    Ok(GenesysSettings {
        client_id,
        client_secret,
        region,
        api_url,
        login_url,
        page_size,
        requests_per_minute,
    })
}

/// `[cache]`: the entry limit and the stale-if-error window.
fn resolve_cache(pick: &Picker<'_>) -> Result<(Limits, Duration), ConfigError> {
    let file = &pick.inputs.file.cache;
    let limits = pick
        .bounded(
            Setting::MaxEntries,
            file.max_entries,
            1..=MAX_ENTRY_LIMIT,
            "an entry limit is 1..=100000",
        )?
        .map_or(Limits::DEFAULT, |n| Limits {
            max_entries: n.value as usize,
        });
    let stale_if_error = pick
        .bounded(
            Setting::StaleIfError,
            file.stale_if_error,
            0..=MAX_STALE_IF_ERROR as i64,
            "the stale-if-error window is 0..=604800 seconds (0 turns it off)",
        )?
        .map_or(DEFAULT_STALE_IF_ERROR, |n| {
            Duration::from_secs(n.value as u64)
        });
    Ok((limits, stale_if_error))
}

/// `[audit]`.
fn resolve_audit(pick: &Picker<'_>) -> Result<AuditSettings, ConfigError> {
    let file = &pick.inputs.file.audit;
    let path = file.path.as_ref().map(|p| p.to_string_lossy().into_owned());
    Ok(AuditSettings {
        path: pick
            .text(Setting::AuditLog, path.as_ref())?
            .map(|path| Named::new(PathBuf::from(path.value), path.name)),
        hits: match pick.given(Setting::AuditHits) {
            Some(given) => parse_bool(
                &given,
                &["true", "on", "yes", "1"],
                &["false", "off", "no", "0"],
            )?,
            None => file.hits.unwrap_or(false),
        },
    })
}

/// `[serve]`: the listen address, the admin token and this instance's name.
fn resolve_serve(
    pick: &Picker<'_>,
) -> Result<(Named<SocketAddr>, Option<SecretString>, String), ConfigError> {
    let file = &pick.inputs.file.serve;
    let listen = pick
        .text(Setting::Listen, file.listen.as_ref())?
        .unwrap_or_else(|| Named::new(DEFAULT_LISTEN.to_owned(), Setting::Listen.env()));
    let listen = Named::new(
        SocketAddr::from_str(listen.value.trim()).map_err(|_| {
            listen.refuse("expected an IP address and a port, such as 127.0.0.1:8080")
        })?,
        listen.name,
    );
    let admin_token = pick.secret(
        Setting::AdminToken,
        Setting::AdminTokenFile,
        file.admin_token.as_ref(),
        file.admin_token_file.as_ref(),
    )?;
    if let Some(token) = &admin_token {
        let usable = token
            .value
            .expose_secret()
            .bytes()
            .all(|b| b.is_ascii_graphic());
        if !usable {
            return Err(token.refuse(
                "a bearer token is printable ASCII without spaces (it is sent in a header)",
            ));
        }
    }
    let instance_id = match pick.text(Setting::InstanceId, file.instance_id.as_ref())? {
        Some(id) if id.value.len() > 128 || id.value.chars().any(char::is_control) => {
            return Err(id.refuse("an instance id is 1..=128 characters, none a control"));
        }
        Some(id) => id.value,
        None => default_instance_id(),
    };
    Ok((listen, admin_token.map(|token| token.value), instance_id))
}

/// Looks settings up in the sources, strongest first.
struct Picker<'a> {
    inputs: &'a Inputs,
}

impl Picker<'_> {
    /// The value given on the command line or in the environment, named as it was given.
    fn given(&self, setting: Setting) -> Option<Named<&str>> {
        if let (Some(value), Some(flag)) = (self.inputs.flags.get(setting), setting.flag()) {
            return Some(Named::new(value, format!("--{flag}")));
        }
        self.inputs
            .env
            .get(setting)
            .map(|value| Named::new(value, setting.env()))
    }

    /// A text setting.
    fn text(
        &self,
        setting: Setting,
        file: Option<&String>,
    ) -> Result<Option<Named<String>>, ConfigError> {
        let found = match self.given(setting) {
            Some(given) => Some(Named::new(given.value.trim().to_owned(), given.name)),
            None => file.map(|value| Named::new(value.trim().to_owned(), setting.toml_key())),
        };
        match found {
            Some(value) if value.value.is_empty() => Err(value.refuse("is empty")),
            found => Ok(found),
        }
    }

    /// A whole-number setting.
    fn number(
        &self,
        setting: Setting,
        file: Option<i64>,
    ) -> Result<Option<Named<i64>>, ConfigError> {
        match self.given(setting) {
            Some(given) => given
                .value
                .trim()
                .parse::<i64>()
                .map(|n| Some(Named::new(n, given.name.clone())))
                .map_err(|_| given.refuse(format!("{:?} is not a whole number", given.value))),
            None => Ok(file.map(|n| Named::new(n, setting.toml_key()))),
        }
    }

    /// A whole-number setting within `range`; `rule` says the range in a refusal.
    fn bounded(
        &self,
        setting: Setting,
        file: Option<i64>,
        range: std::ops::RangeInclusive<i64>,
        rule: &str,
    ) -> Result<Option<Named<i64>>, ConfigError> {
        match self.number(setting, file)? {
            Some(n) if range.contains(&n.value) => Ok(Some(n)),
            Some(n) => Err(n.refuse(format!("{} is out of range: {rule}", n.value))),
            None => Ok(None),
        }
    }

    /// A whole-number setting within `bound`, or the bound's default (named after the
    /// environment variable, as every default is).
    fn bounded_or(
        &self,
        setting: Setting,
        file: Option<i64>,
        bound: Bound,
    ) -> Result<Named<i64>, ConfigError> {
        let (range, rule, default) = bound;
        Ok(self
            .bounded(setting, file, range, rule)?
            .unwrap_or_else(|| Named::new(default, setting.env())))
    }

    /// A secret given inline (environment or file) or as a path to read (flag, environment or
    /// file).
    fn secret(
        &self,
        inline: Setting,
        path: Setting,
        file_inline: Option<&FileSecret>,
        file_path: Option<&PathBuf>,
    ) -> Result<Option<Named<SecretString>>, ConfigError> {
        let flag_path = self.inputs.flags.get(path).map(std::path::Path::new);
        let env_path = self.inputs.env.get(path).map(std::path::Path::new);
        let flag_name = format!("--{}", path.flag().unwrap_or_default());
        first_secret([
            SecretSource {
                inline: None,
                file: flag_path.map(|p| (p, flag_name.into())),
            },
            SecretSource {
                inline: self
                    .inputs
                    .env
                    .get(inline)
                    .map(|s| (SecretString::from(s.to_owned()), inline.env().into())),
                file: env_path.map(|p| (p, path.env().into())),
            },
            SecretSource {
                inline: file_inline.map(|s| (s.0.clone(), inline.toml_key().into())),
                file: file_path.map(|p| (p.as_path(), path.toml_key().into())),
            },
        ])
    }
}

/// `[ttl] default` and `[ttl.directories]`.
fn resolve_ttl(pick: &Picker<'_>) -> Result<TtlMatrix, ConfigError> {
    let ttl_of = |n: Named<i64>| {
        u64::try_from(n.value)
            .ok()
            .and_then(|seconds| Ttl::from_secs(seconds).ok())
            .ok_or_else(|| {
                n.refuse(format!(
                    "{} is outside 30..=3600 seconds (a TTL is 30 s to 1 h)",
                    n.value
                ))
            })
    };
    let default = match pick.number(Setting::TtlDefault, pick.inputs.file.ttl.default)? {
        Some(n) => ttl_of(n)?,
        None => Ttl::DEFAULT,
    };
    let mut matrix = TtlMatrix::new(default);
    for (id, seconds) in &pick.inputs.file.ttl.directories {
        let name = format!("ttl.directories.{id}");
        let directory = DirectoryId::new(id)
            .map_err(|e| ConfigError::new(format!("ttl.directories.{id:?}"), reason_of(&e)))?;
        matrix = matrix.with(directory, ttl_of(Named::new(*seconds, name))?);
    }
    Ok(matrix)
}

/// `cache.backend` and the `[redis]` settings.
fn resolve_backend(pick: &Picker<'_>) -> Result<Named<BackendSettings>, ConfigError> {
    let file = &pick.inputs.file;
    let kind = pick
        .text(Setting::Backend, file.cache.backend.as_ref())?
        .unwrap_or_else(|| Named::new("memory".to_owned(), Setting::Backend.env()));
    let prefix = pick
        .text(Setting::RedisPrefix, file.redis.prefix.as_ref())?
        .map(|prefix| {
            // Braces would change the Redis Cluster hash tag that keeps a directory's keys in
            // one slot.
            if prefix
                .value
                .chars()
                .any(|c| c.is_whitespace() || c.is_control() || c == '{' || c == '}')
            {
                Err(prefix.refuse("a key prefix has no spaces, braces or control characters"))
            } else {
                Ok(prefix.value)
            }
        })
        .transpose()?
        .unwrap_or_else(|| DEFAULT_REDIS_PREFIX.to_owned());
    let on = ["on", "true", "yes", "1"];
    let off = ["off", "false", "no", "0"];
    let l1 = match (pick.given(Setting::L1), &file.redis.l1) {
        (Some(given), _) => parse_bool(&given, &on, &off)?,
        (None, Some(Switch::Bool(l1))) => *l1,
        (None, Some(Switch::Text(text))) => parse_bool(
            &Named::new(text.as_str(), Setting::L1.toml_key()),
            &on,
            &off,
        )?,
        (None, None) => true,
    };
    let url = match pick.given(Setting::RedisUrl) {
        Some(given) => Some(Named::new(
            SecretString::from(given.value.trim().to_owned()),
            given.name,
        )),
        None => file
            .redis
            .url
            .as_ref()
            .map(|url| Named::new(url.0.clone(), Setting::RedisUrl.toml_key())),
    };
    let urls = url.as_ref().map(redis_urls).transpose()?;
    let settings = match kind.value.to_ascii_lowercase().as_str() {
        "memory" => BackendSettings::Memory,
        "redis" => BackendSettings::Redis {
            urls: urls.ok_or_else(|| {
                ConfigError::new(
                    Setting::RedisUrl.env(),
                    format!(
                        "is required when {} is redis (or redis.url in the config file)",
                        kind.name
                    ),
                )
            })?,
            prefix,
            l1,
        },
        other => {
            return Err(kind.refuse(format!(
                "unknown backend {other:?}; expected memory or redis"
            )));
        }
    };
    Ok(Named::new(settings, kind.name))
}

/// `[[webhooks]]`.
fn resolve_webhooks(file: &FileConfig) -> Result<Vec<WebhookSettings>, ConfigError> {
    let mut webhooks = Vec::with_capacity(file.webhooks.len());
    for (index, hook) in file.webhooks.iter().enumerate() {
        let name = format!("webhooks[{index}]");
        let url = hook
            .url
            .as_ref()
            .map(|url| url.trim().to_owned())
            .filter(|url| !url.is_empty())
            .ok_or_else(|| ConfigError::new(format!("{name}.url"), "is required"))?;
        let secret_file_name = format!("{name}.secret_file");
        let secret = SecretSource {
            inline: hook
                .secret
                .as_ref()
                .map(|s| (s.0.clone(), format!("{name}.secret").into())),
            file: hook
                .secret_file
                .as_ref()
                .map(|p| (p.as_path(), secret_file_name.clone().into())),
        }
        .resolve()?
        .ok_or_else(|| {
            ConfigError::new(
                format!("{name}.secret"),
                format!("is required (or {secret_file_name}): every POST is signed with it"),
            )
        })?;
        webhooks.push(WebhookSettings {
            name,
            url,
            secret: secret.value,
        });
    }
    Ok(webhooks)
}

/// A boolean given as text.
fn parse_bool(given: &Named<&str>, yes: &[&str], no: &[&str]) -> Result<bool, ConfigError> {
    let value = given.value.trim().to_ascii_lowercase();
    if yes.contains(&value.as_str()) {
        Ok(true)
    } else if no.contains(&value.as_str()) {
        Ok(false)
    } else {
        Err(given.refuse(format!(
            "{:?} is neither {} nor {}",
            given.value, yes[0], no[0]
        )))
    }
}

/// An http(s) URL. The Genesys client checks the rest (loopback-only `http://`, no
/// credentials) when it is built, and its refusal is reported under this setting's name.
fn check_http_url(url: &Named<String>) -> Result<(), ConfigError> {
    // The URL itself is not quoted: it could carry credentials.
    match url::Url::parse(&url.value) {
        Ok(parsed) if matches!(parsed.scheme(), "http" | "https") && parsed.has_host() => Ok(()),
        Ok(_) => Err(url.refuse("expected an http:// or https:// URL with a host")),
        Err(e) => Err(url.refuse(format!("not a URL ({e})"))),
    }
}

/// The comma-separated `redis://` or `rediss://` URLs of `url`, each checked (and never
/// quoted: they may hold a password). A comma inside a password is written `%2C`.
fn redis_urls(url: &Named<SecretString>) -> Result<Named<Vec<SecretString>>, ConfigError> {
    let mut urls = Vec::new();
    for (index, part) in url.value.expose_secret().split(',').enumerate() {
        let part = part.trim();
        let which = if index == 0 && !url.value.expose_secret().contains(',') {
            String::new()
        } else {
            format!("URL {} of the list: ", index + 1)
        };
        match url::Url::parse(part) {
            Ok(parsed) if matches!(parsed.scheme(), "redis" | "rediss") && parsed.has_host() => {
                urls.push(SecretString::from(part.to_owned()));
            }
            Ok(_) => {
                return Err(url.refuse(format!(
                    "{which}expected a redis:// or rediss:// URL with a host"
                )));
            }
            Err(e) => return Err(url.refuse(format!("{which}not a URL ({e})"))),
        }
    }
    Ok(Named::new(urls, url.name.clone()))
}

/// The reason part of an error from one of our libraries, without the setting name they put
/// in front (ours is more precise).
fn reason_of(error: &(dyn std::error::Error + 'static)) -> String {
    match error.downcast_ref::<genesys_client::Error>() {
        Some(genesys_client::Error::Config { reason, .. }) => reason.clone(),
        _ => match error.downcast_ref::<cache_core::Error>() {
            Some(cache_core::Error::InvalidDirectoryId { reason, .. }) => {
                format!("not a directory id: {reason}")
            }
            _ => error.to_string(),
        },
    }
}

/// `<hostname>-<pid>`: unique per process, and says where a line of the audit log came from.
fn default_instance_id() -> String {
    let host = gethostname::gethostname();
    let host = host.to_string_lossy();
    let host = if host.trim().is_empty() {
        "dircache"
    } else {
        host.trim()
    };
    format!("{host}-{}", std::process::id())
}

#[cfg(test)]
mod tests;
