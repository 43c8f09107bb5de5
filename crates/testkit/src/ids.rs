//! Directory ids written as literals in tests.

use cache_core::DirectoryId;

/// The [`DirectoryId`] `id`.
///
/// # Panics
///
/// If `id` is not a valid directory id: a test's literal is, or the test is wrong.
pub fn directory_id(id: &str) -> DirectoryId {
    DirectoryId::new(id).unwrap_or_else(|e| panic!("{id:?} is not a directory id: {e}"))
}
