//! The content fingerprint of a directory: how change is detected when upstream sends no validators.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::sync::OnceLock;

use crate::{Entry, Error};

const PREFIX: &str = "xxh3:";
/// Hex digits of a 128-bit hash.
const DIGITS: usize = 32;

/// `xxh3:<32 hex digits>`: the 128-bit XXH3 hash of the canonical JSON of an entry list.
///
/// A fingerprint tells whether a directory's content changed; it is not a signature. XXH3 is a
/// fast non-cryptographic hash (20 times faster than SHA-256 here, which matters on every cold
/// fetch), and 128 bits make an accidental collision practically impossible; upstream is
/// Genesys, not an adversary crafting collisions.
///
/// Canonical means object keys sorted at every depth and no insignificant whitespace, so two
/// listings that differ only in field order have the same fingerprint. The keys are sorted here
/// rather than relying on `serde_json::Map` being a `BTreeMap`, because another crate in a build
/// may turn on serde_json's `preserve_order` feature.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Fingerprint(String);

impl Fingerprint {
    /// The fingerprint of `entries`, in order (entry order is part of the content).
    pub fn of(entries: &[Entry]) -> Self {
        Self::of_canonical_json(&canonical_json(entries))
    }

    /// The fingerprint of an entry list already written by [`canonical_json`].
    pub fn of_canonical_json(json: &[u8]) -> Self {
        Self(format!(
            "{PREFIX}{:0width$x}",
            xxhash_rust::xxh3::xxh3_128(json),
            width = DIGITS
        ))
    }

    /// The text form, `xxh3:<hex>`.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The canonical JSON of an entry list: object keys sorted at every depth, no insignificant
/// whitespace. It is what the fingerprint hashes, and a cache can store these very bytes
/// instead of serialising the entries a second time.
pub fn canonical_json(entries: &[Entry]) -> Vec<u8> {
    // Entries run a few hundred bytes: sized up front so the buffer is not regrown and copied a
    // dozen times on the way to a few hundred kilobytes.
    let mut out = Vec::with_capacity(entries.len() * 512 + 2);
    out.push(b'[');
    for (i, entry) in entries.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        write_canonical(&mut out, entry);
    }
    out.push(b']');
    out
}

/// Appends the canonical JSON of one entry to `out`.
pub(crate) fn write_canonical(out: &mut Vec<u8>, entry: &Entry) {
    if maps_keep_keys_sorted() {
        // Every object's keys are already in order: serde_json's own writer is canonical.
        serde_json::to_writer(out, entry).expect("a JSON object always serialises");
    } else {
        canonical_object(out, entry.fields());
    }
}

/// Whether serde_json's `Map` keeps its keys sorted, as it does unless its `preserve_order`
/// feature is turned on by some crate in the build.
fn maps_keep_keys_sorted() -> bool {
    static SORTED: OnceLock<bool> = OnceLock::new();
    *SORTED.get_or_init(|| {
        let mut map = Map::new();
        map.insert("b".to_owned(), Value::Null);
        map.insert("a".to_owned(), Value::Null);
        map.keys().next().map(String::as_str) == Some("a")
    })
}

fn canonical_object(out: &mut Vec<u8>, fields: &Map<String, Value>) {
    if fields.keys().is_sorted() {
        write_fields(out, fields.iter());
    } else {
        let mut sorted: Vec<_> = fields.iter().collect();
        sorted.sort_unstable_by(|a, b| a.0.cmp(b.0));
        write_fields(out, sorted.into_iter());
    }
}

fn write_fields<'a>(out: &mut Vec<u8>, fields: impl Iterator<Item = (&'a String, &'a Value)>) {
    out.push(b'{');
    for (i, (key, value)) in fields.enumerate() {
        if i > 0 {
            out.push(b',');
        }
        write_json(out, key.as_str());
        out.push(b':');
        canonical_value(out, value);
    }
    out.push(b'}');
}

fn canonical_value(out: &mut Vec<u8>, value: &Value) {
    match value {
        Value::Object(fields) => canonical_object(out, fields),
        Value::Array(items) => {
            out.push(b'[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                canonical_value(out, item);
            }
            out.push(b']');
        }
        scalar => write_json(out, scalar),
    }
}

