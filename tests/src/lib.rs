//! End-to-end tests of the `dircache` binary: the support the tests in `tests/e2e` share.
#![doc = include_str!("../README.md")]

mod answer;
mod exit;
mod fixtures;
pub mod prometheus;
mod raw;
pub mod secrets;
mod serve;
mod setup;

pub use answer::Answer;
pub use exit::exited;
pub use fixtures::{ADMIN_TOKEN, CLIENT_ID, CLIENT_SECRET, mock_builder, mock_with, start_mock};
pub use raw::raw_get;
pub use serve::{Served, Start};
pub use setup::{AUDIT_LOG, serving, serving_with, setup};
