//! The named listings of a Genesys org (SPEC §7), each described by data: where it lives, how
//! it is paged, what it needs; and one validated listing request ([`Listing`]).

use std::collections::BTreeMap;
use std::fmt;

/// How a listing's pages follow one another.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum PagingStyle {
    /// `pageNumber` / `pageSize`, the last page told by `pageCount` (or `nextUri`).
    PageNumber,
    /// `nextUri` only, no `total` nor `pageCount`: the end is a page without `nextUri` or with
    /// no entities.
    NextUri,
    /// A cursor scan: `limit`, then `cursor` from `cursors.after` (or the `nextUri` holding it);
    /// the end is a page without either, or with no entities.
    Cursor,
}

/// One parameter a source takes from `[directories.<id>]`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Parameter {
    /// Its name in the configuration (`queue_id`).
    pub name: &'static str,
    /// Whether the source cannot be read without it.
    pub required: bool,
    /// Where it goes: `Some(name)` for a query parameter, `None` for a path parameter (the
    /// template's `{name}`).
    pub query: Option<&'static str>,
    /// The values it may take, when it is a closed set (`state` of `users`).
    pub values: &'static [&'static str],
    /// Its value when not configured (query parameters only).
    pub default: Option<&'static str>,
}

/// Everything the fetcher needs to know about one source, and what a user must grant for it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct SourceSpec {
    /// The source name in the configuration (`queue_members`).
    pub name: &'static str,
    /// The path, with `{param}` for path parameters (the directory id for `routing_directory`).
    pub path: &'static str,
    /// How its pages follow one another.
    pub paging: PagingStyle,
    /// The query parameter that carries the page size (`pageSize`, or `limit` for scans).
    pub page_size_parameter: &'static str,
    /// The page size requested: the largest the endpoint allows, for the fewest requests.
    pub page_size: u32,
    /// The bounds upstream accepts for the page size.
    pub page_size_bounds: (u32, u32),
    /// The parameters it takes.
    pub parameters: &'static [Parameter],
    /// The OAuth scope (and permission, when one is required) to grant the client.
    pub grant: &'static str,
}

const fn path_parameter(name: &'static str) -> Parameter {
    Parameter {
        name,
        required: true,
        query: None,
        values: &[],
        default: None,
    }
}

/// The `users` states Genesys accepts.
const USER_STATES: &[&str] = &["active", "inactive", "deleted", "any"];

const fn page_number(
    name: &'static str,
    path: &'static str,
    parameters: &'static [Parameter],
    grant: &'static str,
) -> SourceSpec {
    SourceSpec {
        name,
        path,
        paging: PagingStyle::PageNumber,
        page_size_parameter: "pageSize",
        page_size: 500,
        page_size_bounds: (1, 500),
        parameters,
        grant,
    }
}

const fn cursor(name: &'static str, path: &'static str, grant: &'static str) -> SourceSpec {
    SourceSpec {
        name,
        path,
        paging: PagingStyle::Cursor,
        page_size_parameter: "limit",
        page_size: 200,
        page_size_bounds: (10, 200),
        parameters: &[],
        grant,
    }
}

/// Every source of SPEC §7, in the order of its table.
const SPECS: [SourceSpec; 11] = [
    page_number(
        "routing_directory",
        "/api/v2/routing/directories/{directory_id}/entries",
        &[],
        "routing:directory:read",
    ),
    page_number(
        "users",
        "/api/v2/users",
        &[
            Parameter {
                name: "state",
                required: false,
                query: Some("state"),
                values: USER_STATES,
                default: Some("active"),
            },
            Parameter {
                name: "expand",
                required: false,
                query: Some("expand"),
                values: &[],
                default: None,
            },
        ],
        "users:readonly",
    ),
    page_number("groups", "/api/v2/groups", &[], "groups:readonly"),
    page_number(
        "group_members",
        "/api/v2/groups/{group_id}/members",
        &[path_parameter("group_id")],
        "groups:readonly",
    ),
    page_number(
        "queues",
        "/api/v2/routing/queues",
        &[],
        "routing:readonly; routing:queue:view",
    ),
    SourceSpec {
        name: "queue_members",
        path: "/api/v2/routing/queues/{queue_id}/members",
        paging: PagingStyle::NextUri,
        page_size_parameter: "pageSize",
        page_size: 100,
        page_size_bounds: (1, 100),
        parameters: &[path_parameter("queue_id")],
        grant: "routing:readonly; routing:queue:view",
    },
    cursor(
        "external_contacts",
        "/api/v2/externalcontacts/scan/contacts",
        "external-contacts:readonly; externalContacts:contact:view",
    ),
    cursor(
        "external_organizations",
        "/api/v2/externalcontacts/scan/organizations",
        "external-contacts:readonly",
    ),
    page_number(
        "skills",
        "/api/v2/routing/skills",
        &[],
        "routing:readonly; routing:skill:view",
    ),
    page_number(
        "wrapup_codes",
        "/api/v2/routing/wrapupcodes",
        &[],
        "routing:readonly; routing:wrapupCode:view",
    ),
    page_number("locations", "/api/v2/locations", &[], "locations:readonly"),
];

