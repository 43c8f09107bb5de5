//! The declared directories, as `dircache directories` prints them and `GET /v1/directories`
//! answers them: each id with its source, parameters, TTL and entry limit.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use cache_core::Undeclared;
use serde::Serialize;

use crate::config::Config;

/// `{undeclared, directories: [{directory_id, source, parameters, ttl_seconds, max_entries}]}`.
#[derive(Clone, Debug, Serialize)]
pub(crate) struct DirectoriesReport {
    /// What an undeclared id is: `routing_directory` or `refuse`.
    undeclared: &'static str,
    /// The declared directories, by id.
    directories: Vec<DirectoryRow>,
}

/// One declared directory.
#[derive(Clone, Debug, Serialize)]
struct DirectoryRow {
    directory_id: String,
    source: &'static str,
    parameters: BTreeMap<&'static str, String>,
    ttl_seconds: u64,
    max_entries: Option<usize>,
}

impl DirectoriesReport {
    /// The directories `config` declares.
    pub(crate) fn of(config: &Config) -> Self {
        let directories = config
            .directories
            .declared
            .iter()
            .map(|directory| {
                let listing = &directory.declared.listing;
                DirectoryRow {
                    directory_id: directory.id.as_str().to_owned(),
                    source: listing.source().name(),
                    parameters: listing
                        .parameters()
                        .map(|(name, value)| (name, value.to_owned()))
                        .collect(),
                    ttl_seconds: u64::from(config.ttl.ttl_for(&directory.id).as_secs()),
                    max_entries: directory.declared.max_entries,
                }
            })
            .collect();
        Self {
            undeclared: match config.directories.undeclared {
                Undeclared::Refuse => "refuse",
                _ => "routing_directory",
            },
            directories,
        }
    }

    /// A table: one row per directory, then what undeclared ids are.
    pub(crate) fn to_table(&self) -> String {
        let mut table = String::new();
        let width = self
            .directories
            .iter()
            .map(|row| row.directory_id.chars().count())
            .max()
            .unwrap_or(0)
            .max("DIRECTORY".len());
        let _ = writeln!(
            table,
            "{:<width$}  {:<22}  {:>5}  {:>11}  PARAMETERS",
            "DIRECTORY", "SOURCE", "TTL", "MAX_ENTRIES"
        );
        for row in &self.directories {
            let parameters: Vec<String> = row
                .parameters
                .iter()
                .map(|(name, value)| format!("{name}={value}"))
                .collect();
            let limit = row
                .max_entries
                .map_or_else(|| "-".to_owned(), |n| n.to_string());
            let _ = writeln!(
                table,
                "{:<width$}  {:<22}  {:>5}  {:>11}  {}",
                row.directory_id,
                row.source,
                row.ttl_seconds,
                limit,
                parameters.join(" ")
            );
        }
        let _ = write!(table, "undeclared ids: {}", self.undeclared);
        table
    }
}
