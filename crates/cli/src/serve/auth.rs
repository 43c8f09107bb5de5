//! The admin bearer token that guards the mutating endpoints (`DELETE`, `verify`).

use std::fmt;
use std::sync::Arc;

use axum::http::{HeaderMap, header};
use secrecy::{ExposeSecret, SecretString};
use subtle::ConstantTimeEq;

use super::error::ApiError;

/// Checks `Authorization: Bearer <token>` against the configured admin token. Without a
/// configured token every mutating request is refused.
#[derive(Clone, Default)]
pub(crate) struct AdminAuth {
    token: Option<Arc<SecretString>>,
}

impl AdminAuth {
    /// Guards with `token`, or refuses everything when there is none.
    pub(crate) fn new(token: Option<SecretString>) -> Self {
        Self {
            token: token.map(Arc::new),
        }
    }

    /// Whether a token is configured.
    pub(crate) fn is_configured(&self) -> bool {
        self.token.is_some()
    }

    /// `Ok` when the request carries the admin token.
    pub(crate) fn check(&self, headers: &HeaderMap) -> Result<(), ApiError> {
        let Some(expected) = &self.token else {
            return Err(ApiError::unauthorized(
                "no admin token is configured, so mutating requests are refused \
                 (set DIRCACHE_ADMIN_TOKEN or DIRCACHE_ADMIN_TOKEN_FILE)",
            ));
        };
        let Some(presented) = headers
            .get(header::AUTHORIZATION)
            .and_then(|value| value.to_str().ok())
            .and_then(bearer)
        else {
            return Err(ApiError::unauthorized(
                "this request needs `Authorization: Bearer <admin token>`",
            ));
        };
        // Constant time, so the comparison does not tell how much of a guess was right.
        let matches: bool = presented
            .as_bytes()
            .ct_eq(expected.expose_secret().as_bytes())
            .into();
        if matches {
            Ok(())
        } else {
            Err(ApiError::unauthorized(
                "the bearer token is not the admin token",
            ))
        }
    }
}

impl fmt::Debug for AdminAuth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AdminAuth")
            .field("configured", &self.is_configured())
            .finish()
    }
}

/// The credential of a `Bearer` authorization (the scheme is case-insensitive).
fn bearer(value: &str) -> Option<&str> {
    let (scheme, credential) = value.trim().split_once(' ')?;
    let credential = credential.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !credential.is_empty()).then_some(credential)
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;
    use axum::response::IntoResponse;

    use super::*;

    fn with_authorization(value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(header::AUTHORIZATION, HeaderValue::from_str(value).unwrap());
        headers
    }

    fn refused(result: Result<(), ApiError>) -> u16 {
        result.unwrap_err().into_response().status().as_u16()
    }

    #[test]
    fn the_right_token_passes() {
        let auth = AdminAuth::new(Some(SecretString::from("t0ken")));
        assert!(auth.check(&with_authorization("Bearer t0ken")).is_ok());
        assert!(auth.check(&with_authorization("bearer  t0ken ")).is_ok());
    }

    #[test]
    fn a_missing_or_wrong_token_is_401() {
        let auth = AdminAuth::new(Some(SecretString::from("t0ken")));
        assert_eq!(refused(auth.check(&HeaderMap::new())), 401);
        assert_eq!(refused(auth.check(&with_authorization("Bearer t0ke"))), 401);
        assert_eq!(
            refused(auth.check(&with_authorization("Bearer t0ken2"))),
            401
        );
        assert_eq!(refused(auth.check(&with_authorization("Basic t0ken"))), 401);
        assert_eq!(refused(auth.check(&with_authorization("t0ken"))), 401);
    }

    #[test]
    fn without_a_configured_token_everything_is_refused() {
        let auth = AdminAuth::new(None);
        assert!(!auth.is_configured());
        assert_eq!(refused(auth.check(&with_authorization("Bearer "))), 401);
        assert_eq!(
            refused(auth.check(&with_authorization("Bearer anything"))),
            401
        );
    }

    #[test]
    fn debug_never_shows_the_token() {
        let auth = AdminAuth::new(Some(SecretString::from("t0ken")));
        assert!(!format!("{auth:?}").contains("t0ken"));
    }
}
