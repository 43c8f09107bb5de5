//! One request's life in the mock: rate window, injected fault, normal answer, record, delay.

use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::{HeaderMap, Response};

use crate::auth::authorization;
use crate::faults::{Injected, RetryAfter, injected, rate_limited};
use crate::ratelimit::insert_headers;
use crate::response::correlation_id;
use crate::state::{Shared, State};
use crate::stats::{RecordedRequest, RequestKind, STATUS_DROPPED};

/// What is known of a request before it is answered.
#[derive(Debug)]
pub(crate) struct Exchange {
    kind: RequestKind,
    page_number: Option<u32>,
    page_size: Option<u32>,
    if_none_match: Option<String>,
    if_modified_since: Option<String>,
    authorization_scheme: Option<String>,
    /// When the request arrived.
    pub(crate) at: Instant,
}

impl Exchange {
    pub(crate) fn new(
        kind: RequestKind,
        headers: &HeaderMap,
        page_number: Option<u32>,
        page_size: Option<u32>,
    ) -> Self {
        let text = |name: &str| {
            headers
                .get(name)
                .and_then(|value| value.to_str().ok())
                .map(str::to_owned)
        };
        Self {
            kind,
            page_number,
            page_size,
            if_none_match: text("if-none-match"),
            if_modified_since: text("if-modified-since"),
            authorization_scheme: authorization(headers).map(|(scheme, _)| scheme.to_owned()),
            at: Instant::now(),
        }
    }

    /// Answers the request: an injected fault if one matches, else the enforced rate limit for
    /// API requests, else `normal`. The request is recorded before any delay, so a client that
    /// gives up on a slow answer still shows in the stats.
    pub(crate) async fn run(
        self,
        shared: &Shared,
        normal: impl FnOnce(&mut State, &str) -> Response<Body>,
    ) -> Response<Body> {
        let correlation = correlation_id();
        let allowed = shared.config.allowed();
        let (response, delay) = {
            let mut state = shared.lock();
            let is_api = matches!(
                self.kind,
                RequestKind::Directory(_) | RequestKind::Listing(_)
            );
            let admission = is_api.then(|| state.window.admit(self.at));
            let fault = state.faults.take(&self.kind);
            let (mut response, status, delay) = match fault
                .map(|fault| injected(&fault, &self.kind, allowed, &correlation))
            {
                Some(Injected::Respond { response, status }) => (response, status, Duration::ZERO),
                fault => {
                    let delay = match fault {
                        Some(Injected::Delay(delay)) => delay,
                        _ => Duration::ZERO,
                    };
                    let over_limit = admission.is_some_and(|admission| {
                        shared.config.rate_limit.is_some() && admission.count > allowed
                    });
                    let response = match admission {
                        Some(admission) if over_limit => rate_limited(
                            &RetryAfter::Seconds(admission.reset),
                            admission.count,
                            allowed,
                            &correlation,
                        ),
                        _ => normal(&mut state, &correlation),
                    };
                    let status = response.status().as_u16();
                    (response, status, delay)
                }
            };
            if let Some(admission) = admission {
                let headers = response.headers_mut();
                if status != STATUS_DROPPED && !headers.contains_key("inin-ratelimit-allowed") {
                    insert_headers(headers, admission.count, allowed, admission.reset);
                }
            }
            let (kind, page) = (&self.kind, self.page_number);
            tracing::debug!(?kind, ?page, status, "genesys-mock answered");
            state.record(self.into_record(status));
            (response, delay)
        };
        let wait = shared.config.latency + delay;
        if !wait.is_zero() {
            tokio::time::sleep(wait).await;
        }
        response
    }

    fn into_record(self, status: u16) -> RecordedRequest {
        RecordedRequest {
            kind: self.kind,
            page_number: self.page_number,
            page_size: self.page_size,
            status,
            at: self.at,
            if_none_match: self.if_none_match,
            if_modified_since: self.if_modified_since,
            authorization_scheme: self.authorization_scheme,
        }
    }
}
