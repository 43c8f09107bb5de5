//! The client handle, and one authorised, rate-limited request for one page.

use std::fmt;
use std::sync::Arc;

use reqwest::StatusCode;
use reqwest::header::{ACCEPT, HeaderMap, IF_MODIFIED_SINCE, IF_NONE_MATCH};
use secrecy::ExposeSecret;
use tokio::time::Instant;
use tracing::Instrument as _;
use url::Url;

use crate::auth::{AccessToken, TokenSource};
use crate::body_limit::{BodyError, BodyLimits, PageLimit, read_body};
use crate::budget::{RequestClass, UpstreamBudget};
use crate::config::{GenesysClientBuilder, env_lookup, env_setting};
use crate::response::{directory_error, transport};
use crate::{Error, Region, RetryPolicy, metrics};

/// A Genesys Cloud Platform API client for routing directory listings.
///
/// Cheap to clone (an `Arc` inside): clones share the access token, the connection pool and
/// the request-rate limiter. `Debug` never shows the client secret or a token.
#[derive(Clone)]
pub struct GenesysClient {
    pub(crate) inner: Arc<Inner>,
}

pub(crate) struct Inner {
    pub(crate) http: reqwest::Client,
    pub(crate) tokens: TokenSource,
    pub(crate) api_base: Url,
    pub(crate) login_base: Url,
    pub(crate) region: Region,
    pub(crate) page_size: u32,
    pub(crate) retry: RetryPolicy,
    pub(crate) budget: Arc<dyn UpstreamBudget>,
    pub(crate) max_pages: u32,
    pub(crate) snapshot_attempts: u32,
    pub(crate) body_limits: BodyLimits,
}

impl GenesysClient {
    /// A builder with the defaults: region `us-east-1`, page size 250, 300 requests a minute.
    pub fn builder() -> GenesysClientBuilder {
        GenesysClientBuilder::default()
    }

    /// A client configured from `GENESYS_CLIENT_ID`, `GENESYS_CLIENT_SECRET` (required),
    /// `GENESYS_REGION` (a region name or domain, default `us-east-1`), `GENESYS_API_URL` and
    /// `GENESYS_LOGIN_URL` (overrides). Errors name the variable at fault.
    pub fn from_env() -> Result<GenesysClient, Error> {
        GenesysClientBuilder::from_lookup(env_lookup)
            .and_then(GenesysClientBuilder::build)
            .map_err(env_setting)
    }

    /// The Platform API base URL in use.
    pub fn api_base(&self) -> &Url {
        &self.inner.api_base
    }

    /// The login (OAuth) base URL in use.
    pub fn login_base(&self) -> &Url {
        &self.inner.login_base
    }

    /// The default page size.
    pub fn page_size(&self) -> u32 {
        self.inner.page_size
    }

    /// The configured region (the bases may override it).
    pub fn region(&self) -> Region {
        self.inner.region
    }
}

impl fmt::Debug for GenesysClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let inner = &self.inner;
        f.debug_struct("GenesysClient")
            .field("api_base", &inner.api_base.as_str())
            .field("login_base", &inner.login_base.as_str())
            .field("tokens", &inner.tokens)
            .field("page_size", &inner.page_size)
            .field("retry", &inner.retry)
            .field("budget", &inner.budget)
            .field("max_pages", &inner.max_pages)
            .field("snapshot_attempts", &inner.snapshot_attempts)
            .field("body_limits", &inner.body_limits)
            .finish()
    }
}

/// What to ask for one page.
pub(crate) struct PageRequest<'a> {
    pub(crate) url: &'a Url,
    pub(crate) directory_id: &'a str,
    /// The scope and permission the listing needs, named by a 403.
    pub(crate) grant: &'static str,
    pub(crate) page: u32,
    pub(crate) if_none_match: Option<&'a str>,
    pub(crate) if_modified_since: Option<&'a str>,
    /// The part of the upstream budget the request may use.
    pub(crate) class: RequestClass,
    /// How long the request may wait for a budget token.
    pub(crate) deadline: Instant,
    /// The most bytes its body may have ([`BodyLimits::next_page`]).
    pub(crate) max_bytes: PageLimit,
}

impl PageRequest<'_> {
    fn is_conditional(&self) -> bool {
        self.if_none_match.is_some() || self.if_modified_since.is_some()
    }
}

/// A successful answer to a page request.
pub(crate) enum PageResponse {
    /// 2xx: the page, with the headers that matter for snapshot consistency.
    Page {
        body: Vec<u8>,
        etag: Option<String>,
        last_modified: Option<String>,
        correlation_id: Option<String>,
    },
    /// 304 to a conditional request.
    NotModified,
}

