#![doc = include_str!("../README.md")]

mod binary;
mod dircache;
mod error;
mod genesys;
mod ids;
mod process;
pub mod promtool;
mod redis;

pub use binary::{DIRCACHE_BIN_ENV, dircache_binary};
pub use dircache::{Dircache, Outcome, Served, Stopped};
pub use error::Error;
pub use genesys::{client, client_builder, client_with_budget, retry_policy};
pub use ids::directory_id;
pub use process::ServerProcess;
pub use redis::{RedisCluster, RedisServer};
