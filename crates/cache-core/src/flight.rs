//! In-process single flight: one refresh per directory, however many callers wait for it.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use futures::FutureExt;
use futures::future::{BoxFuture, Shared};

use crate::refresh::Refreshed;
use crate::{DirectoryId, Error};

/// A refresh that every caller of one directory can await.
pub(crate) type SharedRefresh = Shared<BoxFuture<'static, Result<Refreshed, Error>>>;

/// The refreshes under way, by directory.
#[derive(Debug, Default)]
pub(crate) struct Flights {
    under_way: Mutex<HashMap<DirectoryId, SharedRefresh>>,
}

impl Flights {
    /// Joins the refresh of `id` under way, or starts `refresh` as that refresh.
    ///
    /// The refresh runs in its own task: a caller that stops waiting (a dropped request) does
    /// not cancel it for the others, and a refresh-ahead needs nobody to wait at all.
    pub(crate) fn join(
        self: &Arc<Self>,
        id: &DirectoryId,
        refresh: impl FnOnce() -> BoxFuture<'static, Result<Refreshed, Error>>,
    ) -> SharedRefresh {
        let mut under_way = self
            .under_way
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if let Some(flight) = under_way.get(id) {
            return flight.clone();
        }
        let flights = Arc::clone(self);
        let key = id.clone();
        let refresh = refresh();
        let task = tokio::spawn(async move {
            let _landed = Landed { flights, key };
            refresh.await
        });
        let directory_id = id.clone();
        let flight = async move {
            task.await.unwrap_or_else(|join| {
                Err(Error::Internal {
                    directory_id,
                    reason: format!("the refresh task failed: {join}"),
                })
            })
        }
        .boxed()
        .shared();
        under_way.insert(id.clone(), flight.clone());
        flight
    }

    /// Whether a refresh of `id` is under way.
    pub(crate) fn is_under_way(&self, id: &DirectoryId) -> bool {
        self.under_way
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .contains_key(id)
    }
}

/// Ends a flight when its task ends, even by a panic, so the next caller starts a new one.
struct Landed {
    flights: Arc<Flights>,
    key: DirectoryId,
}

impl Drop for Landed {
    fn drop(&mut self) {
        self.flights
            .under_way
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(&self.key);
    }
}
