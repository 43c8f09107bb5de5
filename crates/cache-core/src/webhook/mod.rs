//! `WebhookListener`: the built-in change listener that POSTs each change, signed with
//! HMAC-SHA256, to a URL from a bounded queue with retries; its settings and its builder.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use audit::Auditor;
use genesys_client::{is_loopback, redact_url};
use reqwest::Url;
use secrecy::{ExposeSecret, SecretString};
use tokio::sync::mpsc;

use crate::listener::{self, ChangeListener, DirectoryChange, ListenerError};
use crate::{Error, WebhookField};
use delivery::Worker;

mod delivery;
mod signature;
#[cfg(test)]
mod tests;

pub use signature::SIGNATURE_HEADER;

const DEFAULT_TIMEOUT: Duration = Duration::from_secs(5);
const DEFAULT_QUEUE_CAPACITY: usize = 1024;
const DEFAULT_MAX_ATTEMPTS: u32 = 5;
const DEFAULT_INITIAL_BACKOFF: Duration = Duration::from_millis(500);
const MAX_BACKOFF: Duration = Duration::from_secs(30);

/// Built-in listener: POSTs each change as JSON to a URL, signed, from a bounded queue with
/// retries.
///
/// The body is `{"event", "directory_id", "fingerprint", "entry_count", "timestamp"}` (`event`
/// is `populate`, `overwrite` or `invalidate`; `fingerprint` is `null` after an invalidation;
/// `timestamp` is RFC 3339 UTC), sent with `Content-Type: application/json` and
/// `X-Dircache-Signature: sha256=<hex>`, the lowercase hex HMAC-SHA256 of the exact body bytes
/// under the shared secret. A receiver should compute the HMAC over the raw body it received
/// and compare in constant time.
///
/// [`on_change`](ChangeListener::on_change) only queues the change, and refuses it when the
/// queue is full. One worker task delivers the queue in order: a 2xx answer is delivered; a
/// 5xx, 408, 429, timeout or connection error is retried with jittered exponential backoff
/// (honouring a `Retry-After` in seconds or as an HTTP date, up to 30 s); any other answer (redirects are not
/// followed) is final. A delivery that finally fails is counted in
/// `dircache_listener_failures_total{listener="webhook:<host>", reason="delivery"}` and audited
/// as `callback_failed`. The worker stops once the listener is dropped and its queue is empty.
pub struct WebhookListener {
    name: String,
    queue: mpsc::Sender<DirectoryChange>,
    queue_capacity: usize,
    counters: Arc<Counters>,
}

impl WebhookListener {
    /// Starts configuring a webhook to `url` (http only to a loopback host, else https).
    pub fn builder(url: impl Into<String>) -> WebhookListenerBuilder {
        WebhookListenerBuilder {
            url: url.into(),
            secret: None,
            timeout: DEFAULT_TIMEOUT,
            queue_capacity: DEFAULT_QUEUE_CAPACITY,
            max_attempts: DEFAULT_MAX_ATTEMPTS,
            initial_backoff: DEFAULT_INITIAL_BACKOFF,
            auditor: Auditor::disabled(),
            http_client: None,
        }
    }

    /// How many changes the receiver accepted (answered 2xx).
    pub fn delivered(&self) -> u64 {
        self.counters.delivered.load(Ordering::Relaxed)
    }

    /// How many queued changes were finally not delivered (retries exhausted, or an answer not
    /// worth retrying). Changes refused because the queue was full are not in this count: the
    /// notifier counts those as failed calls.
    pub fn failed(&self) -> u64 {
        self.counters.failed.load(Ordering::Relaxed)
    }
}

#[async_trait]
impl ChangeListener for WebhookListener {
    fn name(&self) -> &str {
        &self.name
    }

    async fn on_change(&self, change: &DirectoryChange) -> Result<(), ListenerError> {
        self.queue.try_send(change.clone()).map_err(|e| match e {
            mpsc::error::TrySendError::Full(_) => format!(
                "the webhook queue is full ({} changes waiting); this change is dropped",
                self.queue_capacity
            )
            .into(),
            mpsc::error::TrySendError::Closed(_) => {
                "the webhook delivery task has stopped (its runtime shut down)".into()
            }
        })
    }
}

impl fmt::Debug for WebhookListener {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Neither the secret nor the URL's path and query, which often carry a token.
        f.debug_struct("WebhookListener")
            .field("name", &self.name)
            .field("queue_capacity", &self.queue_capacity)
            .field("queued", &(self.queue_capacity - self.queue.capacity()))
            .field("delivered", &self.delivered())
            .field("failed", &self.failed())
            .finish_non_exhaustive()
    }
}

/// Configures a [`WebhookListener`]; see [`WebhookListener::builder`].
#[must_use]
pub struct WebhookListenerBuilder {
    url: String,
    secret: Option<SecretString>,
    timeout: Duration,
    queue_capacity: usize,
    max_attempts: u32,
    initial_backoff: Duration,
    auditor: Auditor,
    http_client: Option<reqwest::Client>,
}

impl WebhookListenerBuilder {
    /// The shared secret every POST is signed with (required, not empty).
    pub fn secret(mut self, secret: SecretString) -> Self {
        self.secret = Some(secret);
        self
    }

