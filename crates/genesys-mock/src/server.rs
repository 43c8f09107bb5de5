//! The HTTP server: an OS thread with its own tokio runtime serving the router, stopped on drop.

use std::future::IntoFuture;
use std::io;
use std::net::SocketAddr;
use std::sync::{Arc, mpsc};
use std::thread::JoinHandle;

use axum::Router;
use axum::body::Body;
use axum::http::Response;
use axum::routing::{get, post};
use tokio::sync::oneshot;

use crate::response::{correlation_id, genesys_status};
use crate::state::Shared;

/// A running server; dropping it stops the server and closes its connections.
#[derive(Debug)]
pub(crate) struct Server {
    addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl Server {
    /// Binds `127.0.0.1:0` and serves `shared` until dropped.
    ///
    /// The runtime lives and dies on the server thread: it runs even when the caller has no
    /// runtime or a paused clock, and dropping it never happens inside the caller's runtime
    /// (which tokio forbids).
    pub(crate) fn spawn(shared: Arc<Shared>) -> io::Result<Self> {
        let listener = std::net::TcpListener::bind(("127.0.0.1", 0))?;
        listener.set_nonblocking(true)?;
        let addr = listener.local_addr()?;
        let (stop, stopped) = oneshot::channel::<()>();
        let (ready, started) = mpsc::channel::<io::Result<()>>();
        let thread = std::thread::Builder::new()
            .name(format!("genesys-mock-{}", addr.port()))
            .spawn(move || {
                let runtime = match tokio::runtime::Builder::new_current_thread()
                    .enable_io()
                    .enable_time()
                    .build()
                {
                    Ok(runtime) => runtime,
                    Err(error) => {
                        let _ = ready.send(Err(error));
                        return;
                    }
                };
                runtime.block_on(async move {
                    let listener = match tokio::net::TcpListener::from_std(listener) {
                        Ok(listener) => listener,
                        Err(error) => {
                            let _ = ready.send(Err(error));
                            return;
                        }
                    };
                    let _ = ready.send(Ok(()));
                    let serve = axum::serve(listener, router(shared)).into_future();
                    tokio::select! {
                        result = serve => {
                            if let Err(error) = result {
                                tracing::error!(%error, "genesys-mock server stopped");
                            }
                        }
                        _ = stopped => {}
                    }
                });
            })?;
        let mut server = Self {
            addr,
            stop: Some(stop),
            thread: Some(thread),
        };
        match started.recv() {
            Ok(Ok(())) => Ok(server),
            Ok(Err(error)) => Err(error),
            Err(_) => {
                server.thread.take().map(JoinHandle::join);
                Err(io::Error::other(
                    "genesys-mock server thread died while starting",
                ))
            }
        }
    }

    pub(crate) fn addr(&self) -> SocketAddr {
        self.addr
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn router(shared: Arc<Shared>) -> Router {
    let org = crate::sources::ROUTES
        .iter()
        .fold(Router::new(), |router, path| {
            router.route(path, get(crate::org_listing::listing))
        });
    org.route("/oauth/token", post(crate::auth::token))
        .route(
            "/api/v2/routing/directories/{directory_id}/entries",
            get(crate::listing::entries),
        )
        .fallback(not_found)
        .with_state(shared)
}

/// Any other path: upstream's 404, not counted as a directory or token request.
async fn not_found() -> Response<Body> {
    genesys_status(404, &correlation_id())
}
