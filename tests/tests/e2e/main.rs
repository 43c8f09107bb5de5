//! End-to-end tests of `dircache` against genesys-mock, one module per area of the CLI/HTTP contract.

mod admin;
mod cache;
mod compression;
mod config;
mod deploy;
mod economy;
mod ids;
mod limits;
mod logs;
mod oneshot;
mod operations;
mod redis;
mod shutdown;
mod sources;
mod tls;
mod upstream;
