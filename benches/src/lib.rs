#![doc = include_str!("../README.md")]

mod cpu;
mod error;
mod http;
mod load;
mod median;
mod raw;
mod record;
mod rss;
mod serve_growth;
mod static_app;
mod upstream;

pub use cpu::thread_cpu;
pub use error::Error;
pub use http::{Answer, Connection, Counted};
pub use load::{Load, Throughput};
pub use median::median;
pub use raw::RawFetch;
pub use record::{BENCH_DIR_ENV, record};
pub use rss::resident_bytes;
pub use serve_growth::{Growth, json_size};
pub use static_app::{STATIC_LISTENING, static_app};
pub use upstream::{DIRECTORY, ENTRIES, PAGE_SIZE, Upstream, runtime};
