//! The subscriber: one pub/sub connection per backend that fans invalidation notices and
//! refresh-lock releases out to in-process receivers, and resubscribes by itself.
//!
//! An invalidation message is `<instance tag> <directory id>`; a bare `<directory id>` is
//! accepted too, so an operator can invalidate every instance's in-process copy with
//! `redis-cli PUBLISH <prefix>:invalidations <id>`. A release message is the directory id.

use std::time::Duration;

use audit::{AuditEventKind, Auditor};
use cache_core::{DirectoryId, InvalidationNotice};
use futures::StreamExt;
use genesys_client::Backoff;
use serde_json::json;
use tokio::sync::{broadcast, oneshot};

/// How many notices a receiver may fall behind before it lags (and must drop everything).
const CHANNEL_CAPACITY: usize = 1024;
const FIRST_BACKOFF: Duration = Duration::from_millis(100);
const MAX_BACKOFF: Duration = Duration::from_secs(5);

/// The in-process ends of the subscriber: what it heard, for whoever listens.
#[derive(Debug)]
pub(crate) struct Notices {
    /// Every invalidation notice, this instance's included (`InvalidationNotices::subscribe`).
    all: broadcast::Sender<InvalidationNotice>,
    /// Directory ids whose refresh lock was released.
    releases: broadcast::Sender<DirectoryId>,
    /// Tells the subscriber task to stop when the backend is dropped.
    _shutdown: oneshot::Sender<()>,
}

impl Notices {
    pub(crate) fn subscribe_all(&self) -> broadcast::Receiver<InvalidationNotice> {
        self.all.subscribe()
    }

    pub(crate) fn subscribe_releases(&self) -> broadcast::Receiver<DirectoryId> {
        self.releases.subscribe()
    }
}

/// What the subscriber task needs: where to connect and what to listen to.
#[derive(Debug)]
pub(crate) struct SubscriberConfig {
    /// Clients of the servers to subscribe on, tried in turn (every node of a cluster hears
    /// every PUBLISH, so any one will do).
    pub(crate) clients: Vec<redis::Client>,
    pub(crate) invalidations_channel: String,
    pub(crate) releases_channel: String,
    pub(crate) connect_timeout: Duration,
    pub(crate) auditor: Auditor,
}

/// Starts the subscriber task; the returned receiver completes when the first subscription
/// attempt has succeeded or failed.
pub(crate) fn start(config: SubscriberConfig) -> (Notices, oneshot::Receiver<()>) {
    let (all, _) = broadcast::channel(CHANNEL_CAPACITY);
    let (releases, _) = broadcast::channel(CHANNEL_CAPACITY);
    let (shutdown_tx, shutdown) = oneshot::channel();
    let (first_attempt_tx, first_attempt) = oneshot::channel();
    let task = Subscriber {
        config,
        all: all.clone(),
        releases: releases.clone(),
    };
    tokio::spawn(task.run(shutdown, first_attempt_tx));
    let notices = Notices {
        all,
        releases,
        _shutdown: shutdown_tx,
    };
    (notices, first_attempt)
}

struct Subscriber {
    config: SubscriberConfig,
    all: broadcast::Sender<InvalidationNotice>,
    releases: broadcast::Sender<DirectoryId>,
}

impl Subscriber {
    async fn run(self, mut shutdown: oneshot::Receiver<()>, first_attempt: oneshot::Sender<()>) {
        let mut first_attempt = Some(first_attempt);
        // Whether notices may have been missed: set by any failure, so that the next
        // subscription tells receivers to drop everything.
        let mut missed = false;
        let mut backoff = Backoff::new(FIRST_BACKOFF, MAX_BACKOFF);
        let mut node = 0;
        loop {
            let client = &self.config.clients[node % self.config.clients.len()];
            let subscribed =
                tokio::time::timeout(self.config.connect_timeout, self.subscribe(client))
                    .await
                    .unwrap_or_else(|_| Err("subscribing timed out".to_owned()));
            if let Some(done) = first_attempt.take() {
                let _ = done.send(());
            }
            match subscribed {
                Ok(stream) => {
                    if missed {
                        tracing::info!("redis invalidation channel resubscribed");
                        self.broadcast(InvalidationNotice::All);
                    }
                    backoff = Backoff::new(FIRST_BACKOFF, MAX_BACKOFF);
                    if self.listen(stream, &mut shutdown).await.is_break() {
                        return;
                    }
                    self.lost("the subscription connection closed");
                }
                Err(reason) => {
                    if !missed {
                        self.lost(&reason);
                    }
                    node += 1;
                }
            }
            missed = true;
            let wait = backoff.next().unwrap_or(MAX_BACKOFF);
            tokio::select! {
                _ = &mut shutdown => return,
                () = tokio::time::sleep(wait) => {}
            }
        }
    }

    async fn subscribe(&self, client: &redis::Client) -> Result<redis::aio::PubSubStream, String> {
        let mut pubsub = client
            .get_async_pubsub()
            .await
            .map_err(|e| format!("connecting failed: {e}"))?;
        pubsub
            .subscribe(&[
                self.config.invalidations_channel.as_str(),
                self.config.releases_channel.as_str(),
            ])
            .await
            .map_err(|e| format!("SUBSCRIBE failed: {e}"))?;
        Ok(pubsub.into_on_message())
    }

    /// Forwards messages until the connection closes (`Continue`) or the backend is dropped
    /// (`Break`).
    async fn listen(
        &self,
        mut stream: redis::aio::PubSubStream,
        shutdown: &mut oneshot::Receiver<()>,
    ) -> std::ops::ControlFlow<()> {
        loop {
            let message = tokio::select! {
                _ = &mut *shutdown => return std::ops::ControlFlow::Break(()),
                message = stream.next() => message,
            };
            let Some(message) = message else {
                return std::ops::ControlFlow::Continue(());
            };
            let Ok(payload) = std::str::from_utf8(message.get_payload_bytes()) else {
                continue;
            };
            let channel = message.get_channel_name();
            if channel == self.config.releases_channel {
                if let Ok(id) = DirectoryId::new(payload) {
                    let _ = self.releases.send(id);
                }
            } else if channel == self.config.invalidations_channel {
                // The publisher's tag is for people reading the channel; every notice
                // counts, this instance's own included (several L1s may share a backend).
                let id = payload.split_once(' ').map_or(payload, |(_tag, id)| id);
                if let Ok(id) = DirectoryId::new(id) {
                    self.broadcast(InvalidationNotice::Directory(id));
                }
            }
        }
    }

    fn broadcast(&self, notice: InvalidationNotice) {
        // Sending fails only when nobody listens, which is fine.
        let _ = self.all.send(notice);
    }

    fn lost(&self, reason: &str) {
        tracing::warn!(
            reason,
            "redis invalidation channel lost; resubscribing with backoff"
        );
        self.config.auditor.record(
            AuditEventKind::BackendError,
            "",
            json!({
                "backend": "redis",
                "operation": "subscribe",
                "error": reason,
            }),
        );
    }
}
