//! `RedisBackendBuilder`: the settings of a `RedisBackend`, checked when it is built.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use audit::Auditor;
use cache_core::{BackendField, Clock, ConfigField, Error};
use genesys_client::redact_url;
use redis::TlsCertificates;
use redis::cluster::ClusterClient;
use secrecy::{ExposeSecret, SecretString};

use crate::backend::{Inner, RedisBackend};
use crate::error::is_auth_error;
use crate::keys::Keys;
use crate::notices::{self, SubscriberConfig};
use crate::pool::{Pool, PoolOptions};

const MAX_RETENTION: Duration = Duration::from_secs(30 * 24 * 3600);

/// Builds a [`RedisBackend`]; see [`RedisBackend::builder`] and
/// [`RedisBackend::cluster_builder`].
#[must_use]
pub struct RedisBackendBuilder {
    urls: Vec<SecretString>,
    cluster: bool,
    prefix: String,
    command_timeout: Duration,
    pool_size: u32,
    retention: Duration,
    auditor: Auditor,
    tls_roots: Option<Vec<u8>>,
    clock: Clock,
}

impl RedisBackendBuilder {
    pub(crate) fn new(urls: Vec<String>, cluster: bool) -> Self {
        Self {
            urls: urls.into_iter().map(SecretString::from).collect(),
            cluster,
            prefix: "dircache".to_owned(),
            command_timeout: Duration::from_millis(500),
            pool_size: 16,
            retention: Duration::from_secs(3600),
            auditor: Auditor::disabled(),
            tls_roots: None,
            clock: Clock::new(),
        }
    }

