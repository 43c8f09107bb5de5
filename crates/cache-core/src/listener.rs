//! Change listeners: what is told when a directory is filled, overwritten or invalidated, and the
//! notifier that calls them without ever holding up the cache.

use std::any::Any;
use std::fmt;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use audit::{AuditEventKind, Auditor};
use futures::FutureExt;
use genesys_client::Fingerprint;
use serde::Serialize;

use crate::DirectoryId;

/// The metric counting failed listener calls, labelled `listener` and `reason` (`error`, `panic`,
/// `timeout`, or `delivery` for a webhook delivery that finally failed).
pub const LISTENER_FAILURES_TOTAL: &str = "dircache_listener_failures_total";

/// The longest error message kept in an audit line; listener errors are free text of any size.
const MAX_AUDITED_ERROR_LEN: usize = 512;

/// What happened to a directory.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ChangeKind {
    /// The directory was cached for the first time.
    Populate,
    /// The cached copy was replaced after upstream changed.
    Overwrite,
    /// The directory was removed from the cache.
    Invalidate,
}

impl ChangeKind {
    /// The name used in JSON, metrics and audit lines: `populate`, `overwrite` or `invalidate`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Populate => "populate",
            Self::Overwrite => "overwrite",
            Self::Invalidate => "invalidate",
        }
    }
}

impl fmt::Display for ChangeKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One change of one directory, as listeners see it: counts and fingerprints, never entries.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct DirectoryChange {
    /// What happened.
    pub kind: ChangeKind,
    /// To which directory.
    pub directory_id: DirectoryId,
    /// The fingerprint of the entries now cached (`None` after an invalidation).
    pub fingerprint: Option<Fingerprint>,
    /// How many entries are now cached (0 after an invalidation).
    pub entry_count: usize,
    /// When it happened.
    pub timestamp: SystemTime,
}

impl DirectoryChange {
    /// A change.
    pub fn new(
        kind: ChangeKind,
        directory_id: DirectoryId,
        fingerprint: Option<Fingerprint>,
        entry_count: usize,
        timestamp: SystemTime,
    ) -> Self {
        Self {
            kind,
            directory_id,
            fingerprint,
            entry_count,
            timestamp,
        }
    }
}

/// What a listener returns when it fails; the notifier only counts, logs and audits it.
pub type ListenerError = Box<dyn std::error::Error + Send + Sync>;

/// Told about every fill, overwrite and invalidation (the seed's CDN sync callbacks).
///
/// Calls run on their own tasks, bounded by the notifier's timeout, so a listener may be slow
/// or fail without affecting the cache; a listener that must not lose changes should queue
/// them itself, as [`WebhookListener`](crate::WebhookListener) does. Concurrent changes may
/// reach a listener concurrently and in any order.
#[async_trait]
pub trait ChangeListener: Send + Sync + fmt::Debug {
    /// A short, stable name for metrics labels and audit lines; never a secret.
    fn name(&self) -> &str;

    /// Handles one change.
    async fn on_change(&self, change: &DirectoryChange) -> Result<(), ListenerError>;
}

/// Calls every listener off the caller's path. Cheap `Clone` (an `Arc` inside).
///
/// A failed call (an `Err`, a panic or the timeout) is counted in
/// `dircache_listener_failures_total{listener, reason}`, logged, and audited as
/// `callback_failed`; the cache operation that notified never waits for it.
#[derive(Clone, Debug)]
pub struct ChangeNotifier {
    inner: Option<Arc<Notifier>>,
}

#[derive(Debug)]
struct Notifier {
    listeners: Vec<Arc<dyn ChangeListener>>,
    timeout: Duration,
    auditor: Auditor,
}

impl ChangeNotifier {
    /// A notifier that calls each of `listeners` on every change, each call bounded by
    /// `timeout`, and audits failures through `auditor`.
    pub fn new(
        listeners: Vec<Arc<dyn ChangeListener>>,
        timeout: Duration,
        auditor: Auditor,
    ) -> Self {
        describe_metrics();
        if listeners.is_empty() {
            return Self::none();
        }
        Self {
            inner: Some(Arc::new(Notifier {
                listeners,
                timeout,
                auditor,
            })),
        }
    }

