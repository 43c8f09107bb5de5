//! `DirectoryId`: the validated name of a Genesys routing directory.

use std::fmt;
use std::str::FromStr;
use std::sync::Arc;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::Error;

/// The longest directory id accepted.
pub const MAX_DIRECTORY_ID_LEN: usize = 128;

/// A directory id: 1..=128 characters of `A-Z a-z 0-9 . _ : -`, neither `.` nor `..`.
///
/// Every id is validated here, before any I/O, so a bad id never reaches Genesys, Redis or a
/// file name. Cloning is cheap (an `Arc<str>` inside).
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct DirectoryId(Arc<str>);

impl DirectoryId {
    /// Validates `id`.
    ///
    /// ```
    /// use cache_core::DirectoryId;
    /// assert!(DirectoryId::new("external_vendors").is_ok());
    /// assert!(DirectoryId::new("../etc").is_err());
    /// ```
    pub fn new(id: &str) -> Result<Self, Error> {
        validate(id).map_err(|reason| Error::InvalidDirectoryId {
            id: printable(id),
            reason,
        })?;
        Ok(Self(Arc::from(id)))
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

fn validate(id: &str) -> Result<(), &'static str> {
    if id.is_empty() {
        return Err("it is empty");
    }
    if id.len() > MAX_DIRECTORY_ID_LEN {
        return Err("it is longer than 128 characters");
    }
    if id == "." || id == ".." {
        return Err("`.` and `..` are not directory ids");
    }
    if !id
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b':' | b'-'))
    {
        return Err("only A-Z, a-z, 0-9, `.`, `_`, `:` and `-` are allowed");
    }
    Ok(())
}

/// A bounded, escaped copy of a refused id, safe to put in an error message or a log line.
fn printable(id: &str) -> String {
    let mut shown: String = id.chars().take(40).flat_map(char::escape_debug).collect();
    if id.chars().count() > 40 {
        shown.push('…');
    }
    shown
}

impl fmt::Display for DirectoryId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for DirectoryId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&*self.0, f)
    }
}

impl AsRef<str> for DirectoryId {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl FromStr for DirectoryId {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::new(s)
    }
}

impl TryFrom<&str> for DirectoryId {
    type Error = Error;

    fn try_from(s: &str) -> Result<Self, Self::Error> {
        Self::new(s)
    }
}

impl Serialize for DirectoryId {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for DirectoryId {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let id = String::deserialize(deserializer)?;
        Self::new(&id).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_the_documented_alphabet() {
        for id in [
            "a",
            "internal_agents",
            "emergency-contacts",
            "org:dir.v2",
            "A1",
        ] {
            assert_eq!(DirectoryId::new(id).unwrap().as_str(), id);
        }
        let longest = "x".repeat(MAX_DIRECTORY_ID_LEN);
        assert!(DirectoryId::new(&longest).is_ok());
    }

    #[test]
    fn refuses_bad_ids_with_a_reason() {
        let too_long = "x".repeat(MAX_DIRECTORY_ID_LEN + 1);
        for id in [
            "", ".", "..", "../x", "a b", "a/b", "a%2Fb", "é", "a\nb", &too_long,
        ] {
            let err = DirectoryId::new(id).unwrap_err();
            assert!(
                matches!(err, Error::InvalidDirectoryId { .. }),
                "{id:?} gave {err}"
            );
        }
        let message = DirectoryId::new("a b").unwrap_err().to_string();
        assert!(message.contains("a b"), "{message}");
    }

    #[test]
    fn refused_ids_are_shown_bounded_and_escaped() {
        let message = DirectoryId::new(&"\n".repeat(300)).unwrap_err().to_string();
        assert!(!message.contains('\n'));
        assert!(message.len() < 300, "{message}");
    }

    #[test]
    fn deserialising_validates() {
        assert!(serde_json::from_str::<DirectoryId>("\"ok.id\"").is_ok());
        assert!(serde_json::from_str::<DirectoryId>("\"..\"").is_err());
    }
}