    /// The prefix of every key and channel (default `dircache`). It may not contain braces,
    /// which would change the Redis Cluster hash tag of every key.
    pub fn prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = prefix.into();
        self
    }

    /// How long any one call may take, getting a connection included (default 500 ms).
    pub fn command_timeout(mut self, timeout: Duration) -> Self {
        self.command_timeout = timeout;
        self
    }

    /// The most pooled connections (default 16). Each is multiplexed, so a few serve many
    /// concurrent calls.
    pub fn pool_size(mut self, size: u32) -> Self {
        self.pool_size = size;
        self
    }

    /// How long Redis keeps a copy after it expires (default 3600 s), so that stale-if-error
    /// can still serve it while upstream fails: a key's PX is its `expires_at` plus this,
    /// minus now. Match it to the pipeline's stale window. At most 30 days.
    pub fn retention(mut self, retention: Duration) -> Self {
        self.retention = retention;
        self
    }

    /// Where failures the caller never sees are audited as `backend_error` (the invalidation
    /// channel lost; default: nowhere).
    pub fn auditor(mut self, auditor: Auditor) -> Self {
        self.auditor = auditor;
        self
    }

    /// The clock a key's retention is computed by (default [`Clock::new`]); give it the
    /// pipeline's.
    pub fn clock(mut self, clock: Clock) -> Self {
        self.clock = clock;
        self
    }

    /// For `rediss://` URLs: trust the CA certificates in this PEM (a private CA) instead of
    /// the system's root certificates.
    pub fn tls_root_certificates(mut self, pem: impl Into<Vec<u8>>) -> Self {
        self.tls_roots = Some(pem.into());
        self
    }

    /// Checks the settings, connects once, and starts the invalidation subscriber.
    ///
    /// Credentials Redis refuses are an [`Error::Config`]. A Redis that cannot be reached is
    /// not an error: the backend connects when it can, and its calls fail until then.
    pub async fn build(self) -> Result<RedisBackend, Error> {
        self.check()?;
        let urls: Vec<&str> = self.urls.iter().map(|u| u.expose_secret()).collect();
        let shown_urls: Vec<String> = urls.iter().map(|u| redact_url(u)).collect();
        let passwords: Vec<String> = urls.iter().filter_map(|u| password_of(u)).collect();
        let scrub = |text: String| scrub(text, &passwords);

        let tls = self.tls_roots.as_ref().map(|pem| TlsCertificates {
            client_tls: None,
            root_cert: Some(pem.clone()),
        });
        let clients = urls
            .iter()
            .zip(&shown_urls)
            .map(|(url, shown)| {
                let client = match &tls {
                    Some(certificates) => redis::Client::build_with_tls(*url, certificates.clone()),
                    None => redis::Client::open(*url),
                };
                client.map_err(|e| {
                    config(
                        BackendField::Url,
                        scrub(format!("{shown} is not a usable Redis URL: {e}")),
                    )
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        let options = PoolOptions {
            max_size: self.pool_size,
            command_timeout: self.command_timeout,
        };
        let pool = if self.cluster {
            let mut builder = ClusterClient::builder(urls.iter().copied())
                .connection_timeout(self.command_timeout)
                .response_timeout(self.command_timeout);
            if let Some(certificates) = tls {
                builder = builder.certs(certificates);
            }
            let client = builder.build().map_err(|e| {
                config(
                    BackendField::Url,
                    scrub(format!(
                        "the cluster nodes {shown_urls:?} cannot be used: {e}"
                    )),
                )
            })?;
            Pool::cluster(client, options)
        } else {
            Pool::standalone(clients[0].clone(), options)
        };

        match tokio::time::timeout(self.command_timeout, pool.connect_one()).await {
            Ok(Ok(())) => {}
            Ok(Err(e)) if is_auth_error(&e) => {
                return Err(config(
                    BackendField::Url,
                    scrub(format!(
                        "Redis at {} refused the credentials: {e}",
                        shown_urls.join(", ")
                    )),
                ));
            }
            Ok(Err(e)) => tracing::warn!(
                urls = ?shown_urls,
                error = %scrub(e.to_string()),
                "redis is not reachable yet; the backend will connect when it is"
            ),
            Err(_) => tracing::warn!(
                urls = ?shown_urls,
                "redis did not answer in time; the backend will connect when it does"
            ),
        }

        let keys = Keys::new(&self.prefix);
        let instance_tag = format!("{:016x}", fastrand::u64(..));
        let (notices, first_attempt) = notices::start(SubscriberConfig {
            clients,
            invalidations_channel: keys.invalidations_channel(),
            releases_channel: keys.releases_channel(),
            connect_timeout: self.command_timeout,
            auditor: self.auditor.clone(),
        });
        // Whatever the outcome, the subscriber keeps trying by itself.
        let _ = tokio::time::timeout(self.command_timeout * 2, first_attempt).await;

        Ok(RedisBackend {
            inner: Arc::new(Inner {
                pool,
                keys,
                command_timeout: self.command_timeout,
                retention: self.retention,
                clock: self.clock,
                notices,
                instance_tag,
                shown_urls,
            }),
        })
    }

    fn check(&self) -> Result<(), Error> {
        let invalid = |field, reason: &str| Err(config(field, reason));
        if self.urls.is_empty() {
            return invalid(BackendField::Url, "no Redis URL was given");
        }
        if self.prefix.is_empty()
            || self
                .prefix
                .chars()
                .any(|c| c == '{' || c == '}' || c.is_whitespace() || c.is_control())
        {
            return invalid(
                BackendField::Prefix,
                "a key prefix is not empty and has no braces, spaces or control characters",
            );
        }
        if self.command_timeout.is_zero() {
            return invalid(BackendField::CommandTimeout, "must be more than zero");
        }
        if self.pool_size == 0 {
            return invalid(BackendField::PoolSize, "must be at least 1");
        }
        if self.retention > MAX_RETENTION {
            return invalid(BackendField::Retention, "must be at most 30 days");
        }
        if self.tls_roots.is_some()
            && self
                .urls
                .iter()
                .any(|u| !u.expose_secret().starts_with("rediss://"))
        {
            return invalid(
                BackendField::TlsRootCertificates,
                "TLS root certificates need rediss:// URLs",
            );
        }
        Ok(())
    }
}

/// A refusal of one of this builder's settings, shown as `redis.<setting>`.
fn config(field: BackendField, reason: impl Into<String>) -> Error {
    Error::Config {
        setting: ConfigField::Backend {
            backend: "redis",
            field,
        },
        reason: reason.into(),
    }
}

impl fmt::Debug for RedisBackendBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let urls: Vec<String> = self
            .urls
            .iter()
            .map(|u| redact_url(u.expose_secret()))
            .collect();
        f.debug_struct("RedisBackendBuilder")
            .field("urls", &urls)
            .field("cluster", &self.cluster)
            .field("prefix", &self.prefix)
            .field("command_timeout", &self.command_timeout)
            .field("pool_size", &self.pool_size)
            .field("retention", &self.retention)
            .field("tls_root_certificates", &self.tls_roots.is_some())
            .finish()
    }
}

/// The password in `url`, as written and percent-decoded, for scrubbing messages.
fn password_of(url: &str) -> Option<String> {
    let parsed = url::Url::parse(url).ok()?;
    parsed.password().map(str::to_owned)
}

/// `text` with every occurrence of a password (raw or percent-decoded) replaced by `***`.
fn scrub(mut text: String, passwords: &[String]) -> String {
    for password in passwords.iter().filter(|p| !p.is_empty()) {
        text = text.replace(password.as_str(), "***");
        if let Ok(decoded) = percent_encoding::percent_decode_str(password).decode_utf8()
            && !decoded.is_empty()
        {
            text = text.replace(&*decoded, "***");
        }
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_are_scrubbed_of_raw_and_decoded_passwords() {
        let passwords = vec![password_of("redis://:p%40ss%2Fw0rd@h/").unwrap()];
        let text = scrub("bad p%40ss%2Fw0rd or p@ss/w0rd".to_owned(), &passwords);
        assert_eq!(text, "bad *** or ***");
    }

    #[test]
    fn the_builder_debug_hides_the_password() {
        let builder = RedisBackend::builder("redis://:hunter2@127.0.0.1:1/");
        let shown = format!("{builder:?}");
        assert!(!shown.contains("hunter2"), "{shown}");
        assert!(shown.contains("127.0.0.1:1"), "{shown}");
    }

    #[tokio::test]
    async fn settings_that_cannot_work_are_refused_naming_the_setting() {
        let url = "redis://127.0.0.1:1/";
        let cases = [
            (RedisBackend::builder(url).prefix("a{b}"), "redis.prefix"),
            (RedisBackend::builder(url).prefix(""), "redis.prefix"),
            (
                RedisBackend::builder(url).command_timeout(Duration::ZERO),
                "redis.command_timeout",
            ),
            (RedisBackend::builder(url).pool_size(0), "redis.pool_size"),
            (
                RedisBackend::builder(url).retention(MAX_RETENTION * 2),
                "redis.retention",
            ),
            (RedisBackend::builder("http://:hunter2@x/"), "redis.url"),
            (
                RedisBackend::builder(url).tls_root_certificates(b"pem".to_vec()),
                "redis.tls_root_certificates",
            ),
            (
                RedisBackend::cluster_builder(Vec::<String>::new()),
                "redis.url",
            ),
        ];
        for (builder, expected) in cases {
            match builder.build().await {
                Err(Error::Config { setting, reason }) => {
                    assert_eq!(setting.to_string(), expected, "{reason}");
                    assert!(!reason.contains("hunter2"), "{reason}");
                }
                other => panic!("expected a {expected} error, got {other:?}"),
            }
        }
    }
}
