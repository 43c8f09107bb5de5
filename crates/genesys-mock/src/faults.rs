//! Scripted faults: what can go wrong upstream, which requests it hits, and how it is answered.

use std::collections::VecDeque;
use std::time::{Duration, SystemTime};

use axum::body::Body;
use axum::http::{HeaderValue, Response, StatusCode, header};
use bytes::Bytes;

use crate::response::{genesys_status, header_value, oauth_error, raw_response};
use crate::stats::{RequestKind, STATUS_DROPPED};

/// Which requests an injected fault applies to.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Target {
    /// `POST /oauth/token`.
    Token,
    /// The entries endpoint of any directory, and every org listing.
    AnyDirectory,
    /// The entries endpoint of the directory with this (decoded) id.
    Directory(String),
    /// The org listing at this path ([`MockSource::path`](crate::MockSource::path)).
    Listing(String),
}

impl Target {
    fn matches(&self, kind: &RequestKind) -> bool {
        match (self, kind) {
            (Target::Token, RequestKind::Token) => true,
            (Target::AnyDirectory, RequestKind::Directory(_) | RequestKind::Listing(_)) => true,
            (Target::Listing(wanted), RequestKind::Listing(path)) => wanted == path,
            (Target::Directory(wanted), RequestKind::Directory(id)) => wanted == id,
            _ => false,
        }
    }
}

/// A failure upstream can show; each answers the same whichever endpoint it hits.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Fault {
    /// 429 with a Genesys error body and `inin-ratelimit-*` headers.
    RateLimited {
        /// How the wait is announced.
        retry_after: RetryAfter,
    },
    /// This status (e.g. 400, 500, 502, 503, 504) with a Genesys error body; a number that is
    /// not an HTTP status answers 500.
    Status(u16),
    /// The connection is closed before any byte of a response: the client sees a transport error.
    DropConnection,
    /// The normal answer, sent this much later (for client timeouts).
    Slow(Duration),
    /// 200 with a truncated, invalid JSON body.
    MalformedBody,
    /// 200 with a valid, empty listing page padded to `bytes` bytes (a long string field),
    /// streamed in 64 KiB chunks without holding it whole; with `Content-Length` when
    /// `declared`, chunked otherwise (for a client's body limits).
    OversizedPage {
        /// The size of the body.
        bytes: u64,
        /// Whether the response says its length up front.
        declared: bool,
    },
    /// 401 `bad.credentials`, whatever the token.
    Unauthorized,
    /// 403 `missing.permissions` naming `routing:directory:read`.
    Forbidden,
    /// 404 `not.found`.
    NotFound,
    /// 401 `{"error":"invalid_client", "description": …}`, as the token endpoint answers.
    InvalidClient,
}

impl Fault {
    /// A 429 telling the client when to come back as `retry_after` says.
    pub fn rate_limited(retry_after: RetryAfter) -> Self {
        Fault::RateLimited { retry_after }
    }
}

/// How a 429 tells the client when to come back.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum RetryAfter {
    /// `Retry-After: <seconds>`; `inin-ratelimit-reset` says the same.
    Seconds(u64),
    /// `Retry-After: <HTTP date>` this far from now (whole seconds, as HTTP dates are);
    /// `inin-ratelimit-reset` gives the same wait in seconds, rounded up.
    HttpDate(Duration),
    /// No `Retry-After`; only `inin-ratelimit-reset: 1`, so a client falling back on it waits
    /// one second.
    Absent,
}

/// Injected rules, consumed in FIFO order by the requests they match.
#[derive(Debug, Default)]
pub(crate) struct FaultQueue {
    rules: VecDeque<Rule>,
}

#[derive(Debug)]
struct Rule {
    target: Target,
    fault: Fault,
    remaining: u32,
}

impl FaultQueue {
    pub(crate) fn push(&mut self, target: Target, fault: Fault, times: u32) {
        if times > 0 {
            self.rules.push_back(Rule {
                target,
                fault,
                remaining: times,
            });
        }
    }

    /// Uses up one application of the first rule matching `kind`.
    pub(crate) fn take(&mut self, kind: &RequestKind) -> Option<Fault> {
        let index = self
            .rules
            .iter()
            .position(|rule| rule.target.matches(kind))?;
        let rule = &mut self.rules[index];
        rule.remaining -= 1;
        let fault = rule.fault.clone();
        if rule.remaining == 0 {
            self.rules.remove(index);
        }
        Some(fault)
    }
}

