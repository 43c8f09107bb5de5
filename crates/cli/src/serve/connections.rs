//! The accept loop of `serve`: each connection served by hyper (over TLS when configured) within
//! the limits a hostile client cannot cross (SPEC §10), and drained on shutdown.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio_rustls::TlsAcceptor;

/// How long a client has to send a request's head (and, over TLS, to finish the handshake)
/// once the connection is open or idle: a slower client is dropped.
pub(crate) const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);
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
}

impl std::fmt::Debug for Listening {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Listening")
            .field("listener", &self.listener)
            .field("max_connections", &self.max_connections)
            .field("tls", &self.tls.is_some())
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
    } = listening;
    let permits = Arc::new(Semaphore::new(max_connections));
    let graceful = GracefulShutdown::new();
    let mut http = http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(HEADER_READ_TIMEOUT)
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
        let service = TowerToHyperService::new(router.clone());
        let http = Arc::clone(&http);
        let watcher = graceful.watcher();
        let tls = tls.clone();
        tokio::spawn(async move {
            match tls {
                None => serve_connection(&http, watcher, stream, service).await,
                Some(acceptor) => {
                    match tokio::time::timeout(HEADER_READ_TIMEOUT, acceptor.accept(stream)).await {
                        Ok(Ok(stream)) => serve_connection(&http, watcher, stream, service).await,
                        Ok(Err(e)) => tracing::debug!(error = %e, "TLS handshake failed"),
                        Err(_) => tracing::debug!("TLS handshake timed out"),
                    }
                }
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

/// Serves one connection until it closes (or the server shuts down).
async fn serve_connection<S>(
    http: &http1::Builder,
    watcher: hyper_util::server::graceful::Watcher,
    stream: S,
    service: TowerToHyperService<Router>,
) where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let connection = http.serve_connection(TokioIo::new(stream), service);
    if let Err(e) = watcher.watch(connection).await {
        // A client that goes away, or is too slow with its head, ends here.
        tracing::debug!(error = %e, "connection ended with an error");
    }
}