/// A source of SPEC §7: which Genesys listing a directory is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum Source {
    /// The seed's `GET /api/v2/routing/directories/{id}/entries`.
    RoutingDirectory,
    /// `GET /api/v2/users`.
    Users,
    /// `GET /api/v2/groups`.
    Groups,
    /// `GET /api/v2/groups/{group_id}/members`.
    GroupMembers,
    /// `GET /api/v2/routing/queues`.
    Queues,
    /// `GET /api/v2/routing/queues/{queue_id}/members`.
    QueueMembers,
    /// `GET /api/v2/externalcontacts/scan/contacts`.
    ExternalContacts,
    /// `GET /api/v2/externalcontacts/scan/organizations`.
    ExternalOrganizations,
    /// `GET /api/v2/routing/skills`.
    Skills,
    /// `GET /api/v2/routing/wrapupcodes`.
    WrapupCodes,
    /// `GET /api/v2/locations`.
    Locations,
}

impl Source {
    /// Every source, in the order of SPEC §7's table.
    pub const ALL: [Source; 11] = [
        Source::RoutingDirectory,
        Source::Users,
        Source::Groups,
        Source::GroupMembers,
        Source::Queues,
        Source::QueueMembers,
        Source::ExternalContacts,
        Source::ExternalOrganizations,
        Source::Skills,
        Source::WrapupCodes,
        Source::Locations,
    ];

    /// Its description.
    pub fn spec(self) -> &'static SourceSpec {
        &SPECS[self as usize]
    }

    /// Its name in the configuration.
    pub fn name(self) -> &'static str {
        self.spec().name
    }

    /// The source called `name`, if there is one.
    pub fn from_name(name: &str) -> Option<Source> {
        Source::ALL.into_iter().find(|source| source.name() == name)
    }

    /// The default entry limit of a directory of this source: 500 for `routing_directory` (the
    /// seed's gateway constraint), 100,000 for the others.
    pub fn default_max_entries(self) -> usize {
        match self {
            Source::RoutingDirectory => 500,
            _ => 100_000,
        }
    }
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Why a listing's parameters were refused: the parameter at fault and what is wrong.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{parameter}: {reason}")]
pub struct ParameterError {
    /// The parameter's name (`queue_id`).
    pub parameter: String,
    /// What is wrong with it.
    pub reason: String,
}

/// A Genesys id as a path parameter: 1..=64 of `A-Z a-z 0-9 -`.
fn is_genesys_id(value: &str) -> bool {
    (1..=64).contains(&value.len())
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-')
}

/// One source with its parameters checked: what a declared directory reads.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Listing {
    source: Source,
    parameters: BTreeMap<&'static str, String>,
}

