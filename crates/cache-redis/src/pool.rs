//! The connection pool: bb8 over the redis crate's clients (one server or a cluster), a
//! deadline on every call, and broken connections taken out of the pool.
//!
//! The redis crate's own bb8 manager never reports a multiplexed connection as broken, so
//! after an outage a pool of them would keep handing out dead connections unless every
//! checkout sent a PING first (a round trip per call). [`Manager`] delegates connecting to
//! that manager and marks a connection broken when a call on it fails below the Redis protocol
//! (I/O, a dropped connection) or is abandoned at its deadline; bb8 then drops it, and the
//! next checkout connects again. That is how the backend recovers from an outage by itself.

use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use redis::aio::ConnectionLike;
use redis::cluster::ClusterClient;
use redis::cluster_routing::{RoutingInfo, SingleNodeRoutingInfo};
use redis::{Cmd, ErrorKind, FromRedisValue, Pipeline, RedisError, RedisFuture, Value};

use crate::error::RedisBackendError;

/// After a failed connection attempt, calls fail at once (rather than each waiting out its
/// deadline) for this long while the pool holds no connection at all.
const FAIL_FAST_FOR: Duration = Duration::from_secs(1);

/// A bb8 manager that wraps one of the redis crate's bb8 managers (`redis::Client`,
/// `ClusterClient`) and lets bb8 drop the connections a call found broken.
#[derive(Debug)]
pub(crate) struct Manager<C> {
    client: C,
}

/// A pooled connection and whether a call found it broken.
pub(crate) struct Tracked<T> {
    conn: T,
    broken: bool,
}

impl<C> bb8::ManageConnection for Manager<C>
where
    C: bb8::ManageConnection<Error = RedisError>,
{
    type Connection = Tracked<C::Connection>;
    type Error = RedisError;

    async fn connect(&self) -> Result<Self::Connection, Self::Error> {
        Ok(Tracked {
            conn: self.client.connect().await?,
            broken: false,
        })
    }

    async fn is_valid(&self, conn: &mut Self::Connection) -> Result<(), Self::Error> {
        self.client.is_valid(&mut conn.conn).await
    }

    fn has_broken(&self, conn: &mut Self::Connection) -> bool {
        conn.broken
    }
}

/// Whether an error means the connection itself can no longer be trusted (as opposed to an
/// error reply from a working server).
fn breaks_connection(error: &RedisError) -> bool {
    !matches!(error.kind(), ErrorKind::Server(_) | ErrorKind::Extension)
}

impl<T: ConnectionLike + Send> ConnectionLike for Tracked<T> {
    fn req_packed_command<'a>(&'a mut self, cmd: &'a Cmd) -> RedisFuture<'a, Value> {
        Box::pin(async move {
            // Pessimistic: if the call is abandoned at its deadline (the future dropped), the
            // connection stays marked, since a reply may still be on its way.
            self.broken = true;
            let result = self.conn.req_packed_command(cmd).await;
            self.broken = result.as_ref().is_err_and(breaks_connection);
            result
        })
    }

    fn req_packed_commands<'a>(
        &'a mut self,
        pipeline: &'a Pipeline,
        offset: usize,
        count: usize,
    ) -> RedisFuture<'a, Vec<Value>> {
        Box::pin(async move {
            self.broken = true;
            let result = self.conn.req_packed_commands(pipeline, offset, count).await;
            self.broken = result.as_ref().is_err_and(breaks_connection);
            result
        })
    }

    fn get_db(&self) -> i64 {
        self.conn.get_db()
    }
}

/// A connection checked out of the pool.
pub(crate) enum Conn<'a> {
    Standalone(bb8::PooledConnection<'a, Manager<redis::Client>>),
    Cluster(bb8::PooledConnection<'a, Manager<ClusterClient>>),
}

impl ConnectionLike for Conn<'_> {
    fn req_packed_command<'a>(&'a mut self, cmd: &'a Cmd) -> RedisFuture<'a, Value> {
        match self {
            Self::Standalone(conn) => conn.req_packed_command(cmd),
            Self::Cluster(conn) => conn.req_packed_command(cmd),
        }
    }

    fn req_packed_commands<'a>(
        &'a mut self,
        pipeline: &'a Pipeline,
        offset: usize,
        count: usize,
    ) -> RedisFuture<'a, Vec<Value>> {
        match self {
            Self::Standalone(conn) => conn.req_packed_commands(pipeline, offset, count),
            Self::Cluster(conn) => conn.req_packed_commands(pipeline, offset, count),
        }
    }

    fn get_db(&self) -> i64 {
        match self {
            Self::Standalone(conn) => conn.get_db(),
            Self::Cluster(conn) => conn.get_db(),
        }
    }
}

