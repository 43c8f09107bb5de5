//! `Connection`: one HTTP/1.1 keep-alive connection to a local server, the client of the serve
//! benches.

use std::net::SocketAddr;

use bytes::Bytes;
use http_body_util::{BodyExt, Empty};
use hyper::body::Incoming;
use hyper::client::conn::http1::SendRequest;
use hyper::header::{ACCEPT_ENCODING, HOST, HeaderValue};
use hyper::{HeaderMap, Request, Response, StatusCode, Uri};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

use crate::Error;

/// An open connection, sending one request at a time, as a keep-alive client does.
///
/// Bare hyper rather than a client with a pool and redirects: the load generator shares the
/// machine's cores with the server it measures, so every cycle it spends is one the server
/// does not get.
#[derive(Debug)]
pub struct Connection {
    addr: SocketAddr,
    host: HeaderValue,
    accept_encoding: Option<HeaderValue>,
    sender: SendRequest<Empty<Bytes>>,
}

/// A whole answer.
#[derive(Debug)]
pub struct Answer {
    /// Its status.
    pub status: StatusCode,
    /// Its headers.
    pub headers: HeaderMap,
    /// Its body.
    pub body: Bytes,
}

/// An answer whose body was counted, not kept.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Counted {
    /// Its status.
    pub status: StatusCode,
    /// The length of its body.
    pub body_len: usize,
}

impl Connection {
    /// Connects to `addr` (with `TCP_NODELAY`, as servers and their clients set it) on the
    /// current tokio runtime, which drives the connection from then on.
    pub async fn open(addr: SocketAddr) -> Result<Connection, Error> {
        let failed = |source: Box<dyn std::error::Error + Send + Sync>| Error::Http {
            addr,
            path: String::new(),
            source,
        };
        let stream = TcpStream::connect(addr)
            .await
            .map_err(|e| failed(e.into()))?;
        stream.set_nodelay(true).map_err(|e| failed(e.into()))?;
        let (sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .map_err(|e| failed(e.into()))?;
        // It ends when `sender` is dropped or the server closes the connection; an error then
        // shows in the request that meets it.
        tokio::spawn(connection);
        let host = HeaderValue::try_from(addr.to_string()).expect("an address is a valid Host");
        Ok(Connection {
            addr,
            host,
            accept_encoding: None,
            sender,
        })
    }

    /// This connection, sending `Accept-Encoding: <coding>` with every request.
    #[must_use]
    pub fn accepting(mut self, coding: Option<&'static str>) -> Connection {
        self.accept_encoding = coding.map(HeaderValue::from_static);
        self
    }

    /// The server's address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `GET path`, its whole answer.
    pub async fn get(&mut self, path: &str) -> Result<Answer, Error> {
        let uri = self.uri(path)?;
        let response = self.send(&uri).await?;
        let (parts, body) = response.into_parts();
        let body = body
            .collect()
            .await
            .map_err(|source| self.failed(&uri, source))?
            .to_bytes();
        Ok(Answer {
            status: parts.status,
            headers: parts.headers,
            body,
        })
    }

    /// `GET uri` (a path and query), its status and body length: the body is read to the end
    /// and dropped piece by piece, never gathered.
    pub async fn get_counted(&mut self, uri: &Uri) -> Result<Counted, Error> {
        let response = self.send(uri).await?;
        let status = response.status();
        let mut body = response.into_body();
        let mut body_len = 0;
        while let Some(frame) = body.frame().await {
            let frame = frame.map_err(|source| self.failed(uri, source))?;
            body_len += frame.data_ref().map_or(0, Bytes::len);
        }
        Ok(Counted { status, body_len })
    }

    /// `path` as a request target, or an error naming it.
    pub fn uri(&self, path: &str) -> Result<Uri, Error> {
        path.parse()
            .map_err(|source: hyper::http::uri::InvalidUri| Error::Http {
                addr: self.addr,
                path: path.to_owned(),
                source: source.into(),
            })
    }

    async fn send(&mut self, uri: &Uri) -> Result<Response<Incoming>, Error> {
        self.sender
            .ready()
            .await
            .map_err(|source| self.failed(uri, source))?;
        let mut request = Request::new(Empty::new());
        *request.uri_mut() = uri.clone();
        request.headers_mut().insert(HOST, self.host.clone());
        if let Some(coding) = &self.accept_encoding {
            request
                .headers_mut()
                .insert(ACCEPT_ENCODING, coding.clone());
        }
        self.sender
            .send_request(request)
            .await
            .map_err(|source| self.failed(uri, source))
    }

    fn failed(&self, uri: &Uri, source: hyper::Error) -> Error {
        Error::Http {
            addr: self.addr,
            path: uri.to_string(),
            source: source.into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use axum::http::header::CONTENT_TYPE;

    use super::*;
    use crate::static_app::serve_in_process;

    #[tokio::test]
    async fn answers_are_read_whole_or_counted_on_one_kept_alive_connection() {
        let body = Bytes::from_static(br#"{"entries":[]}"#);
        let addr = serve_in_process(body.clone()).await;
        let mut connection = Connection::open(addr).await.unwrap();

        let answer = connection.get("/v1/directories/a").await.unwrap();
        assert_eq!(answer.status, StatusCode::OK);
        assert_eq!(answer.headers[CONTENT_TYPE], "application/json");
        assert_eq!(answer.body, body);

        let uri = connection.uri("/v1/directories/b").unwrap();
        for _ in 0..3 {
            let counted = connection.get_counted(&uri).await.unwrap();
            assert_eq!(
                counted,
                Counted {
                    status: StatusCode::OK,
                    body_len: body.len()
                }
            );
        }
        let missing = connection.uri("/elsewhere").unwrap();
        let counted = connection.get_counted(&missing).await.unwrap();
        assert_eq!(counted.status, StatusCode::NOT_FOUND);
    }

    #[tokio::test]
    async fn a_server_that_is_not_there_is_an_error_naming_it() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        drop(listener);
        let err = Connection::open(addr).await.unwrap_err();
        assert!(err.to_string().contains(&addr.to_string()), "{err}");
    }
}
