//! The accept loop of `serve`: each connection served by hyper (over TLS when configured) within
//! the limits a hostile client cannot cross (SPEC §10), and drained on shutdown.

use std::convert::Infallible;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::{Service, service_fn};
use hyper_util::rt::TokioIo;
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio_rustls::TlsAcceptor;

use super::idle::{AnswerBody, Progress, TimedStream, Timeouts};

/// How long a client has to send a request's whole head: on a new connection from its accept
/// (over TLS, the handshake included), on a kept-alive one from the head's first byte. A slower
/// client is dropped.
pub(crate) const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a kept-alive connection may wait for its next request once an answer has been
/// written: then it is closed.
pub(crate) const IDLE_TIMEOUT: Duration = Duration::from_secs(60);
/// The deadlines `serve` keeps.
pub(crate) const TIMEOUTS: Timeouts = Timeouts {
    head: HEADER_READ_TIMEOUT,
    idle: IDLE_TIMEOUT,
};
/// The largest request head (request line and headers) read; a larger one is answered 431.
pub(crate) const MAX_HEADER_BYTES: usize = 16 * 1024;

/// What the accept loop needs besides the router.
pub(crate) struct Listening {
    /// The bound listener.
    pub(crate) listener: TcpListener,
    /// The most connections served at once; the next ones wait to be accepted.
    pub(crate) max_connections: usize,
    /// TLS, when `DIRCACHE_TLS_CERT` and `DIRCACHE_TLS_KEY` are set.
    pub(crate) tls: Option<TlsAcceptor>,
    /// The head and idle deadlines of every connection ([`TIMEOUTS`] but in tests).
    pub(crate) timeouts: Timeouts,
}

impl std::fmt::Debug for Listening {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Listening")
            .field("listener", &self.listener)
            .field("max_connections", &self.max_connections)
            .field("tls", &self.tls.is_some())
            .field("timeouts", &self.timeouts)
            .finish()
    }
}

/// Serves `router` on every connection accepted until `shutdown` resolves, then lets the
/// requests in flight finish (idle keep-alive connections are closed) and returns.
///
/// At most `max_connections` connections are open at once: beyond that, new connections are
/// not accepted until one closes, so they wait in the listen backlog (and the kernel refuses
/// them once it is full) rather than being accepted and dropped.
pub(crate) async fn serve(
    listening: Listening,
    router: Router,
    shutdown: impl Future<Output = ()>,
) {
    let Listening {
        listener,
        max_connections,
        tls,
        timeouts,
    } = listening;
    let permits = Arc::new(Semaphore::new(max_connections));
    let graceful = GracefulShutdown::new();
    let mut http = http1::Builder::new();
    // Hyper's header timer would also run while a connection is idle, so it is off (and hyper
    // then needs no timer): the socket keeps both deadlines instead (`idle.rs`).
    http.header_read_timeout(None)
        .max_buf_size(MAX_HEADER_BYTES)
        .keep_alive(true);
    let http = Arc::new(http);
    tokio::pin!(shutdown);
    loop {
        let accepted = tokio::select! {
            () = &mut shutdown => break,
            accepted = accept(&listener, &permits) => accepted,
        };
        let Some((stream, permit)) = accepted else {
            continue;
        };
        let router = router.clone();
        let http = Arc::clone(&http);
        let watcher = graceful.watcher();
        let tls = tls.clone();
        tokio::spawn(async move {
            let progress = Progress::default();
            // Below TLS, so that the handshake counts in the first head's time.
            let stream = TimedStream::new(stream, timeouts, progress.clone());
            match tls {
                None => serve_connection(&http, watcher, stream, router, progress).await,
                Some(acceptor) => match acceptor.accept(stream).await {
                    Ok(stream) => serve_connection(&http, watcher, stream, router, progress).await,
                    Err(e) => tracing::debug!(error = %e, "TLS handshake failed"),
                },
            }
            drop(permit);
        });
    }
    drop(listener);
    graceful.shutdown().await;
}

/// The next connection, once a connection permit is free; `None` when accepting failed (the
/// error is logged, and the loop goes on: running out of file descriptors is temporary).
async fn accept(
    listener: &TcpListener,
    permits: &Arc<Semaphore>,
) -> Option<(tokio::net::TcpStream, tokio::sync::OwnedSemaphorePermit)> {
    let permit = Arc::clone(permits)
        .acquire_owned()
        .await
        .expect("the semaphore is never closed");
    match listener.accept().await {
        Ok((stream, _)) => {
            // Answers are written whole: no reason to wait for more bytes before sending.
            let _ = stream.set_nodelay(true);
            Some((stream, permit))
        }
        Err(e) => {
            tracing::warn!(error = %e, "cannot accept a connection");
            tokio::time::sleep(Duration::from_millis(50)).await;
            None
        }
    }
}

/// Serves one connection until it closes (or the server shuts down), telling its socket's
/// deadlines (through `progress`) when each request is read and when its answer is taken.
async fn serve_connection<S>(
    http: &http1::Builder,
    watcher: hyper_util::server::graceful::Watcher,
    stream: S,
    router: Router,
    progress: Progress,
) where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let router = TowerToHyperService::new(router);
    let service = service_fn(move |request: hyper::Request<Incoming>| {
        progress.request_read();
        let answer = router.call(request);
        let progress = progress.clone();
        async move {
            let response = answer.await?;
            Ok::<_, Infallible>(response.map(|body| AnswerBody::new(body, progress)))
        }
    });
    let connection = http.serve_connection(TokioIo::new(stream), service);
    if let Err(e) = watcher.watch(connection).await {
        // A client that goes away, or misses a deadline mid-request, ends here.
        tracing::debug!(error = %e, "connection ended with an error");
    }
}

#[cfg(test)]
mod tests;
