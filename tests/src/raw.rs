//! HTTP/1.1 requests written byte for byte, for request targets an HTTP client would rewrite.
//!
//! `reqwest` parses URLs the WHATWG way, which turns `/v1/directories/%2E%2E` into `/v1/`; a
//! test of dircache's own id check has to put the exact target on the wire.

use std::net::SocketAddr;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::answer::Answer;

/// How long a raw exchange may take.
const TIMEOUT: Duration = Duration::from_secs(30);

/// Sends `GET <target> HTTP/1.1` to `addr` with `Connection: close` and reads the whole answer.
pub async fn raw_get(addr: SocketAddr, target: &str) -> Result<Answer> {
    let exchange = async {
        let mut stream = TcpStream::connect(addr).await?;
        let request = format!("GET {target} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
        stream.write_all(request.as_bytes()).await?;
        let mut bytes = Vec::new();
        stream.read_to_end(&mut bytes).await?;
        parse(&bytes)
    };
    tokio::time::timeout(TIMEOUT, exchange)
        .await
        .with_context(|| format!("GET {target} took more than {TIMEOUT:?}"))?
}

fn parse(bytes: &[u8]) -> Result<Answer> {
    let split = bytes
        .windows(4)
        .position(|window| window == b"\r\n\r\n")
        .context("the response has no end of headers")?;
    let head = std::str::from_utf8(&bytes[..split]).context("the response head is not UTF-8")?;
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap_or_default();
    let status = status_line
        .split(' ')
        .nth(1)
        .and_then(|code| code.parse().ok())
        .with_context(|| format!("bad status line {status_line:?}"))?;
    let headers: Vec<(String, String)> = lines
        .filter_map(|line| line.split_once(':'))
        .map(|(name, value)| (name.trim().to_ascii_lowercase(), value.trim().to_owned()))
        .collect();
    let rest = &bytes[split + 4..];
    let chunked = headers
        .iter()
        .any(|(name, value)| name == "transfer-encoding" && value.contains("chunked"));
    let body = if chunked {
        dechunk(rest)?
    } else {
        rest.to_vec()
    };
    Ok(Answer {
        status,
        headers,
        body,
    })
}

fn dechunk(mut rest: &[u8]) -> Result<Vec<u8>> {
    let mut body = Vec::new();
    loop {
        let line_end = rest
            .windows(2)
            .position(|window| window == b"\r\n")
            .context("a chunk size line has no end")?;
        let size_line = std::str::from_utf8(&rest[..line_end])?;
        let size_hex = size_line.split(';').next().unwrap_or_default().trim();
        let size = usize::from_str_radix(size_hex, 16)
            .with_context(|| format!("bad chunk size {size_line:?}"))?;
        rest = &rest[line_end + 2..];
        if size == 0 {
            return Ok(body);
        }
        if rest.len() < size + 2 {
            bail!("a chunk is cut short");
        }
        body.extend_from_slice(&rest[..size]);
        rest = &rest[size + 2..];
    }
}

#[cfg(test)]
mod tests {
    use super::parse;

    #[test]
    fn reads_status_headers_and_a_plain_body() {
        let answer = b"HTTP/1.1 400 Bad Request\r\nContent-Type: application/json\r\ncontent-length: 2\r\n\r\n{}";
        let response = parse(answer).unwrap();
        assert_eq!(response.status, 400);
        assert_eq!(response.header("content-type"), Some("application/json"));
        assert_eq!(response.json().unwrap(), serde_json::json!({}));
    }

    #[test]
    fn joins_chunks_and_rejects_a_cut_answer() {
        let answer = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\n{\"a\r\n4;x=1\r\n\":1}\r\n0\r\n\r\n";
        assert_eq!(parse(answer).unwrap().body, br#"{"a":1}"#);
        assert!(parse(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n9\r\nabc").is_err());
        assert!(parse(b"HTTP/1.1 200 OK\r\n").is_err());
    }
}
