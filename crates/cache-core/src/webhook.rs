//! `WebhookListener`: the built-in change listener that POSTs each change, signed with
//! HMAC-SHA256, to a URL from a bounded queue with retries.

use std::error::Error as _;
use std::fmt;
use std::net::IpAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use audit::Auditor;
use bytes::Bytes;
use hmac::{Hmac, Mac};
use reqwest::header::{CONTENT_TYPE, RETRY_AFTER};
use reqwest::{StatusCode, Url};
use secrecy::{ExposeSecret, SecretString};
use serde::Serialize;
use sha2::Sha256;
use tokio::sync::mpsc;

use crate::cached_directory::rfc3339;
use crate::listener::{self, ChangeKind, ChangeListener, DirectoryChange, ListenerError};
use crate::{DirectoryId, Error, WebhookField};

/// The header that carries the signature: `sha256=<lowercase hex HMAC-SHA256(secret, body)>`.
pub const SIGNATURE_HEADER: &str = "X-Dircache-Signature";

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
/// (honouring a `Retry-After` in seconds, up to 30 s); any other answer (redirects are not
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
            .field("url", &redacted(&self.url))
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
        "http" if is_loopback(host) => Ok(url),
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

fn is_loopback(host: &str) -> bool {
    if host.eq_ignore_ascii_case("localhost") {
        return true;
    }
    // An IPv6 host comes bracketed, as in the URL.
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    bare.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// `scheme://host[:port]` of a URL, the part that is safe to show.
fn redacted(raw: &str) -> String {
    match Url::parse(raw) {
        Ok(url) => match (url.host_str(), url.port()) {
            (Some(host), Some(port)) => format!("{}://{host}:{port}/…", url.scheme()),
            (Some(host), None) => format!("{}://{host}/…", url.scheme()),
            (None, _) => "<a URL without a host>".to_owned(),
        },
        Err(_) => "<not a URL>".to_owned(),
    }
}

#[derive(Debug, Default)]
struct Counters {
    delivered: AtomicU64,
    failed: AtomicU64,
}

/// The JSON body of one delivery.
#[derive(Serialize)]
struct Payload<'a> {
    event: ChangeKind,
    directory_id: &'a DirectoryId,
    fingerprint: Option<&'a str>,
    entry_count: usize,
    timestamp: String,
}

/// The delivery task: takes changes off the queue one at a time, so they arrive in order.
struct Worker {
    name: String,
    client: reqwest::Client,
    url: Url,
    secret: SecretString,
    timeout: Duration,
    max_attempts: u32,
    initial_backoff: Duration,
    auditor: Auditor,
    counters: Arc<Counters>,
}

/// How one POST went.
enum Attempt {
    Delivered,
    /// Worth trying again, after at least `retry_after` if the receiver asked for it.
    Retry {
        error: String,
        retry_after: Option<Duration>,
    },
    Final {
        error: String,
    },
}

impl Worker {
    async fn run(self, mut pending: mpsc::Receiver<DirectoryChange>) {
        while let Some(change) = pending.recv().await {
            self.deliver(&change).await;
        }
    }

    async fn deliver(&self, change: &DirectoryChange) {
        let (body, signature) = match self.signed_body(change) {
            Ok(signed) => signed,
            Err(error) => return self.give_up(change, 0, &error),
        };
        let mut attempt = 0;
        loop {
            attempt += 1;
            match self.post(&body, &signature).await {
                Attempt::Delivered => {
                    self.counters.delivered.fetch_add(1, Ordering::Relaxed);
                    return;
                }
                Attempt::Retry { error, retry_after } if attempt < self.max_attempts => {
                    let wait = backoff(self.initial_backoff, attempt, retry_after);
                    tracing::debug!(listener = %self.name, attempt, ?wait, error = %error, "webhook delivery failed; retrying");
                    tokio::time::sleep(wait).await;
                }
                Attempt::Retry { error, .. } | Attempt::Final { error } => {
                    return self.give_up(change, attempt, &error);
                }
            }
        }
    }

