//! The webhook listener's tests: against a receiver served on 127.0.0.1.

use std::sync::Mutex;
use std::time::{Instant, SystemTime};

use audit::AuditEventKind;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode as AxumStatus};
use bytes::Bytes;
use hmac::{Hmac, Mac};
use reqwest::header::CONTENT_TYPE;
use serde_json::{Value, json};
use sha2::Sha256;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use tokio::sync::Notify;

use super::*;
use crate::Fingerprint;
use crate::listener::ChangeKind;
use crate::listener::tests::{auditor, change, eventually, failures, recording};

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

async fn receive(State(receiver): State<Receiver>, headers: HeaderMap, body: Bytes) -> AxumStatus {
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

/// Queues a change of `kind` on `webhook`, which must accept it.
async fn queue(webhook: &WebhookListener, kind: ChangeKind) {
    webhook.on_change(&change(kind)).await.unwrap();
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
    queue(&webhook, ChangeKind::Overwrite).await;
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

    queue(&webhook, ChangeKind::Populate).await;
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
    let (snapshotter, _metrics) = recording();
    let (auditor, sink) = auditor();
    let receiver = Receiver::answering(&[400, 400, 400]);
    let url = receiver.start().await;
    let webhook = builder(&url).auditor(auditor).build().unwrap();

    queue(&webhook, ChangeKind::Overwrite).await;
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

    queue(&webhook, ChangeKind::Populate).await;
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

    queue(&webhook, ChangeKind::Populate).await;
    receiver.hold.as_ref().unwrap().notified().await;
    queue(&webhook, ChangeKind::Overwrite).await;

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