    /// A notifier without listeners: [`notify`](Self::notify) does nothing and allocates
    /// nothing.
    pub fn none() -> Self {
        Self { inner: None }
    }

    /// Whether there are no listeners.
    pub fn is_empty(&self) -> bool {
        self.inner.is_none()
    }

    /// Starts one call per listener and returns at once.
    ///
    /// The calls run on the current tokio runtime. Outside a runtime nothing can run them: each
    /// listener's call is then counted and audited as failed (`reason="error"`) instead of
    /// panicking in the caller.
    pub fn notify(&self, change: DirectoryChange) {
        let Some(inner) = &self.inner else {
            return;
        };
        let change = Arc::new(change);
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            for listener in &inner.listeners {
                inner.failed(
                    listener.name(),
                    &change,
                    "error",
                    "no tokio runtime to run the listener on",
                );
            }
            return;
        };
        for listener in &inner.listeners {
            let inner = Arc::clone(inner);
            let listener = Arc::clone(listener);
            let change = Arc::clone(&change);
            runtime.spawn(async move { inner.call(&*listener, &change).await });
        }
    }
}

impl Default for ChangeNotifier {
    /// The same as [`ChangeNotifier::none`].
    fn default() -> Self {
        Self::none()
    }
}

impl Notifier {
    async fn call(&self, listener: &dyn ChangeListener, change: &DirectoryChange) {
        // The listener's future is polled here, inside catch_unwind, rather than on a task of
        // its own: a panic is caught without a second spawn, and dropping the future at the
        // timeout cancels the listener's work.
        let call = AssertUnwindSafe(listener.on_change(change)).catch_unwind();
        match tokio::time::timeout(self.timeout, call).await {
            Ok(Ok(Ok(()))) => {}
            Ok(Ok(Err(error))) => self.failed(listener.name(), change, "error", &error.to_string()),
            Ok(Err(panic)) => {
                self.failed(listener.name(), change, "panic", &panic_message(&*panic));
            }
            Err(_elapsed) => {
                let message = format!("no answer within {:?}", self.timeout);
                self.failed(listener.name(), change, "timeout", &message);
            }
        }
    }

    fn failed(&self, listener: &str, change: &DirectoryChange, reason: &'static str, error: &str) {
        record_failure(
            &self.auditor,
            listener,
            change,
            reason,
            error,
            serde_json::Map::new(),
        );
    }
}

/// Counts, logs and audits one failed listener call or delivery. `extra` adds details (for
/// example the attempts a delivery took) beside the documented ones.
pub(crate) fn record_failure(
    auditor: &Auditor,
    listener: &str,
    change: &DirectoryChange,
    reason: &'static str,
    error: &str,
    extra: serde_json::Map<String, serde_json::Value>,
) {
    let error = bounded(error);
    metrics::counter!(LISTENER_FAILURES_TOTAL, "listener" => listener.to_owned(), "reason" => reason)
        .increment(1);
    tracing::warn!(
        listener,
        reason,
        change = change.kind.as_str(),
        directory_id = %change.directory_id,
        error = %error,
        "change listener failed"
    );
    let mut details = extra;
    details.insert("listener".into(), listener.into());
    details.insert("reason".into(), reason.into());
    details.insert("change".into(), change.kind.as_str().into());
    details.insert("error".into(), error.into());
    auditor.record(
        AuditEventKind::CallbackFailed,
        change.directory_id.as_str(),
        serde_json::Value::Object(details),
    );
}

/// Registers the HELP text of the listener metric with the installed recorder; harmless to
/// repeat.
pub(crate) fn describe_metrics() {
    metrics::describe_counter!(
        LISTENER_FAILURES_TOTAL,
        metrics::Unit::Count,
        "Change listener calls that failed, by listener and reason (error, panic, timeout, or delivery for a webhook that gave up)."
    );
}

