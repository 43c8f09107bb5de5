//! What a lookup asks (`Query`) and what it answers (`Matches`).

use bytes::Bytes;

use crate::{CachedDirectory, Error};

/// How many matches a lookup answers unless asked for another number.
pub const DEFAULT_LIMIT: usize = 20;
/// The most matches a lookup may be asked to answer.
pub const MAX_LIMIT: usize = 1000;

/// A lookup inside a cached directory (SPEC §8).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Query {
    /// Entities with this phone number: equal once both are reduced to `+` and digits; a
    /// number without `+` of at least 7 digits also matches the numbers it ends (national
    /// numbers).
    Phone(String),
    /// Entities with this e-mail address, whole, case-insensitive.
    Email(String),
    /// Entities whose name, or a later word of it, starts with this, case- and
    /// accent-insensitive; whole-name matches first.
    Name(String),
    /// The same over names, e-mails and phones together, in that order.
    Any(String),
}

impl Query {
    /// The keys a query is asked by, as in `?phone=…`.
    pub const KEYS: [&'static str; 4] = ["phone", "email", "name", "q"];

    /// The query asked by `key` (one of [`Query::KEYS`]) for `value`; an unknown key or an
    /// empty value is refused.
    pub fn parse(key: &str, value: impl Into<String>) -> Result<Self, Error> {
        let invalid = |reason: String| Error::InvalidQuery { reason };
        let value = value.into();
        if value.trim().is_empty() {
            return Err(invalid(format!("`{key}` is empty")));
        }
        Ok(match key {
            "phone" => Self::Phone(value),
            "email" => Self::Email(value),
            "name" => Self::Name(value),
            "q" => Self::Any(value),
            other => {
                return Err(invalid(format!(
                    "unknown key `{}`; a lookup is asked by one of phone, email, name or q",
                    other.escape_debug()
                )));
            }
        })
    }

    /// The key it is asked by (`phone`, `email`, `name`, `q`).
    pub fn key(&self) -> &'static str {
        match self {
            Self::Phone(_) => "phone",
            Self::Email(_) => "email",
            Self::Name(_) => "name",
            Self::Any(_) => "q",
        }
    }

    /// What it looks for.
    pub fn value(&self) -> &str {
        match self {
            Self::Phone(value) | Self::Email(value) | Self::Name(value) | Self::Any(value) => value,
        }
    }
}

/// A lookup's `limit`: 1..=[`MAX_LIMIT`].
pub fn parse_limit(raw: &str) -> Result<usize, Error> {
    match raw.trim().parse::<usize>() {
        Ok(limit @ 1..=MAX_LIMIT) => Ok(limit),
        _ => Err(Error::InvalidQuery {
            reason: format!(
                "limit {:?} is not a number of 1..={MAX_LIMIT}",
                raw.escape_debug().to_string()
            ),
        }),
    }
}

/// The answer to a [`Query`]: the first entities matched, each the JSON bytes upstream sent
/// (shared with the cached copy, not copied), and how many matched in all.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Matches {
    entries: Vec<Bytes>,
    match_count: usize,
}

impl Matches {
    pub(crate) fn new(entries: Vec<Bytes>, match_count: usize) -> Self {
        Self {
            entries,
            match_count,
        }
    }

    /// The entities answered, best first, each one JSON object as upstream sent it.
    pub fn entries(&self) -> &[Bytes] {
        &self.entries
    }

    /// How many entities matched, answered or not.
    pub fn match_count(&self) -> usize {
        self.match_count
    }

    /// Whether more matched than the limit let through.
    pub fn truncated(&self) -> bool {
        self.match_count > self.entries.len()
    }

    /// The JSON document `serve` answers: `{directory_id, fingerprint, query, matches,
    /// match_count, truncated}`, the matches written as the stored bytes.
    pub fn to_json(&self, directory: &CachedDirectory, query: &Query) -> Vec<u8> {
        let entries = self.entries.iter().map(|entry| &entry[..]);
        answer_json(directory, query, entries, self.match_count)
    }
}

/// The answer document of `query` in `directory`: `entries`, the first of `match_count`
/// matches, written as they are stored.
pub(crate) fn answer_json<'a>(
    directory: &CachedDirectory,
    query: &Query,
    entries: impl Iterator<Item = &'a [u8]> + Clone,
    match_count: usize,
) -> Vec<u8> {
    let size: usize = entries.clone().map(|entry| entry.len() + 1).sum();
    let mut out = Vec::with_capacity(size + 192);
    // A directory id and a fingerprint are ASCII with nothing JSON escapes (SPEC §3;
    // `xxh3:` and hex digits): written as they are. Only the asked value is escaped.
    out.extend_from_slice(br#"{"directory_id":""#);
    out.extend_from_slice(directory.directory_id().as_str().as_bytes());
    out.extend_from_slice(br#"","fingerprint":""#);
    out.extend_from_slice(directory.fingerprint().as_str().as_bytes());
    out.extend_from_slice(br#"","query":{""#);
    out.extend_from_slice(query.key().as_bytes());
    out.extend_from_slice(br#"":"#);
    // Writing a string or a number into memory cannot fail.
    serde_json::to_writer(&mut out, query.value()).unwrap_or_default();
    out.extend_from_slice(br#"},"matches":["#);
    let mut answered = 0;
    for entry in entries {
        if answered > 0 {
            out.push(b',');
        }
        out.extend_from_slice(entry);
        answered += 1;
    }
    out.extend_from_slice(br#"],"match_count":"#);
    serde_json::to_writer(&mut out, &match_count).unwrap_or_default();
    out.extend_from_slice(if match_count > answered {
        br#","truncated":true}"#
    } else {
        br#","truncated":false}"#
    });
    out
}