/// What an injected fault does to the exchange.
#[derive(Debug)]
pub(crate) enum Injected {
    /// Answer this instead of the normal response; record `status`.
    Respond {
        response: Response<Body>,
        status: u16,
    },
    /// Answer normally, this much later.
    Delay(Duration),
}

/// The effect of `fault` on a request of `kind`, when the rate limit allows `allowed` a minute.
pub(crate) fn injected(
    fault: &Fault,
    kind: &RequestKind,
    allowed: u32,
    correlation: &str,
) -> Injected {
    let (response, status) = match fault {
        Fault::Slow(delay) => return Injected::Delay(*delay),
        Fault::RateLimited { retry_after } => {
            // A scripted 429 stands for a window already used up.
            (
                rate_limited(retry_after, allowed, allowed, correlation),
                429,
            )
        }
        Fault::Status(status) => {
            let response = genesys_status(*status, correlation);
            let status = response.status().as_u16();
            (response, status)
        }
        Fault::DropConnection => (dropped_connection(), STATUS_DROPPED),
        Fault::MalformedBody => (malformed(kind, correlation), 200),
        Fault::OversizedPage { bytes, declared } => (oversized(*bytes, *declared), 200),
        Fault::Unauthorized => (genesys_status(401, correlation), 401),
        Fault::Forbidden => (genesys_status(403, correlation), 403),
        Fault::NotFound => (genesys_status(404, correlation), 404),
        Fault::InvalidClient => (
            oauth_error(
                401,
                "invalid_client",
                "Client authentication failed.",
                correlation,
            ),
            401,
        ),
    };
    Injected::Respond { response, status }
}

/// A 429 with the headers upstream sends, `count` requests into a window of `allowed`; also
/// what the enforced rate limit answers.
pub(crate) fn rate_limited(
    retry_after: &RetryAfter,
    count: u32,
    allowed: u32,
    correlation: &str,
) -> Response<Body> {
    let mut response = genesys_status(429, correlation);
    let reset = match retry_after {
        RetryAfter::Seconds(seconds) => {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, header_value(&seconds.to_string()));
            *seconds
        }
        RetryAfter::HttpDate(wait) => {
            let date = httpdate::fmt_http_date(SystemTime::now() + *wait);
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, header_value(&date));
            wait.as_secs() + u64::from(wait.subsec_nanos() > 0)
        }
        RetryAfter::Absent => 1,
    };
    crate::ratelimit::insert_headers(response.headers_mut(), count, allowed, reset);
    response
}

/// A response whose body fails before its first byte, so hyper closes the connection with the
/// status line and headers still unsent.
fn dropped_connection() -> Response<Body> {
    let failing = futures::stream::once(async {
        Err::<Bytes, _>(std::io::Error::other(
            "genesys-mock: injected connection drop",
        ))
    });
    let mut response = Response::new(Body::from_stream(failing));
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}

/// A body cut off mid-document, shaped like the start of what the endpoint normally sends.
fn malformed(kind: &RequestKind, correlation: &str) -> Response<Body> {
    let body = match kind {
        RequestKind::Token => r#"{"access_token":"eyJhbGciOi"#.to_owned(),
        RequestKind::Directory(_) | RequestKind::Listing(_) => {
            r#"{"entities":[{"id":"5f2b8c1e-"#.to_owned()
        }
    };
    raw_response(StatusCode::OK, body.into_bytes(), correlation)
}

