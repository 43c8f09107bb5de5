//! The OAuth client-credentials token source: one shared token per client, refreshed once for all.

use std::fmt;
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use reqwest::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE, HeaderValue};
use secrecy::zeroize::Zeroizing;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use tokio::sync::Mutex;
use tokio::time::Instant;
use tracing::Instrument as _;
use url::Url;

use crate::response::{correlation_id, transport};
use crate::{Error, metrics, retry};

/// Tokens are replaced this long before they expire, so none expires in flight.
const REFRESH_MARGIN: Duration = Duration::from_secs(60);
/// Genesys' default token lifetime, assumed when a response leaves `expires_in` out.
const DEFAULT_LIFETIME: Duration = Duration::from_secs(24 * 60 * 60);
/// After a failed early refresh, how long the still-valid token is used before trying again.
const REFRESH_RETRY: Duration = Duration::from_secs(5);

/// An access token handed to a request, with the generation it belongs to.
#[derive(Clone, Debug)]
pub(crate) struct AccessToken {
    pub(crate) secret: SecretString,
    pub(crate) generation: u64,
}

/// The cached token; the mutex around it is held across the token request, so concurrent
/// callers that find it stale wait for the one request in flight instead of sending their own.
#[derive(Default)]
struct TokenState {
    current: Option<CachedToken>,
    generation: u64,
}

struct CachedToken {
    secret: SecretString,
    refresh_at: Instant,
    expires_at: Instant,
    generation: u64,
}

impl CachedToken {
    fn handle(&self) -> AccessToken {
        AccessToken {
            secret: self.secret.clone(),
            generation: self.generation,
        }
    }

    fn is_fresh(&self) -> bool {
        Instant::now() < self.refresh_at
    }

    /// Still accepted upstream, with a little room for the request to arrive.
    fn is_unexpired(&self) -> bool {
        Instant::now() + REFRESH_RETRY < self.expires_at
    }
}

/// Fetches and caches access tokens for one set of client credentials.
pub(crate) struct TokenSource {
    http: reqwest::Client,
    token_url: Url,
    client_id: String,
    client_secret: SecretString,
    state: Mutex<TokenState>,
}

impl fmt::Debug for TokenSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenSource")
            .field("token_url", &self.token_url.as_str())
            .field("client_id", &self.client_id)
            .field("client_secret", &"[redacted]")
            .finish_non_exhaustive()
    }
}

/// `{access_token, token_type, expires_in}`; deliberately not `Debug`.
#[derive(Deserialize)]
struct TokenResponse {
    access_token: String,
    token_type: Option<String>,
    expires_in: Option<u64>,
}

/// Genesys' OAuth error body, `{"error":"invalid_client","description":...}` (the standard
/// `error_description` is accepted too).
#[derive(Deserialize)]
struct OAuthError {
    error: String,
    description: Option<String>,
    error_description: Option<String>,
}

impl TokenSource {
    pub(crate) fn new(
        http: reqwest::Client,
        token_url: Url,
        client_id: String,
        client_secret: SecretString,
    ) -> Self {
        Self {
            http,
            token_url,
            client_id,
            client_secret,
            state: Mutex::new(TokenState::default()),
        }
    }

    /// A token that is not within 60 s of expiry, fetching one if needed.
    ///
    /// When that early refresh fails for a reason worth retrying (the login service is down or
    /// rate limited) and the current token has not expired yet, the current token is used for a
    /// few more seconds: the API may well be up when login is not.
    pub(crate) async fn current(&self) -> Result<AccessToken, Error> {
        let mut state = self.state.lock().await;
        if let Some(token) = state.current.as_ref().filter(|t| t.is_fresh()) {
            return Ok(token.handle());
        }
        match self.refresh(&mut state).await {
            Err(err) if err.is_retryable() => {
                match state.current.as_mut().filter(|t| t.is_unexpired()) {
                    Some(token) => {
                        tracing::warn!(error = %err, "token refresh failed; using the current token a little longer");
                        token.refresh_at = (Instant::now() + REFRESH_RETRY).min(token.expires_at);
                        Ok(token.handle())
                    }
                    None => Err(err),
                }
            }
            other => other,
        }
    }

    /// A token other than `rejected` (which the API answered 401 to). Callers that were
    /// rejected together share the first caller's new token.
    pub(crate) async fn replace(&self, rejected: u64) -> Result<AccessToken, Error> {
        let mut state = self.state.lock().await;
        if let Some(token) = state
            .current
            .as_ref()
            .filter(|t| t.generation != rejected && t.is_fresh())
        {
            return Ok(token.handle());
        }
        let result = self.refresh(&mut state).await;
        if result.is_err()
            && state
                .current
                .as_ref()
                .is_some_and(|t| t.generation == rejected)
        {
            // Upstream refused it: never hand it out again.
            state.current = None;
        }
        result
    }

    async fn refresh(&self, state: &mut TokenState) -> Result<AccessToken, Error> {
        let span = tracing::info_span!(
            "genesys.token",
            login_host = self.token_url.host_str().unwrap_or_default(),
            status = tracing::field::Empty,
        );
        let result = self.request().instrument(span.clone()).await;
        let outcome = match &result {
            Ok(_) => "success",
            Err(Error::InvalidClient { .. }) => "invalid_client",
            Err(_) => "error",
        };
        metrics::token_request(outcome);
        let (secret, lifetime, requested_at) = result?;
        state.generation += 1;
        // Refreshing 60 s early is impossible for a token that lives less than that; such a
        // token is used for half its life rather than fetched anew for every request.
        let usable = if lifetime > REFRESH_MARGIN {
            lifetime - REFRESH_MARGIN
        } else {
            lifetime / 2
        };
        let token = CachedToken {
            secret,
            refresh_at: requested_at + usable,
            expires_at: requested_at + lifetime,
            generation: state.generation,
        };
        let handle = token.handle();
        span.in_scope(|| {
            tracing::debug!(
                lifetime_s = lifetime.as_secs(),
                generation = state.generation,
                "access token issued"
            );
        });
        state.current = Some(token);
        Ok(handle)
    }

