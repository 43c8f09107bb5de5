//! What the binary's tests share: a `dircache` command pointed at a genesys-mock, with nothing
//! inherited from the environment of the test run.

#![allow(
    dead_code,
    reason = "each test file uses its own part of these helpers"
)]

use std::process::{Command, Output};

use genesys_mock::GenesysMock;

/// `dircache` with an empty environment.
pub(crate) fn bare() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_dircache"));
    command.env_clear();
    command
}

/// `dircache` with the mock's URLs and credentials.
pub(crate) fn against(mock: &GenesysMock) -> Command {
    let mut command = bare();
    command
        .env("GENESYS_CLIENT_ID", mock.client_id())
        .env("GENESYS_CLIENT_SECRET", mock.client_secret())
        .env("GENESYS_API_URL", mock.api_url())
        .env("GENESYS_LOGIN_URL", mock.login_url());
    command
}

/// Runs `command` to the end.
pub(crate) fn run(command: &mut Command) -> Output {
    command.output().expect("dircache runs")
}

/// The exit status, stdout and stderr of `output`.
pub(crate) fn parts(output: &Output) -> (i32, String, String) {
    (
        output.status.code().expect("exited, not killed"),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}