struct RawResponse {
    status: StatusCode,
    headers: HeaderMap,
    body: Vec<u8>,
}

impl Inner {
    /// One attempt at one page: a token, the request, and on a 401 one token refresh and one
    /// more request; a second 401 is [`Error::Unauthorized`], never a loop.
    pub(crate) async fn get_page(&self, request: &PageRequest<'_>) -> Result<PageResponse, Error> {
        let token = self.tokens.current().await?;
        let mut response = self.send(request, &token).await?;
        if response.status == StatusCode::UNAUTHORIZED {
            tracing::info!(
                directory_id = request.directory_id,
                "access token rejected; refreshing it once"
            );
            let token = self.tokens.replace(token.generation).await?;
            response = self.send(request, &token).await?;
        }
        let RawResponse {
            status,
            headers,
            body,
        } = response;
        if status == StatusCode::NOT_MODIFIED {
            return if request.is_conditional() {
                Ok(PageResponse::NotModified)
            } else {
                Err(Error::InvalidResponse {
                    reason: "304 Not Modified to an unconditional request".to_owned(),
                    correlation_id: crate::response::correlation_id(&headers, None),
                })
            };
        }
        if !status.is_success() {
            return Err(directory_error(
                status.as_u16(),
                &headers,
                &body,
                request.directory_id,
                request.grant,
            ));
        }
        let header = |name| {
            headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        };
        Ok(PageResponse::Page {
            etag: header(reqwest::header::ETAG),
            last_modified: header(reqwest::header::LAST_MODIFIED),
            correlation_id: crate::response::correlation_id(&headers, None),
            body,
        })
    }