/// Appends `scalar` as serde_json writes it.
pub(crate) fn write_json(out: &mut Vec<u8>, scalar: &(impl Serialize + ?Sized)) {
    // Strings and scalars serialise deterministically, and writing into a Vec cannot fail.
    serde_json::to_writer(out, scalar).expect("writing JSON into memory does not fail");
}

impl fmt::Display for Fingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for Fingerprint {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let valid = s.strip_prefix(PREFIX).is_some_and(|hex| {
            hex.len() == DIGITS && hex.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
        });
        if valid {
            Ok(Self(s.to_owned()))
        } else {
            Err(Error::InvalidFingerprint {
                value: s.to_owned(),
            })
        }
    }
}

impl TryFrom<String> for Fingerprint {
    type Error = Error;

    fn try_from(value: String) -> Result<Self, Self::Error> {
        value.parse()
    }
}

impl From<Fingerprint> for String {
    fn from(fingerprint: Fingerprint) -> Self {
        fingerprint.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn entries(values: Value) -> Vec<Entry> {
        serde_json::from_value(values).unwrap()
    }

    #[test]
    fn field_order_does_not_matter_at_any_depth() {
        let a = Fingerprint::of(&entries(json!([
            {"id": "1", "name": "A", "custom_attributes": {"x": 1, "y": [ {"p": 1, "q": 2} ]}}
        ])));
        let b: Vec<Entry> = serde_json::from_str(
            r#"[{"custom_attributes": {"y": [{"q": 2, "p": 1}], "x": 1}, "name": "A", "id": "1"}]"#,
        )
        .unwrap();
        assert_eq!(a, Fingerprint::of(&b));
    }

    #[test]
    fn different_content_gives_different_fingerprints() {
        let base = Fingerprint::of(&entries(json!([{"id": "1", "name": "A"}])));
        for other in [
            json!([{"id": "1", "name": "B"}]),
            json!([{"id": "1", "name": "A", "email": null}]),
            json!([{"id": "1", "name": "A"}, {"id": "2"}]),
            json!([]),
        ] {
            assert_ne!(base, Fingerprint::of(&entries(other.clone())), "{other}");
        }
        let two = entries(json!([{"id": "1"}, {"id": "2"}]));
        let swapped = entries(json!([{"id": "2"}, {"id": "1"}]));
        assert_ne!(Fingerprint::of(&two), Fingerprint::of(&swapped));
    }

    #[test]
    fn the_canonical_json_is_the_entries_with_sorted_keys_and_parses_back() {
        let list =
            entries(json!([{"name": "Zoë \"Z\"", "id": "1", "x": {"b": [1, null], "a": 2.5}}]));
        let json = canonical_json(&list);
        assert_eq!(
            std::str::from_utf8(&json).unwrap(),
            r#"[{"id":"1","name":"Zoë \"Z\"","x":{"a":2.5,"b":[1,null]}}]"#
        );
        assert_eq!(serde_json::from_slice::<Vec<Entry>>(&json).unwrap(), list);
        assert_eq!(
            Fingerprint::of_canonical_json(&json),
            Fingerprint::of(&list)
        );
    }

    #[test]
    fn text_form_is_validated() {
        let fp = Fingerprint::of(&[]);
        assert!(fp.as_str().starts_with("xxh3:") && fp.as_str().len() == 5 + 32);
        assert_eq!(fp.to_string().parse::<Fingerprint>().unwrap(), fp);
        assert!("xxh3:abc".parse::<Fingerprint>().is_err());
        assert!(
            format!("sha256:{}", "a".repeat(32))
                .parse::<Fingerprint>()
                .is_err()
        );
        assert!("md5:".parse::<Fingerprint>().is_err());
        assert!(
            format!("xxh3:{}", "G".repeat(32))
                .parse::<Fingerprint>()
                .is_err()
        );
        let json = serde_json::to_string(&fp).unwrap();
        assert_eq!(serde_json::from_str::<Fingerprint>(&json).unwrap(), fp);
        assert!(serde_json::from_str::<Fingerprint>("\"nope\"").is_err());
    }
}
