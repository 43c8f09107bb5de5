//! Building a client: the builder, its validation, and `from_env`.

use crate::body_limit::BodyLimits;
use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};
use url::Url;

use crate::auth::TokenSource;
use crate::budget::{LocalBudget, UpstreamBudget, default_burst};
use crate::client::{GenesysClient, Inner};
use crate::{ConfigField, Error, Region, RetryPolicy, metrics};

/// Largest page size the directory API accepts.
pub(crate) const MAX_PAGE_SIZE: u32 = 500;
/// Genesys' documented default page size.
const DEFAULT_PAGE_SIZE: u32 = 250;
/// Genesys' default per-client allowance.
const DEFAULT_REQUESTS_PER_MINUTE: u32 = 300;

/// Builds a [`GenesysClient`]; see [`GenesysClient::builder`].
///
/// `Debug` shows the settings but never the client secret.
#[must_use]
#[derive(Debug, Clone)]
pub struct GenesysClientBuilder {
    region: Region,
    api_url: Option<String>,
    login_url: Option<String>,
    client_id: Option<String>,
    client_secret: Option<SecretString>,
    page_size: u32,
    retry_policy: RetryPolicy,
    requests_per_minute: u32,
    rate_limit_burst: Option<u32>,
    unknown_share: f64,
    budget: Option<Arc<dyn UpstreamBudget>>,
    request_timeout: Duration,
    max_pages: u32,
    snapshot_attempts: u32,
    body_limits: BodyLimits,
}

impl Default for GenesysClientBuilder {
    fn default() -> Self {
        Self {
            region: Region::default(),
            api_url: None,
            login_url: None,
            client_id: None,
            client_secret: None,
            page_size: DEFAULT_PAGE_SIZE,
            retry_policy: RetryPolicy::default(),
            requests_per_minute: DEFAULT_REQUESTS_PER_MINUTE,
            rate_limit_burst: None,
            unknown_share: 0.2,
            budget: None,
            request_timeout: Duration::from_secs(10),
            max_pages: 1000,
            snapshot_attempts: 3,
            body_limits: BodyLimits::default(),
        }
    }
}

impl GenesysClientBuilder {
    /// The region whose API and login bases are used (default `us-east-1`).
    pub fn region(mut self, region: Region) -> Self {
        self.region = region;
        self
    }

    /// Overrides the API base, e.g. a proxy or a local fake (`GENESYS_API_URL`).
    pub fn api_url(mut self, url: &str) -> Self {
        self.api_url = Some(url.to_owned());
        self
    }

    /// Overrides the login base (`GENESYS_LOGIN_URL`).
    pub fn login_url(mut self, url: &str) -> Self {
        self.login_url = Some(url.to_owned());
        self
    }

    /// The OAuth client id (client-credentials grant).
    pub fn client_id(mut self, client_id: impl Into<String>) -> Self {
        self.client_id = Some(client_id.into());
        self
    }

    /// The OAuth client secret.
    pub fn client_secret(mut self, client_secret: SecretString) -> Self {
        self.client_secret = Some(client_secret);
        self
    }

    /// Entries per page, 1..=500 (default 250).
    pub fn page_size(mut self, page_size: u32) -> Self {
        self.page_size = page_size;
        self
    }

    /// How failed requests are retried (default: 30 s budget, 250 ms to 8 s backoff).
    pub fn retry_policy(mut self, policy: RetryPolicy) -> Self {
        self.retry_policy = policy;
        self
    }

    /// The client-side request rate (default 300 a minute, Genesys' default allowance).
    pub fn requests_per_minute(mut self, requests_per_minute: u32) -> Self {
        self.requests_per_minute = requests_per_minute;
        self
    }

    /// How many requests may go at once before the rate applies (default: a tenth of the
    /// per-minute rate, at least 1; 30 for the default 300, enough for a 7,500-entry paged fetch).
    pub fn rate_limit_burst(mut self, burst: u32) -> Self {
        self.rate_limit_burst = Some(burst);
        self
    }

