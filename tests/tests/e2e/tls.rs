//! HTTPS with `DIRCACHE_TLS_CERT` and `DIRCACHE_TLS_KEY`: served with a throwaway certificate,
//! every bad pair exits 2 naming the setting, and one-shot commands never read the files.

use std::path::Path;

use anyhow::Result;
use dircache_e2e::{Answer, Start, exited, setup, start_mock};
use testkit::Dircache;

/// A self-signed certificate for 127.0.0.1 written to `dir` as `cert.pem` and `key.pem`; its
/// PEM is returned for the client to trust.
fn throwaway_certificate(dir: &Path) -> Result<String> {
    let certified = rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_owned()])?;
    let cert = certified.cert.pem();
    std::fs::write(dir.join("cert.pem"), &cert)?;
    std::fs::write(dir.join("key.pem"), certified.key_pair.serialize_pem())?;
    Ok(cert)
}

fn with_tls(setup: Dircache, cert: &str, key: &str) -> Dircache {
    let (cert, key) = (setup.path(cert), setup.path(key));
    setup
        .env("DIRCACHE_TLS_CERT", cert.display().to_string())
        .env("DIRCACHE_TLS_KEY", key.display().to_string())
}

#[tokio::test(flavor = "multi_thread")]
async fn serve_answers_over_https_with_the_configured_certificate() -> Result<()> {
    let mock = start_mock()?;
    let setup = setup(&mock)?;
    let cert = throwaway_certificate(&setup.path(""))?;
    let served = with_tls(setup, "cert.pem", "key.pem").start().await?;
    let url = served.url("/healthz");
    assert!(url.starts_with("https://"), "{url}");
    let client = reqwest::Client::builder()
        .no_proxy()
        .tls_built_in_root_certs(false)
        .add_root_certificate(reqwest::Certificate::from_pem(cert.as_bytes())?)
        .build()?;
    let answer = Answer::read(client.get(&url).send().await?).await?;
    assert_eq!(answer.status, 200, "{}", answer.text());
    // Plain HTTP on the TLS port gets no answer.
    let plain = served
        .client()
        .get(url.replace("https", "http"))
        .send()
        .await;
    assert!(plain.is_err() || plain.is_ok_and(|r| r.status() != 200));
    Ok(())
}

#[test]
fn a_bad_pair_exits_2_naming_the_setting() -> Result<()> {
    let mock = start_mock()?;
    let base = setup(&mock)?;
    throwaway_certificate(&base.path(""))?;
    let other = rcgen::KeyPair::generate()?;
    std::fs::write(base.path("other-key.pem"), other.serialize_pem())?;
    std::fs::write(base.path("garbage.pem"), "not a key")?;
    for (cert, key, named) in [
        ("missing.pem", "key.pem", "DIRCACHE_TLS_CERT"),
        ("cert.pem", "missing.pem", "DIRCACHE_TLS_KEY"),
        ("cert.pem", "garbage.pem", "DIRCACHE_TLS_KEY"),
        ("key.pem", "key.pem", "DIRCACHE_TLS_CERT"),
        ("cert.pem", "other-key.pem", "DIRCACHE_TLS_KEY"),
    ] {
        let setup = setup(&mock)?
            .env("DIRCACHE_TLS_CERT", base.path(cert).display().to_string())
            .env("DIRCACHE_TLS_KEY", base.path(key).display().to_string());
        let outcome = exited(setup.run(&["serve", "--listen", "127.0.0.1:0"])?, 2);
        assert!(outcome.stderr.contains(named), "{cert} + {key}: {outcome}");
    }
    let only_cert = setup(&mock)?.env(
        "DIRCACHE_TLS_CERT",
        base.path("cert.pem").display().to_string(),
    );
    let outcome = exited(only_cert.run(&["serve", "--listen", "127.0.0.1:0"])?, 2);
    assert!(outcome.stderr.contains("DIRCACHE_TLS_KEY"), "{outcome}");
    Ok(())
}

#[test]
fn one_shot_commands_never_read_the_tls_files() -> Result<()> {
    let mock = start_mock()?;
    let setup = with_tls(setup(&mock)?, "missing-cert.pem", "missing-key.pem");
    exited(setup.run(&["stats", "--output", "json"])?, 0);
    Ok(())
}
