//! Helpers the tests of this crate share: a real HTTP client talking to a started mock.

use reqwest::{Client, RequestBuilder, Response};
use serde_json::Value;

use crate::GenesysMock;

/// A client that never pools: each test request opens its own connection, so a connection cut
/// by one test request cannot surface in the next.
pub(crate) fn client() -> Client {
    Client::builder()
        .pool_max_idle_per_host(0)
        .build()
        .expect("a plain reqwest client builds")
}

/// `POST /oauth/token` with the given Basic credentials and form body.
pub(crate) fn token_request(
    mock: &GenesysMock,
    id: &str,
    secret: &str,
    form: &str,
) -> RequestBuilder {
    client()
        .post(format!("{}/oauth/token", mock.login_url()))
        .basic_auth(id, Some(secret))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(form.to_owned())
}

/// A valid access token for `mock`'s client.
pub(crate) async fn token(mock: &GenesysMock) -> String {
    let response = token_request(
        mock,
        mock.client_id(),
        mock.client_secret(),
        "grant_type=client_credentials",
    )
    .send()
    .await
    .expect("token request");
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.expect("token JSON");
    body["access_token"]
        .as_str()
        .expect("access_token")
        .to_owned()
}

/// `GET` of an API path (or a listing URI relative to the API base) with a bearer token.
pub(crate) fn api_get(mock: &GenesysMock, token: &str, path: &str) -> RequestBuilder {
    client()
        .get(format!("{}{path}", mock.api_url()))
        .bearer_auth(token)
}

/// The entries path of `id` with an optional query.
pub(crate) fn entries_path(id: &str, query: &str) -> String {
    format!("/api/v2/routing/directories/{id}/entries{query}")
}

/// Sends and returns the response, failing the test on a transport error.
pub(crate) async fn send(request: RequestBuilder) -> Response {
    request.send().await.expect("the mock answers")
}

/// The status of a `GET` of `path` with `token`.
pub(crate) async fn status_of(mock: &GenesysMock, token: &str, path: &str) -> u16 {
    send(api_get(mock, token, path)).await.status().as_u16()
}

/// Sends and returns status, headers and the JSON body (`Null` when the body is empty).
pub(crate) async fn send_json(request: RequestBuilder) -> (u16, reqwest::header::HeaderMap, Value) {
    let response = send(request).await;
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let bytes = response.bytes().await.expect("body");
    let body = if bytes.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&bytes).expect("JSON body")
    };
    (status, headers, body)
}