    /// The fraction (0..=1) of the request rate that fetches of unknown directories
    /// ([`RequestClass::Unknown`](crate::RequestClass::Unknown)) may use (default 0.2).
    pub fn unknown_share(mut self, share: f64) -> Self {
        self.unknown_share = share;
        self
    }

    /// Where requests take their tokens, instead of this process's own [`LocalBudget`] at
    /// [`requests_per_minute`](Self::requests_per_minute): e.g. a budget shared by every
    /// instance of one OAuth client (cache-redis' `RedisBudget`).
    pub fn budget(mut self, budget: Arc<dyn UpstreamBudget>) -> Self {
        self.budget = Some(budget);
        self
    }

    /// Time limit for one HTTP request, body included (default 10 s); a timeout is retried.
    pub fn request_timeout(mut self, timeout: Duration) -> Self {
        self.request_timeout = timeout;
        self
    }

    /// Most bytes of one page's body (default 32 MiB); a larger page is refused while it
    /// streams in, with [`Error::TooLarge`].
    pub fn max_page_bytes(mut self, bytes: u64) -> Self {
        self.body_limits.page = bytes;
        self
    }

    /// Most bytes of one directory's pages together (default 512 MiB); beyond it,
    /// [`Error::TooLarge`].
    pub fn max_directory_bytes(mut self, bytes: u64) -> Self {
        self.body_limits.directory = bytes;
        self
    }

    /// Most pages one listing may have (default 1000); beyond it, [`Error::TooManyPages`].
    pub fn max_pages(mut self, max_pages: u32) -> Self {
        self.max_pages = max_pages;
        self
    }

    /// Complete reads tried when a directory changes while being read (default 3); beyond it,
    /// [`Error::TornSnapshot`].
    pub fn snapshot_attempts(mut self, attempts: u32) -> Self {
        self.snapshot_attempts = attempts;
        self
    }

