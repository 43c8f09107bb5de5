//! The listings of a Genesys org the mock serves besides the routing directories: where each
//! lives and how Genesys pages it.

use serde_json::Value;

/// One listing of a real Genesys org, named as its endpoint is.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum MockSource {
    /// `GET /api/v2/users` (`UserEntityListing`, `pageNumber`/`pageCount`).
    Users,
    /// `GET /api/v2/groups`.
    Groups,
    /// `GET /api/v2/groups/{groupId}/members` (users).
    GroupMembers(String),
    /// `GET /api/v2/routing/queues`.
    Queues,
    /// `GET /api/v2/routing/queues/{queueId}/members` (`nextUri` only, page size ≤ 100).
    QueueMembers(String),
    /// `GET /api/v2/externalcontacts/scan/contacts` (cursor scan, `limit` 10..=200); the same
    /// contacts are behind the plain listing `GET /api/v2/externalcontacts/contacts`, which
    /// refuses `pageNumber * pageSize > 1000`.
    ExternalContacts,
    /// `GET /api/v2/externalcontacts/scan/organizations` (cursor scan).
    ExternalOrganizations,
    /// `GET /api/v2/routing/skills`.
    Skills,
    /// `GET /api/v2/routing/wrapupcodes`.
    WrapupCodes,
    /// `GET /api/v2/locations`.
    Locations,
}

/// How a listing is paged, with its page-size bounds and default.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum MockPaging {
    /// `pageSize`/`pageNumber`, with `total`, `pageCount` and every URI.
    PageNumber,
    /// `pageSize`/`pageNumber`, `nextUri` while the page is full, no `total` nor `pageCount`.
    NextUri,
    /// `limit`/`cursor`, with `cursors` and `nextUri` while more remain.
    Cursor,
    /// The plain contacts listing: `pageSize`/`pageNumber`, at most 1,000 records deep.
    Capped,
}

impl MockPaging {
    /// `(name of the page-size parameter, smallest, largest, default)`.
    pub(crate) fn page_size(self) -> (&'static str, u32, u32, u32) {
        match self {
            MockPaging::PageNumber => ("pageSize", 1, 500, 25),
            MockPaging::NextUri => ("pageSize", 1, 100, 25),
            MockPaging::Cursor => ("limit", 10, 200, 100),
            MockPaging::Capped => ("pageSize", 1, 200, 20),
        }
    }
}

/// The routes of the org listings, path parameters in braces.
pub(crate) const ROUTES: &[&str] = &[
    "/api/v2/users",
    "/api/v2/groups",
    "/api/v2/groups/{group_id}/members",
    "/api/v2/routing/queues",
    "/api/v2/routing/queues/{queue_id}/members",
    "/api/v2/externalcontacts/scan/contacts",
    PLAIN_CONTACTS,
    "/api/v2/externalcontacts/scan/organizations",
    "/api/v2/routing/skills",
    "/api/v2/routing/wrapupcodes",
    "/api/v2/locations",
];

/// The plain (capped) contacts listing.
pub(crate) const PLAIN_CONTACTS: &str = "/api/v2/externalcontacts/contacts";

impl MockSource {
    /// The listing's path.
    pub fn path(&self) -> String {
        match self {
            MockSource::Users => "/api/v2/users".to_owned(),
            MockSource::Groups => "/api/v2/groups".to_owned(),
            MockSource::GroupMembers(id) => format!("/api/v2/groups/{id}/members"),
            MockSource::Queues => "/api/v2/routing/queues".to_owned(),
            MockSource::QueueMembers(id) => format!("/api/v2/routing/queues/{id}/members"),
            MockSource::ExternalContacts => "/api/v2/externalcontacts/scan/contacts".to_owned(),
            MockSource::ExternalOrganizations => {
                "/api/v2/externalcontacts/scan/organizations".to_owned()
            }
            MockSource::Skills => "/api/v2/routing/skills".to_owned(),
            MockSource::WrapupCodes => "/api/v2/routing/wrapupcodes".to_owned(),
            MockSource::Locations => "/api/v2/locations".to_owned(),
        }
    }

    pub(crate) fn paging(&self) -> MockPaging {
        match self {
            MockSource::QueueMembers(_) => MockPaging::NextUri,
            MockSource::ExternalContacts | MockSource::ExternalOrganizations => MockPaging::Cursor,
            _ => MockPaging::PageNumber,
        }
    }

    /// `count` realistic entities of this listing, the same for the same `seed`: non-ASCII
    /// names, phones in several national and international formats, `null`s, absent and
    /// unknown fields, and every key a lookup needs (ids, names, e-mails, phones).
    pub fn generated(&self, count: usize, seed: u64) -> Vec<Value> {
        crate::org::generate(self, count, seed)
    }

    /// One of every listing (the member listings of group `g-1` and queue `q-1`): for tests
    /// that must hold for every source.
    pub fn every() -> Vec<MockSource> {
        vec![
            MockSource::Users,
            MockSource::Groups,
            MockSource::GroupMembers("g-1".into()),
            MockSource::Queues,
            MockSource::QueueMembers("q-1".into()),
            MockSource::ExternalContacts,
            MockSource::ExternalOrganizations,
            MockSource::Skills,
            MockSource::WrapupCodes,
            MockSource::Locations,
        ]
    }

    /// The listing served at `path` (a path the router routes here), when it is one.
    pub(crate) fn at(path: &str) -> Option<MockSource> {
        let fixed = [
            MockSource::Users,
            MockSource::Groups,
            MockSource::Queues,
            MockSource::ExternalContacts,
            MockSource::ExternalOrganizations,
            MockSource::Skills,
            MockSource::WrapupCodes,
            MockSource::Locations,
        ];
        if let Some(source) = fixed.into_iter().find(|source| source.path() == path) {
            return Some(source);
        }
        let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
        match segments[..] {
            ["api", "v2", "groups", id, "members"] => Some(MockSource::GroupMembers(id.into())),
            ["api", "v2", "routing", "queues", id, "members"] => {
                Some(MockSource::QueueMembers(id.into()))
            }
            _ => None,
        }
    }

    /// Whether an unknown listing of this kind is a 404 (one group's or queue's members)
    /// rather than an empty org listing.
    pub(crate) fn has_owner(&self) -> bool {
        matches!(
            self,
            MockSource::GroupMembers(_) | MockSource::QueueMembers(_)
        )
    }
}
