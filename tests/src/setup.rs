//! The `dircache` every test runs: pointed at the mock, with the admin token, an audit log in
//! its scratch directory, info logs and no colours.

use anyhow::Result;
use genesys_mock::{GenesysMock, MockDirectory};
use testkit::Dircache;

use crate::fixtures::{ADMIN_TOKEN, mock_with};
use crate::serve::{Served, Start};

/// The audit log file [`setup`] configures, in the process's scratch directory.
pub const AUDIT_LOG: &str = "audit.jsonl";

/// `dircache` pointed at `mock` ([`Dircache::for_mock`]), with [`ADMIN_TOKEN`], the audit log
/// [`AUDIT_LOG`], `RUST_LOG=info` and `NO_COLOR`; a test changes what it is about.
pub fn setup(mock: &GenesysMock) -> Result<Dircache> {
    let setup = Dircache::for_mock(mock)?;
    let audit = setup.path(AUDIT_LOG).display().to_string();
    Ok(setup
        .env("DIRCACHE_ADMIN_TOKEN", ADMIN_TOKEN)
        .env("DIRCACHE_AUDIT_LOG", audit)
        .env("RUST_LOG", "info")
        .env("NO_COLOR", "1"))
}

/// A mock holding `directory` as `id` ([`mock_with`]), and its [`setup`] serving.
pub async fn serving(id: &str, directory: MockDirectory) -> Result<(GenesysMock, Served)> {
    serving_with(id, directory, |setup| setup).await
}

/// [`serving`], with the setup changed by `change` first.
pub async fn serving_with(
    id: &str,
    directory: MockDirectory,
    change: impl FnOnce(Dircache) -> Dircache,
) -> Result<(GenesysMock, Served)> {
    let mock = mock_with(id, directory)?;
    let served = change(setup(&mock)?).start().await?;
    Ok((mock, served))
}
