//! TLS for `serve`: the rustls configuration (ring) built from `DIRCACHE_TLS_CERT` and
//! `DIRCACHE_TLS_KEY`, each refusal naming the setting at fault.

use std::sync::Arc;

use rustls::ServerConfig;
use rustls::crypto::ring;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use tokio_rustls::TlsAcceptor;

use crate::config::{ConfigError, TlsFiles};

/// The acceptor for `files`: the chain must be readable PEM with at least one certificate, the
/// key a readable PEM private key, and the two must belong together.
pub(crate) fn acceptor(files: &TlsFiles) -> Result<TlsAcceptor, ConfigError> {
    let cert_path = &files.cert.value;
    let key_path = &files.key.value;
    let chain = CertificateDer::pem_file_iter(cert_path)
        .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
        .map_err(|e| {
            files
                .cert
                .refuse(format!("cannot read {}: {e}", cert_path.display()))
        })?;
    if chain.is_empty() {
        return Err(files
            .cert
            .refuse(format!("{} holds no PEM certificate", cert_path.display())));
    }
    // The key's own error is left out: rustls does not quote key bytes, but a path and a
    // reason are all an operator needs.
    let key = PrivateKeyDer::from_pem_file(key_path).map_err(|e| {
        files.key.refuse(format!(
            "cannot read a PEM private key from {}: {}",
            key_path.display(),
            key_reason(&e)
        ))
    })?;
    let config = ServerConfig::builder_with_provider(Arc::new(ring::default_provider()))
        .with_safe_default_protocol_versions()
        .map_err(|e| files.cert.refuse(e.to_string()))?
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .map_err(|e| {
            files.key.refuse(format!(
                "does not go with the certificate of {}: {e}",
                files.cert.name
            ))
        })?;
    let mut config = config;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(TlsAcceptor::from(Arc::new(config)))
}

/// Why a key file could not be read, without its contents.
fn key_reason(error: &rustls_pki_types::pem::Error) -> String {
    match error {
        rustls_pki_types::pem::Error::Io(e) => e.to_string(),
        rustls_pki_types::pem::Error::NoItemsFound => "no private key in it".to_owned(),
        _ => "it is not a PEM private key".to_owned(),
    }
}
