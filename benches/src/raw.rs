//! `RawFetch`: the baseline of a cold fetch, the same pages read with bare reqwest.

use std::fmt;

use reqwest::header::ACCEPT;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use crate::Error;

/// The pages of [`DIRECTORY`](crate::DIRECTORY) and a bearer token to read them with: what a
/// hand-written client would do, with no cache, no retries and no snapshot checks.
///
/// Made by [`Upstream::raw_fetch`](crate::Upstream::raw_fetch). `Debug` never shows the token.
pub struct RawFetch {
    http: reqwest::Client,
    token: SecretString,
    pages: Vec<String>,
}

/// A listing page, parsed as far as a client needs it: its entries, each a JSON object as the
/// pipeline keeps them.
#[derive(Deserialize)]
struct Page {
    entities: Vec<Map<String, Value>>,
}

/// Sends `request` (to `url`), as JSON, and parses the JSON answer: what a bare client does.
pub(crate) async fn read_json<T: DeserializeOwned>(
    request: reqwest::RequestBuilder,
    url: &str,
) -> Result<T, Error> {
    let raw = |source| Error::Raw {
        url: url.to_owned(),
        source,
    };
    let body = request
        .header(ACCEPT, "application/json")
        .send()
        .await
        .and_then(reqwest::Response::error_for_status)
        .map_err(raw)?
        .bytes()
        .await
        .map_err(raw)?;
    serde_json::from_slice(&body).map_err(|source| Error::RawBody {
        url: url.to_owned(),
        source,
    })
}

impl RawFetch {
    pub(crate) fn new(http: reqwest::Client, token: SecretString, pages: Vec<String>) -> Self {
        Self { http, token, pages }
    }

    /// GETs every page in turn and parses its JSON: the directory's entries, in order.
    pub async fn fetch(&self) -> Result<Vec<Map<String, Value>>, Error> {
        let mut entries = Vec::new();
        for url in &self.pages {
            let request = self.http.get(url).bearer_auth(self.token.expose_secret());
            let page: Page = read_json(request, url).await?;
            entries.extend(page.entities);
        }
        Ok(entries)
    }
}

impl fmt::Debug for RawFetch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RawFetch")
            .field("pages", &self.pages)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_leaves_the_token_out() {
        let raw = RawFetch::new(
            reqwest::Client::new(),
            SecretString::from("tok-SECRET"),
            vec!["http://127.0.0.1:9/page".to_owned()],
        );
        let text = format!("{raw:?}");
        assert!(!text.contains("tok-SECRET"), "{text}");
        assert!(text.contains("127.0.0.1:9/page"), "{text}");
    }
}