/// The pool of one server's or one cluster's connections.
#[derive(Clone)]
pub(crate) enum Pool {
    Standalone {
        pool: bb8::Pool<Manager<redis::Client>>,
        failures: ConnectFailures,
    },
    Cluster {
        pool: bb8::Pool<Manager<ClusterClient>>,
        failures: ConnectFailures,
    },
}

impl fmt::Debug for Pool {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (kind, state) = match self {
            Self::Standalone { pool, .. } => ("standalone", pool.state()),
            Self::Cluster { pool, .. } => ("cluster", pool.state()),
        };
        f.debug_struct("Pool")
            .field("kind", &kind)
            .field("connections", &state.connections)
            .field("idle_connections", &state.idle_connections)
            .finish()
    }
}

/// How the pool is sized and timed.
#[derive(Clone, Copy, Debug)]
pub(crate) struct PoolOptions {
    pub(crate) max_size: u32,
    pub(crate) command_timeout: Duration,
}

impl Pool {
    pub(crate) fn standalone(client: redis::Client, options: PoolOptions) -> Self {
        let failures = ConnectFailures::default();
        let pool = builder(options, &failures)
            .connection_customizer(Box::new(ResponseTimeout(options.command_timeout)))
            .build_unchecked(Manager { client });
        Self::Standalone { pool, failures }
    }

    pub(crate) fn cluster(client: ClusterClient, options: PoolOptions) -> Self {
        let failures = ConnectFailures::default();
        let pool = builder(options, &failures).build_unchecked(Manager { client });
        Self::Cluster { pool, failures }
    }

    /// Opens one connection, PINGs on it (a server that wants a password it was not given
    /// only says so on the first command), and adds it to the pool, so that a bad URL or
    /// refused credentials show at once.
    pub(crate) async fn connect_one(&self) -> Result<(), RedisError> {
        let ping = redis::cmd("PING");
        // A full pool (impossible this early) just drops the extra connection.
        match self {
            Self::Standalone { pool, .. } => {
                let mut conn = pool.dedicated_connection().await?;
                ping.query_async::<String>(&mut conn).await?;
                let _ = pool.add(conn);
            }
            Self::Cluster { pool, .. } => {
                let mut conn = pool.dedicated_connection().await?;
                ping.query_async::<String>(&mut conn).await?;
                let _ = pool.add(conn);
            }
        }
        Ok(())
    }

    pub(crate) fn is_cluster(&self) -> bool {
        matches!(self, Self::Cluster { .. })
    }

