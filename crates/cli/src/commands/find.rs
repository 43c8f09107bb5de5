//! `dircache find ID (--phone | --email | --name | --entry | --q) [--limit] [--output]`: the
//! lookups of `serve` (SPEC §8), once, from the directory's cached copy.

use cache_core::{DirectoryId, Entry, Query, Route};

use super::get::entry_table;
use super::print;
use crate::app::App;
use crate::cli::{FindKey, GetOutput};
use crate::failure::{Failure, one_line};

/// A lookup asked on the command line, checked before any work.
pub(super) struct Search {
    what: Wanted,
    limit: usize,
    output: GetOutput,
}

enum Wanted {
    Entry(String),
    Matches(Query),
}

impl Search {
    /// The lookup of `key` (clap lets exactly one flag through); an empty value is a usage
    /// error.
    pub(super) fn of(key: &FindKey, limit: usize, output: GetOutput) -> Result<Self, Failure> {
        let usage = |e: cache_core::Error| Failure::Usage(one_line(&e));
        let what = match key {
            FindKey {
                entry: Some(id), ..
            } if !id.trim().is_empty() => Wanted::Entry(id.clone()),
            FindKey { entry: Some(_), .. } => {
                return Err(Failure::Usage(
                    "invalid query: `--entry` is empty".to_owned(),
                ));
            }
            FindKey { phone: Some(v), .. } => {
                Wanted::Matches(Query::parse("phone", v).map_err(usage)?)
            }
            FindKey { email: Some(v), .. } => {
                Wanted::Matches(Query::parse("email", v).map_err(usage)?)
            }
            FindKey { name: Some(v), .. } => {
                Wanted::Matches(Query::parse("name", v).map_err(usage)?)
            }
            FindKey { q: Some(v), .. } => Wanted::Matches(Query::parse("q", v).map_err(usage)?),
            FindKey { .. } => {
                return Err(Failure::Usage(
                    "find needs one of --phone, --email, --name, --entry or --q".to_owned(),
                ));
            }
        };
        Ok(Self {
            what,
            limit,
            output,
        })
    }
}

/// Prints what `search` finds in directory `id`.
pub(super) async fn run(app: &App, id: &DirectoryId, search: &Search) -> Result<(), Failure> {
    let lookup = app.cache.get_for(id, Route::Lookup).await?;
    let directory = &lookup.directory;
    let (entries, summary, json) = match &search.what {
        Wanted::Entry(entry_id) => {
            let entry = directory.entry(entry_id).ok_or_else(|| {
                Failure::Failed(format!(
                    "directory `{id}` has no entry with id {:?}",
                    entry_id.escape_debug().to_string()
                ))
            })?;
            let summary = format!("entry {entry_id} of {id} ({})", lookup.outcome.as_str());
            (vec![entry.clone()], summary, entry.to_vec())
        }
        Wanted::Matches(query) => {
            let matches = directory.find(query, search.limit);
            let summary = format!(
                "{} of {} matches for {}={:?} in {id} ({}), fingerprint {}",
                matches.entries().len(),
                matches.match_count(),
                query.key(),
                query.value(),
                lookup.outcome.as_str(),
                directory.fingerprint(),
            );
            let json = matches.to_json(directory, query);
            (matches.entries().to_vec(), summary, json)
        }
    };
    match search.output {
        GetOutput::Json => print(json),
        GetOutput::Table => {
            let entries = entries
                .iter()
                .map(|bytes| serde_json::from_slice::<Entry>(bytes))
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| Failure::Failed(format!("a cached entry cannot be read: {e}")))?;
            print(entry_table(&entries))?;
            print(summary)
        }
    }
}