    fn signed_body(&self, change: &DirectoryChange) -> Result<(Bytes, String), String> {
        let payload = Payload {
            event: change.kind,
            directory_id: &change.directory_id,
            fingerprint: change.fingerprint.as_ref().map(|f| f.as_str()),
            entry_count: change.entry_count,
            timestamp: rfc3339(change.timestamp)
                .map_err(|e| format!("the change's time cannot be written: {e}"))?,
        };
        let body = serde_json::to_vec(&payload)
            .map_err(|e| format!("the change cannot be encoded: {e}"))?;
        let signature = format!("sha256={}", sign(&self.secret, &body));
        Ok((Bytes::from(body), signature))
    }

    async fn post(&self, body: &Bytes, signature: &str) -> Attempt {
        let sent = self
            .client
            .post(self.url.clone())
            .header(CONTENT_TYPE, "application/json")
            .header(SIGNATURE_HEADER, signature)
            .timeout(self.timeout)
            .body(body.clone())
            .send()
            .await;
        let response = match sent {
            Ok(response) => response,
            Err(error) => {
                let retry = !error.is_builder();
                let error = describe_send_error(error);
                return if retry {
                    Attempt::Retry {
                        error,
                        retry_after: None,
                    }
                } else {
                    Attempt::Final { error }
                };
            }
        };
        let status = response.status();
        if status.is_success() {
            return Attempt::Delivered;
        }
        let error = format!("the receiver answered HTTP {status}");
        if status.is_server_error()
            || status == StatusCode::TOO_MANY_REQUESTS
            || status == StatusCode::REQUEST_TIMEOUT
        {
            let retry_after = response
                .headers()
                .get(RETRY_AFTER)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.trim().parse::<u64>().ok())
                .map(Duration::from_secs);
            Attempt::Retry { error, retry_after }
        } else {
            Attempt::Final { error }
        }
    }

    fn give_up(&self, change: &DirectoryChange, attempts: u32, error: &str) {
        self.counters.failed.fetch_add(1, Ordering::Relaxed);
        let mut extra = serde_json::Map::new();
        extra.insert("attempts".into(), attempts.into());
        listener::record_failure(&self.auditor, &self.name, change, "delivery", error, extra);
    }
}

/// Lowercase hex HMAC-SHA256 of `body` under `secret`.
fn sign(secret: &SecretString, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.expose_secret().as_bytes())
        .expect("HMAC accepts a key of any length");
    mac.update(body);
    hex::encode(mac.finalize().into_bytes())
}

/// The wait after failed attempt `attempt` (1-based): `initial × 2^(attempt-1)`, capped at
/// 30 s, jittered down to half so that many instances do not retry in step, and never shorter
/// than what the receiver asked for (itself capped at 30 s).
fn backoff(initial: Duration, attempt: u32, retry_after: Option<Duration>) -> Duration {
    let doubled = initial.saturating_mul(1 << attempt.saturating_sub(1).min(20));
    let ceiling = doubled.min(MAX_BACKOFF);
    let jittered = ceiling.mul_f64(0.5 + fastrand::f64() / 2.0);
    jittered.max(retry_after.unwrap_or_default().min(MAX_BACKOFF))
}

