#![doc = include_str!("../README.md")]

mod genesys;
mod redis;

pub use genesys::{client, client_builder, retry_policy};
pub use redis::{RedisCluster, RedisServer};