fn panic_message(panic: &(dyn Any + Send)) -> String {
    if let Some(message) = panic.downcast_ref::<&str>() {
        format!("panicked: {message}")
    } else if let Some(message) = panic.downcast_ref::<String>() {
        format!("panicked: {message}")
    } else {
        "panicked".to_owned()
    }
}

fn bounded(message: &str) -> String {
    match message.char_indices().nth(MAX_AUDITED_ERROR_LEN) {
        Some((cut, _)) => format!("{}…", &message[..cut]),
        None => message.to_owned(),
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use std::time::Instant;

    use audit::MemoryAuditSink;
    use metrics_util::debugging::{DebugValue, DebuggingRecorder, Snapshotter};
    use serde_json::{Value, json};
    use tokio::sync::mpsc;

    use super::*;

    /// A metrics recorder installed for this thread until the guard drops, and its snapshotter.
    pub(crate) fn recording() -> (Snapshotter, metrics::LocalRecorderGuard<'static>) {
        // Leaked, a few bytes per test, so that the guard may outlive this function.
        let recorder: &'static DebuggingRecorder = Box::leak(Box::default());
        let snapshotter = recorder.snapshotter();
        (snapshotter, metrics::set_default_local_recorder(recorder))
    }

    /// The value of `dircache_listener_failures_total{listener, reason}` (0 when never counted),
    /// and whether the metric had its HELP text.
    pub(crate) fn failures(snapshotter: &Snapshotter, listener: &str, reason: &str) -> (u64, bool) {
        let mut total = 0;
        let mut described = false;
        for (key, _unit, help, value) in snapshotter.snapshot().into_vec() {
            let key = key.key();
            let label = |name: &str| {
                key.labels()
                    .find(|l| l.key() == name)
                    .map(|l| l.value().to_owned())
            };
            if key.name() == LISTENER_FAILURES_TOTAL
                && label("listener").as_deref() == Some(listener)
                && label("reason").as_deref() == Some(reason)
            {
                described |= help.is_some();
                if let DebugValue::Counter(n) = value {
                    total += n;
                }
            }
        }
        (total, described)
    }

    /// Audit sink and auditor, for checking what a failure recorded.
    pub(crate) fn auditor() -> (Auditor, MemoryAuditSink) {
        let sink = MemoryAuditSink::new();
        (Auditor::new(Arc::new(sink.clone()), "test-instance"), sink)
    }

    /// Waits (up to 5 s) until `done` holds.
    pub(crate) async fn eventually(what: &str, mut done: impl FnMut() -> bool) {
        let deadline = Instant::now() + Duration::from_secs(5);
        while !done() {
            assert!(Instant::now() < deadline, "timed out waiting for {what}");
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }

    pub(crate) fn change(kind: ChangeKind) -> DirectoryChange {
        DirectoryChange::new(
            kind,
            DirectoryId::new("external_vendors").unwrap(),
            Some(Fingerprint::of(&[])),
            42,
            SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000),
        )
    }

    /// A listener that does what it is told, after telling the test it was called.
    #[derive(Debug)]
    struct Scripted {
        name: &'static str,
        behaviour: Behaviour,
        calls: mpsc::UnboundedSender<DirectoryChange>,
    }

    #[derive(Debug, Clone, Copy)]
    enum Behaviour {
        Succeed,
        Fail,
        Panic,
        Sleep(Duration),
    }

    #[async_trait]
    impl ChangeListener for Scripted {
        fn name(&self) -> &str {
            self.name
        }

        async fn on_change(&self, change: &DirectoryChange) -> Result<(), ListenerError> {
            let _ = self.calls.send(change.clone());
            match self.behaviour {
                Behaviour::Succeed => Ok(()),
                Behaviour::Fail => Err("the CDN answered 500".into()),
                Behaviour::Panic => panic!("listener bug"),
                Behaviour::Sleep(time) => {
                    tokio::time::sleep(time).await;
                    Ok(())
                }
            }
        }
    }

    fn scripted(
        name: &'static str,
        behaviour: Behaviour,
    ) -> (
        Arc<dyn ChangeListener>,
        mpsc::UnboundedReceiver<DirectoryChange>,
    ) {
        let (calls, received) = mpsc::unbounded_channel();
        let listener = Scripted {
            name,
            behaviour,
            calls,
        };
        (Arc::new(listener), received)
    }

    /// A notifier with one scripted listener (5 s timeout), what it audits, and what the
    /// listener received.
    fn notifier_of(
        name: &'static str,
        behaviour: Behaviour,
    ) -> (
        ChangeNotifier,
        MemoryAuditSink,
        mpsc::UnboundedReceiver<DirectoryChange>,
    ) {
        let (auditor, sink) = auditor();
        let (listener, calls) = scripted(name, behaviour);
        let notifier = ChangeNotifier::new(vec![listener], Duration::from_secs(5), auditor);
        (notifier, sink, calls)
    }

    /// Notifies one change and checks that `notify` itself returned at once.
    fn notify_quickly(notifier: &ChangeNotifier, change: DirectoryChange) {
        let started = Instant::now();
        notifier.notify(change);
        let took = started.elapsed();
        assert!(took < Duration::from_millis(50), "notify took {took:?}");
    }

    fn only_callback_failure(sink: &MemoryAuditSink) -> serde_json::Map<String, Value> {
        let events = sink.events();
        assert_eq!(events.len(), 1, "{events:?}");
        assert_eq!(events[0].event, AuditEventKind::CallbackFailed);
        assert_eq!(events[0].directory_id, "external_vendors");
        assert_eq!(events[0].instance_id, "test-instance");
        events[0].details.clone()
    }

    #[tokio::test]
    async fn a_failing_listener_is_counted_and_audited_without_delaying_notify() {
        let (snapshotter, _metrics) = recording();
        let (notifier, sink, mut calls) = notifier_of("cdn", Behaviour::Fail);

        notify_quickly(&notifier, change(ChangeKind::Overwrite));

        assert_eq!(calls.recv().await.unwrap(), change(ChangeKind::Overwrite));
        eventually("the audit line", || !sink.is_empty()).await;
        let details = only_callback_failure(&sink);
        assert_eq!(
            Value::Object(details),
            json!({"listener": "cdn", "reason": "error", "change": "overwrite",
                   "error": "the CDN answered 500"})
        );
        assert_eq!(failures(&snapshotter, "cdn", "error"), (1, true));
    }

    #[tokio::test]
    async fn a_panicking_listener_is_counted_and_audited_as_a_panic() {
        let (snapshotter, _metrics) = recording();
        let (notifier, sink, mut calls) = notifier_of("buggy", Behaviour::Panic);

        notify_quickly(&notifier, change(ChangeKind::Populate));

        calls.recv().await.unwrap();
        eventually("the audit line", || !sink.is_empty()).await;
        let details = only_callback_failure(&sink);
        assert_eq!(details["reason"], "panic");
        assert_eq!(details["change"], "populate");
        assert_eq!(details["error"], "panicked: listener bug");
        assert_eq!(failures(&snapshotter, "buggy", "panic"), (1, true));
        assert_eq!(failures(&snapshotter, "buggy", "error").0, 0);
    }

    #[tokio::test]
    async fn a_listener_that_never_answers_is_cut_at_the_timeout() {
        let (snapshotter, _metrics) = recording();
        let (auditor, sink) = auditor();
        let (listener, mut calls) = scripted("stuck", Behaviour::Sleep(Duration::MAX));
        let notifier = ChangeNotifier::new(vec![listener], Duration::from_millis(100), auditor);

        notify_quickly(&notifier, change(ChangeKind::Invalidate));
        calls.recv().await.unwrap();
        let called = Instant::now();

        eventually("the audit line", || !sink.is_empty()).await;
        let waited = called.elapsed();
        assert!(
            waited >= Duration::from_millis(90) && waited < Duration::from_secs(2),
            "cut after {waited:?}"
        );
        let details = only_callback_failure(&sink);
        assert_eq!(details["reason"], "timeout");
        assert_eq!(details["change"], "invalidate");
        assert_eq!(failures(&snapshotter, "stuck", "timeout"), (1, true));
    }

    #[tokio::test]
    async fn notify_returns_before_a_slow_listener_finishes_and_it_still_gets_the_change() {
        let (notifier, sink, mut calls) =
            notifier_of("slow", Behaviour::Sleep(Duration::from_secs(1)));

        notify_quickly(&notifier, change(ChangeKind::Populate));

        assert_eq!(calls.recv().await.unwrap(), change(ChangeKind::Populate));
        tokio::time::sleep(Duration::from_millis(1200)).await;
        assert!(sink.is_empty(), "a slow but successful call is no failure");
    }

    #[tokio::test]
    async fn every_listener_is_called_even_when_another_fails() {
        let (snapshotter, _metrics) = recording();
        let (auditor, sink) = auditor();
        let (broken, mut broken_calls) = scripted("broken", Behaviour::Panic);
        let (good, mut good_calls) = scripted("good", Behaviour::Succeed);
        let notifier = ChangeNotifier::new(vec![broken, good], Duration::from_secs(5), auditor);

        notifier.notify(change(ChangeKind::Overwrite));
        notifier.clone().notify(change(ChangeKind::Invalidate));

        for calls in [&mut broken_calls, &mut good_calls] {
            assert_eq!(calls.recv().await.unwrap().kind, ChangeKind::Overwrite);
            assert_eq!(calls.recv().await.unwrap().kind, ChangeKind::Invalidate);
        }
        eventually("two audit lines", || sink.len() == 2).await;
        assert_eq!(failures(&snapshotter, "broken", "panic").0, 2);
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert_eq!(
            sink.len(),
            2,
            "the good listener failed: {:?}",
            sink.events()
        );
        for reason in ["error", "panic", "timeout"] {
            assert_eq!(failures(&snapshotter, "good", reason).0, 0);
        }
    }

    #[test]
    fn without_listeners_notify_is_a_no_op_even_outside_a_runtime() {
        let notifier = ChangeNotifier::none();
        assert!(notifier.is_empty());
        assert!(ChangeNotifier::default().is_empty());
        let (auditor, sink) = auditor();
        assert!(ChangeNotifier::new(vec![], Duration::from_secs(1), auditor).is_empty());
        notifier.notify(change(ChangeKind::Populate));
        assert!(sink.is_empty());
    }

    #[test]
    fn outside_a_runtime_notify_counts_a_failure_instead_of_panicking() {
        let (snapshotter, _metrics) = recording();
        let (auditor, sink) = auditor();
        let (listener, _calls) = scripted("cdn", Behaviour::Succeed);
        let notifier = ChangeNotifier::new(vec![listener], Duration::from_secs(1), auditor);
        assert!(!notifier.is_empty());

        notifier.notify(change(ChangeKind::Populate));

        let details = only_callback_failure(&sink);
        assert_eq!(details["reason"], "error");
        assert_eq!(failures(&snapshotter, "cdn", "error"), (1, true));
    }

    #[test]
    fn long_errors_are_cut_in_audit_lines() {
        let long = "x".repeat(10_000);
        let cut = bounded(&long);
        assert_eq!(cut.chars().count(), MAX_AUDITED_ERROR_LEN + 1);
        assert_eq!(bounded("short"), "short");
    }

    #[test]
    fn change_kinds_have_their_documented_names() {
        for (kind, name) in [
            (ChangeKind::Populate, "populate"),
            (ChangeKind::Overwrite, "overwrite"),
            (ChangeKind::Invalidate, "invalidate"),
        ] {
            assert_eq!(kind.as_str(), name);
            assert_eq!(kind.to_string(), name);
            assert_eq!(serde_json::to_value(kind).unwrap(), json!(name));
        }
    }
}
