//! The deadlines of a connection's socket (SPEC §10): a request's head must arrive within the
//! head timeout, and a connection idle between requests is closed after the idle timeout.
//!
//! Hyper has one timer, its header read timeout, and it also runs while a keep-alive
//! connection waits for its next request, so the two deadlines cannot be told apart there.
//! Instead the socket is wrapped in a [`TimedStream`], told by the service when a request's head
//! has been read ([`Progress::request_read`]) and when hyper has taken the whole answer (the
//! [`AnswerBody`] is dropped), which makes a connection go through three phases:
//!
//! - **head**: from the accept (over TLS, the handshake included) or from the first byte after
//!   an idle period, the whole head must arrive within the head timeout;
//! - **busy**: from the head read until the answer is taken, no deadline: a slow handler is
//!   waited for;
//! - **idle**: from then, the connection is closed once the idle timeout passes with no byte
//!   received and no byte of the answer taken by the socket (an answer being read, however
//!   slowly, keeps its connection; one left unread for the idle timeout does not).
//!
//! A deadline is enforced only while the socket has nothing to give or take (a read or write
//! is pending): the pending call then fails with [`io::ErrorKind::TimedOut`], which ends the
//! connection, as hyper's own timer does, without an answer.
//!
//! The socket sees bytes, not requests: the start of a pipelined request that came in with
//! the one before it is already read when that one's answer is taken, so its head is given
//! the idle deadline, no longer than any idle connection is kept.

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU8, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use hyper::body::{Body, Frame, SizeHint};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::time::{Instant, Sleep};

/// How long a connection may wait in each phase.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Timeouts {
    /// For a request's whole head, from the accept or the head's first byte.
    pub(crate) head: Duration,
    /// Between an answer taken by the socket and the next request's first byte.
    pub(crate) idle: Duration,
}

/// What the service side of a connection last told its socket; shared by the two, cheap to
/// clone.
#[derive(Clone, Debug, Default)]
pub(crate) struct Progress(Arc<AtomicU8>);

/// Nothing new since the socket last looked.
const NOTHING: u8 = 0;
/// A request's head has been read and handed to the service.
const REQUEST_READ: u8 = 1;
/// Hyper has taken the whole answer (it may still be writing it).
const ANSWER_TAKEN: u8 = 2;

impl Progress {
    /// A request's head has been read: no deadline until its answer is taken.
    pub(crate) fn request_read(&self) {
        self.0.store(REQUEST_READ, Ordering::Relaxed);
    }

    fn answer_taken(&self) {
        self.0.store(ANSWER_TAKEN, Ordering::Relaxed);
    }

    /// The latest news, once. The service and the socket are polled by the same task, so
    /// relaxed ordering is enough (the task's own polls are ordered).
    fn take(&self) -> u8 {
        // A load first: most socket calls have no news, and a swap is a locked instruction.
        if self.0.load(Ordering::Relaxed) == NOTHING {
            NOTHING
        } else {
            self.0.swap(NOTHING, Ordering::Relaxed)
        }
    }
}

/// Where a connection is, and the deadline of that phase.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Phase {
    Head { until: Instant },
    Busy,
    Idle { until: Instant },
}

/// A connection's socket that fails its pending reads and writes once the deadline of the
/// connection's phase has passed.
#[derive(Debug)]
pub(crate) struct TimedStream<S> {
    io: S,
    progress: Progress,
    timeouts: Timeouts,
    phase: Phase,
    /// The last write or flush was pending: the answer waits for the client to read it.
    write_blocked: bool,
    /// Set for the phase's deadline or an earlier one.
    sleep: Pin<Box<Sleep>>,
}

impl<S> TimedStream<S> {
    /// `io`, just accepted: its first head is due within `timeouts.head`.
    pub(crate) fn new(io: S, timeouts: Timeouts, progress: Progress) -> Self {
        let until = Instant::now() + timeouts.head;
        Self {
            io,
            progress,
            timeouts,
            phase: Phase::Head { until },
            write_blocked: false,
            sleep: Box::pin(tokio::time::sleep_until(until)),
        }
    }

    /// Catches up with what the service said since the last call. A connection that becomes
    /// idle has its deadline armed at once: hyper may not touch the socket again until the
    /// client sends something.
    fn follow_progress(&mut self, cx: &mut Context<'_>) {
        match self.progress.take() {
            REQUEST_READ => self.phase = Phase::Busy,
            ANSWER_TAKEN => {
                self.become_idle();
                let _ = self.expired(cx);
            }
            _ => {}
        }
    }