    /// Validates the settings and builds the client.
    ///
    /// Refused: missing or empty credentials, a page size outside 1..=500, zero rates, bounds or
    /// timeouts, URLs that do not parse, carry credentials, a query or a fragment, and plain
    /// `http://` to anything but a loopback host.
    pub fn build(self) -> Result<GenesysClient, Error> {
        let client_id = self
            .client_id
            .filter(|id| !id.trim().is_empty())
            .ok_or_else(|| config(ConfigField::ClientId, "the OAuth client id is required"))?;
        let client_secret = self
            .client_secret
            .filter(|secret| !secret.expose_secret().is_empty())
            .ok_or_else(|| {
                config(
                    ConfigField::ClientSecret,
                    "the OAuth client secret is required",
                )
            })?;
        validate_page_size(self.page_size, (1, MAX_PAGE_SIZE))?;
        let per_minute = NonZeroU32::new(self.requests_per_minute)
            .ok_or_else(|| config(ConfigField::RequestsPerMinute, "must be at least 1"))?;
        let burst = match self.rate_limit_burst {
            Some(burst) => NonZeroU32::new(burst)
                .ok_or_else(|| config(ConfigField::RateLimitBurst, "must be at least 1"))?,
            None => default_burst(per_minute),
        };
        if !(0.0..=1.0).contains(&self.unknown_share) {
            return Err(config(
                ConfigField::UnknownShare,
                format!("{} is not a fraction in 0..=1", self.unknown_share),
            ));
        }
        if self.max_pages == 0 {
            return Err(config(ConfigField::MaxPages, "must be at least 1"));
        }
        if self.snapshot_attempts == 0 {
            return Err(config(ConfigField::SnapshotAttempts, "must be at least 1"));
        }
        if self.request_timeout.is_zero() {
            return Err(config(
                ConfigField::RequestTimeout,
                "must be longer than zero",
            ));
        }
        let api_base = match &self.api_url {
            Some(url) => parse_base(url, ConfigField::ApiUrl)?,
            None => self.region.api_base(),
        };
        let login_base = match &self.login_url {
            Some(url) => parse_base(url, ConfigField::LoginUrl)?,
            None => self.region.login_base(),
        };

        let http = reqwest::Client::builder()
            .timeout(self.request_timeout)
            .connect_timeout(self.request_timeout)
            // Genesys does not redirect these calls; following one could carry the bearer token
            // somewhere unexpected.
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!(
                "dircache-genesys-client/",
                env!("CARGO_PKG_VERSION")
            ))
            .build()
            .map_err(|err| Error::Transport {
                reason: "cannot build the HTTP client".to_owned(),
                source: err,
            })?;
        let token_url = join_path(&login_base, "/oauth/token");
        metrics::describe();
        Ok(GenesysClient {
            inner: Arc::new(Inner {
                tokens: TokenSource::new(http.clone(), token_url, client_id, client_secret),
                http,
                api_base,
                login_base,
                region: self.region,
                page_size: self.page_size,
                retry: self.retry_policy,
                budget: self.budget.unwrap_or_else(|| {
                    Arc::new(LocalBudget::new(per_minute, burst, self.unknown_share))
                }),
                max_pages: self.max_pages,
                snapshot_attempts: self.snapshot_attempts,
                body_limits: self.body_limits,
            }),
        })
    }

    /// A builder from the environment, as [`GenesysClient::from_env`] reads it; `lookup` gives
    /// a variable's value (`Ok(None)` when unset).
    pub(crate) fn from_lookup(
        lookup: impl Fn(ConfigField) -> Result<Option<String>, Error>,
    ) -> Result<Self, Error> {
        let mut builder = Self::default();
        let client_id = lookup(ConfigField::ClientId)?
            .ok_or_else(|| config(ConfigField::ClientId, "is not set (the OAuth client id)"))?;
        let client_secret = lookup(ConfigField::ClientSecret)?.ok_or_else(|| {
            config(
                ConfigField::ClientSecret,
                "is not set (the OAuth client secret)",
            )
        })?;
        builder = builder
            .client_id(client_id)
            .client_secret(SecretString::from(client_secret));
        if let Some(region) = lookup(ConfigField::Region)? {
            builder = builder.region(region.parse::<Region>()?);
        }
        if let Some(url) = lookup(ConfigField::ApiUrl)? {
            builder = builder.api_url(&url);
        }
        if let Some(url) = lookup(ConfigField::LoginUrl)? {
            builder = builder.login_url(&url);
        }
        Ok(builder)
    }
}

/// Reads the environment variable of `setting` (none for a setting `from_env` does not read);
/// empty counts as unset, non-UTF-8 is an error naming it.
pub(crate) fn env_lookup(setting: ConfigField) -> Result<Option<String>, Error> {
    let Some(name) = setting.env_var() else {
        return Ok(None);
    };
    match std::env::var(name) {
        Ok(value) if value.trim().is_empty() => Ok(None),
        Ok(value) => Ok(Some(value)),
        Err(std::env::VarError::NotPresent) => Ok(None),
        Err(std::env::VarError::NotUnicode(_)) => Err(config(setting, "is not valid UTF-8")),
    }
}

/// Marks a configuration error as about a value read from the environment, so `from_env`
/// errors name the variable the user can fix.
pub(crate) fn env_setting(err: Error) -> Error {
    match err {
        Error::Config {
            setting, reason, ..
        } => Error::Config {
            setting,
            from_env: true,
            reason,
        },
        other => other,
    }
}

/// Refuses a page size outside `low..=high` (1..=500 for the builder's), the builder's or a
/// fetch's own.
pub(crate) fn validate_page_size(page_size: u32, (low, high): (u32, u32)) -> Result<(), Error> {
    if (low..=high).contains(&page_size) {
        Ok(())
    } else {
        Err(config(
            ConfigField::PageSize,
            format!("page size must be {low}..={high}, got {page_size}"),
        ))
    }
}

