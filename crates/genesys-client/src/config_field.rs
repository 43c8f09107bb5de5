//! Which setting of the client a configuration error is about, as a value callers can match.

use std::fmt;

/// A setting of [`GenesysClientBuilder`](crate::GenesysClientBuilder), as named by
/// [`Error::Config`](crate::Error::Config).
///
/// Not `#[non_exhaustive]`, on purpose: a caller that reports these under its own names (a
/// flag, a key of its configuration file) matches every variant, so a setting added here
/// cannot fall through its match unnamed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ConfigField {
    /// [`client_id`](crate::GenesysClientBuilder::client_id), `GENESYS_CLIENT_ID`.
    ClientId,
    /// [`client_secret`](crate::GenesysClientBuilder::client_secret), `GENESYS_CLIENT_SECRET`.
    ClientSecret,
    /// [`region`](crate::GenesysClientBuilder::region), `GENESYS_REGION`.
    Region,
    /// [`api_url`](crate::GenesysClientBuilder::api_url), `GENESYS_API_URL`.
    ApiUrl,
    /// [`login_url`](crate::GenesysClientBuilder::login_url), `GENESYS_LOGIN_URL`.
    LoginUrl,
    /// [`page_size`](crate::GenesysClientBuilder::page_size), or a fetch's own page size.
    PageSize,
    /// [`requests_per_minute`](crate::GenesysClientBuilder::requests_per_minute).
    RequestsPerMinute,
    /// [`rate_limit_burst`](crate::GenesysClientBuilder::rate_limit_burst).
    RateLimitBurst,
    /// [`unknown_share`](crate::GenesysClientBuilder::unknown_share).
    UnknownShare,
    /// [`request_timeout`](crate::GenesysClientBuilder::request_timeout).
    RequestTimeout,
    /// [`max_pages`](crate::GenesysClientBuilder::max_pages).
    MaxPages,
    /// [`snapshot_attempts`](crate::GenesysClientBuilder::snapshot_attempts).
    SnapshotAttempts,
}

impl ConfigField {
    /// The builder method that sets it (`client_id`).
    pub fn builder_method(self) -> &'static str {
        match self {
            Self::ClientId => "client_id",
            Self::ClientSecret => "client_secret",
            Self::Region => "region",
            Self::ApiUrl => "api_url",
            Self::LoginUrl => "login_url",
            Self::PageSize => "page_size",
            Self::RequestsPerMinute => "requests_per_minute",
            Self::RateLimitBurst => "rate_limit_burst",
            Self::UnknownShare => "unknown_share",
            Self::RequestTimeout => "request_timeout",
            Self::MaxPages => "max_pages",
            Self::SnapshotAttempts => "snapshot_attempts",
        }
    }

    /// The environment variable [`GenesysClient::from_env`](crate::GenesysClient::from_env)
    /// reads it from, for the settings it reads.
    pub fn env_var(self) -> Option<&'static str> {
        match self {
            Self::ClientId => Some("GENESYS_CLIENT_ID"),
            Self::ClientSecret => Some("GENESYS_CLIENT_SECRET"),
            Self::Region => Some("GENESYS_REGION"),
            Self::ApiUrl => Some("GENESYS_API_URL"),
            Self::LoginUrl => Some("GENESYS_LOGIN_URL"),
            Self::PageSize
            | Self::RequestsPerMinute
            | Self::RateLimitBurst
            | Self::UnknownShare
            | Self::RequestTimeout
            | Self::MaxPages
            | Self::SnapshotAttempts => None,
        }
    }

    /// The name a user fixes: the environment variable when the value came from there,
    /// otherwise the builder method.
    pub fn name(self, from_env: bool) -> &'static str {
        match self.env_var() {
            Some(var) if from_env => var,
            _ => self.builder_method(),
        }
    }
}

impl fmt::Display for ConfigField {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.builder_method())
    }
}
