//! `dircache serve`: the HTTP sidecar, its router and its lifecycle (listen, serve, drain on
//! SIGTERM/SIGINT, flush the audit log).

mod access_log;
mod auth;
mod body_limit;
mod connections;
mod entries;
mod error;
mod idle;
mod negotiation;
mod routes;
mod shutdown;
mod tls;

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::routing::{get, post};
use cache_core::DirectoryCache;
use metrics_exporter_prometheus::PrometheusHandle;
use secrecy::SecretString;
use tokio::net::TcpListener;
use tower::layer::layer_fn;

use crate::app::{App, spawn_metrics_upkeep};
use crate::config::Config;
use crate::directories::DirectoriesReport;
use crate::failure::Failure;
use auth::AdminAuth;
pub(crate) use shutdown::ShutdownSignal;

/// What every handler shares; cheap to clone.
#[derive(Clone, Debug)]
pub(crate) struct ServeState {
    shared: Arc<Shared>,
}

#[derive(Debug)]
struct Shared {
    cache: DirectoryCache,
    metrics: PrometheusHandle,
    admin: AdminAuth,
    backend: &'static str,
    instance_id: String,
    directories: Arc<DirectoriesReport>,
}

impl ServeState {
    /// The state for serving `app`, with mutating requests guarded by `admin_token`.
    pub(crate) fn new(app: &App, admin_token: Option<SecretString>) -> Self {
        Self {
            shared: Arc::new(Shared {
                cache: app.cache.clone(),
                metrics: app.metrics.clone(),
                admin: AdminAuth::new(admin_token),
                backend: app.backend_name,
                instance_id: app.instance_id.clone(),
                directories: Arc::clone(&app.directories),
            }),
        }
    }

    fn cache(&self) -> &DirectoryCache {
        &self.shared.cache
    }

    fn metrics(&self) -> &PrometheusHandle {
        &self.shared.metrics
    }

    fn admin(&self) -> &AdminAuth {
        &self.shared.admin
    }

    fn backend(&self) -> &'static str {
        self.shared.backend
    }

    fn instance_id(&self) -> &str {
        &self.shared.instance_id
    }

    fn directories(&self) -> &DirectoriesReport {
        &self.shared.directories
    }
}

/// Every route of the API, with the request log.
pub(crate) fn router(state: ServeState) -> Router {
    Router::new()
        .route(
            "/v1/directories/{id}",
            get(routes::get_directory).delete(routes::invalidate),
        )
        .route("/v1/directories/{id}/verify", post(routes::verify))
        .route("/v1/directories", get(routes::directories))
        .route("/v1/directories/{id}/entries", get(entries::find))
        .route(
            "/v1/directories/{id}/entries/{entry_id}",
            get(entries::entry),
        )
        .route("/v1/stats", get(routes::stats))
        .route("/metrics", get(routes::metrics))
        .route("/healthz", get(routes::healthz))
        .route("/readyz", get(routes::readyz))
        .fallback(routes::no_route)
        .method_not_allowed_fallback(routes::method_not_allowed)
        .layer(layer_fn(body_limit::BodyLimit::new))
        .layer(layer_fn(access_log::AccessLog::new))
        .with_state(state)
}

/// Binds `addr`; failing to is an operation failure (the address is in use, say), not a
/// configuration error.
pub(crate) async fn bind(addr: SocketAddr) -> Result<(TcpListener, SocketAddr), Failure> {
    let listener = TcpListener::bind(addr)
        .await
        .map_err(|e| Failure::Failed(format!("cannot listen on {addr}: {e}")))?;
    let local = listener
        .local_addr()
        .map_err(|e| Failure::Failed(format!("cannot read the listening address: {e}")))?;
    Ok((listener, local))
}

/// Runs the sidecar until SIGTERM or SIGINT, then drains requests in flight and flushes the
/// audit log.
pub(crate) async fn run(config: &Config) -> Result<(), Failure> {
    // A bad TLS pair is a configuration error, found before anything else is started.
    let tls = config.edge.tls.as_ref().map(tls::acceptor).transpose()?;
    let app = App::build(config).await?;
    let signal = ShutdownSignal::install()
        .map_err(|e| Failure::Failed(format!("cannot listen for signals: {e}")))?;
    let (listener, addr) = bind(config.listen.value).await?;
    let upkeep = spawn_metrics_upkeep(app.metrics.clone());
    if config.admin_token.is_none() {
        tracing::warn!(
            "no admin token configured: DELETE and verify requests will be refused with 401"
        );
    }
    let state = ServeState::new(&app, config.admin_token.clone());
    // Scripts and tests read the port from this line, so it goes to stdout, flushed.
    let scheme = if tls.is_some() { "https" } else { "http" };
    println!("dircache listening on {scheme}://{addr}");
    tracing::info!(%addr, backend = app.backend_name, instance_id = %app.instance_id, "serving");
    let listening = connections::Listening {
        listener,
        max_connections: config.edge.max_connections,
        tls,
        timeouts: connections::TIMEOUTS,
    };
    connections::serve(listening, router(state), signal.received()).await;
    upkeep.abort();
    app.shutdown().await?;
    tracing::info!("stopped");
    Ok(())
}

#[cfg(test)]
mod tests;
