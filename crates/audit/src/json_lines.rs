//! `JsonLinesSink`: audit events appended to a file as JSON lines by a background writer task.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tokio::sync::mpsc::error::TrySendError;
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;
use tokio::time::{self, MissedTickBehavior};

use crate::error::AuditError;
use crate::event::AuditEvent;
use crate::log_file::LogFile;
use crate::metrics::{EVENTS_DROPPED_TOTAL, describe_metrics};
use crate::sink::AuditSink;

/// How many events the queue holds by default before new ones are dropped.
pub const DEFAULT_CAPACITY: usize = 8192;

/// Events per write: large enough to make a burst cheap, small enough (about 150 KiB of lines)
/// to keep one write call short.
const BATCH_EVENTS: usize = 512;

/// How often an idle writer checks whether the log was rotated away, so the old file is let go
/// even when nothing is being recorded. A busy writer also checks before every batch.
const ROTATION_CHECK: Duration = Duration::from_secs(1);

/// Appends audit events to a file, one JSON object per line.
///
/// [`record`](AuditSink::record) never blocks: it puts the event on a bounded queue, and a
/// writer task serialises queued events in batches and appends them, each write carrying only
/// complete lines, to the file opened in append mode. When the queue is full the event is
/// dropped and counted ([`JsonLinesSink::dropped`] and the metric
/// `dircache_audit_events_dropped_total`). When the file is renamed or deleted (logrotate without
/// `copytruncate`), the writer reopens the path, so later lines go to the new file.
///
/// Clones share one queue and one writer. The writer runs until
/// [`AuditWriter::shutdown`] is called, or until every clone is dropped.
#[derive(Clone, Debug)]
pub struct JsonLinesSink {
    shared: Arc<Shared>,
}

#[derive(Debug)]
struct Shared {
    queue: mpsc::Sender<AuditEvent>,
    path: PathBuf,
    dropped: Arc<AtomicU64>,
}

impl JsonLinesSink {
    /// Opens (creating it, or appending to it) the audit log at `path` with the default queue
    /// capacity, and starts its writer task on the current tokio runtime.
    ///
    /// Fails at once, naming the path, when the file cannot be opened. The open itself is a
    /// short blocking call, as is usual at start-up.
    pub fn open(path: impl Into<PathBuf>) -> Result<(JsonLinesSink, AuditWriter), AuditError> {
        Self::builder(path).open()
    }

    /// Options for the audit log at `path`.
    pub fn builder(path: impl Into<PathBuf>) -> JsonLinesSinkBuilder {
        JsonLinesSinkBuilder {
            path: path.into(),
            capacity: DEFAULT_CAPACITY,
        }
    }

    /// How many events were lost: dropped because the queue was full or the writer had shut
    /// down, or lost in a failed write.
    pub fn dropped(&self) -> u64 {
        self.shared.dropped.load(Ordering::Relaxed)
    }

    /// The audit log's path.
    pub fn path(&self) -> &Path {
        &self.shared.path
    }
}

impl AuditSink for JsonLinesSink {
    fn record(&self, event: AuditEvent) {
        let reason = match self.shared.queue.try_send(event) {
            Ok(()) => return,
            Err(TrySendError::Full(_)) => "queue_full",
            Err(TrySendError::Closed(_)) => "writer_closed",
        };
        let dropped = self.shared.dropped.fetch_add(1, Ordering::Relaxed) + 1;
        metrics::counter!(EVENTS_DROPPED_TOTAL, "reason" => reason).increment(1);
        // A log line per drop would add load exactly when the sink is overloaded; the 1st,
        // 2nd, 4th, 8th… drop still leaves a trace of how bad it got.
        if dropped.is_power_of_two() {
            tracing::warn!(path = %self.shared.path.display(), dropped, reason, "audit events dropped");
        }
    }
}

/// Options for a [`JsonLinesSink`], from [`JsonLinesSink::builder`].
#[derive(Debug)]
#[must_use]
pub struct JsonLinesSinkBuilder {
    path: PathBuf,
    capacity: usize,
}

impl JsonLinesSinkBuilder {
    /// How many events may wait for the writer before new ones are dropped (default
    /// [`DEFAULT_CAPACITY`]; at least 1).
    pub fn capacity(mut self, capacity: usize) -> Self {
        self.capacity = capacity;
        self
    }

    /// Opens the file and starts the writer task; see [`JsonLinesSink::open`].
    pub fn open(self) -> Result<(JsonLinesSink, AuditWriter), AuditError> {
        let JsonLinesSinkBuilder { path, capacity } = self;
        if capacity == 0 {
            return Err(AuditError::InvalidCapacity { capacity });
        }
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return Err(AuditError::NoRuntime { path });
        };
        let dropped = Arc::new(AtomicU64::new(0));
        let log = LogFile::open(path.clone(), Arc::clone(&dropped))?;
        describe_metrics();