    async fn send(
        &self,
        request: &PageRequest<'_>,
        token: &AccessToken,
    ) -> Result<RawResponse, Error> {
        self.budget.take(request.class, request.deadline).await?;
        let span = tracing::debug_span!(
            "genesys.page",
            directory_id = request.directory_id,
            page = request.page,
            status = tracing::field::Empty,
        );
        async {
            let mut builder = self
                .http
                .get(request.url.clone())
                .bearer_auth(token.secret.expose_secret())
                .header(ACCEPT, "application/json");
            if let Some(etag) = request.if_none_match {
                builder = builder.header(IF_NONE_MATCH, etag);
            }
            if let Some(date) = request.if_modified_since {
                builder = builder.header(IF_MODIFIED_SINCE, date);
            }
            let started = Instant::now();
            let result = async {
                let response = builder.send().await.map_err(BodyError::Transport)?;
                let status = response.status();
                let headers = response.headers().clone();
                let body = read_body(response, request.max_bytes).await?;
                Ok::<_, BodyError>(RawResponse {
                    status,
                    headers,
                    body,
                })
            }
            .await;
            match result {
                Ok(response) => {
                    if response.status == StatusCode::TOO_MANY_REQUESTS
                        && let Some(wait) = crate::retry::retry_after(
                            &response.headers,
                            std::time::SystemTime::now(),
                        )
                    {
                        // Every caller of the budget (every instance, for a shared one) waits.
                        self.budget.pause(wait).await;
                    }
                    tracing::Span::current().record("status", response.status.as_u16());
                    metrics::upstream_request(
                        metrics::status_label(response.status.as_u16()),
                        started.elapsed(),
                    );
                    tracing::debug!(bytes = response.body.len(), "page response");
                    Ok(response)
                }
                Err(BodyError::TooLarge(exceeded)) => {
                    metrics::upstream_request("too_large", started.elapsed());
                    tracing::debug!(%exceeded, "page refused");
                    Err(Error::TooLarge {
                        directory_id: request.directory_id.to_owned(),
                        exceeded,
                    })
                }
                Err(BodyError::Transport(err)) => {
                    metrics::upstream_request("error", started.elapsed());
                    let err = transport("directory request failed", err);
                    tracing::debug!(error = %err, "page request failed");
                    Err(err)
                }
            }
        }
        .instrument(span)
        .await
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write;
    use std::sync::{Arc, Mutex};

    use base64::Engine as _;
    use genesys_mock::{Fault, GenesysMock, MockDirectory};
    use secrecy::{ExposeSecret, SecretString};
    use tracing_subscriber::fmt::format::FmtSpan;

    use std::time::Duration;

    use crate::{FetchOptions, GenesysClient, RetryPolicy};

    /// A `tracing` writer into a shared buffer.
    #[derive(Clone, Default)]
    struct Captured(Arc<Mutex<Vec<u8>>>);

    impl Write for Captured {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    impl Captured {
        fn text(&self) -> String {
            String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
        }
    }

    async fn access_token(client: &GenesysClient) -> String {
        let token = client.inner.tokens.current().await.unwrap();
        token.secret.expose_secret().to_owned()
    }

    fn assert_no_secret(text: &str, secrets: &[&str], what: &str) {
        for secret in secrets {
            assert!(!text.contains(secret), "{what} shows a secret: {text}");
        }
    }

    // Current-thread runtime: the capturing subscriber is this thread's default, and the
    // client's futures all run on it.
    #[tokio::test]
    async fn secrets_never_show_in_debug_errors_or_trace_logs() {
        let captured = Captured::default();
        let writer = captured.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::TRACE)
            .with_span_events(FmtSpan::FULL)
            .with_ansi(false)
            .with_writer(move || writer.clone())
            .finish();
        let _default = tracing::subscriber::set_default(subscriber);

        let mock = GenesysMock::start().unwrap();
        mock.put_directory("d", MockDirectory::generated(30, 2));
        let secret = mock.client_secret().to_owned();
        let basic = base64::engine::general_purpose::STANDARD
            .encode(format!("{}:{secret}", mock.client_id()));
        // Not testkit's client: the test reads the token through the client's private fields,
        // which testkit's client (of another build of this crate) does not give it.
        let builder = GenesysClient::builder()
            .page_size(10)
            .api_url(&mock.api_url())
            .login_url(&mock.login_url())
            .client_id(mock.client_id())
            .client_secret(SecretString::from(secret.clone()))
            .retry_policy(
                RetryPolicy::new(Duration::from_secs(5)).initial_backoff(Duration::from_millis(20)),
            );
        let client = builder.clone().build().unwrap();
        let options = FetchOptions::new();

        // A full paged fetch, a 401 and its refresh, a retried 503.
        client.fetch_directory("d", &options).await.unwrap();
        let first_token = access_token(&client).await;
        mock.expire_tokens();
        mock.fail_directory("d", Fault::Status(503), 1);
        client.fetch_directory("d", &options).await.unwrap();
        let second_token = access_token(&client).await;
        assert_ne!(first_token, second_token);

        // Errors: a second 401, a refused token, a forbidden directory, no connection.
        mock.fail_directory("d", Fault::Unauthorized, 2);
        let unauthorized = client.fetch_directory("d", &options).await.unwrap_err();
        mock.fail_directory("d", Fault::Forbidden, 1);
        let forbidden = client.fetch_directory("d", &options).await.unwrap_err();
        let wrong_secret = "wrong-secret-5f1e9";
        let refused = builder
            .clone()
            .client_secret(SecretString::from(wrong_secret))
            .build()
            .unwrap()
            .fetch_directory("d", &options)
            .await
            .unwrap_err();
        let unreachable = GenesysClient::builder()
            .api_url("http://127.0.0.1:1")
            .login_url("http://127.0.0.1:1")
            .client_id("id")
            .client_secret(SecretString::from(secret.clone()))
            .retry_policy(crate::RetryPolicy::new(std::time::Duration::ZERO))
            .build()
            .unwrap()
            .fetch_directory("d", &options)
            .await
            .unwrap_err();
        assert!(
            matches!(unreachable, crate::Error::Transport { .. }),
            "{unreachable:?}"
        );
        assert!(
            matches!(refused, crate::Error::InvalidClient { .. }),
            "{refused:?}"
        );

        let secrets = [
            secret.as_str(),
            basic.as_str(),
            first_token.as_str(),
            second_token.as_str(),
            wrong_secret,
        ];
        assert_no_secret(&format!("{client:?}"), &secrets, "client Debug");
        assert_no_secret(&format!("{builder:?}"), &secrets, "builder Debug");
        for err in [&unauthorized, &forbidden, &refused, &unreachable] {
            assert_no_secret(
                &format!("{err:?} {err} {:?}", std::error::Error::source(err)),
                &secrets,
                "an error",
            );
        }

        let logs = captured.text();
        assert!(
            logs.contains("genesys.token") && logs.contains("genesys.page"),
            "{logs}"
        );
        assert!(
            logs.contains("status=200") && logs.contains("directory_id"),
            "{logs}"
        );
        assert!(logs.contains("TRACE") || logs.contains("DEBUG"), "{logs}");
        assert_no_secret(&logs, &secrets, "the trace log");
    }
}
