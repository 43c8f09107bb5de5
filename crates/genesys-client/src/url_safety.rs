//! What dircache checks and shows of a URL: whether plain http may go to it (loopback only),
//! and the part of it that is safe to print (no credentials, no path, no query).

use std::net::IpAddr;

use url::{Host, Url};

/// Whether `url` points at this machine: a loopback address, `localhost` or a `*.localhost`
/// name (RFC 6761). Plain `http://` is allowed only to such hosts.
pub fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(Host::Ipv4(ip)) => IpAddr::V4(ip).is_loopback(),
        Some(Host::Ipv6(ip)) => IpAddr::V6(ip).is_loopback(),
        Some(Host::Domain(domain)) => {
            let domain = domain.trim_end_matches('.').to_ascii_lowercase();
            domain == "localhost" || domain.ends_with(".localhost")
        }
        None => false,
    }
}

/// `scheme://host[:port]` of `raw`, followed by `/…` when it has more: the part of a URL that
/// is safe in logs, errors and `Debug`. Credentials, path and query are left out, since each
/// may hold a secret (a Redis password, a token in a webhook path).
pub fn redact_url(raw: &str) -> String {
    let Ok(url) = Url::parse(raw) else {
        return "<not a URL>".to_owned();
    };
    let Some(host) = url.host_str() else {
        return format!("{}:<no host>", url.scheme());
    };
    let mut shown = match url.port() {
        Some(port) => format!("{}://{host}:{port}", url.scheme()),
        None => format!("{}://{host}", url.scheme()),
    };
    if !matches!(url.path(), "" | "/") || url.query().is_some() {
        shown.push_str("/…");
    }
    shown
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_hosts_are_addresses_and_localhost_names() {
        for loopback in [
            "http://127.0.0.1:8080/x",
            "http://[::1]/",
            "http://localhost/",
            "http://LOCALHOST./",
            "http://mock.localhost:9/",
        ] {
            assert!(is_loopback(&Url::parse(loopback).unwrap()), "{loopback}");
        }
        for remote in [
            "http://10.0.0.1/",
            "http://localhost.example.com/",
            "http://example.com/",
        ] {
            assert!(!is_loopback(&Url::parse(remote).unwrap()), "{remote}");
        }
    }

    #[test]
    fn a_redacted_url_shows_neither_credentials_nor_path_nor_query() {
        assert_eq!(
            redact_url("redis://app:s3cret@cache.internal:6380/2"),
            "redis://cache.internal:6380/…"
        );
        assert_eq!(
            redact_url("https://hooks.example.com/t/s3cret?sig=s3cret"),
            "https://hooks.example.com/…"
        );
        assert_eq!(
            redact_url("redis://127.0.0.1:6380"),
            "redis://127.0.0.1:6380"
        );
        assert_eq!(redact_url("not a url s3cret"), "<not a URL>");
    }
}
