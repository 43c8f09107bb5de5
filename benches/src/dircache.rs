//! The `dircache` binary under measurement: where `cargo xtask bench` built it, and
//! `dircache serve` started in front of genesys-mock.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Command;

use genesys_mock::GenesysMock;

use crate::{ChildServer, Error};

/// The environment variable naming the `dircache` binary the serve benches run; `cargo xtask
/// bench` builds it in release mode and sets this.
pub const DIRCACHE_BIN_ENV: &str = "DIRCACHE_BIN";
/// The line `dircache serve` prints once it listens, before its address.
const LISTENING: &str = "dircache listening on http://";

/// The `dircache` binary named by [`DIRCACHE_BIN_ENV`].
pub fn dircache_binary() -> Result<PathBuf, Error> {
    binary_from(std::env::var_os(DIRCACHE_BIN_ENV))
}

fn binary_from(value: Option<OsString>) -> Result<PathBuf, Error> {
    let missing = |reason: String| Error::Binary {
        variable: DIRCACHE_BIN_ENV,
        reason,
    };
    let path = PathBuf::from(
        value
            .filter(|value| !value.is_empty())
            .ok_or_else(|| missing(format!("{DIRCACHE_BIN_ENV} is not set")))?,
    );
    if path.is_file() {
        Ok(path)
    } else {
        Err(missing(format!("{} is not a file", path.display())))
    }
}

/// Starts `<binary> serve --listen 127.0.0.1:0` against `mock`, with the memory backend and
/// default settings but for `settings` (environment variables, `RUST_LOG` among them).
///
/// The environment is otherwise empty, so that a `DIRCACHE_*` variable of the shell running the
/// bench cannot change what is measured. `name` names the process in messages and its output
/// files in `scratch`.
pub fn serve(
    binary: &Path,
    name: &str,
    mock: &GenesysMock,
    settings: &[(&str, &str)],
    scratch: &Path,
) -> Result<ChildServer, Error> {
    let mut command = Command::new(binary);
    command
        .args(["serve", "--listen", "127.0.0.1:0"])
        .env_clear()
        .env("GENESYS_API_URL", mock.api_url())
        .env("GENESYS_LOGIN_URL", mock.login_url())
        .env("GENESYS_CLIENT_ID", mock.client_id())
        .env("GENESYS_CLIENT_SECRET", mock.client_secret())
        .envs(settings.iter().copied());
    ChildServer::start(name, command, scratch, LISTENING)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_binary_is_reported_with_the_variable_that_names_it() {
        for value in [None, Some(OsString::new())] {
            let message = binary_from(value).unwrap_err().to_string();
            assert!(message.contains("DIRCACHE_BIN is not set"), "{message}");
            assert!(message.contains("cargo xtask bench"), "{message}");
        }
        let message = binary_from(Some("/nonexistent/dircache".into()))
            .unwrap_err()
            .to_string();
        assert!(
            message.contains("/nonexistent/dircache is not a file"),
            "{message}"
        );
        let this = std::env::current_exe().unwrap();
        assert_eq!(binary_from(Some(this.clone().into())).unwrap(), this);
    }
}
