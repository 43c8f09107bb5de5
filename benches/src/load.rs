//! `Load`: the load generator of `serve_hit`, a fixed number of keep-alive connections asking
//! for one path as fast as it is answered, for a fixed time.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use hyper::{StatusCode, Uri};
use tokio::task::JoinSet;

use crate::{Connection, Error};

/// Answers counted in a measured time.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Throughput {
    /// Answers completed (status 200, whole body of the expected length).
    pub answers: u64,
    /// The time they were counted in.
    pub elapsed: Duration,
}

impl Throughput {
    /// Answers per second.
    pub fn per_second(&self) -> f64 {
        self.answers as f64 / self.elapsed.as_secs_f64()
    }
}

/// Keep-alive connections to one server, each asking for one path with one request in flight
/// at a time, whenever [`Load::run`] puts them to work. They stay open between runs, so that
/// servers can take turns many times without paying for new connections each time.
#[derive(Debug)]
pub struct Load {
    addr: SocketAddr,
    uri: Uri,
    body_len: usize,
    connections: Vec<Connection>,
}

impl Load {
    /// Opens `connections` connections to `addr` (from the current tokio runtime) that will
    /// ask for `GET path`.
    ///
    /// Every answer must be 200 with a body of `body_len` bytes: anything else stops a run with
    /// an error, so an error page served fast is never counted as throughput.
    pub async fn open(
        addr: SocketAddr,
        path: &str,
        body_len: usize,
        connections: usize,
    ) -> Result<Load, Error> {
        Self::open_accepting(addr, path, body_len, connections, None).await
    }

    /// [`Load::open`], every request sending `Accept-Encoding: <coding>` when one is given
    /// (`body_len` is then the length of the encoded body).
    pub async fn open_accepting(
        addr: SocketAddr,
        path: &str,
        body_len: usize,
        connections: usize,
        coding: Option<&'static str>,
    ) -> Result<Load, Error> {
        let mut opened = Vec::with_capacity(connections);
        for _ in 0..connections {
            opened.push(Connection::open(addr).await?.accepting(coding));
        }
        let uri = match opened.first() {
            Some(connection) => connection.uri(path)?,
            None => Uri::default(),
        };
        Ok(Load {
            addr,
            uri,
            body_len,
            connections: opened,
        })
    }

    /// Puts every connection to work for `warm_up` then `measure`, and counts the answers
    /// completed in `measure`.
    pub async fn run(&mut self, warm_up: Duration, measure: Duration) -> Result<Throughput, Error> {
        let answered = Arc::new(AtomicU64::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let mut working = JoinSet::new();
        for mut connection in self.connections.drain(..) {
            let (answered, stop) = (Arc::clone(&answered), Arc::clone(&stop));
            let (addr, uri, body_len) = (self.addr, self.uri.clone(), self.body_len);
            working.spawn(async move {
                while !stop.load(Ordering::Relaxed) {
                    let counted = connection.get_counted(&uri).await?;
                    if counted.status != StatusCode::OK || counted.body_len != body_len {
                        return Err(Error::Answer {
                            addr,
                            path: uri.to_string(),
                            reason: format!(
                                "{} with {} bytes, where 200 with {body_len} bytes was expected",
                                counted.status, counted.body_len
                            ),
                        });
                    }
                    answered.fetch_add(1, Ordering::Relaxed);
                }
                Ok(connection)
            });
        }
        tokio::time::sleep(warm_up).await;
        let (started, before) = (Instant::now(), answered.load(Ordering::Relaxed));
        tokio::time::sleep(measure).await;
        let (elapsed, after) = (started.elapsed(), answered.load(Ordering::Relaxed));
        stop.store(true, Ordering::Relaxed);
        while let Some(finished) = working.join_next().await {
            let connection = finished.map_err(|source| Error::Load { source })??;
            self.connections.push(connection);
        }
        Ok(Throughput {
            answers: after - before,
            elapsed,
        })
    }
}

#[cfg(test)]
mod tests {
    use bytes::Bytes;

    use super::*;
    use crate::static_app::serve_in_process;

    const WARM_UP: Duration = Duration::from_millis(50);
    const MEASURE: Duration = Duration::from_millis(200);

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn answers_are_counted_in_the_measured_time_only_on_connections_kept_open() {
        let body = Bytes::from(vec![b'x'; 10_000]);
        let addr = serve_in_process(body.clone()).await;
        let mut load = Load::open(addr, "/v1/directories/d", body.len(), 4)
            .await
            .unwrap();
        for _ in 0..2 {
            let throughput = load.run(WARM_UP, MEASURE).await.unwrap();
            assert!(throughput.answers > 0, "{throughput:?}");
            assert!(throughput.elapsed >= MEASURE, "{throughput:?}");
            assert!(throughput.elapsed < MEASURE * 5, "{throughput:?}");
            assert_eq!(load.connections.len(), 4);
        }
        let rate = Throughput {
            answers: 300,
            elapsed: Duration::from_millis(200),
        };
        assert_eq!(rate.per_second(), 1500.0);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn an_answer_of_another_length_or_status_stops_the_run() {
        let addr = serve_in_process(Bytes::from_static(b"short")).await;
        let mut load = Load::open(addr, "/v1/directories/d", 6, 2).await.unwrap();
        let err = load.run(WARM_UP, MEASURE).await.unwrap_err();
        assert!(err.to_string().contains("200 OK with 5 bytes"), "{err}");
        let mut load = Load::open(addr, "/nowhere", 5, 2).await.unwrap();
        let err = load.run(WARM_UP, MEASURE).await.unwrap_err();
        assert!(err.to_string().contains("404 Not Found"), "{err}");
    }
}