/// A send error as text, with its causes, without the URL (its path or query may hold a token).
fn describe_send_error(error: reqwest::Error) -> String {
    let kind = if error.is_timeout() {
        "timed out"
    } else if error.is_connect() {
        "could not connect"
    } else {
        "could not send"
    };
    let error = error.without_url();
    let mut text = format!("{kind}: {error}");
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;
    use std::time::{Instant, SystemTime};

    use audit::AuditEventKind;
    use axum::extract::State;
    use axum::http::{HeaderMap, StatusCode as AxumStatus};
    use metrics_util::debugging::DebuggingRecorder;
    use serde_json::{Value, json};
    use time::OffsetDateTime;
    use time::format_description::well_known::Rfc3339;
    use tokio::sync::Notify;

    use super::*;
    use crate::Fingerprint;
    use crate::listener::tests::{auditor, change, eventually, failures};

    const SECRET: &str = "s3cret-shared-with-the-receiver";

    /// What the test receiver saw of one request.
    #[derive(Clone, Debug)]
    struct Received {
        headers: HeaderMap,
        body: Bytes,
    }

    /// An HTTP receiver on 127.0.0.1 that records every request and answers from a script
    /// (200 once the script runs out), or holds every request open when told to.
    #[derive(Clone, Default)]
    struct Receiver {
        received: Arc<Mutex<Vec<Received>>>,
        script: Arc<Mutex<Vec<u16>>>,
        hold: Option<Arc<Notify>>,
    }

    impl Receiver {
        fn answering(script: &[u16]) -> Self {
            Self {
                script: Arc::new(Mutex::new(script.iter().rev().copied().collect())),
                ..Self::default()
            }
        }

        fn holding() -> Self {
            Self {
                hold: Some(Arc::new(Notify::new())),
                ..Self::default()
            }
        }

        fn requests(&self) -> Vec<Received> {
            self.received.lock().unwrap().clone()
        }

        fn count(&self) -> usize {
            self.received.lock().unwrap().len()
        }

        /// Serves on a free port and returns the webhook URL.
        async fn start(&self) -> String {
            let app = axum::Router::new()
                .route("/hooks/dircache", axum::routing::post(receive))
                .with_state(self.clone());
            let socket = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let address = socket.local_addr().unwrap();
            tokio::spawn(async move { axum::serve(socket, app).await.unwrap() });
            format!("http://{address}/hooks/dircache?token=path-token")
        }
    }

    async fn receive(
        State(receiver): State<Receiver>,
        headers: HeaderMap,
        body: Bytes,
    ) -> AxumStatus {
        receiver
            .received
            .lock()
            .unwrap()
            .push(Received { headers, body });
        if let Some(hold) = &receiver.hold {
            hold.notify_one();
            tokio::time::sleep(Duration::from_secs(3600)).await;
        }
        let status = receiver.script.lock().unwrap().pop().unwrap_or(200);
        AxumStatus::from_u16(status).unwrap()
    }

    fn builder(url: &str) -> WebhookListenerBuilder {
        WebhookListener::builder(url)
            .secret(SecretString::from(SECRET))
            .initial_backoff(Duration::from_millis(10))
    }

    fn verifies(secret: &str, body: &[u8], header: &str) -> bool {
        let Some(hex_mac) = header.strip_prefix("sha256=") else {
            return false;
        };
        let Ok(mac_bytes) = hex::decode(hex_mac) else {
            return false;
        };
        let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
        mac.update(body);
        mac.verify_slice(&mac_bytes).is_ok()
    }

    fn signature(request: &Received) -> &str {
        request.headers[SIGNATURE_HEADER].to_str().unwrap()
    }

    #[tokio::test]
    async fn posts_the_documented_json_signed_with_the_shared_secret_in_order() {
        let receiver = Receiver::answering(&[]);
        let url = receiver.start().await;
        let webhook = builder(&url).build().unwrap();
        assert_eq!(webhook.name(), "webhook:127.0.0.1");

        let mut invalidated = change(ChangeKind::Invalidate);
        invalidated.fingerprint = None;
        invalidated.entry_count = 0;
        webhook
            .on_change(&change(ChangeKind::Overwrite))
            .await
            .unwrap();
        webhook.on_change(&invalidated).await.unwrap();
        eventually("two deliveries", || webhook.delivered() == 2).await;

        let requests = receiver.requests();
        assert_eq!(requests.len(), 2);
        let first = &requests[0];
        assert_eq!(first.headers[CONTENT_TYPE.as_str()], "application/json");
        let header = signature(first);
        assert!(
            header
                .strip_prefix("sha256=")
                .is_some_and(|hex| hex.len() == 64
                    && hex
                        .bytes()
                        .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))),
            "{header}"
        );
        assert!(verifies(SECRET, &first.body, header));
        assert!(!verifies("another secret", &first.body, header));
        assert!(!verifies(SECRET, br#"{"event":"populate"}"#, header));

        let body: Value = serde_json::from_slice(&first.body).unwrap();
        assert_eq!(
            body,
            json!({
                "event": "overwrite",
                "directory_id": "external_vendors",
                "fingerprint": Fingerprint::of(&[]).as_str(),
                "entry_count": 42,
                "timestamp": "2027-01-15T08:00:00.000Z",
            })
        );
        let stamp = OffsetDateTime::parse(body["timestamp"].as_str().unwrap(), &Rfc3339).unwrap();
        assert_eq!(
            SystemTime::from(stamp),
            SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000)
        );

        let second: Value = serde_json::from_slice(&requests[1].body).unwrap();
        assert_eq!(second["event"], "invalidate");
        assert_eq!(second["fingerprint"], Value::Null);
        assert_eq!(second["entry_count"], 0);
        assert!(verifies(SECRET, &requests[1].body, signature(&requests[1])));
        assert_eq!(webhook.failed(), 0);
    }

    #[tokio::test]
    async fn a_receiver_failing_twice_with_503_gets_the_delivery_on_the_third_attempt() {
        let receiver = Receiver::answering(&[503, 503]);
        let url = receiver.start().await;
        let webhook = builder(&url).build().unwrap();

        webhook
            .on_change(&change(ChangeKind::Populate))
            .await
            .unwrap();
        eventually("the delivery", || webhook.delivered() == 1).await;

        let requests = receiver.requests();
        assert_eq!(requests.len(), 3);
        for request in &requests {
            assert_eq!(
                request.body, requests[0].body,
                "every attempt sends the same body"
            );
            assert!(verifies(SECRET, &request.body, signature(request)));
        }
        assert_eq!(webhook.failed(), 0);
    }

    #[tokio::test]
    async fn a_400_is_not_retried_and_is_counted_and_audited() {
        let recorder = DebuggingRecorder::new();
        let snapshotter = recorder.snapshotter();
        let _metrics = metrics::set_default_local_recorder(&recorder);
        let (auditor, sink) = auditor();
        let receiver = Receiver::answering(&[400, 400, 400]);
        let url = receiver.start().await;
        let webhook = builder(&url).auditor(auditor).build().unwrap();

        webhook
            .on_change(&change(ChangeKind::Overwrite))
            .await
            .unwrap();
        eventually("the failure", || webhook.failed() == 1).await;
        tokio::time::sleep(Duration::from_millis(200)).await;

        assert_eq!(receiver.count(), 1, "a 400 was retried");
        assert_eq!(webhook.delivered(), 0);
        assert_eq!(
            failures(&snapshotter, "webhook:127.0.0.1", "delivery"),
            (1, true)
        );
        let events = sink.events();
        assert_eq!(events.len(), 1);
        assert_eq!(events[0].event, AuditEventKind::CallbackFailed);
        assert_eq!(events[0].directory_id, "external_vendors");
        let details = Value::Object(events[0].details.clone());
        assert_eq!(details["listener"], "webhook:127.0.0.1");
        assert_eq!(details["reason"], "delivery");
        assert_eq!(details["change"], "overwrite");
        assert_eq!(details["attempts"], 1);
        assert!(
            details["error"].as_str().unwrap().contains("400"),
            "{details}"
        );
    }

    #[tokio::test]
    async fn a_delivery_is_given_up_after_max_attempts() {
        let receiver = Receiver::answering(&[500, 429, 503, 500, 500]);
        let url = receiver.start().await;
        let (auditor, sink) = auditor();
        let webhook = builder(&url)
            .max_attempts(3)
            .auditor(auditor)
            .build()
            .unwrap();

        webhook
            .on_change(&change(ChangeKind::Populate))
            .await
            .unwrap();
        eventually("the failure", || webhook.failed() == 1).await;
        tokio::time::sleep(Duration::from_millis(200)).await;

        assert_eq!(receiver.count(), 3);
        assert_eq!(webhook.delivered(), 0);
        assert_eq!(sink.events()[0].details["attempts"], 3);
        assert!(!format!("{:?}", sink.events()).contains("path-token"));
    }

    #[tokio::test]
    async fn a_full_queue_refuses_at_once() {
        let receiver = Receiver::holding();
        let url = receiver.start().await;
        let webhook = builder(&url)
            .queue_capacity(1)
            .timeout(Duration::from_secs(60))
            .build()
            .unwrap();

        webhook
            .on_change(&change(ChangeKind::Populate))
            .await
            .unwrap();
        receiver.hold.as_ref().unwrap().notified().await;
        webhook
            .on_change(&change(ChangeKind::Overwrite))
            .await
            .unwrap();

        let started = Instant::now();
        // Bounded, so that a queue that waits for room fails this test instead of hanging it.
        let refused = tokio::time::timeout(
            Duration::from_secs(1),
            webhook.on_change(&change(ChangeKind::Invalidate)),
        )
        .await
        .expect("on_change waited for room in the queue");
        let took = started.elapsed();
        let error = refused.expect_err("a full queue accepted a change");
        assert!(error.to_string().contains("queue is full"), "{error}");
        assert!(took < Duration::from_millis(50), "refusing took {took:?}");
        assert_eq!(receiver.count(), 1);
    }

    #[tokio::test]
    async fn debug_shows_neither_the_secret_nor_the_urls_path() {
        let receiver = Receiver::answering(&[]);
        let url = receiver.start().await;
        let builder = builder(&url);
        let shown = format!("{builder:?}");
        assert!(shown.contains("127.0.0.1"), "{shown}");
        let webhook = builder.build().unwrap();
        let listener = format!("{webhook:?}");
        assert!(listener.contains("webhook:127.0.0.1"), "{listener}");
        for text in [shown, listener] {
            assert!(!text.contains(SECRET), "{text}");
            assert!(!text.contains("path-token"), "{text}");
            assert!(!text.contains("hooks/dircache"), "{text}");
        }
    }

    #[tokio::test]
    async fn bad_settings_are_refused_naming_the_setting() {
        let refused = |result: Result<WebhookListener, Error>| match result {
            Err(Error::Config { setting, reason }) => (setting, reason),
            other => panic!("not refused: {other:?}"),
        };
        for url in [
            "not a url",
            "ftp://127.0.0.1/hook",
            "http://example.com/hook",
            "http://10.0.0.1/hook",
            "file:///tmp/hook",
        ] {
            let (setting, reason) = refused(builder(url).build());
            assert_eq!(setting, WebhookField::Url.into(), "{url}: {reason}");
        }
        let (_, reason) = refused(builder("http://example.com/hook?token=t0k").build());
        assert!(reason.contains("https"), "{reason}");
        assert!(!reason.contains("t0k"), "{reason}");

        let (setting, _) = refused(WebhookListener::builder("https://example.com/hook").build());
        assert_eq!(setting, WebhookField::Secret.into());
        let empty = WebhookListener::builder("https://example.com/hook").secret("".into());
        assert_eq!(refused(empty.build()).0, WebhookField::Secret.into());
        assert_eq!(
            refused(builder("https://example.com").queue_capacity(0).build()).0,
            WebhookField::QueueCapacity.into()
        );
        assert_eq!(
            refused(builder("https://example.com").max_attempts(0).build()).0,
            WebhookField::MaxAttempts.into()
        );

        for url in [
            "https://example.com/hook",
            "http://127.0.0.1:9/hook",
            "http://localhost:9/hook",
            "http://[::1]:9/hook",
        ] {
            assert!(builder(url).build().is_ok(), "{url} was refused");
        }
    }

    #[test]
    fn building_outside_a_runtime_is_refused_not_a_panic() {
        let refused = builder("https://example.com/hook").build().unwrap_err();
        assert!(
            matches!(
                refused,
                Error::Config {
                    setting: crate::ConfigField::Webhook(WebhookField::Listener),
                    ..
                }
            ),
            "{refused}"
        );
    }

    #[test]
    fn backoff_doubles_with_jitter_up_to_the_cap_and_honours_retry_after() {
        let initial = Duration::from_millis(500);
        for _ in 0..100 {
            let first = backoff(initial, 1, None);
            assert!(first >= initial / 2 && first <= initial, "{first:?}");
            let third = backoff(initial, 3, None);
            assert!(third >= initial * 2 && third <= initial * 4, "{third:?}");
            let late = backoff(initial, 40, None);
            assert!(late >= MAX_BACKOFF / 2 && late <= MAX_BACKOFF, "{late:?}");
        }
        assert!(backoff(initial, 1, Some(Duration::from_secs(7))) >= Duration::from_secs(7));
        assert_eq!(
            backoff(initial, 1, Some(Duration::from_secs(3600))),
            MAX_BACKOFF
        );
    }
}
