//! `LogFile`: the audit log file, appended whole lines at a time and reopened when rotated away.
//!
//! Everything here is blocking file I/O; the writer task runs it on tokio's blocking pool.

use std::fs::{self, File, Metadata, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::error::AuditError;
use crate::event::AuditEvent;
use crate::metrics::{EVENTS_DROPPED_TOTAL, EVENTS_WRITTEN_TOTAL, WRITE_ERRORS_TOTAL};

/// Device and inode: what says whether the path still names the file we have open.
type FileIdentity = (u64, u64);

/// The open audit log, with what the writer must remember between batches.
#[derive(Debug)]
pub(crate) struct LogFile {
    path: PathBuf,
    file: File,
    identity: Option<FileIdentity>,
    /// A failed write left a partial line at the end of the file: the next write starts with a
    /// newline so that the lines after it are whole again.
    mid_line: bool,
    /// Reused between batches so a steady stream of events allocates nothing here.
    buf: Vec<u8>,
    /// Shared with the sink, which reports it as `dropped()`.
    dropped: Arc<AtomicU64>,
    first_error: Option<AuditError>,
    /// Warn once when writes start failing (and once when a reopen does), not once per batch.
    write_failing: bool,
    reopen_failing: bool,
}

impl LogFile {
    /// Opens (creating it if needed) `path` for appending.
    pub(crate) fn open(path: PathBuf, dropped: Arc<AtomicU64>) -> Result<Self, AuditError> {
        let (file, identity) = match open_append(&path) {
            Ok(opened) => opened,
            Err(source) => return Err(AuditError::Open { path, source }),
        };
        Ok(LogFile {
            path,
            file,
            identity,
            mid_line: false,
            buf: Vec::with_capacity(64 * 1024),
            dropped,
            first_error: None,
            write_failing: false,
            reopen_failing: false,
        })
    }

    /// Reopens the path when the file we hold is no longer the one it names (logrotate renamed
    /// or deleted it), so that new lines go to the new file. If the path cannot be reopened,
    /// lines keep going to the old file rather than being lost.
    pub(crate) fn follow_rotation(&mut self) {
        let rotated = match fs::metadata(&self.path) {
            Ok(meta) => identity(&meta) != self.identity,
            Err(err) if err.kind() == io::ErrorKind::NotFound => true,
            Err(err) => {
                tracing::debug!(path = %self.path.display(), error = %err, "cannot stat the audit log; keeping the open file");
                false
            }
        };
        if !rotated {
            return;
        }
        match open_append(&self.path) {
            Ok((file, identity)) => {
                self.file = file;
                self.identity = identity;
                // The new file starts empty, so it cannot end in the middle of a line.
                self.mid_line = false;
                self.reopen_failing = false;
                tracing::info!(path = %self.path.display(), "audit log was rotated; reopened it");
            }
            Err(err) => {
                if !self.reopen_failing {
                    tracing::warn!(path = %self.path.display(), error = %err, "audit log was rotated but cannot be reopened; still writing to the old file");
                }
                self.reopen_failing = true;
            }
        }
    }

    /// Appends `events`, one JSON line each, in a single write of complete lines.
    pub(crate) fn append(&mut self, events: &[AuditEvent]) {
        let prefixed = self.mid_line;
        let lines = encode_lines(&mut self.buf, events, prefixed);
        if lines == 0 {
            return;
        }
        let outcome = write_lines(&mut self.file, &self.buf, prefixed);
        self.mid_line = outcome.ends_mid_line.unwrap_or(self.mid_line);
        let written = outcome.complete_lines as u64;
        metrics::counter!(EVENTS_WRITTEN_TOTAL).increment(written);
        match outcome.error {
            None => {
                if self.write_failing {
                    tracing::info!(path = %self.path.display(), "audit log writes work again");
                }
                self.write_failing = false;
            }
            Some(err) => {
                let lost = lines as u64 - written;
                self.dropped.fetch_add(lost, Ordering::Relaxed);
                metrics::counter!(EVENTS_DROPPED_TOTAL, "reason" => "write_failed").increment(lost);
                metrics::counter!(WRITE_ERRORS_TOTAL).increment(1);
                if !self.write_failing {
                    tracing::warn!(path = %self.path.display(), error = %err, lost, "cannot write the audit log; events are being lost");
                }
                self.write_failing = true;
                self.remember(err);
            }
        }
    }

    /// Makes everything written so far durable (fsync).
    pub(crate) fn sync(&mut self) {
        if let Err(err) = self.file.sync_all() {
            metrics::counter!(WRITE_ERRORS_TOTAL).increment(1);
            tracing::warn!(path = %self.path.display(), error = %err, "cannot sync the audit log");
            self.remember(err);
        }
    }

    /// The path this log writes to.
    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    /// Closes the file, reporting the first write or sync failure of its lifetime, if any.
    pub(crate) fn finish(self) -> Result<(), AuditError> {
        self.first_error.map_or(Ok(()), Err)
    }

    fn remember(&mut self, source: io::Error) {
        if self.first_error.is_none() {
            self.first_error = Some(AuditError::Write {
                path: self.path.clone(),
                source,
            });
        }
    }
}

fn open_append(path: &Path) -> io::Result<(File, Option<FileIdentity>)> {
    let mut options = OpenOptions::new();
    options.create(true).append(true);
    // Audit logs name directories and instances: readable by the owner and the log group,
    // as system logs usually are, not by everyone.
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o640);
    let file = options.open(path)?;
    // Identity of the handle itself, not of the path, so a rename racing with the open cannot
    // make us think we hold a file we do not.
    let identity = identity(&file.metadata()?);
    Ok((file, identity))
}

