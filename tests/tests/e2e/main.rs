//! End-to-end tests of `dircache` against genesys-mock, one module per area of the CLI/HTTP contract.

mod admin;
mod cache;
mod config;
mod economy;
mod ids;
mod logs;
mod oneshot;
mod operations;
mod redis;
mod shutdown;
mod sources;
mod upstream;