impl Listing {
    /// `source` with `parameters` (name → value), each checked against the source's
    /// description: a missing required one, an unexpected one, a malformed id or a value out of
    /// its set is refused, naming the parameter.
    pub fn new<'a>(
        source: Source,
        parameters: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> Result<Listing, ParameterError> {
        let spec = source.spec();
        let mut checked = BTreeMap::new();
        for (name, value) in parameters {
            let refuse = |reason: String| ParameterError {
                parameter: name.to_owned(),
                reason,
            };
            let Some(parameter) = spec.parameters.iter().find(|p| p.name == name) else {
                return Err(refuse(format!(
                    "the source {:?} takes no parameter {name:?}",
                    spec.name
                )));
            };
            if parameter.query.is_none() && !is_genesys_id(value) {
                return Err(refuse(format!(
                    "{value:?} is not a Genesys id (1..=64 of A-Z a-z 0-9 -)"
                )));
            }
            if !parameter.values.is_empty() && !parameter.values.contains(&value) {
                return Err(refuse(format!(
                    "{value:?} is not one of {}",
                    parameter.values.join(", ")
                )));
            }
            if value.is_empty() || value.len() > 256 || value.chars().any(char::is_control) {
                return Err(refuse(
                    "must be 1..=256 characters without control characters".to_owned(),
                ));
            }
            checked.insert(parameter.name, value.to_owned());
        }
        if let Some(missing) = spec
            .parameters
            .iter()
            .find(|p| p.required && !checked.contains_key(p.name))
        {
            return Err(ParameterError {
                parameter: missing.name.to_owned(),
                reason: format!("required by the source {:?}", spec.name),
            });
        }
        Ok(Listing {
            source,
            parameters: checked,
        })
    }

    /// The seed's routing directory listing, whose path parameter is the directory id itself.
    pub fn routing_directory() -> Listing {
        Listing {
            source: Source::RoutingDirectory,
            parameters: BTreeMap::new(),
        }
    }

    /// Its source.
    pub fn source(&self) -> Source {
        self.source
    }

    /// The configured value of `name`.
    pub fn parameter(&self, name: &str) -> Option<&str> {
        self.parameters.get(name).map(String::as_str)
    }

    /// The configured parameters, by name.
    pub fn parameters(&self) -> impl Iterator<Item = (&'static str, &str)> {
        self.parameters.iter().map(|(k, v)| (*k, v.as_str()))
    }

    /// The query parameters sent on the first page (configured or default), without paging.
    pub(crate) fn query(&self) -> Vec<(&'static str, &str)> {
        self.source
            .spec()
            .parameters
            .iter()
            .filter_map(|p| {
                let key = p.query?;
                let value = self.parameter(p.name).or(p.default)?;
                Some((key, value))
            })
            .collect()
    }

    /// The path of the listing with its path parameters filled in by `encode`; the
    /// `{directory_id}` of `routing_directory` is `directory_id`.
    pub(crate) fn path(&self, directory_id: &str, encode: impl Fn(&str) -> String) -> String {
        let mut path = self.source.spec().path.to_owned();
        if let Some(start) = path.find('{') {
            let end = path[start..]
                .find('}')
                .map_or(path.len(), |e| start + e + 1);
            let name = &path[start + 1..end - 1];
            let value = self.parameter(name).unwrap_or(directory_id);
            path.replace_range(start..end, &encode(value));
        }
        path
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_is_in_the_order_of_the_enum() {
        for source in Source::ALL {
            assert_eq!(Source::from_name(source.name()), Some(source));
            let spec = source.spec();
            let (low, high) = spec.page_size_bounds;
            assert!((low..=high).contains(&spec.page_size), "{}", spec.name);
        }
        assert_eq!(Source::from_name("contacts"), None);
        assert_eq!(Source::QueueMembers.spec().page_size, 100);
        assert_eq!(Source::ExternalContacts.spec().page_size_parameter, "limit");
    }

    #[test]
    fn parameters_are_checked_by_the_description() {
        let err = Listing::new(Source::QueueMembers, []).unwrap_err();
        assert_eq!(err.parameter, "queue_id");
        let err = Listing::new(Source::QueueMembers, [("queue_id", "a/b")]).unwrap_err();
        assert_eq!(err.parameter, "queue_id");
        let err = Listing::new(Source::Groups, [("queue_id", "q")]).unwrap_err();
        assert_eq!(err.parameter, "queue_id");
        let err = Listing::new(Source::Users, [("state", "gone")]).unwrap_err();
        assert_eq!(err.parameter, "state");

        let queue = Listing::new(Source::QueueMembers, [("queue_id", "5f0b-8b3c")]).unwrap();
        assert_eq!(
            queue.path("ignored", str::to_owned),
            "/api/v2/routing/queues/5f0b-8b3c/members"
        );
        let users = Listing::new(Source::Users, [("expand", "skills")]).unwrap();
        assert_eq!(users.query(), [("state", "active"), ("expand", "skills")]);
        assert_eq!(
            Listing::routing_directory().path("d 1", |v| v.replace(' ', "%20")),
            "/api/v2/routing/directories/d%201/entries"
        );
    }
}
