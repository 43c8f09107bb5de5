//! The settings of serving at the edge (SPEC §10): connection limit, TLS files, the compressed
//! forms made at fill, and the byte limit of a directory.

use std::path::PathBuf;

use cache_core::ContentCoding;
use genesys_client::DEFAULT_MAX_DIRECTORY_BYTES;

use super::{ConfigError, Named, Picker, Setting};

/// The default of `DIRCACHE_MAX_CONNECTIONS`.
const DEFAULT_MAX_CONNECTIONS: i64 = 10_000;

/// The validated edge settings.
#[derive(Debug)]
pub(crate) struct EdgeSettings {
    /// The most connections `serve` serves at once.
    pub(crate) max_connections: usize,
    /// The certificate chain and key files, when both are set (checked when `serve` starts,
    /// so one-shot commands never read them).
    pub(crate) tls: Option<TlsFiles>,
    /// The compressed forms made when a copy is cached.
    pub(crate) eager_encodings: Vec<ContentCoding>,
    /// The most bytes of upstream JSON a directory may have.
    pub(crate) max_directory_bytes: u64,
}

/// `DIRCACHE_TLS_CERT` and `DIRCACHE_TLS_KEY`, each with the name it was given under.
#[derive(Debug)]
pub(crate) struct TlsFiles {
    /// The certificate chain (PEM).
    pub(crate) cert: Named<PathBuf>,
    /// The private key (PEM).
    pub(crate) key: Named<PathBuf>,
}

/// Reads the edge settings.
pub(crate) fn resolve_edge(pick: &Picker<'_>) -> Result<EdgeSettings, ConfigError> {
    let serve = &pick.inputs.file.serve;
    let cache = &pick.inputs.file.cache;
    let max_connections = pick
        .bounded(
            Setting::MaxConnections,
            serve.max_connections,
            1..=1_000_000,
            "a connection limit is 1..=1000000",
        )?
        .map_or(DEFAULT_MAX_CONNECTIONS, |n| n.value) as usize;
    let path = |setting, file: Option<&PathBuf>| {
        let file = file.map(|p| p.to_string_lossy().into_owned());
        pick.text(setting, file.as_ref())
            .map(|found| found.map(|text| text.map(PathBuf::from)))
    };
    let cert = path(Setting::TlsCert, serve.tls_cert.as_ref())?;
    let key = path(Setting::TlsKey, serve.tls_key.as_ref())?;
    let tls = match (cert, key) {
        (Some(cert), Some(key)) => Some(TlsFiles { cert, key }),
        (None, None) => None,
        (Some(_), None) => return Err(half_a_pair(Setting::TlsKey, Setting::TlsCert)),
        (None, Some(_)) => return Err(half_a_pair(Setting::TlsCert, Setting::TlsKey)),
    };
    let eager_encodings =
        match pick.text(Setting::EagerEncodings, cache.eager_encodings.as_ref())? {
            Some(list) => codings(&list)?,
            None => cache_core::DEFAULT_EAGER_ENCODINGS.to_vec(),
        };
    let max_directory_bytes = pick
        .bounded(
            Setting::MaxDirectoryBytes,
            cache.max_directory_bytes,
            1024..=i64::MAX,
            "a directory byte limit is at least 1024",
        )?
        .map_or(DEFAULT_MAX_DIRECTORY_BYTES, |n| n.value as u64);
    Ok(EdgeSettings {
        max_connections,
        tls,
        eager_encodings,
        max_directory_bytes,
    })
}

fn half_a_pair(missing: Setting, given: Setting) -> ConfigError {
    ConfigError::new(
        missing.env(),
        format!(
            "is required when {} is set: TLS needs both the certificate and its key",
            given.env()
        ),
    )
}

/// `zstd,gzip`, `br`, `none`: each coding once.
fn codings(list: &Named<String>) -> Result<Vec<ContentCoding>, ConfigError> {
    if list.value.eq_ignore_ascii_case("none") {
        return Ok(Vec::new());
    }
    let mut codings = Vec::new();
    for name in list.value.split(',').map(str::trim) {
        let coding = ContentCoding::from_name(name).ok_or_else(|| {
            list.refuse(format!(
                "{name:?} is not a coding: a comma-separated list of zstd, br and gzip, or none"
            ))
        })?;
        if !codings.contains(&coding) {
            codings.push(coding);
        }
    }
    Ok(codings)
}
