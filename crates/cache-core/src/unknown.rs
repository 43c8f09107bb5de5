//! Unknown directories: ids with no cached copy and no remembered refusal, whose fetches may
//! use only the unknown share of the upstream budget, unless the configuration declares them.

use std::fmt;
use std::sync::Arc;

use genesys_client::RequestClass;

use crate::DirectoryId;
use crate::pipeline::Pipeline;
use crate::refresh::{Cause, RefreshRequest};

/// Says which directory ids are declared (expected, e.g. `[directories.<id>]` in dircache's
/// configuration): a declared id is never unknown, so its first fetch uses the whole budget.
#[derive(Clone)]
pub struct DeclaredDirectories(Arc<dyn Fn(&DirectoryId) -> bool + Send + Sync>);

impl DeclaredDirectories {
    /// Ids for which `is_declared` holds are declared.
    pub fn new(is_declared: impl Fn(&DirectoryId) -> bool + Send + Sync + 'static) -> Self {
        Self(Arc::new(is_declared))
    }

    /// Exactly the ids in `ids`.
    pub fn of(ids: impl IntoIterator<Item = DirectoryId>) -> Self {
        let ids: std::collections::HashSet<DirectoryId> = ids.into_iter().collect();
        Self::new(move |id| ids.contains(id))
    }

    /// No id is declared (the default).
    pub fn none() -> Self {
        Self::new(|_| false)
    }

    /// Whether `id` is declared.
    pub fn contains(&self, id: &DirectoryId) -> bool {
        (self.0)(id)
    }
}

impl Default for DeclaredDirectories {
    fn default() -> Self {
        Self::none()
    }
}

impl fmt::Debug for DeclaredDirectories {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("DeclaredDirectories(..)")
    }
}

impl Pipeline {
    /// The part of the upstream budget a refresh may use: an id with no copy (the caller
    /// already found no remembered refusal) is unknown, unless it is declared or warmed.
    pub(crate) fn request_class(&self, request: &RefreshRequest) -> RequestClass {
        if request.seen.is_none()
            && request.cause != Cause::Warm
            && !self.declared.contains(&request.id)
        {
            RequestClass::Unknown
        } else {
            RequestClass::Known
        }
    }
}
