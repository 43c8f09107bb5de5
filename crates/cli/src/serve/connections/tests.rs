//! The accept loop's deadlines against real sockets, with short timeouts: a head is due within
//! the head timeout of a connection's accept or of its first byte, an idle connection lives
//! until the idle timeout, and a request in progress is cut by neither.

use std::net::SocketAddr;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use axum::routing::get;
use bytes::Bytes;
use rustls::crypto::ring;
use rustls_pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer, ServerName};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use super::*;

const HEAD: Duration = Duration::from_millis(300);
const IDLE: Duration = Duration::from_millis(2500);
/// What `/slow` takes: longer than either timeout.
const SLOW: Duration = Duration::from_millis(3000);
/// The size of `/large`: more than the socket buffers of both ends can hold (at most 4 MiB
/// sent and 32 MiB received here), so that its writes wait for the client to read.
const LARGE: usize = 48 * 1024 * 1024;
/// How late a close may come on a busy machine and still count as "at the deadline": less
/// than the idle timeout, so that a head closed in time is told from an idle close.
const LATE: Duration = Duration::from_millis(1200);

/// The body of `/large`, made once for every test that asks for it.
fn large_body() -> Bytes {
    static BODY: OnceLock<Bytes> = OnceLock::new();
    BODY.get_or_init(|| Bytes::from(vec![b'x'; LARGE])).clone()
}

/// The accept loop on 127.0.0.1 with the test timeouts, until dropped or stopped.
struct Server {
    addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    stopped: JoinHandle<()>,
}

impl Server {
    async fn start(tls: Option<TlsAcceptor>) -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let router = Router::new()
            .route("/quick", get(|| async { "ok" }))
            .route(
                "/slow",
                get(|| async {
                    tokio::time::sleep(SLOW).await;
                    "slow"
                }),
            )
            .route("/large", get(|| async { large_body() }));
        let listening = Listening {
            listener,
            max_connections: 64,
            tls,
            timeouts: Timeouts {
                head: HEAD,
                idle: IDLE,
            },
        };
        let (stop, stopping) = oneshot::channel::<()>();
        let stopped = tokio::spawn(serve(listening, router, async {
            let _ = stopping.await;
        }));
        Server {
            addr,
            stop: Some(stop),
            stopped,
        }
    }

    async fn connect(&self) -> TcpStream {
        TcpStream::connect(self.addr).await.unwrap()
    }
}

/// The head of `GET path`, whole.
fn head_of(path: &str) -> String {
    format!("GET {path} HTTP/1.1\r\nHost: test\r\n\r\n")
}

/// A head cut short: the request line and one header, no end.
const PART_OF_A_HEAD: &str = "GET /quick HTTP/1.1\r\nHost: test\r\n";

async fn send<S: AsyncWrite + Unpin>(stream: &mut S, bytes: &str) {
    stream.write_all(bytes.as_bytes()).await.unwrap();
}

/// Sends `GET path` and reads its answer whole: the status and the body's length.
async fn get_on<S: AsyncRead + AsyncWrite + Unpin>(stream: &mut S, path: &str) -> (u16, usize) {
    send(stream, &head_of(path)).await;
    read_answer(stream, None).await
}

/// Reads one answer: its head, then as many body bytes as `Content-Length` says, in 1 MiB
/// reads `pause` apart when given.
async fn read_answer<S: AsyncRead + Unpin>(
    stream: &mut S,
    pause: Option<Duration>,
) -> (u16, usize) {
    let mut head = Vec::new();
    let mut byte = [0; 1];
    while !head.ends_with(b"\r\n\r\n") {
        let read = stream.read(&mut byte).await.unwrap();
        assert_eq!(read, 1, "closed in an answer's head: {head:?}");
        head.push(byte[0]);
    }
    let head = String::from_utf8(head).unwrap();
    let status = head[9..12].parse().unwrap();
    let length: usize = head
        .lines()
        .find_map(|line| {
            let (name, value) = line.split_once(':')?;
            name.eq_ignore_ascii_case("content-length")
                .then(|| value.trim().parse().unwrap())
        })
        .expect("the answer has a Content-Length");
    let mut chunk = vec![0; 1024 * 1024];
    let mut left = length;
    while left > 0 {
        let want = left.min(chunk.len());
        let read = stream.read(&mut chunk[..want]).await.unwrap();
        assert!(read > 0, "closed with {left} bytes of the body unread");
        left -= read;
        if let Some(pause) = pause {
            tokio::time::sleep(pause).await;
        }
    }
    (status, length)
}