    /// One token request; the lifetime counts from when it was sent, to be conservative.
    async fn request(&self) -> Result<(SecretString, Duration, Instant), Error> {
        let requested_at = Instant::now();
        let response = self
            .http
            .post(self.token_url.clone())
            .header(AUTHORIZATION, self.basic_credentials())
            .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
            .header(ACCEPT, "application/json")
            .body("grant_type=client_credentials")
            .send()
            .await
            .map_err(|err| transport("token request failed", err))?;
        let status = response.status();
        tracing::Span::current().record("status", status.as_u16());
        let headers = response.headers().clone();
        let body = response
            .bytes()
            .await
            .map_err(|err| transport("reading the token response failed", err))?;
        let correlation = correlation_id(&headers, None);

        if status.is_success() {
            return parse_token(&body, correlation)
                .map(|(secret, lifetime)| (secret, lifetime, requested_at));
        }
        let oauth_error = serde_json::from_slice::<OAuthError>(&body).ok();
        tracing::warn!(status = status.as_u16(), "token request refused");
        match (status.as_u16(), oauth_error) {
            (429, _) => Err(Error::RateLimited {
                retry_after: retry::retry_after(&headers, std::time::SystemTime::now()),
                correlation_id: correlation,
            }),
            (status @ 400..=499, Some(oauth)) => Err(Error::InvalidClient {
                status,
                error: oauth.error,
                description: oauth.description.or(oauth.error_description),
            }),
            (401, None) => Err(Error::InvalidClient {
                status: 401,
                error: "unauthorized".to_owned(),
                description: None,
            }),
            (status, _) => Err(Error::Upstream {
                status,
                correlation_id: correlation,
                body: serde_json::from_slice(&body).ok(),
            }),
        }
    }

    /// `Basic base64(client_id:client_secret)`, marked sensitive so the HTTP stack never prints
    /// it, and wiped from memory once the header is built.
    fn basic_credentials(&self) -> HeaderValue {
        let mut pair = Zeroizing::new(String::with_capacity(
            self.client_id.len() + 1 + self.client_secret.expose_secret().len(),
        ));
        pair.push_str(&self.client_id);
        pair.push(':');
        pair.push_str(self.client_secret.expose_secret());
        let mut header = Zeroizing::new(String::from("Basic "));
        BASE64.encode_string(pair.as_bytes(), &mut header);
        let mut value = HeaderValue::from_str(&header).expect("base64 is a valid header value");
        value.set_sensitive(true);
        value
    }
}

/// Reads a token response without ever putting its text into an error message: a serde error
/// can quote the value it choked on.
fn parse_token(
    body: &[u8],
    correlation_id: Option<String>,
) -> Result<(SecretString, Duration), Error> {
    let invalid = |reason: String| Error::InvalidResponse {
        reason,
        correlation_id: correlation_id.clone(),
    };
    let token: TokenResponse = serde_json::from_slice(body).map_err(|err| {
        invalid(format!(
            "the token response is not {{access_token, token_type, expires_in}} JSON ({:?} error at line {} column {})",
            err.classify(),
            err.line(),
            err.column()
        ))
    })?;
    if let Some(kind) = token
        .token_type
        .as_ref()
        .filter(|k| !k.eq_ignore_ascii_case("bearer"))
    {
        return Err(invalid(format!("unexpected token type {kind:?}")));
    }
    if token.access_token.is_empty() {
        return Err(invalid(
            "the token response has an empty access_token".to_owned(),
        ));
    }
    let lifetime = token
        .expires_in
        .map_or(DEFAULT_LIFETIME, Duration::from_secs);
    Ok((SecretString::from(token.access_token), lifetime))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_parse_errors_never_quote_the_body() {
        let body = br#"{"access_token": ["tok-SECRET"], "expires_in": 10}"#;
        let err = parse_token(body, None).unwrap_err();
        let text = format!("{err} {err:?}");
        assert!(!text.contains("tok-SECRET"), "{text}");
        assert!(matches!(err, Error::InvalidResponse { .. }));

        let (secret, lifetime) = parse_token(
            br#"{"access_token":"tok","token_type":"bearer","expires_in":90}"#,
            None,
        )
        .unwrap();
        assert_eq!(secret.expose_secret(), "tok");
        assert_eq!(lifetime, Duration::from_secs(90));
        let (_, lifetime) = parse_token(br#"{"access_token":"tok"}"#, None).unwrap();
        assert_eq!(lifetime, DEFAULT_LIFETIME);
        assert!(parse_token(br#"{"access_token":"tok","token_type":"mac"}"#, None).is_err());
    }

    #[test]
    fn basic_credentials_are_sensitive_and_standard() {
        let source = TokenSource::new(
            reqwest::Client::new(),
            Url::parse("https://login.mypurecloud.com/oauth/token").unwrap(),
            "client".to_owned(),
            SecretString::from("pa:ss"),
        );
        let header = source.basic_credentials();
        assert!(header.is_sensitive());
        assert_eq!(
            header.to_str().unwrap(),
            format!("Basic {}", BASE64.encode("client:pa:ss"))
        );
        assert!(!format!("{source:?}").contains("pa:ss"));
    }
}
