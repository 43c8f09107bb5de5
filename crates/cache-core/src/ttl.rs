//! Time to live: the validated `Ttl` and the per-directory `TtlMatrix`.

use std::collections::HashMap;
use std::time::Duration;

use crate::{DirectoryId, Error};

/// How long a cached directory is served before it must be checked upstream: 30..=3600 s.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Ttl(u32);

impl Ttl {
    /// The shortest TTL accepted, in seconds.
    pub const MIN_SECONDS: u32 = 30;
    /// The longest TTL accepted, in seconds.
    pub const MAX_SECONDS: u32 = 3600;
    /// The default TTL (SPEC §3): 300 s.
    pub const DEFAULT: Ttl = Ttl(300);

    /// Validates a TTL in seconds.
    pub fn from_secs(seconds: u64) -> Result<Self, Error> {
        if (u64::from(Self::MIN_SECONDS)..=u64::from(Self::MAX_SECONDS)).contains(&seconds) {
            Ok(Self(seconds as u32))
        } else {
            Err(Error::InvalidTtl { seconds })
        }
    }

    /// The TTL in seconds.
    pub fn as_secs(self) -> u32 {
        self.0
    }

    /// The TTL as a duration.
    pub fn as_duration(self) -> Duration {
        Duration::from_secs(u64::from(self.0))
    }
}

impl Default for Ttl {
    fn default() -> Self {
        Self::DEFAULT
    }
}

/// The TTL of every directory: a default and per-directory overrides.
///
/// ```
/// use cache_core::{DirectoryId, Ttl, TtlMatrix};
/// let matrix = TtlMatrix::new(Ttl::DEFAULT)
///     .with(DirectoryId::new("internal_agents")?, Ttl::from_secs(120)?)
///     .with(DirectoryId::new("emergency_contacts")?, Ttl::from_secs(60)?);
/// assert_eq!(matrix.ttl_for(&DirectoryId::new("emergency_contacts")?).as_secs(), 60);
/// assert_eq!(matrix.ttl_for(&DirectoryId::new("anything_else")?).as_secs(), 300);
/// # Ok::<(), cache_core::Error>(())
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TtlMatrix {
    default: Ttl,
    directories: HashMap<DirectoryId, Ttl>,
}

impl TtlMatrix {
    /// A matrix where every directory has `default`.
    pub fn new(default: Ttl) -> Self {
        Self {
            default,
            directories: HashMap::new(),
        }
    }

    /// Sets the TTL of one directory.
    #[must_use]
    pub fn with(mut self, directory_id: DirectoryId, ttl: Ttl) -> Self {
        self.directories.insert(directory_id, ttl);
        self
    }

    /// The TTL of `directory_id`.
    pub fn ttl_for(&self, directory_id: &DirectoryId) -> Ttl {
        self.directories
            .get(directory_id)
            .copied()
            .unwrap_or(self.default)
    }

    /// The default TTL.
    pub fn default_ttl(&self) -> Ttl {
        self.default
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ttl_bounds_are_inclusive() {
        assert_eq!(Ttl::from_secs(30).unwrap().as_secs(), 30);
        assert_eq!(Ttl::from_secs(3600).unwrap().as_secs(), 3600);
        for bad in [0, 5, 29, 3601, u64::MAX] {
            let err = Ttl::from_secs(bad).unwrap_err();
            assert!(err.to_string().contains(&bad.to_string()), "{err}");
        }
    }

    #[test]
    fn the_seed_matrix() {
        let id = |s| DirectoryId::new(s).unwrap();
        let matrix = TtlMatrix::new(Ttl::DEFAULT)
            .with(id("internal_agents"), Ttl::from_secs(120).unwrap())
            .with(id("external_vendors"), Ttl::from_secs(300).unwrap())
            .with(id("emergency_contacts"), Ttl::from_secs(60).unwrap());
        assert_eq!(matrix.ttl_for(&id("internal_agents")).as_secs(), 120);
        assert_eq!(matrix.ttl_for(&id("emergency_contacts")).as_secs(), 60);
        assert_eq!(matrix.ttl_for(&id("unknown")).as_secs(), 300);
    }
}
