//! `dircache invalidate ID`: removes a directory from the cache.

use cache_core::DirectoryId;

use super::print;
use crate::app::App;
use crate::failure::Failure;

/// Removes `id`, saying whether it was cached.
pub(super) async fn run(app: &App, id: &DirectoryId) -> Result<(), Failure> {
    let removed = app.cache.invalidate(id).await?;
    if removed {
        print(format!("invalidated {id}"))
    } else {
        print(format!("{id} was not cached"))
    }
}