/// A refusal of `setting`, as given to the builder.
pub(crate) fn config(setting: ConfigField, reason: impl Into<String>) -> Error {
    Error::Config {
        setting,
        from_env: false,
        reason: reason.into(),
    }
}

fn parse_base(text: &str, setting: ConfigField) -> Result<Url, Error> {
    let url =
        Url::parse(text.trim()).map_err(|err| config(setting, format!("not a URL: {err}")))?;
    // The URL is not echoed back: it may be the place a user pasted credentials into.
    if !url.username().is_empty() || url.password().is_some() {
        return Err(config(setting, "URLs must not carry credentials"));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(config(setting, "a base URL takes no query or fragment"));
    }
    match url.scheme() {
        "https" => {}
        "http" if crate::is_loopback(&url) => {}
        "http" => {
            return Err(config(
                setting,
                "plain http:// is only allowed to a loopback host; use https://",
            ));
        }
        other => return Err(config(setting, format!("unsupported scheme {other:?}"))),
    }
    if url.host().is_none() {
        return Err(config(setting, "the URL has no host"));
    }
    Ok(url)
}

/// `base` with `path` appended to its own path, so a base behind a path prefix keeps it.
pub(crate) fn join_path(base: &Url, path: &str) -> Url {
    let mut url = base.clone();
    let joined = format!("{}{}", base.path().trim_end_matches('/'), path);
    url.set_path(&joined);
    url
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn creds() -> GenesysClientBuilder {
        GenesysClientBuilder::default()
            .client_id("id")
            .client_secret(SecretString::from("s3cr3t-value"))
    }

    /// The name the refusal gives its setting.
    fn setting(result: Result<GenesysClient, Error>) -> &'static str {
        match result {
            Err(Error::Config {
                setting, from_env, ..
            }) => setting.name(from_env),
            other => panic!("expected a config error, got {other:?}"),
        }
    }

    #[test]
    fn region_sets_both_bases_and_overrides_win() {
        let client = creds().region(Region::EuWest1).build().unwrap();
        assert_eq!(client.api_base().as_str(), "https://api.mypurecloud.ie/");
        assert_eq!(
            client.login_base().as_str(),
            "https://login.mypurecloud.ie/"
        );
        assert_eq!(client.page_size(), 250);

        let client = creds()
            .region(Region::EuWest1)
            .api_url("https://proxy.example.com/genesys")
            .build()
            .unwrap();
        assert_eq!(
            client.api_base().as_str(),
            "https://proxy.example.com/genesys"
        );
        assert_eq!(
            client.login_base().as_str(),
            "https://login.mypurecloud.ie/"
        );
    }

    #[test]
    fn plain_http_only_to_loopback() {
        for ok in [
            "http://127.0.0.1:8080",
            "http://localhost:1",
            "http://[::1]:9",
            "http://127.8.0.1",
        ] {
            creds()
                .api_url(ok)
                .login_url(ok)
                .build()
                .unwrap_or_else(|e| panic!("{ok}: {e}"));
        }
        for bad in [
            "http://example.com",
            "http://10.0.0.1",
            "http://api.mypurecloud.com",
        ] {
            assert_eq!(setting(creds().api_url(bad).build()), "api_url", "{bad}");
            assert_eq!(
                setting(creds().login_url(bad).build()),
                "login_url",
                "{bad}"
            );
        }
        assert_eq!(
            setting(creds().api_url("ftp://127.0.0.1").build()),
            "api_url"
        );
        assert_eq!(setting(creds().api_url("not a url").build()), "api_url");
        let err = creds()
            .api_url("https://user:hunter2@example.com")
            .build()
            .unwrap_err();
        assert!(!format!("{err:?}{err}").contains("hunter2"));
    }

    #[test]
    fn page_size_is_one_to_five_hundred() {
        assert_eq!(setting(creds().page_size(0).build()), "page_size");
        assert_eq!(setting(creds().page_size(501).build()), "page_size");
        assert_eq!(creds().page_size(1).build().unwrap().page_size(), 1);
        assert_eq!(creds().page_size(500).build().unwrap().page_size(), 500);
    }

    #[test]
    fn credentials_and_bounds_are_required() {
        let no_secret = GenesysClientBuilder::default().client_id("id");
        assert_eq!(setting(no_secret.build()), "client_secret");
        let no_id = GenesysClientBuilder::default().client_secret(SecretString::from("x"));
        assert_eq!(setting(no_id.build()), "client_id");
        let empty_secret = creds().client_secret(SecretString::from(""));
        assert_eq!(setting(empty_secret.build()), "client_secret");
        assert_eq!(
            setting(creds().requests_per_minute(0).build()),
            "requests_per_minute"
        );
        assert_eq!(
            setting(creds().rate_limit_burst(0).build()),
            "rate_limit_burst"
        );
        assert_eq!(setting(creds().max_pages(0).build()), "max_pages");
        assert_eq!(
            setting(creds().snapshot_attempts(0).build()),
            "snapshot_attempts"
        );
        assert_eq!(
            setting(creds().request_timeout(Duration::ZERO).build()),
            "request_timeout"
        );
    }

    fn from_vars(vars: &[(&'static str, &str)]) -> Result<GenesysClient, Error> {
        let vars: HashMap<&str, String> = vars.iter().map(|(k, v)| (*k, v.to_string())).collect();
        GenesysClientBuilder::from_lookup(|setting| {
            Ok(setting.env_var().and_then(|name| vars.get(name).cloned()))
        })
        .and_then(GenesysClientBuilder::build)
        .map_err(env_setting)
    }

    #[test]
    fn from_env_reads_region_domain_and_overrides_and_names_the_variable() {
        let client = from_vars(&[
            ("GENESYS_CLIENT_ID", "id"),
            ("GENESYS_CLIENT_SECRET", "secret"),
            ("GENESYS_REGION", "mypurecloud.de"),
        ])
        .unwrap();
        assert_eq!(client.api_base().as_str(), "https://api.mypurecloud.de/");

        let client = from_vars(&[
            ("GENESYS_CLIENT_ID", "id"),
            ("GENESYS_CLIENT_SECRET", "secret"),
            ("GENESYS_API_URL", "http://127.0.0.1:4000"),
            ("GENESYS_LOGIN_URL", "http://127.0.0.1:4001"),
        ])
        .unwrap();
        assert_eq!(client.api_base().port(), Some(4000));
        assert_eq!(client.login_base().port(), Some(4001));

        assert_eq!(
            setting(from_vars(&[("GENESYS_CLIENT_SECRET", "s")])),
            "GENESYS_CLIENT_ID"
        );
        assert_eq!(
            setting(from_vars(&[("GENESYS_CLIENT_ID", "i")])),
            "GENESYS_CLIENT_SECRET"
        );
        let base = [("GENESYS_CLIENT_ID", "i"), ("GENESYS_CLIENT_SECRET", "s")];
        assert_eq!(
            setting(from_vars(&[
                base[0],
                base[1],
                ("GENESYS_REGION", "atlantis")
            ])),
            "GENESYS_REGION"
        );
        assert_eq!(
            setting(from_vars(&[
                base[0],
                base[1],
                ("GENESYS_API_URL", "http://example.com")
            ])),
            "GENESYS_API_URL"
        );
    }

    #[test]
    fn join_path_keeps_a_base_prefix() {
        let base = Url::parse("https://proxy.example.com/genesys/").unwrap();
        assert_eq!(
            join_path(&base, "/oauth/token").as_str(),
            "https://proxy.example.com/genesys/oauth/token"
        );
        let base = Url::parse("http://127.0.0.1:9").unwrap();
        assert_eq!(
            join_path(&base, "/oauth/token").as_str(),
            "http://127.0.0.1:9/oauth/token"
        );
    }
}
