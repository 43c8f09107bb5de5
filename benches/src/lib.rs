#![doc = include_str!("../README.md")]

mod error;
mod raw;
mod record;
mod upstream;

pub use error::Error;
pub use raw::RawFetch;
pub use record::{BENCH_DIR_ENV, record};
pub use upstream::{DIRECTORY, ENTRIES, PAGE_SIZE, Upstream, runtime};