    fn become_idle(&mut self) {
        self.phase = Phase::Idle {
            until: Instant::now() + self.timeouts.idle,
        };
    }

    /// Bytes came in: on an idle connection they start the next request's head.
    fn received(&mut self) {
        if let Phase::Idle { .. } = self.phase {
            self.phase = Phase::Head {
                until: Instant::now() + self.timeouts.head,
            };
        }
    }

    /// The socket took bytes after making the answer wait: the client is reading it, so an
    /// idle connection's deadline starts again.
    fn sent(&mut self) {
        if std::mem::take(&mut self.write_blocked) && matches!(self.phase, Phase::Idle { .. }) {
            self.become_idle();
        }
    }

    /// Whether the phase's deadline has passed; if not, the task is woken by then (or
    /// earlier: the sleep is moved later only once it fires, so that a connection answering
    /// request after request seldom touches the timer).
    fn expired(&mut self, cx: &mut Context<'_>) -> bool {
        let until = match self.phase {
            Phase::Head { until } | Phase::Idle { until } => until,
            Phase::Busy => return false,
        };
        if self.sleep.deadline() > until {
            self.sleep.as_mut().reset(until);
        }
        while self.sleep.as_mut().poll(cx).is_ready() {
            if self.sleep.deadline() == until || Instant::now() >= until {
                return true;
            }
            self.sleep.as_mut().reset(until);
        }
        false
    }

    /// For a call the socket left pending: `TimedOut` once the phase's deadline has passed,
    /// otherwise pending.
    fn wait<T>(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<T>> {
        if !self.expired(cx) {
            return Poll::Pending;
        }
        let phase = match self.phase {
            Phase::Head { .. } => "request head",
            _ => "idle keep-alive",
        };
        Poll::Ready(Err(io::Error::new(
            io::ErrorKind::TimedOut,
            format!("{phase} timeout"),
        )))
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for TimedStream<S> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        this.follow_progress(cx);
        let before = buf.filled().len();
        match Pin::new(&mut this.io).poll_read(cx, buf) {
            Poll::Pending => this.wait(cx),
            Poll::Ready(Ok(())) => {
                if buf.filled().len() > before {
                    this.received();
                }
                Poll::Ready(Ok(()))
            }
            Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
        }
    }
}

impl<S: AsyncWrite + Unpin> TimedStream<S> {
    /// A write or flush of the socket, with the deadlines applied.
    fn write_with<T>(
        &mut self,
        cx: &mut Context<'_>,
        write: impl FnOnce(Pin<&mut S>, &mut Context<'_>) -> Poll<io::Result<T>>,
    ) -> Poll<io::Result<T>> {
        self.follow_progress(cx);
        match write(Pin::new(&mut self.io), cx) {
            Poll::Pending => {
                self.write_blocked = true;
                self.wait(cx)
            }
            Poll::Ready(written) => {
                self.sent();
                Poll::Ready(written)
            }
        }
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for TimedStream<S> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.get_mut()
            .write_with(cx, |io, cx| io.poll_write(cx, buf))
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        self.get_mut()
            .write_with(cx, |io, cx| io.poll_write_vectored(cx, bufs))
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.get_mut().write_with(cx, |io, cx| io.poll_flush(cx))
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_shutdown(cx)
    }
}

/// An answer's body that tells the connection's socket, once hyper drops it, that the answer
/// has been taken whole (hyper drops a body at its end, or at once when there is none to send,
/// as for `HEAD` and 304).
#[derive(Debug)]
pub(crate) struct AnswerBody<B> {
    body: B,
    progress: Progress,
}

impl<B> AnswerBody<B> {
    /// `body`, reporting to `progress`.
    pub(crate) fn new(body: B, progress: Progress) -> Self {
        Self { body, progress }
    }
}

impl<B> Drop for AnswerBody<B> {
    fn drop(&mut self) {
        self.progress.answer_taken();
    }
}

impl<B: Body<Data = Bytes> + Unpin> Body for AnswerBody<B> {
    type Data = Bytes;
    type Error = B::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, B::Error>>> {
        Pin::new(&mut self.get_mut().body).poll_frame(cx)
    }

    // Forwarded so that hyper still sees a body's length (`Content-Length`) and its end.
    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}
