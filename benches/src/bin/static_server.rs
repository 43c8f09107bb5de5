//! `static_server BODY_FILE [CONTENT_ENCODING]`: the baseline of `serve_hit`, [`static_app`]
//! answering with the bytes of `BODY_FILE` (labelled with `Content-Encoding: CONTENT_ENCODING`
//! when given) on `127.0.0.1:<free port>`, in a process of its own.
//!
//! A process of its own, as `dircache serve` is, so that both sides of the comparison get the
//! same conditions: a tokio multi-thread runtime with one worker per core (what `dircache`
//! builds), a heap of their own, and the same loopback path from the load generator. It prints
//! `static_server listening on http://<addr>` and serves until it is killed.

use std::net::SocketAddr;

use axum::body::Bytes;
use axum::http::HeaderValue;
use dircache_benches::{STATIC_LISTENING, static_app};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args_os().skip(1);
    let (Some(path), coding, None) = (args.next(), args.next(), args.next()) else {
        return Err("usage: static_server BODY_FILE [CONTENT_ENCODING]".into());
    };
    let coding = coding
        .map(|coding| HeaderValue::from_str(&coding.to_string_lossy()))
        .transpose()?;
    let body = Bytes::from(
        std::fs::read(&path)
            .map_err(|e| format!("cannot read {}: {e}", std::path::Path::new(&path).display()))?,
    );
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0))).await?;
        // The bench reads the port from this line; stdout is line-buffered, so it goes out whole.
        println!("{STATIC_LISTENING}{}", listener.local_addr()?);
        axum::serve(listener, static_app(body, coding)).await?;
        Ok(())
    })
}
