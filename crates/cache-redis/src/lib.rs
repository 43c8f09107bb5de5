#![doc = include_str!("../README.md")]

mod backend;
mod budget;
mod builder;
mod codec;
mod error;
mod index;
mod keys;
mod lock;
mod notices;
mod pool;
mod refusals;
mod scripts;
mod tiered;

pub use backend::RedisBackend;
pub use budget::{BUDGET_FALLBACK, RedisBudget};
pub use builder::RedisBackendBuilder;
pub use codec::{decode, encode};
pub use error::RedisBackendError;
pub use tiered::TieredBackend;