        let (queue, events) = mpsc::channel(capacity);
        let (stop, stop_requested) = oneshot::channel();
        let task = runtime.spawn(write_until_stopped(events, stop_requested, log));
        let sink = JsonLinesSink {
            shared: Arc::new(Shared {
                queue,
                path: path.clone(),
                dropped,
            }),
        };
        let writer = AuditWriter {
            path,
            stop: Some(stop),
            task,
        };
        Ok((sink, writer))
    }
}

/// The handle of a [`JsonLinesSink`]'s writer task.
///
/// Call [`shutdown`](AuditWriter::shutdown) before the process exits. Dropping the handle
/// instead leaves the writer running until every clone of the sink is dropped.
#[derive(Debug)]
pub struct AuditWriter {
    path: PathBuf,
    stop: Option<oneshot::Sender<()>>,
    task: JoinHandle<Result<(), AuditError>>,
}

impl AuditWriter {
    /// Stops the writer: drains the queue, writes and fsyncs the file, and returns once every
    /// event recorded before the call is on disk. Events recorded afterwards are dropped (and
    /// counted).
    ///
    /// Returns the first write or sync failure of the writer's lifetime, if any: lines were
    /// lost then.
    pub async fn shutdown(mut self) -> Result<(), AuditError> {
        if let Some(stop) = self.stop.take() {
            // An error means the writer already ended because every sink was dropped; its
            // result is still waiting in the task.
            let _ = stop.send(());
        }
        match (&mut self.task).await {
            Ok(result) => result,
            Err(source) => Err(AuditError::WriterTask {
                path: self.path.clone(),
                source,
            }),
        }
    }

    /// The audit log's path.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// The writer task: batches queued events into the file until asked to stop or until every
/// sink is gone, then drains, syncs and reports.
async fn write_until_stopped(
    mut events: mpsc::Receiver<AuditEvent>,
    mut stop_requested: oneshot::Receiver<()>,
    log: LogFile,
) -> Result<(), AuditError> {
    let path = log.path().to_path_buf();
    let mut log = log;
    let mut batch = Vec::with_capacity(BATCH_EVENTS);
    // The file was opened a moment ago: the first check is due a period from now.
    let mut rotation_check =
        time::interval_at(time::Instant::now() + ROTATION_CHECK, ROTATION_CHECK);
    rotation_check.set_missed_tick_behavior(MissedTickBehavior::Delay);
    let mut writer_handle_alive = true;

    loop {
        tokio::select! {
            // Stop first, so a steady stream of events cannot postpone a shutdown.
            biased;
            asked = &mut stop_requested, if writer_handle_alive => {
                if asked.is_ok() {
                    break;
                }
                writer_handle_alive = false;
            }
            received = events.recv_many(&mut batch, BATCH_EVENTS) => {
                if received == 0 {
                    break;
                }
                (log, batch) = write_batch(log, batch, &path).await?;
            }
            _ = rotation_check.tick() => {
                log = on_blocking_pool(log, &path, |log| log.follow_rotation()).await?.0;
            }
        }
    }

    // Closing first fixes what "everything recorded before shutdown" is: what is queued now.
    events.close();
    while events.recv_many(&mut batch, BATCH_EVENTS).await > 0 {
        (log, batch) = write_batch(log, batch, &path).await?;
    }
    let (log, ()) = on_blocking_pool(log, &path, |log| log.sync()).await?;
    log.finish()
}

async fn write_batch(
    log: LogFile,
    mut batch: Vec<AuditEvent>,
    path: &Path,
) -> Result<(LogFile, Vec<AuditEvent>), AuditError> {
    on_blocking_pool(log, path, move |log| {
        log.follow_rotation();
        log.append(&batch);
        batch.clear();
        batch
    })
    .await
}

/// Runs blocking file work off the async worker threads, handing the log back afterwards.
async fn on_blocking_pool<T: Send + 'static>(
    mut log: LogFile,
    path: &Path,
    work: impl FnOnce(&mut LogFile) -> T + Send + 'static,
) -> Result<(LogFile, T), AuditError> {
    tokio::task::spawn_blocking(move || {
        let out = work(&mut log);
        (log, out)
    })
    .await
    .map_err(|source| AuditError::WriterTask {
        path: path.to_path_buf(),
        source,
    })
}

#[cfg(test)]
mod tests;