/// An empty listing page padded to `bytes` bytes, streamed.
fn oversized(bytes: u64, declared: bool) -> Response<Body> {
    const CHUNK: usize = 64 * 1024;
    static PADDING: [u8; CHUNK] = [b'x'; CHUNK];
    let head: &'static [u8] = br#"{"entities":[],"pageSize":25,"pageNumber":1,"total":0,"pad":""#;
    let tail: &'static [u8] = br#""}"#;
    let mut padding = bytes.saturating_sub((head.len() + tail.len()) as u64);
    let pads = std::iter::from_fn(move || {
        let take = padding.min(CHUNK as u64) as usize;
        padding -= take as u64;
        (take > 0).then(|| Bytes::from_static(&PADDING[..take]))
    });
    let chunks = std::iter::once(Bytes::from_static(head))
        .chain(pads)
        .chain(std::iter::once(Bytes::from_static(tail)))
        .map(Ok::<_, std::io::Error>);
    let mut response = Response::new(Body::from_stream(futures::stream::iter(chunks)));
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    if declared {
        let len = bytes.max((head.len() + tail.len()) as u64);
        headers.insert(header::CONTENT_LENGTH, HeaderValue::from(len));
    }
    response
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, Instant, SystemTime};

    use super::{Fault, FaultQueue, RetryAfter, Target};
    use crate::stats::{RequestKind, STATUS_DROPPED};
    use crate::testing::{
        api_get, client, entries_path, send, send_json, status_of, token, token_request,
    };
    use crate::{GenesysMock, MockDirectory};

    /// A mock with directories `a` and `b`, and a valid token.
    async fn mock_with_token() -> (GenesysMock, String) {
        let mock = GenesysMock::start().unwrap();
        mock.put_directory("a", MockDirectory::generated(3, 1));
        mock.put_directory("b", MockDirectory::generated(3, 2));
        let token = token(&mock).await;
        (mock, token)
    }

    #[test]
    fn rules_are_consumed_in_order_by_matching_requests_only() {
        let mut queue = FaultQueue::default();
        queue.push(Target::Directory("a".into()), Fault::NotFound, 1);
        queue.push(Target::AnyDirectory, Fault::Status(503), 2);
        queue.push(Target::Token, Fault::InvalidClient, 0);
        let a = RequestKind::Directory("a".into());
        let b = RequestKind::Directory("b".into());
        assert_eq!(queue.take(&RequestKind::Token), None);
        assert_eq!(queue.take(&b), Some(Fault::Status(503)));
        assert_eq!(queue.take(&a), Some(Fault::NotFound));
        assert_eq!(queue.take(&a), Some(Fault::Status(503)));
        assert_eq!(queue.take(&a), None);
    }

    #[tokio::test]
    async fn rate_limited_announces_the_wait_in_each_retry_after_form() {
        let (mock, token) = mock_with_token().await;
        let path = entries_path("a", "");
        mock.inject(
            Target::AnyDirectory,
            Fault::rate_limited(RetryAfter::Seconds(7)),
            1,
        );
        mock.inject(
            Target::AnyDirectory,
            Fault::rate_limited(RetryAfter::HttpDate(Duration::from_secs(30))),
            1,
        );
        mock.inject(
            Target::AnyDirectory,
            Fault::rate_limited(RetryAfter::Absent),
            1,
        );

        let (status, headers, body) = send_json(api_get(&mock, &token, &path)).await;
        assert_eq!(
            (status, body["code"].as_str()),
            (429, Some("too.many.requests"))
        );
        assert_eq!(headers["retry-after"], "7");
        assert_eq!(headers["inin-ratelimit-reset"], "7");
        assert_eq!(headers["inin-ratelimit-allowed"], "300");
        assert_eq!(headers["inin-ratelimit-count"], "300");

        let (status, headers, _) = send_json(api_get(&mock, &token, &path)).await;
        assert_eq!(status, 429);
        let date = httpdate::parse_http_date(headers["retry-after"].to_str().unwrap()).unwrap();
        let wait = date.duration_since(SystemTime::now()).unwrap();
        assert!(
            (Duration::from_secs(28)..=Duration::from_secs(30)).contains(&wait),
            "{wait:?}"
        );
        assert_eq!(headers["inin-ratelimit-reset"], "30");

        let (status, headers, _) = send_json(api_get(&mock, &token, &path)).await;
        assert_eq!(status, 429);
        assert!(!headers.contains_key("retry-after"));
        assert_eq!(headers["inin-ratelimit-reset"], "1");

        assert_eq!(status_of(&mock, &token, &path).await, 200);
    }

    #[tokio::test]
    async fn status_faults_answer_with_a_genesys_error_body() {
        let (mock, token) = mock_with_token().await;
        let statuses = [500, 502, 503, 504, 400];
        for status in statuses {
            mock.fail_directory("a", Fault::Status(status), 1);
        }
        for expected in statuses {
            let (status, headers, body) =
                send_json(api_get(&mock, &token, &entries_path("a", ""))).await;
            assert_eq!(status, expected);
            assert_eq!(body["status"], expected);
            assert!(body["code"].is_string() && body["message"].is_string());
            assert_eq!(
                body["contextId"].as_str(),
                headers["inin-correlation-id"].to_str().ok()
            );
            assert!(headers.contains_key("inin-ratelimit-count"));
        }
    }

    #[tokio::test]
    async fn a_dropped_connection_is_a_transport_error_not_a_response() {
        let (mock, token) = mock_with_token().await;
        mock.fail_directory("a", Fault::DropConnection, 1);
        let error = api_get(&mock, &token, &entries_path("a", ""))
            .send()
            .await
            .unwrap_err();
        assert!(!error.is_status() && error.status().is_none(), "{error:?}");
        assert_eq!(status_of(&mock, &token, &entries_path("a", "")).await, 200);
        let statuses: Vec<u16> = mock.requests().iter().map(|r| r.status).collect();
        assert_eq!(statuses, [200, STATUS_DROPPED, 200]);
        assert_eq!(mock.stats().requests_for("a"), 2);
    }

    #[tokio::test]
    async fn a_dropped_connection_reaches_a_pooling_client_without_a_hidden_retry() {
        let (mock, token) = mock_with_token().await;
        let pooled = reqwest::Client::new();
        let url = format!("{}{}", mock.api_url(), entries_path("a", ""));
        let get = || pooled.get(&url).bearer_auth(&token).send();
        assert!(!get().await.unwrap().bytes().await.unwrap().is_empty());
        mock.inject(Target::AnyDirectory, Fault::DropConnection, 1);
        assert!(get().await.is_err());
        assert_eq!(get().await.unwrap().status(), 200);
        assert_eq!(mock.stats().requests_for("a"), 3);
    }

    #[tokio::test]
    async fn a_slow_answer_trips_a_client_timeout_and_arrives_late_without_one() {
        let (mock, token) = mock_with_token().await;
        mock.inject(
            Target::AnyDirectory,
            Fault::Slow(Duration::from_millis(400)),
            2,
        );
        let hurried =
            api_get(&mock, &token, &entries_path("a", "")).timeout(Duration::from_millis(100));
        assert!(hurried.send().await.unwrap_err().is_timeout());
        let started = Instant::now();
        let (status, _, body) = send_json(api_get(&mock, &token, &entries_path("a", ""))).await;
        assert!(started.elapsed() >= Duration::from_millis(400));
        assert_eq!((status, body["total"].as_u64()), (200, Some(3)));
        assert_eq!(
            mock.stats().requests_for("a"),
            2,
            "the abandoned request was counted"
        );
    }

    #[tokio::test]
    async fn a_malformed_body_is_200_with_invalid_json() {
        let (mock, token) = mock_with_token().await;
        mock.inject(Target::AnyDirectory, Fault::MalformedBody, 1);
        mock.inject(Target::Token, Fault::MalformedBody, 1);
        for request in [
            api_get(&mock, &token, &entries_path("b", "")),
            token_request(
                &mock,
                mock.client_id(),
                mock.client_secret(),
                "grant_type=client_credentials",
            ),
        ] {
            let response = send(request).await;
            assert_eq!(response.status(), 200);
            let bytes = response.bytes().await.unwrap();
            assert!(!bytes.is_empty());
            assert!(serde_json::from_slice::<serde_json::Value>(&bytes).is_err());
        }
    }

    #[tokio::test]
    async fn auth_faults_answer_401_403_404_whatever_the_request() {
        let (mock, token) = mock_with_token().await;
        mock.fail_directory("b", Fault::Unauthorized, 1);
        mock.fail_directory("b", Fault::Forbidden, 1);
        mock.fail_directory("b", Fault::NotFound, 1);
        let path = entries_path("b", "");
        assert_eq!(status_of(&mock, &token, &entries_path("a", "")).await, 200);
        let (status, _, body) = send_json(api_get(&mock, &token, &path)).await;
        assert_eq!(
            (status, body["code"].as_str()),
            (401, Some("bad.credentials"))
        );
        let (status, _, body) = send_json(api_get(&mock, &token, &path)).await;
        assert_eq!(
            (status, body["code"].as_str()),
            (403, Some("missing.permissions"))
        );
        assert!(
            body["message"]
                .as_str()
                .unwrap()
                .contains("routing:directory:read")
        );
        let (status, _, body) = send_json(api_get(&mock, &token, &path)).await;
        assert_eq!((status, body["code"].as_str()), (404, Some("not.found")));
        assert_eq!(status_of(&mock, &token, &path).await, 200);
    }

    #[tokio::test]
    async fn invalid_client_on_the_token_endpoint_refuses_good_credentials_once() {
        let mock = GenesysMock::start().unwrap();
        mock.inject(Target::Token, Fault::InvalidClient, 1);
        let login = || {
            token_request(
                &mock,
                mock.client_id(),
                mock.client_secret(),
                "grant_type=client_credentials",
            )
        };
        let (status, _, body) = send_json(login()).await;
        assert_eq!(
            (status, body["error"].as_str()),
            (401, Some("invalid_client"))
        );
        assert!(body["description"].is_string());
        assert_eq!(send(login()).await.status(), 200);
        let anonymous = client().get(format!("{}{}", mock.api_url(), entries_path("a", "")));
        assert_eq!(
            send(anonymous).await.status(),
            401,
            "token faults never reach the API"
        );
    }
}
