//! Compressed answers: `Accept-Encoding` honoured with q-values, each coding decoding to the
//! identity body, one weak `ETag` for all, `Vary`, and 304 whatever the coding.

use std::io::Read;

use anyhow::Result;
use dircache_e2e::{Answer, Served, serving};
use genesys_mock::{MockDirectory, generate_entries};
use reqwest::Method;

async fn get_accepting(served: &Served, accept: &str) -> Result<Answer> {
    let request = served
        .request(Method::GET, "/v1/directories/agents")
        .header("accept-encoding", accept);
    served.send(request).await
}

fn decoded(answer: &Answer) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    match answer.header("content-encoding") {
        None => out.clone_from(&answer.body),
        Some("zstd") => out = zstd::decode_all(answer.body.as_slice())?,
        Some("gzip") => {
            flate2::read::GzDecoder::new(answer.body.as_slice()).read_to_end(&mut out)?;
        }
        Some("br") => {
            brotli::Decompressor::new(answer.body.as_slice(), 4096).read_to_end(&mut out)?;
        }
        Some(other) => anyhow::bail!("unexpected Content-Encoding {other}"),
    }
    Ok(out)
}

#[tokio::test(flavor = "multi_thread")]
async fn each_accepted_coding_decodes_to_the_same_document_under_one_etag() -> Result<()> {
    let (_mock, served) = serving("agents", MockDirectory::new(generate_entries(300, 3))).await?;
    let identity = served.read_directory("agents").await?;
    assert_eq!(identity.header("content-encoding"), None);
    assert_eq!(identity.header("vary"), Some("accept-encoding"));
    let etag = identity.header("etag").unwrap().to_owned();
    for (accept, coding) in [
        ("gzip, deflate, br, zstd", Some("zstd")),
        ("gzip", Some("gzip")),
        ("br;q=0.9, gzip;q=0.8", Some("br")),
        ("zstd;q=0, gzip;q=0.5, identity;q=0.1", Some("gzip")),
        ("identity, zstd;q=0.5", None),
        ("*", Some("zstd")),
        ("compress, deflate", None),
    ] {
        let answer = get_accepting(&served, accept).await?;
        assert_eq!(answer.status, 200, "{accept}");
        assert_eq!(answer.header("x-cache"), Some("HIT"), "{accept}");
        assert_eq!(answer.header("content-encoding"), coding, "{accept}");
        assert_eq!(answer.header("vary"), Some("accept-encoding"), "{accept}");
        assert_eq!(answer.header("etag"), Some(etag.as_str()), "{accept}");
        assert_eq!(decoded(&answer)?, identity.body, "{accept}");
        if coding.is_some() {
            assert!(
                answer.body.len() * 4 < identity.body.len(),
                "{accept}: {} of {} bytes",
                answer.body.len(),
                identity.body.len()
            );
        }
    }
    let request = served
        .request(Method::GET, "/v1/directories/agents")
        .header("accept-encoding", "zstd")
        .header("if-none-match", &etag);
    let not_modified = served.send(request).await?;
    assert_eq!(not_modified.status, 304);
    assert!(not_modified.body.is_empty());
    assert_eq!(not_modified.header("etag"), Some(etag.as_str()));
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn a_small_document_is_sent_as_it_is() -> Result<()> {
    let (_mock, served) = serving("agents", MockDirectory::new(generate_entries(1, 3))).await?;
    let answer = get_accepting(&served, "zstd, gzip").await?;
    assert_eq!(answer.status, 200, "{}", answer.text());
    assert_eq!(answer.header("content-encoding"), None);
    // Under the 1 KiB threshold of the README: not worth a decode step on the client.
    assert!(answer.body.len() < 1024, "{}", answer.body.len());
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn a_large_lookup_answer_is_compressed_and_one_entry_is_sent_as_it_is() -> Result<()> {
    let (_mock, served) = serving("agents", MockDirectory::new(generate_entries(300, 3))).await?;
    let lookup = "/v1/directories/agents/entries?name=jose&limit=100";
    let identity = served.send(served.request(Method::GET, lookup)).await?;
    assert_eq!(identity.status, 200);
    assert!(identity.body.len() >= 1024, "{} bytes", identity.body.len());
    let zstd = served
        .send(
            served
                .request(Method::GET, lookup)
                .header("accept-encoding", "zstd"),
        )
        .await?;
    assert_eq!(zstd.header("content-encoding"), Some("zstd"));
    assert_eq!(zstd.header("vary"), Some("accept-encoding"));
    assert_eq!(decoded(&zstd)?, identity.body);

    let answer: serde_json::Value = serde_json::from_slice(&identity.body)?;
    let id = answer["matches"][0]["id"].as_str().expect("a match");
    let entry = served
        .send(
            served
                .request(Method::GET, &format!("/v1/directories/agents/entries/{id}"))
                .header("accept-encoding", "zstd"),
        )
        .await?;
    assert_eq!(entry.status, 200);
    assert!(entry.body.len() < 1024, "{} bytes", entry.body.len());
    assert_eq!(entry.header("content-encoding"), None);
    Ok(())
}
