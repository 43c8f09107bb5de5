//! Finding credentials in what dircache printed: the forms they take on the wire and in tokens.

use base64::Engine;

/// The length of the access tokens genesys-mock issues (random ASCII alphanumerics).
pub const MOCK_TOKEN_LEN: usize = 48;

/// The credential of `Authorization: Basic …` for this client, as sent to the token endpoint.
pub fn basic_credential(client_id: &str, client_secret: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(format!("{client_id}:{client_secret}"))
}

/// The runs of ASCII alphanumerics in `text` exactly as long as a mock access token: what a
/// leaked bearer token looks like. Longer runs (hex digests) and shorter ones do not count.
pub fn mock_token_lookalikes(text: &str) -> Vec<&str> {
    text.split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|run| run.len() == MOCK_TOKEN_LEN)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::{basic_credential, mock_token_lookalikes};

    #[test]
    fn basic_credential_is_base64_of_id_colon_secret() {
        assert_eq!(
            basic_credential("Aladdin", "open sesame"),
            "QWxhZGRpbjpvcGVuIHNlc2FtZQ=="
        );
    }

    #[test]
    fn finds_token_sized_runs_only() {
        let token = "a".repeat(47) + "Z";
        let digest = "f".repeat(64);
        let text = format!("bearer={token}; fingerprint=sha256:{digest} id=abc-{token}x");
        assert_eq!(mock_token_lookalikes(&text), [token.as_str()]);
        assert!(mock_token_lookalikes("GET /v1/directories/vendors 200 HIT 0.2ms").is_empty());
    }
}
