//! genesys-client
#![doc = include_str!("../README.md")]
