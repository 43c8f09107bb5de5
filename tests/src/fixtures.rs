//! The upstream every test talks to: a genesys-mock with credentials that are easy to spot in logs.

use genesys_mock::{GenesysMock, MockBuilder, MockDirectory};

/// The OAuth client id the mock accepts.
pub const CLIENT_ID: &str = "e2e-client";

/// The OAuth client secret the mock accepts; distinctive, so a leak into any output is found.
pub const CLIENT_SECRET: &str = "e2e-Secret-7fQz2LwX9pKd";

/// The admin token dircache is given; distinctive for the same reason.
pub const ADMIN_TOKEN: &str = "e2e-Admin-4hTn8RvC1mZs";

/// A mock builder with [`CLIENT_ID`] and [`CLIENT_SECRET`], for tests that need latency or other
/// settings.
pub fn mock_builder() -> MockBuilder {
    GenesysMock::builder().credentials(CLIENT_ID, CLIENT_SECRET)
}

/// A started mock with [`CLIENT_ID`] and [`CLIENT_SECRET`] and no directories yet.
pub fn start_mock() -> anyhow::Result<GenesysMock> {
    Ok(mock_builder().start()?)
}

/// A started mock as [`start_mock`], holding `directory` as `id`.
pub fn mock_with(id: &str, directory: MockDirectory) -> anyhow::Result<GenesysMock> {
    let mock = start_mock()?;
    mock.put_directory(id, directory);
    Ok(mock)
}