    /// A connection, or the reason none can be had now.
    async fn get(&self, operation: &'static str) -> Result<Conn<'_>, RedisBackendError> {
        let (failures, connections) = match self {
            Self::Standalone { pool, failures } => (failures, pool.state().connections),
            Self::Cluster { pool, failures } => (failures, pool.state().connections),
        };
        if connections == 0
            && let Some(reason) = failures.recent()
        {
            return Err(RedisBackendError::Unreachable { operation, reason });
        }
        let conn = match self {
            Self::Standalone { pool, .. } => pool.get().await.map(Conn::Standalone),
            Self::Cluster { pool, .. } => pool.get().await.map(Conn::Cluster),
        };
        conn.map_err(|e| match e {
            bb8::RunError::User(source) => RedisBackendError::Command { operation, source },
            bb8::RunError::TimedOut => RedisBackendError::Unreachable {
                operation,
                reason: failures
                    .recent()
                    .unwrap_or_else(|| "no connection could be had in time".to_owned()),
            },
        })
    }

    /// Runs `cmd` within `timeout`, connection checkout included.
    pub(crate) async fn query<T: FromRedisValue>(
        &self,
        operation: &'static str,
        timeout: Duration,
        cmd: &Cmd,
    ) -> Result<T, RedisBackendError> {
        self.on_connection(operation, timeout, async |conn| cmd.query_async(conn).await)
            .await
    }

    /// Runs a Lua script (EVALSHA, loading it on NOSCRIPT) within `timeout`.
    pub(crate) async fn invoke<T: FromRedisValue>(
        &self,
        operation: &'static str,
        timeout: Duration,
        invocation: &redis::ScriptInvocation<'_>,
    ) -> Result<T, RedisBackendError> {
        self.on_connection(operation, timeout, async |conn| {
            invocation.invoke_async(conn).await
        })
        .await
    }

    /// Checks a connection out and runs `call` on it, both within `timeout`.
    async fn on_connection<T>(
        &self,
        operation: &'static str,
        timeout: Duration,
        call: impl AsyncFnOnce(&mut Conn<'_>) -> redis::RedisResult<T>,
    ) -> Result<T, RedisBackendError> {
        let deadline = tokio::time::Instant::now() + timeout;
        within(operation, timeout, deadline, async {
            let mut conn = self.get(operation).await?;
            call(&mut conn)
                .await
                .map_err(|source| RedisBackendError::Command { operation, source })
        })
        .await
    }

    /// Runs `cmd` on the cluster node at `host:port` within `timeout` (for SCAN, which walks
    /// one node's keys). On a single server, runs it there.
    pub(crate) async fn query_node<T: FromRedisValue>(
        &self,
        operation: &'static str,
        timeout: Duration,
        node: Option<(&str, u16)>,
        cmd: &Cmd,
    ) -> Result<T, RedisBackendError> {
        let Some((host, port)) = node else {
            return self.query(operation, timeout, cmd).await;
        };
        let deadline = tokio::time::Instant::now() + timeout;
        within(operation, timeout, deadline, async {
            let Conn::Cluster(mut conn) = self.get(operation).await? else {
                return Err(RedisBackendError::Protocol {
                    operation,
                    reason: "a node was named on a single-server connection".to_owned(),
                });
            };
            let routing = RoutingInfo::SingleNode(SingleNodeRoutingInfo::ByAddress {
                host: host.to_owned(),
                port,
            });
            conn.broken = true;
            let result = conn.conn.route_command(cmd.clone(), routing).await;
            conn.broken = result.as_ref().is_err_and(breaks_connection);
            let value = result
                .and_then(|v| v.extract_error())
                .map_err(|source| RedisBackendError::Command { operation, source })?;
            redis::from_redis_value(value).map_err(|e| RedisBackendError::Command {
                operation,
                source: e.into(),
            })
        })
        .await
    }
}

fn builder<C>(options: PoolOptions, failures: &ConnectFailures) -> bb8::Builder<Manager<C>>
where
    C: bb8::ManageConnection<Error = RedisError>,
{
    bb8::Pool::builder()
        .max_size(options.max_size)
        // Connections are checked by the calls themselves (see `Tracked`), not by a PING
        // before each call.
        .test_on_check_out(false)
        .connection_timeout(options.command_timeout)
        .error_sink(Box::new(failures.clone()))
}

async fn within<T>(
    operation: &'static str,
    timeout: Duration,
    deadline: tokio::time::Instant,
    call: impl Future<Output = Result<T, RedisBackendError>>,
) -> Result<T, RedisBackendError> {
    tokio::time::timeout_at(deadline, call)
        .await
        .unwrap_or(Err(RedisBackendError::TimedOut {
            operation,
            after: timeout,
        }))
}

/// Gives each new server connection the command timeout as its response timeout, instead of
/// the redis crate's default (500 ms), which would cut longer configured timeouts short. The
/// cluster client is given it by its builder.
#[derive(Debug)]
struct ResponseTimeout(Duration);

impl bb8::CustomizeConnection<Tracked<redis::aio::MultiplexedConnection>, RedisError>
    for ResponseTimeout
{
    fn on_acquire<'a>(
        &'a self,
        connection: &'a mut Tracked<redis::aio::MultiplexedConnection>,
    ) -> std::pin::Pin<Box<dyn Future<Output = Result<(), RedisError>> + Send + 'a>> {
        connection.conn.set_response_timeout(self.0);
        Box::pin(async { Ok(()) })
    }
}

/// The last failed connection attempt, kept to fail fast and to say why in errors.
#[derive(Clone, Debug, Default)]
pub(crate) struct ConnectFailures {
    last: Arc<Mutex<Option<(Instant, String)>>>,
}

impl ConnectFailures {
    /// Why the last connection attempt failed, if it failed within [`FAIL_FAST_FOR`].
    fn recent(&self) -> Option<String> {
        let last = self.last.lock().unwrap_or_else(|e| e.into_inner());
        last.as_ref()
            .filter(|(at, _)| at.elapsed() < FAIL_FAST_FOR)
            .map(|(_, reason)| reason.clone())
    }
}

impl bb8::ErrorSink<RedisError> for ConnectFailures {
    fn sink(&self, error: RedisError) {
        // The redis crate's messages name the address, never the password.
        let reason = format!("connecting failed: {error}");
        tracing::debug!(%reason, "redis connection attempt failed");
        *self.last.lock().unwrap_or_else(|e| e.into_inner()) = Some((Instant::now(), reason));
    }

    fn boxed_clone(&self) -> Box<dyn bb8::ErrorSink<RedisError>> {
        Box::new(self.clone())
    }
}
