//! `[directories.<id>]` (SPEC §7): each declared directory's source, the source's parameters,
//! its TTL and entry limit, all checked before any request; and `[cache] undeclared`.

use std::collections::BTreeMap;

use cache_core::{
    DeclaredDirectories, DeclaredDirectory, DirectoryId, Limits, Ttl, TtlMatrix, Undeclared,
};
use genesys_client::{Listing, Source};
use serde::Deserialize;

use super::{ConfigError, Named};

/// One `[directories.<id>]` table as written; unknown keys are refused by name.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct DirectoryTable {
    source: Option<String>,
    queue_id: Option<String>,
    group_id: Option<String>,
    state: Option<String>,
    expand: Option<String>,
    ttl: Option<i64>,
    max_entries: Option<i64>,
}

/// The largest per-directory entry limit.
const MAX_DIRECTORY_ENTRIES: i64 = 1_000_000;

/// A declared directory, checked: what it reads and its entry limit (always set: its own, else
/// `[cache] max_entries`, else its source's default); its TTL is in the TTL matrix.
#[derive(Clone, Debug)]
pub(crate) struct Directory {
    pub(crate) id: DirectoryId,
    pub(crate) declared: DeclaredDirectory,
}

/// The declared directories and what undeclared ids are.
#[derive(Clone, Debug, Default)]
pub(crate) struct Directories {
    pub(crate) declared: Vec<Directory>,
    pub(crate) undeclared: Undeclared,
}

impl Directories {
    /// The declared ids, which are never unknown to the upstream budget (SPEC §9).
    pub(crate) fn declared_ids(&self) -> DeclaredDirectories {
        DeclaredDirectories::of(self.declared.iter().map(|directory| directory.id.clone()))
    }
}

/// Checks every `[directories.<id>]` table; a per-directory TTL joins `ttl` (and must agree
/// with `ttl_tables`, the file's `[ttl.directories]`). `cache_limit` is `[cache] max_entries`
/// when it was set.
pub(crate) fn resolve(
    tables: &BTreeMap<String, DirectoryTable>,
    ttl_tables: &BTreeMap<String, i64>,
    undeclared: Option<Named<String>>,
    cache_limit: Option<Limits>,
    ttl: &mut TtlMatrix,
) -> Result<Directories, ConfigError> {
    let undeclared = match undeclared {
        None => Undeclared::RoutingDirectory,
        Some(given) => match given.value.as_str() {
            "routing_directory" => Undeclared::RoutingDirectory,
            "refuse" => Undeclared::Refuse,
            other => {
                return Err(given.refuse(format!("{other:?} is not routing_directory or refuse")));
            }
        },
    };
    let mut declared = Vec::with_capacity(tables.len());
    for (id, table) in tables {
        let key = |name: &str| format!("directories.{id}.{name}");
        let directory_id = DirectoryId::new(id)
            .map_err(|e| ConfigError::new(format!("directories.{id:?}"), e.to_string()))?;
        let source = match table.source.as_deref().map(str::trim) {
            None => return Err(ConfigError::new(key("source"), "is required")),
            Some(name) => Source::from_name(name).ok_or_else(|| {
                let known: Vec<&str> = Source::ALL.iter().map(|s| s.name()).collect();
                ConfigError::new(
                    key("source"),
                    format!("{name:?} is not a source (one of {})", known.join(", ")),
                )
            })?,
        };
        let parameters = [
            ("queue_id", &table.queue_id),
            ("group_id", &table.group_id),
            ("state", &table.state),
            ("expand", &table.expand),
        ];
        let given = parameters
            .iter()
            .filter_map(|(name, value)| Some((*name, value.as_deref()?.trim())));
        let listing = Listing::new(source, given)
            .map_err(|e| ConfigError::new(key(&e.parameter), e.reason))?;
        if let Some(seconds) = table.ttl {
            let ttl_value = u64::try_from(seconds)
                .ok()
                .and_then(|s| Ttl::from_secs(s).ok())
                .ok_or_else(|| {
                    ConfigError::new(
                        key("ttl"),
                        format!("{seconds} is outside 30..=3600 seconds"),
                    )
                })?;
            if ttl_tables.get(id).is_some_and(|t| *t != seconds) {
                return Err(ConfigError::new(
                    key("ttl"),
                    format!("differs from ttl.directories.{id}: give the TTL once"),
                ));
            }
            *ttl = ttl.clone().with(directory_id.clone(), ttl_value);
        }
        let max_entries = match table.max_entries {
            Some(n) if (1..=MAX_DIRECTORY_ENTRIES).contains(&n) => Some(n as usize),
            Some(n) => {
                return Err(ConfigError::new(
                    key("max_entries"),
                    format!("{n} is out of range: an entry limit is 1..={MAX_DIRECTORY_ENTRIES}"),
                ));
            }
            None => cache_limit.map(|limits| limits.max_entries),
        }
        .unwrap_or_else(|| source.default_max_entries());
        declared.push(Directory {
            id: directory_id,
            declared: DeclaredDirectory {
                listing,
                max_entries: Some(max_entries),
            },
        });
    }
    Ok(Directories {
        declared,
        undeclared,
    })
}
