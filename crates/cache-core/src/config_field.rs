//! Which setting an [`Error::Config`](crate::Error::Config) is about, as a value callers can
//! match: one of the cache builder's, a webhook listener's or a backend's.

use std::fmt;

/// The setting a configuration error is about.
///
/// Neither this nor the enums it holds is `#[non_exhaustive]`, on purpose: a caller that
/// reports these under its own names (a flag, a key of its configuration file) matches every
/// variant, so a setting added here cannot fall through its match unnamed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ConfigField {
    /// A setting of [`DirectoryCacheBuilder`](crate::DirectoryCacheBuilder).
    Cache(CacheField),
    /// A setting of [`WebhookListenerBuilder`](crate::WebhookListenerBuilder), shown as
    /// `webhooks.<setting>`.
    Webhook(WebhookField),
    /// A setting of a cache backend's builder, shown as `<backend>.<setting>`.
    Backend {
        /// The backend's name, as [`CacheBackend::name`](crate::CacheBackend::name) gives it.
        backend: &'static str,
        /// Which of its settings.
        field: BackendField,
    },
}

/// A setting of [`DirectoryCacheBuilder`](crate::DirectoryCacheBuilder).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CacheField {
    /// The directory source (required).
    Source,
    /// The refresh-ahead fraction of the TTL.
    RefreshAhead,
    /// How many directories `warm` fetches at once.
    WarmConcurrency,
    /// How long upstream's refusals are remembered.
    NegativeTtl,
}

/// A setting of [`WebhookListenerBuilder`](crate::WebhookListenerBuilder).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum WebhookField {
    /// Where the POSTs go.
    Url,
    /// What they are signed with.
    Secret,
    /// How many changes may wait for delivery.
    QueueCapacity,
    /// How many times one POST is tried.
    MaxAttempts,
    /// The time limit of one POST.
    Timeout,
    /// The listener as a whole: its HTTP client, and the tokio runtime it runs on.
    Listener,
}

/// A setting of a cache backend's builder. The settings a remote backend commonly has; a
/// backend with another one adds it here, so that callers name it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum BackendField {
    /// Where the backend is (one URL, or a list of them).
    Url,
    /// The prefix of every key.
    Prefix,
    /// The time limit of one call.
    CommandTimeout,
    /// The most pooled connections.
    PoolSize,
    /// How long an expired copy is kept.
    Retention,
    /// The CA certificates trusted for TLS.
    TlsRootCertificates,
}

impl From<CacheField> for ConfigField {
    fn from(field: CacheField) -> Self {
        Self::Cache(field)
    }
}

impl From<WebhookField> for ConfigField {
    fn from(field: WebhookField) -> Self {
        Self::Webhook(field)
    }
}

impl CacheField {
    /// The builder method that sets it.
    pub fn name(self) -> &'static str {
        match self {
            Self::Source => "source",
            Self::RefreshAhead => "refresh_ahead",
            Self::WarmConcurrency => "warm_concurrency",
            Self::NegativeTtl => "negative_ttl",
        }
    }
}

impl WebhookField {
    /// The builder method that sets it (none for the listener as a whole).
    pub fn name(self) -> Option<&'static str> {
        Some(match self {
            Self::Url => "url",
            Self::Secret => "secret",
            Self::QueueCapacity => "queue_capacity",
            Self::MaxAttempts => "max_attempts",
            Self::Timeout => "timeout",
            Self::Listener => return None,
        })
    }
}

impl BackendField {
    /// The builder method that sets it.
    pub fn name(self) -> &'static str {
        match self {
            Self::Url => "url",
            Self::Prefix => "prefix",
            Self::CommandTimeout => "command_timeout",
            Self::PoolSize => "pool_size",
            Self::Retention => "retention",
            Self::TlsRootCertificates => "tls_root_certificates",
        }
    }
}

impl fmt::Display for ConfigField {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Cache(field) => f.write_str(field.name()),
            Self::Webhook(field) => match field.name() {
                Some(name) => write!(f, "webhooks.{name}"),
                None => f.write_str("webhooks"),
            },
            Self::Backend { backend, field } => write!(f, "{backend}.{}", field.name()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_show_as_the_dotted_names_of_before() {
        let shown = [
            (ConfigField::from(CacheField::RefreshAhead), "refresh_ahead"),
            (WebhookField::Url.into(), "webhooks.url"),
            (WebhookField::Listener.into(), "webhooks"),
            (
                ConfigField::Backend {
                    backend: "redis",
                    field: BackendField::TlsRootCertificates,
                },
                "redis.tls_root_certificates",
            ),
        ];
        for (field, name) in shown {
            assert_eq!(field.to_string(), name);
        }
    }
}
