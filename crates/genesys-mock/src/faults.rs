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
    /// The entries endpoint of any directory.
    AnyDirectory,
    /// The entries endpoint of the directory with this (decoded) id.
    Directory(String),
}

impl Target {
    fn matches(&self, kind: &RequestKind) -> bool {
        match (self, kind) {
            (Target::Token, RequestKind::Token) => true,
            (Target::AnyDirectory, RequestKind::Directory(_)) => true,
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
    /// 401 `bad.credentials`, whatever the token.
    Unauthorized,
    /// 403 `missing.permissions` naming `routing:directory:read`.
    Forbidden,
    /// 404 `not.found`.
    NotFound,
    /// 401 `{"error":"invalid_client", "description": …}`, as the token endpoint answers.
    InvalidClient,
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
            (rate_limited(retry_after, allowed, correlation), 429)
        }
        Fault::Status(status) => {
            let response = genesys_status(*status, correlation);
            let status = response.status().as_u16();
            (response, status)
        }
        Fault::DropConnection => (dropped_connection(), STATUS_DROPPED),
        Fault::MalformedBody => (malformed(kind, correlation), 200),
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

/// A 429 with the headers upstream sends; also what the enforced rate limit answers.
pub(crate) fn rate_limited(
    retry_after: &RetryAfter,
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
    crate::ratelimit::insert_headers(response.headers_mut(), allowed, allowed, reset);
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
        RequestKind::Directory(_) => r#"{"entities":[{"id":"5f2b8c1e-"#.to_owned(),
    };
    raw_response(StatusCode::OK, body.into_bytes(), correlation)
}

#[cfg(test)]
mod tests {
    use super::{Fault, FaultQueue, Target};
    use crate::stats::RequestKind;

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
}
