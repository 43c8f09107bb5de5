//! Lookups inside a cached copy (SPEC §8): the index built once per copy, the queries it
//! answers, and the `CachedDirectory` methods that ask them.

mod fold;
mod index;
mod keys;
mod query;

pub use index::LookupIndex;
pub use query::{DEFAULT_LIMIT, MAX_LIMIT, Matches, Query, parse_limit};

use std::sync::Arc;

use bytes::Bytes;
use genesys_client::KeyMembers;

use crate::{CachedDirectory, DirectoryMeta, Error};

/// The index of a copy's entries: from the key members its fetch located when a fill has them,
/// else by parsing the entries whole (a copy read from a backend). Entries that are not the
/// JSON array the metadata counts are a corrupt copy.
pub(crate) fn index_of(
    meta: &DirectoryMeta,
    entries_json: &[u8],
    key_members: Option<&KeyMembers>,
) -> Result<Arc<LookupIndex>, Error> {
    let corrupt = |reason: String| Error::Corrupt {
        directory_id: meta.directory_id.clone(),
        reason,
    };
    let index = match key_members {
        Some(members) => LookupIndex::from_key_members(entries_json, members),
        None => LookupIndex::build(entries_json),
    }
    .map_err(corrupt)?;
    if index.len() != meta.entry_count {
        return Err(corrupt(format!(
            "{} entries stored, the metadata says {}",
            index.len(),
            meta.entry_count
        )));
    }
    Ok(Arc::new(index))
}

impl CachedDirectory {
    /// The entity whose `id` is `id`, as the JSON bytes upstream sent (shared, not copied).
    pub fn entry(&self, id: &str) -> Option<Bytes> {
        let index = self.lookup_index();
        index
            .entity(self.entries_json(), id)
            .map(|entity| self.entity_bytes(entity))
    }

    /// The entities `query` matches, best first, at most `limit` of them; the count of all.
    /// Asks the copy's index only: no I/O, and nothing allocated but the answer.
    pub fn find(&self, query: &Query, limit: usize) -> Matches {
        let found = self.lookup_index().find(query);
        let entries = found
            .iter()
            .take(limit)
            .map(|&entity| self.entity_bytes(entity))
            .collect();
        Matches::new(entries, found.len())
    }

    /// [`Self::find`]'s answer written as [`Matches::to_json`] writes it, straight from the
    /// stored entities: what `serve` answers, with no [`Matches`] in between.
    pub fn find_json(&self, query: &Query, limit: usize) -> Vec<u8> {
        let found = self.lookup_index().find(query);
        let entries = found
            .iter()
            .take(limit)
            .map(|&entity| &self.entries_json()[self.entity_range(entity)]);
        query::answer_json(self, query, entries, found.len())
    }

    fn entity_bytes(&self, entity: u32) -> Bytes {
        let range = self.entity_range(entity);
        let at = self.entries_offset();
        self.body().slice(at + range.start..at + range.end)
    }

    /// Where entity `entity` is in [`Self::entries_json`].
    fn entity_range(&self, entity: u32) -> std::ops::Range<usize> {
        let span = self.lookup_index().span(entity);
        span.at as usize..(span.at + span.len) as usize
    }
}

#[cfg(test)]
mod tests;