    /// How long one POST may take before it counts as a (retried) failure; default 5 s.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// How many changes may wait for delivery; more are refused. Default 1024.
    pub fn queue_capacity(mut self, capacity: usize) -> Self {
        self.queue_capacity = capacity;
        self
    }

    /// How many times one change is POSTed before it is given up; default 5.
    pub fn max_attempts(mut self, attempts: u32) -> Self {
        self.max_attempts = attempts;
        self
    }

    /// The wait before the first retry, doubled for each further one, jittered and capped at
    /// 30 s; default 500 ms.
    pub fn initial_backoff(mut self, backoff: Duration) -> Self {
        self.initial_backoff = backoff;
        self
    }

    /// Where deliveries that finally fail are audited; by default they are only counted and
    /// logged.
    pub fn auditor(mut self, auditor: Auditor) -> Self {
        self.auditor = auditor;
        self
    }

    /// The HTTP client to POST with; by default one that follows no redirects.
    pub fn http_client(mut self, client: reqwest::Client) -> Self {
        self.http_client = Some(client);
        self
    }

    /// Checks the settings and starts the delivery task on the current tokio runtime.
    ///
    /// Refused with [`Error::Config`]: a URL that does not parse, has no host, is not http(s),
    /// or is plain http to a host other than loopback (`webhooks.url`); a missing or empty
    /// secret (`webhooks.secret`); a zero queue capacity, attempt count or timeout (the setting
    /// named); and a call outside a tokio runtime (`webhooks`).
    pub fn build(self) -> Result<WebhookListener, Error> {
        let url = checked_url(&self.url)?;
        let host = url.host_str().unwrap_or_default().to_owned();
        let secret = match self.secret {
            Some(secret) if !secret.expose_secret().is_empty() => secret,
            Some(_) => return Err(config(WebhookField::Secret, "the secret is empty")),
            None => {
                return Err(config(
                    WebhookField::Secret,
                    "a secret is required: every POST is signed with it",
                ));
            }
        };
        if self.queue_capacity == 0 {
            return Err(config(WebhookField::QueueCapacity, "must be at least 1"));
        }
        if self.max_attempts == 0 {
            return Err(config(WebhookField::MaxAttempts, "must be at least 1"));
        }
        if self.timeout.is_zero() {
            return Err(config(WebhookField::Timeout, "must be more than zero"));
        }
        let client = match self.http_client {
            Some(client) => client,
            None => reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .user_agent(concat!("dircache/", env!("CARGO_PKG_VERSION")))
                .build()
                .map_err(|e| {
                    config(
                        WebhookField::Listener,
                        format!("cannot build an HTTP client: {e}"),
                    )
                })?,
        };
        let runtime = tokio::runtime::Handle::try_current().map_err(|_| {
            config(
                WebhookField::Listener,
                "a webhook listener needs a tokio runtime to run its delivery task",
            )
        })?;

        listener::describe_metrics();
        let name = format!("webhook:{host}");
        let counters = Arc::new(Counters::default());
        let (queue, pending) = mpsc::channel(self.queue_capacity);
        let worker = Worker {
            name: name.clone(),
            client,
            url,
            secret,
            timeout: self.timeout,
            max_attempts: self.max_attempts,
            initial_backoff: self.initial_backoff,
            auditor: self.auditor,
            counters: Arc::clone(&counters),
        };
        runtime.spawn(worker.run(pending));
        Ok(WebhookListener {
            name,
            queue,
            queue_capacity: self.queue_capacity,
            counters,
        })
    }
}

impl fmt::Debug for WebhookListenerBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WebhookListenerBuilder")
            .field("url", &redact_url(&self.url))
            .field("secret", &self.secret.as_ref().map(|_| "[REDACTED]"))
            .field("timeout", &self.timeout)
            .field("queue_capacity", &self.queue_capacity)
            .field("max_attempts", &self.max_attempts)
            .field("initial_backoff", &self.initial_backoff)
            .field("auditor", &self.auditor)
            .field("custom_http_client", &self.http_client.is_some())
            .finish()
    }
}

fn config(setting: WebhookField, reason: impl Into<String>) -> Error {
    Error::Config {
        setting: setting.into(),
        reason: reason.into(),
    }
}

/// The URL, if it is one a webhook may be sent to.
fn checked_url(raw: &str) -> Result<Url, Error> {
    // The URL itself stays out of the reasons: its path or query may hold a token.
    let url = Url::parse(raw).map_err(|e| config(WebhookField::Url, format!("not a URL ({e})")))?;
    let Some(host) = url.host_str() else {
        return Err(config(WebhookField::Url, "the URL has no host"));
    };
    match url.scheme() {
        "https" => Ok(url),
        "http" if is_loopback(&url) => Ok(url),
        "http" => Err(config(
            WebhookField::Url,
            format!("plain http is allowed only to a loopback host, not to {host}; use https"),
        )),
        other => Err(config(
            WebhookField::Url,
            format!("the scheme must be https (or http to a loopback host), not {other}"),
        )),
    }
}

#[derive(Debug, Default)]
struct Counters {
    delivered: AtomicU64,
    failed: AtomicU64,
}
