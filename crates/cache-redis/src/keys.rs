//! The Redis key layout: every key under the prefix, one directory's keys in one hash slot.

use cache_core::DirectoryId;

/// Names the keys and channels of one key prefix.
///
/// A directory's keys are `<prefix>:{<id>}:dir` and `<prefix>:{<id>}:lock`: the braces are
/// a Redis Cluster hash tag, so both keys of a directory live in one slot and one Lua script
/// may touch them. Directory ids cannot contain braces (`DirectoryId` refuses them), so the
/// tag is always exactly the id.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Keys {
    prefix: String,
}

impl Keys {
    pub(crate) fn new(prefix: &str) -> Self {
        Self {
            prefix: prefix.to_owned(),
        }
    }

    pub(crate) fn prefix(&self) -> &str {
        &self.prefix
    }

    /// Where the cached copy of `id` is stored.
    pub(crate) fn directory(&self, id: &DirectoryId) -> String {
        format!("{}:{{{id}}}:dir", self.prefix)
    }

    /// Where upstream's recent refusal (404, 403) of `id` is remembered.
    pub(crate) fn refusal(&self, id: &DirectoryId) -> String {
        format!("{}:{{{id}}}:refusal", self.prefix)
    }

    /// The index of cached directories: a sorted set of ids scored by the Unix millisecond
    /// at which Redis drops each copy, so that counting them is one command, not a SCAN.
    pub(crate) fn index(&self) -> String {
        format!("{}:index", self.prefix)
    }

    /// The refresh lock of `id`.
    pub(crate) fn lock(&self, id: &DirectoryId) -> String {
        format!("{}:{{{id}}}:lock", self.prefix)
    }

    /// The pub/sub channel of invalidation notices.
    pub(crate) fn invalidations_channel(&self) -> String {
        format!("{}:invalidations", self.prefix)
    }

    /// The pub/sub channel on which a refresh-lock holder announces its release.
    pub(crate) fn releases_channel(&self) -> String {
        format!("{}:lock-released", self.prefix)
    }

    /// A `SCAN … MATCH` pattern for the directory keys; glob characters in the prefix are
    /// escaped so that they match only themselves.
    pub(crate) fn directory_pattern(&self) -> String {
        let mut pattern = String::with_capacity(self.prefix.len() + 8);
        for c in self.prefix.chars() {
            if matches!(c, '*' | '?' | '[' | ']' | '\\') {
                pattern.push('\\');
            }
            pattern.push(c);
        }
        pattern.push_str(":{*}:dir");
        pattern
    }

    /// The directory id of a directory key, or `None` for a key that is not one of ours.
    pub(crate) fn directory_id_of(&self, key: &[u8]) -> Option<DirectoryId> {
        let key = std::str::from_utf8(key).ok()?;
        let tagged = key.strip_prefix(self.prefix.as_str())?.strip_prefix(":{")?;
        let id = tagged.strip_suffix("}:dir")?;
        DirectoryId::new(id).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(s: &str) -> DirectoryId {
        DirectoryId::new(s).unwrap()
    }

    #[test]
    fn a_directory_keys_share_its_hash_tag_under_the_prefix() {
        let keys = Keys::new("dircache");
        assert_eq!(keys.directory(&id("org:a.b")), "dircache:{org:a.b}:dir");
        assert_eq!(keys.lock(&id("org:a.b")), "dircache:{org:a.b}:lock");
        assert_eq!(keys.refusal(&id("org:a.b")), "dircache:{org:a.b}:refusal");
        assert_eq!(keys.index(), "dircache:index");
        assert_eq!(keys.invalidations_channel(), "dircache:invalidations");
        assert_eq!(keys.releases_channel(), "dircache:lock-released");
    }

    #[test]
    fn directory_keys_parse_back_and_foreign_keys_do_not() {
        let keys = Keys::new("app:cache");
        let key = keys.directory(&id("vendors"));
        assert_eq!(keys.directory_id_of(key.as_bytes()), Some(id("vendors")));
        for foreign in [
            "app:cache:{vendors}:lock",
            "other:{vendors}:dir",
            "app:cache:{a b}:dir",
            "app:cache:{}:dir",
            "app:cache:{..}:dir",
        ] {
            assert_eq!(keys.directory_id_of(foreign.as_bytes()), None, "{foreign}");
        }
        assert_eq!(keys.directory_id_of(b"app:cache:{\xff}:dir"), None);
    }

    #[test]
    fn glob_characters_in_the_prefix_are_escaped_in_the_scan_pattern() {
        assert_eq!(
            Keys::new("dircache").directory_pattern(),
            "dircache:{*}:dir"
        );
        assert_eq!(
            Keys::new("a*b?[c]\\").directory_pattern(),
            "a\\*b\\?\\[c\\]\\\\:{*}:dir"
        );
    }
}