/// Reads until the server closes the connection (an end of file or a reset) and returns when
/// that was, measured from `since`, with the bytes read meanwhile.
async fn closed<S: AsyncRead + Unpin>(stream: &mut S, since: Instant) -> (Duration, usize) {
    let mut bytes = 0;
    let mut chunk = vec![0; 64 * 1024];
    let read_all = async {
        loop {
            match stream.read(&mut chunk).await {
                Ok(0) | Err(_) => return,
                Ok(read) => bytes += read,
            }
        }
    };
    tokio::time::timeout(IDLE * 4, read_all)
        .await
        .expect("the server kept the connection open");
    (since.elapsed(), bytes)
}

/// Waits for the server to close the connection without sending anything and returns when,
/// from `since`.
async fn closed_unanswered<S: AsyncRead + Unpin>(stream: &mut S, since: Instant) -> Duration {
    let (at, bytes) = closed(stream, since).await;
    assert_eq!(bytes, 0, "{bytes} bytes came before the close, {at:?} on");
    at
}

#[tokio::test(flavor = "multi_thread")]
async fn a_new_connection_must_send_its_first_head_within_the_head_timeout() {
    let server = Server::start(None).await;
    let started = Instant::now();
    let mut silent = server.connect().await;
    let mut partial = server.connect().await;
    send(&mut partial, PART_OF_A_HEAD).await;
    // A head sent in pieces, whole within the timeout, is served.
    let mut pieces = server.connect().await;
    for piece in ["GET /quick HTTP/1.1\r\n", "Host: test\r\n", "\r\n"] {
        send(&mut pieces, piece).await;
        tokio::time::sleep(HEAD / 4).await;
    }
    assert_eq!(read_answer(&mut pieces, None).await, (200, 2));
    for (name, stream) in [("silent", &mut silent), ("partial", &mut partial)] {
        let at = closed_unanswered(stream, started).await;
        assert!(at >= HEAD && at < LATE, "{name}: closed after {at:?}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn an_idle_connection_outlives_the_head_timeout_until_the_idle_timeout() {
    let server = Server::start(None).await;
    let mut stream = server.connect().await;
    assert_eq!(get_on(&mut stream, "/quick").await.0, 200);
    tokio::time::sleep(HEAD * 3).await;
    assert_eq!(get_on(&mut stream, "/quick").await.0, 200);
    let at = closed_unanswered(&mut stream, Instant::now()).await;
    // The server's idle time starts a moment before the client has read the answer.
    let early = Duration::from_millis(100);
    assert!(
        at >= IDLE - early && at < IDLE + LATE,
        "closed {at:?} after the answer"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_slow_head_after_an_idle_period_is_closed_at_the_head_timeout() {
    let server = Server::start(None).await;
    let mut stream = server.connect().await;
    assert_eq!(get_on(&mut stream, "/quick").await.0, 200);
    tokio::time::sleep(HEAD * 2).await;
    let started = Instant::now();
    send(&mut stream, PART_OF_A_HEAD).await;
    let at = closed_unanswered(&mut stream, started).await;
    // The idle deadline would have come IDLE - 2 HEAD after the first byte, later than LATE.
    assert!(
        at >= HEAD && at < LATE,
        "closed {at:?} after the head began"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_slow_handler_is_waited_for_beyond_both_timeouts() {
    let server = Server::start(None).await;
    let mut stream = server.connect().await;
    let started = Instant::now();
    assert_eq!(get_on(&mut stream, "/slow").await, (200, 4));
    assert!(started.elapsed() >= SLOW);
    // The connection is still kept alive for the next request.
    assert_eq!(get_on(&mut stream, "/quick").await.0, 200);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_large_answer_read_slowly_is_not_cut_but_one_left_unread_is() {
    let server = Server::start(None).await;
    let mut reader = server.connect().await;
    let mut stalled = server.connect().await;
    let started = Instant::now();
    send(&mut reader, &head_of("/large")).await;
    send(&mut stalled, &head_of("/large")).await;
    // 1 MiB every 80 ms: 48 reads take longer than the idle timeout.
    let answer = read_answer(&mut reader, Some(Duration::from_millis(80))).await;
    assert_eq!(answer, (200, LARGE));
    assert!(started.elapsed() > IDLE, "read in {:?}", started.elapsed());
    assert_eq!(get_on(&mut reader, "/quick").await.0, 200);

    // The stalled client read nothing for longer than the idle timeout: its connection was
    // closed, and what is left to read is what the sockets had buffered.
    let (_, bytes) = closed(&mut stalled, started).await;
    assert!(bytes < LARGE, "{bytes} bytes of {LARGE} arrived");
}

#[tokio::test(flavor = "multi_thread")]
async fn shutdown_closes_idle_connections_at_once_and_lets_requests_in_flight_finish() {
    let mut server = Server::start(None).await;
    let mut idle = server.connect().await;
    assert_eq!(get_on(&mut idle, "/quick").await.0, 200);
    let mut busy = server.connect().await;
    send(&mut busy, &head_of("/slow")).await;
    tokio::time::sleep(HEAD / 2).await;
    let stopping = Instant::now();
    server.stop.take().unwrap().send(()).unwrap();
    let at = closed_unanswered(&mut idle, stopping).await;
    assert!(
        at < LATE,
        "the idle connection was closed {at:?} after the shutdown"
    );
    assert_eq!(read_answer(&mut busy, None).await, (200, 4));
    tokio::time::timeout(LATE, &mut server.stopped)
        .await
        .expect("serve returned once the request in flight was answered")
        .unwrap();
    assert!(TcpStream::connect(server.addr).await.is_err());
}

/// A TLS acceptor with a throwaway certificate for 127.0.0.1, and a client that trusts it.
fn tls_pair() -> (TlsAcceptor, tokio_rustls::TlsConnector) {
    let certified = rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_owned()]).unwrap();
    let cert: CertificateDer<'static> = certified.cert.der().clone();
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(certified.key_pair.serialize_der()));
    let provider = Arc::new(ring::default_provider());
    let server = rustls::ServerConfig::builder_with_provider(Arc::clone(&provider))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(vec![cert.clone()], key)
        .unwrap();
    let mut roots = rustls::RootCertStore::empty();
    roots.add(cert).unwrap();
    let client = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    (
        TlsAcceptor::from(Arc::new(server)),
        tokio_rustls::TlsConnector::from(Arc::new(client)),
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn over_tls_the_handshake_counts_in_the_first_head_and_idle_connections_live_on() {
    let (acceptor, connector) = tls_pair();
    let server = Server::start(Some(acceptor)).await;
    let started = Instant::now();
    let mut silent = server.connect().await;
    let at = closed_unanswered(&mut silent, started).await;
    assert!(at >= HEAD && at < LATE, "closed after {at:?}");

    let name = ServerName::try_from("127.0.0.1").unwrap();
    let mut stream = connector
        .connect(name, server.connect().await)
        .await
        .unwrap();
    assert_eq!(get_on(&mut stream, "/quick").await.0, 200);
    tokio::time::sleep(HEAD * 3).await;
    assert_eq!(get_on(&mut stream, "/quick").await.0, 200);
}
