//! A faithful fake of the Genesys Cloud login and directory API for tests, benches and demos.
#![doc = include_str!("../README.md")]

mod auth;
mod directory;
mod entries;
mod exchange;
mod faults;
mod form;
mod listing;
mod mock;
mod org;
mod org_listing;
mod ratelimit;
mod response;
mod server;
mod sources;
mod state;
mod stats;

pub use directory::{MockDirectory, Paging};
pub use entries::generate_entries;
pub use faults::{Fault, RetryAfter, Target};
pub use mock::{GenesysMock, MockBuilder};
pub use sources::MockSource;
pub use stats::{MockStats, RecordedRequest, RequestKind, STATUS_DROPPED};

#[cfg(test)]
mod testing;
