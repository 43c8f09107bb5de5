//! genesys-mock
#![doc = include_str!("../README.md")]
