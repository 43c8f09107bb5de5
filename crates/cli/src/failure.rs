//! How a command fails: the one line printed on stderr and the exit status that goes with it.

use std::error::Error;
use std::fmt;
use std::process::ExitCode;

use crate::config::ConfigError;

/// Why a command did not succeed.
#[derive(Debug)]
pub(crate) enum Failure {
    /// A setting that cannot work (exit status 2), found before any work was done.
    Config(ConfigError),
    /// The command line asked for something impossible, e.g. an invalid directory id (2).
    Usage(String),
    /// The operation itself failed: upstream refused, a directory over the limits... (1).
    Failed(String),
}

impl Failure {
    /// An operation failure described by `error` and its sources, on one line.
    pub(crate) fn failed(error: &(dyn Error + 'static)) -> Self {
        Failure::Failed(one_line(error))
    }

    /// The process exit status.
    pub(crate) fn exit_code(&self) -> ExitCode {
        match self {
            Failure::Config(_) | Failure::Usage(_) => ExitCode::from(2),
            Failure::Failed(_) => ExitCode::from(1),
        }
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Failure::Config(error) => error.fmt(f),
            Failure::Usage(message) | Failure::Failed(message) => f.write_str(message),
        }
    }
}

/// An operation of the cache that failed: exit status 1, its reason on one line.
impl From<cache_core::Error> for Failure {
    fn from(error: cache_core::Error) -> Self {
        Failure::failed(&error)
    }
}

impl From<ConfigError> for Failure {
    fn from(error: ConfigError) -> Self {
        Failure::Config(error)
    }
}

/// `error: its source: that one's source`, on one line, each part said once. The Genesys
/// client's errors end with the correlation id when upstream gave one, so it is kept.
pub(crate) fn one_line(error: &(dyn Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let part = cause.to_string();
        if !text.contains(&part) {
            text.push_str(": ");
            text.push_str(&part);
        }
        source = cause.source();
    }
    text.replace(['\n', '\r'], " ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_upstream_failure_keeps_the_correlation_id_on_one_line() {
        let error = cache_core::Error::Upstream {
            directory_id: cache_core::DirectoryId::new("vendors").unwrap(),
            source: genesys_client::Error::Forbidden {
                directory_id: "vendors".into(),
                grant: "routing:directory:read",
                correlation_id: Some("corr-42".into()),
                body: None,
            }
            .into(),
        };
        let failure = Failure::failed(&error);
        let text = failure.to_string();
        assert!(text.starts_with("fetching directory `vendors` from upstream failed: "));
        assert!(
            text.contains("routing:directory:read") && text.contains("corr-42"),
            "{text}"
        );
        assert!(!text.contains('\n'));
        assert_eq!(failure.exit_code(), ExitCode::from(1));
    }

    #[test]
    fn configuration_and_usage_errors_exit_2() {
        let config = Failure::from(ConfigError::new("ttl.default", "too long"));
        assert_eq!(config.exit_code(), ExitCode::from(2));
        assert_eq!(
            config.to_string(),
            "invalid configuration: ttl.default: too long"
        );
        assert_eq!(
            Failure::Usage("bad id".into()).exit_code(),
            ExitCode::from(2)
        );
    }
}
