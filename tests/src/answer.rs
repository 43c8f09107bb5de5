//! An HTTP answer read whole: status, headers and body, with the contract's JSON error shape.

use anyhow::{Context, Result};
use serde_json::Value;

/// A response with its body read, from `reqwest` or from [`raw_get`](crate::raw_get).
#[derive(Clone, Debug)]
pub struct Answer {
    /// The status code.
    pub status: u16,
    /// The headers, names lower-cased, in order.
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: Vec<u8>,
}

impl Answer {
    /// Reads `response` to its end.
    pub async fn read(response: reqwest::Response) -> Result<Answer> {
        let status = response.status().as_u16();
        let headers = response
            .headers()
            .iter()
            .map(|(name, value)| {
                let value = String::from_utf8_lossy(value.as_bytes()).into_owned();
                (name.as_str().to_owned(), value)
            })
            .collect();
        let body = response.bytes().await?.to_vec();
        Ok(Answer {
            status,
            headers,
            body,
        })
    }

    /// The first header named `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(key, _)| key.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_str())
    }

    /// The body as text, for assertion messages.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The body as JSON.
    pub fn json(&self) -> Result<Value> {
        serde_json::from_slice(&self.body).with_context(|| {
            format!(
                "status {}: the body is not JSON: {:?}",
                self.status,
                self.text()
            )
        })
    }

    /// `error.code` of a JSON error body `{"error": {"code", "message", "correlation_id"?}}`.
    pub fn error_code(&self) -> Result<String> {
        let body = self.json()?;
        body["error"]["code"]
            .as_str()
            .map(str::to_owned)
            .with_context(|| format!("status {}: no error.code in {body}", self.status))
    }
}

#[cfg(test)]
mod tests {
    use super::Answer;

    #[test]
    fn reads_the_error_code_and_headers_case_insensitively() {
        let answer = Answer {
            status: 404,
            headers: vec![("content-type".into(), "application/json".into())],
            body: br#"{"error":{"code":"not_found","message":"no such directory"}}"#.to_vec(),
        };
        assert_eq!(answer.error_code().unwrap(), "not_found");
        assert_eq!(answer.header("Content-Type"), Some("application/json"));
        let not_an_error = Answer {
            body: b"{}".to_vec(),
            ..answer
        };
        assert!(not_an_error.error_code().is_err());
    }
}
