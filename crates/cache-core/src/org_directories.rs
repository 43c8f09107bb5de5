//! `OrgDirectories`: the directories of a Genesys org as a [`DirectorySource`]: each declared id
//! reads its own listing (SPEC §7), an undeclared one the seed's routing directory, or is
//! refused before any I/O.

use std::collections::HashMap;
use std::fmt;

use async_trait::async_trait;
use genesys_client::{FetchOptions, FetchOutcome, GenesysClient, Listing, Source};

use crate::source::Declaration;
use crate::{DirectoryId, DirectorySource, SourceError};

/// One declared directory: what it reads and its own entry limit.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeclaredDirectory {
    /// The listing it is a copy of.
    pub listing: Listing,
    /// Its entry limit, when it has its own; else its source's default (100,000), or the
    /// cache's limit for a `routing_directory`.
    pub max_entries: Option<usize>,
}

/// What an id that no `[directories.<id>]` table declares is.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Undeclared {
    /// The seed's routing directory of that id (the seed's behaviour).
    #[default]
    RoutingDirectory,
    /// Refused: 404 `unknown_directory`, before any I/O.
    Refuse,
}

/// A Genesys client and the directories declared on it.
#[derive(Clone)]
pub struct OrgDirectories {
    client: GenesysClient,
    declared: HashMap<DirectoryId, DeclaredDirectory>,
    undeclared: Undeclared,
}

impl OrgDirectories {
    /// Directories read through `client`: none declared, undeclared ids read as routing
    /// directories.
    pub fn new(client: GenesysClient) -> Self {
        Self {
            client,
            declared: HashMap::new(),
            undeclared: Undeclared::default(),
        }
    }

    /// Declares `id` as a copy of `directory.listing`.
    #[must_use]
    pub fn declare(mut self, id: DirectoryId, directory: DeclaredDirectory) -> Self {
        self.declared.insert(id, directory);
        self
    }

    /// Sets what undeclared ids are.
    #[must_use]
    pub fn undeclared(mut self, undeclared: Undeclared) -> Self {
        self.undeclared = undeclared;
        self
    }

    /// The listing `id` reads, when it is not refused.
    fn listing(&self, id: &DirectoryId) -> Option<Listing> {
        match (self.declared.get(id), self.undeclared) {
            (Some(declared), _) => Some(declared.listing.clone()),
            (None, Undeclared::RoutingDirectory) => Some(Listing::routing_directory()),
            (None, Undeclared::Refuse) => None,
        }
    }
}

impl fmt::Debug for OrgDirectories {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OrgDirectories")
            .field("client", &self.client)
            .field("declared", &self.declared.len())
            .field("undeclared", &self.undeclared)
            .finish()
    }
}

#[async_trait]
impl DirectorySource for OrgDirectories {
    async fn fetch(
        &self,
        id: &DirectoryId,
        options: &FetchOptions,
    ) -> Result<FetchOutcome, SourceError> {
        let Some(listing) = self.listing(id) else {
            return Err(SourceError::new(
                crate::SourceErrorKind::NotFound,
                format!("directory `{id}` is not declared"),
            ));
        };
        Ok(self
            .client
            .fetch_listing(id.as_str(), &listing, options)
            .await?)
    }

    fn declaration(&self, id: &DirectoryId) -> Option<Declaration> {
        match (self.declared.get(id), self.undeclared) {
            (Some(declared), _) => {
                let source = declared.listing.source();
                // A routing directory without a limit of its own keeps the cache's.
                let default =
                    (source != Source::RoutingDirectory).then(|| source.default_max_entries());
                Some(Declaration {
                    source: source.name(),
                    max_entries: declared.max_entries.or(default),
                })
            }
            (None, Undeclared::RoutingDirectory) => Some(Declaration::ROUTING_DIRECTORY),
            (None, Undeclared::Refuse) => None,
        }
    }
}
