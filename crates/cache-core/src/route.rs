//! `Route`: which API a request came through, for the `route` label of the request metrics.

/// Which API a request to the cache came through.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Route {
    /// A whole directory (`GET /v1/directories/{id}`, `dircache get`).
    Directory,
    /// A lookup inside one (`…/entries…`, `dircache find`).
    Lookup,
}

impl Route {
    /// Every route, in the order of [`Route::index`].
    pub(crate) const ALL: [Route; 2] = [Route::Directory, Route::Lookup];

    /// The label value.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Directory => "directory",
            Self::Lookup => "lookup",
        }
    }

    pub(crate) fn index(self) -> usize {
        match self {
            Self::Directory => 0,
            Self::Lookup => 1,
        }
    }
}