#[cfg(unix)]
fn identity(meta: &Metadata) -> Option<FileIdentity> {
    use std::os::unix::fs::MetadataExt;
    Some((meta.dev(), meta.ino()))
}

/// Without inodes only a deleted path can be noticed: both sides are `None`, so equal.
#[cfg(not(unix))]
fn identity(_meta: &Metadata) -> Option<FileIdentity> {
    None
}

/// Serialises `events` into `buf` (cleared first), one complete line each, preceded by a
/// newline if `prefixed`. Returns how many lines it holds.
fn encode_lines(buf: &mut Vec<u8>, events: &[AuditEvent], prefixed: bool) -> usize {
    buf.clear();
    if prefixed {
        buf.push(b'\n');
    }
    let mut lines = 0;
    for event in events {
        let start = buf.len();
        match serde_json::to_writer(&mut *buf, event) {
            Ok(()) => {
                buf.push(b'\n');
                lines += 1;
            }
            Err(err) => {
                // Never leave half an object in the buffer: drop the event, keep the others.
                buf.truncate(start);
                tracing::warn!(event = event.event.as_str(), error = %err, "cannot serialise an audit event; skipped");
            }
        }
    }
    lines
}

/// What happened to one write of a buffer of lines.
#[derive(Debug)]
struct WriteOutcome {
    /// Event lines (not counting a leading separator newline) that reached the file whole.
    complete_lines: usize,
    /// Whether the file now ends inside a line; `None` when nothing was written, so the file
    /// ends as it did before.
    ends_mid_line: Option<bool>,
    error: Option<io::Error>,
}

/// `write_all`, keeping count of how far it got: the whole buffer in one `write` call unless
/// the OS takes less, which for a regular file in append mode means a failure is at hand.
fn write_lines(out: &mut impl Write, buf: &[u8], prefixed: bool) -> WriteOutcome {
    let mut written = 0;
    let mut error = None;
    while written < buf.len() {
        match out.write(&buf[written..]) {
            Ok(0) => {
                error = Some(io::Error::from(io::ErrorKind::WriteZero));
                break;
            }
            Ok(n) => written += n,
            Err(err) if err.kind() == io::ErrorKind::Interrupted => {}
            Err(err) => {
                error = Some(err);
                break;
            }
        }
    }
    let done = &buf[..written];
    let newlines = done.iter().filter(|&&b| b == b'\n').count();
    WriteOutcome {
        complete_lines: newlines.saturating_sub(usize::from(prefixed && written > 0)),
        ends_mid_line: done.last().map(|&b| b != b'\n'),
        error,
    }
}

#[cfg(test)]
mod tests {
    use serde_json::{Map, Value};

    use super::*;
    use crate::event::AuditEventKind;

    /// A file that takes `budget` more bytes, then fails once with "no space", then works.
    struct FillsUpOnce {
        content: Vec<u8>,
        budget: Option<usize>,
    }

    impl Write for FillsUpOnce {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            match self.budget {
                Some(0) => {
                    self.budget = None;
                    Err(io::Error::other("no space left on device"))
                }
                Some(left) => {
                    let n = left.min(buf.len());
                    self.budget = Some(left - n);
                    self.content.extend_from_slice(&buf[..n]);
                    Ok(n)
                }
                None => {
                    self.content.extend_from_slice(buf);
                    Ok(buf.len())
                }
            }
        }

        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    fn events(directory: &str, n: usize) -> Vec<AuditEvent> {
        (0..n)
            .map(|i| {
                let mut details = Map::new();
                details.insert("seq".into(), Value::from(i));
                AuditEvent::new(AuditEventKind::CacheRefresh, directory, "i", details)
            })
            .collect()
    }

    #[test]
    fn lines_after_a_torn_write_are_whole_again() {
        let mut out = FillsUpOnce {
            content: Vec::new(),
            budget: None,
        };
        let mut buf = Vec::new();

        let first = events("first", 2);
        encode_lines(&mut buf, &first, false);
        let line_len = buf.len() / 2;
        // Room for the first line and part of the second: the disk fills mid-line.
        out.budget = Some(line_len + 10);
        let outcome = write_lines(&mut out, &buf, false);
        assert!(outcome.error.is_some());
        assert_eq!(outcome.complete_lines, 1);
        assert_eq!(outcome.ends_mid_line, Some(true));

        let second = events("second", 3);
        encode_lines(&mut buf, &second, true);
        let outcome = write_lines(&mut out, &buf, true);
        assert!(outcome.error.is_none());
        assert_eq!(outcome.complete_lines, 3);
        assert_eq!(outcome.ends_mid_line, Some(false));

        let text = String::from_utf8(out.content).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 5, "one whole, one torn, three whole: {text}");
        assert!(serde_json::from_str::<AuditEvent>(lines[1]).is_err());
        let whole: Vec<AuditEvent> = [lines[0], lines[2], lines[3], lines[4]]
            .iter()
            .map(|line| serde_json::from_str(line).unwrap())
            .collect();
        assert_eq!(whole[0], first[0]);
        assert_eq!(&whole[1..], &second[..]);
    }

    #[test]
    fn a_write_that_fails_at_once_leaves_the_file_as_it_was() {
        let mut out = FillsUpOnce {
            content: Vec::new(),
            budget: Some(0),
        };
        let mut buf = Vec::new();
        encode_lines(&mut buf, &events("d", 2), true);
        let outcome = write_lines(&mut out, &buf, true);
        assert!(outcome.error.is_some());
        assert_eq!(outcome.complete_lines, 0);
        assert_eq!(outcome.ends_mid_line, None);
    }
}
