//! The webhook signature: `X-Dircache-Signature: sha256=<hex HMAC-SHA256 of the body>`.

use hmac::{Hmac, Mac};
use secrecy::{ExposeSecret, SecretString};
use sha2::Sha256;

/// The header that carries the signature: `sha256=<lowercase hex HMAC-SHA256(secret, body)>`.
pub const SIGNATURE_HEADER: &str = "X-Dircache-Signature";

/// Lowercase hex HMAC-SHA256 of `body` under `secret`.
pub(super) fn sign(secret: &SecretString, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.expose_secret().as_bytes())
        .expect("HMAC accepts a key of any length");
    mac.update(body);
    hex::encode(mac.finalize().into_bytes())
}
