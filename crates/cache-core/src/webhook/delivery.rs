//! Delivering one change: the signed JSON body, the POST, retries with backoff (never sooner
//! than the receiver's `Retry-After`), and giving up.

use std::error::Error as _;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, SystemTime};

use audit::Auditor;
use audit::timestamp::rfc3339;
use bytes::Bytes;
use genesys_client::{Backoff, parse_retry_after};
use reqwest::header::{CONTENT_TYPE, RETRY_AFTER};
use reqwest::{StatusCode, Url};
use secrecy::SecretString;
use serde::Serialize;
use tokio::sync::mpsc;

use super::signature::{SIGNATURE_HEADER, sign};
use super::{Counters, MAX_BACKOFF};
use crate::DirectoryId;
use crate::listener::{self, ChangeKind, DirectoryChange};

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
pub(super) struct Worker {
    pub(super) name: String,
    pub(super) client: reqwest::Client,
    pub(super) url: Url,
    pub(super) secret: SecretString,
    pub(super) timeout: Duration,
    pub(super) max_attempts: u32,
    pub(super) initial_backoff: Duration,
    pub(super) auditor: Auditor,
    pub(super) counters: Arc<Counters>,
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
    pub(super) async fn run(self, mut pending: mpsc::Receiver<DirectoryChange>) {
        while let Some(change) = pending.recv().await {
            self.deliver(&change).await;
        }
    }

    async fn deliver(&self, change: &DirectoryChange) {
        let (body, signature) = match self.signed_body(change) {
            Ok(signed) => signed,
            Err(error) => return self.give_up(change, 0, &error),
        };
        let mut backoff = Backoff::new(self.initial_backoff, MAX_BACKOFF);
        let mut attempt = 0;
        loop {
            attempt += 1;
            match self.post(&body, &signature).await {
                Attempt::Delivered => {
                    self.counters.delivered.fetch_add(1, Ordering::Relaxed);
                    return;
                }
                Attempt::Retry { error, retry_after } if attempt < self.max_attempts => {
                    let wait = next_wait(&mut backoff, retry_after);
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
                .and_then(|v| parse_retry_after(v, SystemTime::now()));
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

/// The wait before the next attempt: the next backoff, but never sooner than the receiver
/// asked (itself capped at the largest backoff).
fn next_wait(backoff: &mut Backoff, retry_after: Option<Duration>) -> Duration {
    backoff
        .next()
        .unwrap_or(MAX_BACKOFF)
        .max(retry_after.unwrap_or_default().min(MAX_BACKOFF))
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
    use super::*;

    #[test]
    fn a_wait_is_never_sooner_than_the_receiver_asked_nor_longer_than_the_cap() {
        let mut backoff = Backoff::new(Duration::from_millis(500), MAX_BACKOFF);
        let first = next_wait(&mut backoff, None);
        assert!(first <= Duration::from_millis(500), "{first:?}");
        let asked = next_wait(&mut backoff, Some(Duration::from_secs(7)));
        assert!(asked >= Duration::from_secs(7), "{asked:?}");
        assert_eq!(
            next_wait(&mut backoff, Some(Duration::from_secs(3600))),
            MAX_BACKOFF
        );
        // An HTTP date is read like the client reads Genesys' Retry-After.
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_445_412_470);
        let date = parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", now);
        assert_eq!(date, Some(Duration::from_secs(10)));
    }
}
