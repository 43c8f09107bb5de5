//! OAuth client credentials: the token endpoint and the store of tokens it issued.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderMap, Response, StatusCode, header};
use base64::Engine;
use serde_json::json;

use crate::exchange::Exchange;
use crate::form::form_value;
use crate::response::{json_response, oauth_error};
use crate::state::Shared;
use crate::stats::RequestKind;

/// Access tokens issued and when.
#[derive(Debug, Default)]
pub(crate) struct TokenStore {
    issued: HashMap<String, Instant>,
}

impl TokenStore {
    /// A new random opaque token, valid from `now`.
    pub(crate) fn issue(&mut self, now: Instant) -> String {
        let token: String = std::iter::repeat_with(fastrand::alphanumeric)
            .take(48)
            .collect();
        self.issued.insert(token.clone(), now);
        token
    }

    /// Whether `token` was issued, has not been expired by [`Self::expire_all`], and is
    /// younger than `lifetime`.
    pub(crate) fn is_valid(&self, token: &str, now: Instant, lifetime: Duration) -> bool {
        self.issued
            .get(token)
            .is_some_and(|issued| now.duration_since(*issued) < lifetime)
    }

    pub(crate) fn expire_all(&mut self) {
        self.issued.clear();
    }
}

/// The scheme word of an `Authorization` header and the credential after it.
pub(crate) fn authorization(headers: &HeaderMap) -> Option<(&str, &str)> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?.trim();
    Some(
        value
            .split_once(' ')
            .map_or((value, ""), |(scheme, rest)| (scheme, rest.trim())),
    )
}

/// `POST /oauth/token`: client credentials in HTTP Basic, `grant_type=client_credentials`.
pub(crate) async fn token(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response<Body> {
    let exchange = Exchange::new(RequestKind::Token, &headers, None, None);
    let at = exchange.at;
    exchange
        .run(&shared, |state, correlation| {
            if !credentials_match(
                &headers,
                &shared.config.client_id,
                &shared.config.client_secret,
            ) {
                return oauth_error(
                    401,
                    "invalid_client",
                    "Client authentication failed: unknown client or wrong secret.",
                    correlation,
                );
            }
            let body = String::from_utf8_lossy(&body);
            if form_value(&body, "grant_type").as_deref() != Some("client_credentials") {
                return oauth_error(
                    400,
                    "unsupported_grant_type",
                    "Only grant_type=client_credentials is supported for this client.",
                    correlation,
                );
            }
            let access_token = state.tokens.issue(at);
            let body = json!({
                "access_token": access_token,
                "token_type": "bearer",
                "expires_in": shared.config.token_lifetime.as_secs(),
            });
            json_response(StatusCode::OK, &body, correlation)
        })
        .await
}

fn credentials_match(headers: &HeaderMap, client_id: &str, client_secret: &str) -> bool {
    let Some((scheme, encoded)) = authorization(headers) else {
        return false;
    };
    if !scheme.eq_ignore_ascii_case("basic") {
        return false;
    }
    let Ok(decoded) = base64::engine::general_purpose::STANDARD.decode(encoded) else {
        return false;
    };
    decoded == format!("{client_id}:{client_secret}").as_bytes()
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use crate::testing::{api_get, entries_path, send_json, status_of, token, token_request};
    use crate::{GenesysMock, MockDirectory};

    #[tokio::test]
    async fn good_credentials_get_a_bearer_token_with_the_configured_lifetime() {
        let mock = GenesysMock::builder()
            .credentials("my-client", "my-secret")
            .token_lifetime(Duration::from_secs(3600))
            .start()
            .unwrap();
        assert_eq!(
            (mock.client_id(), mock.client_secret()),
            ("my-client", "my-secret")
        );
        let (status, _, body) = send_json(token_request(
            &mock,
            "my-client",
            "my-secret",
            "grant_type=client_credentials",
        ))
        .await;
        assert_eq!(status, 200);
        assert_eq!(body["token_type"], "bearer");
        assert_eq!(body["expires_in"], 3600);
        let first = body["access_token"].as_str().unwrap().to_owned();
        assert!(first.len() >= 32);
        assert_ne!(first, token(&mock).await, "each token is fresh and random");
    }

    #[tokio::test]
    async fn bad_or_missing_credentials_are_invalid_client() {
        let mock = GenesysMock::start().unwrap();
        let form = "grant_type=client_credentials";
        for request in [
            token_request(&mock, mock.client_id(), "wrong", form),
            token_request(&mock, "someone-else", mock.client_secret(), form),
            crate::testing::client()
                .post(format!("{}/oauth/token", mock.login_url()))
                .body(form),
        ] {
            let (status, headers, body) = send_json(request).await;
            assert_eq!(status, 401);
            assert_eq!(body["error"], "invalid_client");
            assert!(body["description"].is_string());
            assert!(headers.contains_key("inin-correlation-id"));
        }
    }

    #[tokio::test]
    async fn a_wrong_or_missing_grant_type_is_unsupported() {
        let mock = GenesysMock::start().unwrap();
        for form in ["grant_type=password", "", "scope=x"] {
            let request = token_request(&mock, mock.client_id(), mock.client_secret(), form);
            let (status, _, body) = send_json(request).await;
            assert_eq!(status, 400, "{form:?}");
            assert_eq!(body["error"], "unsupported_grant_type");
        }
    }

    #[tokio::test]
    async fn the_api_answers_401_without_a_token_or_with_an_unknown_one() {
        let mock = GenesysMock::start().unwrap();
        mock.put_directory("d", MockDirectory::generated(3, 1));
        let anonymous =
            crate::testing::client().get(format!("{}{}", mock.api_url(), entries_path("d", "")));
        for request in [
            anonymous,
            api_get(&mock, "not-a-token", &entries_path("d", "")),
        ] {
            let (status, headers, body) = send_json(request).await;
            assert_eq!(status, 401);
            assert_eq!(body["code"], "bad.credentials");
            assert_eq!(body["status"], 401);
            assert_eq!(
                body["contextId"].as_str(),
                headers["inin-correlation-id"].to_str().ok()
            );
            assert_eq!(body["details"], serde_json::json!([]));
            assert_eq!(body["errors"], serde_json::json!([]));
        }
        let token = token(&mock).await;
        assert_eq!(status_of(&mock, &token, &entries_path("d", "")).await, 200);
    }

    #[tokio::test]
    async fn a_token_older_than_its_lifetime_answers_401() {
        let mock = GenesysMock::builder()
            .token_lifetime(Duration::from_millis(300))
            .start()
            .unwrap();
        mock.put_directory("d", MockDirectory::generated(3, 1));
        let token = token(&mock).await;
        let path = entries_path("d", "");
        assert_eq!(status_of(&mock, &token, &path).await, 200);
        tokio::time::sleep(Duration::from_millis(350)).await;
        assert_eq!(status_of(&mock, &token, &path).await, 401);
    }

    #[tokio::test]
    async fn expire_tokens_invalidates_every_token_issued_so_far() {
        let mock = GenesysMock::start().unwrap();
        mock.put_directory("d", MockDirectory::generated(3, 1));
        let path = entries_path("d", "");
        let (old_a, old_b) = (token(&mock).await, token(&mock).await);
        mock.expire_tokens();
        for old in [&old_a, &old_b] {
            assert_eq!(status_of(&mock, old, &path).await, 401);
        }
        let fresh = token(&mock).await;
        assert_eq!(status_of(&mock, &fresh, &path).await, 200);
    }
}
