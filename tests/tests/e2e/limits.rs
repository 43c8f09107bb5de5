//! Limits a hostile client cannot cross: a slow head is dropped (a head taking 4 s is still
//! served), a large head is 431, a large body 413, and connections beyond the limit wait.

use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use dircache_e2e::{Served, serving, serving_with};
use genesys_mock::{Fault, MockDirectory, Target};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Reads what the server sends until it closes the connection (at most `within`).
async fn read_until_closed(stream: &mut TcpStream, within: Duration) -> Result<Vec<u8>> {
    let mut bytes = Vec::new();
    tokio::time::timeout(within, stream.read_to_end(&mut bytes))
        .await
        .context("the server kept the connection open")??;
    Ok(bytes)
}

fn status_of(response: &[u8]) -> String {
    String::from_utf8_lossy(response)
        .lines()
        .next()
        .unwrap_or_default()
        .to_owned()
}

/// The most resident memory process `pid` has used so far (`VmHWM`), in bytes.
fn peak_rss(pid: u32) -> Result<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    let kib = status
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))
        .and_then(|value| {
            value
                .trim()
                .trim_end_matches("kB")
                .trim()
                .parse::<u64>()
                .ok()
        })
        .context("no VmHWM in /proc/<pid>/status")?;
    Ok(kib * 1024)
}

async fn served() -> Result<Served> {
    Ok(serving("agents", MockDirectory::generated(3, 1)).await?.1)
}

#[tokio::test(flavor = "multi_thread")]
async fn a_head_that_takes_4_s_is_served_and_one_never_finished_is_dropped() -> Result<()> {
    let served = served().await?;
    let mut slow = TcpStream::connect(served.addr()).await?;
    let mut stuck = TcpStream::connect(served.addr()).await?;
    stuck
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
        .await?;
    let started = Instant::now();
    for part in [
        "GET /healthz HTTP/1.1\r\n",
        "Host: x\r\n",
        "X-A: 1\r\n",
        "Connection: close\r\n",
    ] {
        slow.write_all(part.as_bytes()).await?;
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    slow.write_all(b"\r\n").await?;
    let answer = read_until_closed(&mut slow, Duration::from_secs(10)).await?;
    assert!(status_of(&answer).contains("200"), "{}", status_of(&answer));
    // The half head is dropped 10 s after the connection opened: well before 20 s.
    let dropped = read_until_closed(&mut stuck, Duration::from_secs(20)).await?;
    let waited = started.elapsed();
    assert!(waited >= Duration::from_secs(9), "dropped after {waited:?}");
    assert!(
        !status_of(&dropped).contains("200"),
        "{}",
        status_of(&dropped)
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn a_head_over_16_kib_is_431_and_a_body_over_64_kib_413() -> Result<()> {
    let served = served().await?;
    let mut large_head = TcpStream::connect(served.addr()).await?;
    let padding = "a".repeat(200 * 1024);
    let request = format!("GET /healthz HTTP/1.1\r\nHost: x\r\nX-Pad: {padding}\r\n\r\n");
    // The server may stop reading (and close) before all of it is written.
    let _ = large_head.write_all(request.as_bytes()).await;
    let answer = read_until_closed(&mut large_head, Duration::from_secs(10)).await?;
    assert!(status_of(&answer).contains("431"), "{}", status_of(&answer));

    // Just under the limit, the head is read.
    let mut fits = TcpStream::connect(served.addr()).await?;
    let padding = "a".repeat(15 * 1024);
    let request = format!(
        "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Pad: {padding}\r\nConnection: close\r\n\r\n"
    );
    fits.write_all(request.as_bytes()).await?;
    let answer = read_until_closed(&mut fits, Duration::from_secs(10)).await?;
    assert!(status_of(&answer).contains("200"), "{}", status_of(&answer));

    let request = served
        .request(reqwest::Method::POST, "/v1/directories/agents/verify")
        .body(vec![b'x'; 100 * 1024]);
    let answer = served.send(request).await?;
    assert_eq!(answer.status, 413, "{}", answer.text());
    assert_eq!(answer.error_code()?, "body_too_large");
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn connections_beyond_the_limit_wait_until_one_closes() -> Result<()> {
    let (_mock, served) = serving_with("agents", MockDirectory::generated(3, 1), |setup| {
        setup.env("DIRCACHE_MAX_CONNECTIONS", "2")
    })
    .await?;
    let request = b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n";
    let mut held = Vec::new();
    for _ in 0..2 {
        let mut stream = TcpStream::connect(served.addr()).await?;
        stream.write_all(request).await?;
        let mut buffer = [0; 512];
        let read = stream.read(&mut buffer).await?;
        assert!(status_of(&buffer[..read]).contains("200"));
        held.push(stream);
    }
    // The third connection is queued by the kernel, not served, while two are open.
    let mut third = TcpStream::connect(served.addr()).await?;
    third
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .await?;
    let mut buffer = [0; 512];
    let early = tokio::time::timeout(Duration::from_secs(2), third.read(&mut buffer)).await;
    assert!(
        early.is_err(),
        "the third connection was served beside two open ones"
    );
    drop(held.pop());
    let answer = read_until_closed(&mut third, Duration::from_secs(10)).await?;
    assert!(status_of(&answer).contains("200"), "{}", status_of(&answer));
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn a_64_mib_upstream_page_is_502_upstream_too_large_and_memory_stays_bounded() -> Result<()> {
    const MIB: u64 = 1024 * 1024;
    let (mock, served) = serving("agents", MockDirectory::generated(3, 1)).await?;
    assert_eq!(served.get("/healthz").await?.status, 200);
    let before = peak_rss(served.pid())?;
    // Declared, it is refused from its headers; streamed, once 32 MiB have come in.
    for (declared, bound) in [(true, before + 8 * MIB), (false, before + 40 * MIB)] {
        let fault = Fault::OversizedPage {
            bytes: 64 * MIB,
            declared,
        };
        mock.inject(Target::AnyDirectory, fault, 1);
        let answer = served.get_directory("agents").await?;
        assert_eq!(answer.status, 502, "{}", answer.text());
        assert_eq!(answer.error_code()?, "upstream_too_large");
        let peak = peak_rss(served.pid())?;
        assert!(
            peak < bound,
            "declared {declared}: peak RSS {} MiB (from {} MiB) for a 64 MiB page",
            peak / MIB,
            before / MIB
        );
    }
    // Nothing was cached: the next read fetches again.
    let next = served.read_directory("agents").await?;
    assert_eq!(next.header("x-cache"), Some("MISS"));
    Ok(())
}
