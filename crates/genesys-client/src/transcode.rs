//! Entities written as canonical JSON while their JSON is read, with no `serde_json::Value` tree.
//!
//! The output is what [`crate::canonical_json`] writes of the same entity parsed as an
//! [`Entry`](crate::Entry), byte for byte (fingerprints of both are compared across versions):
//! object keys sorted bytewise at every depth, a key given twice keeping its last value (as
//! `Map::insert` leaves it), arrays in order, `null`s kept, and every string and number written
//! as serde_json writes the value its own parser read.
//!
//! Building that tree for each entity of a page only to write it out again took most of a cold
//! fetch's CPU: a `BTreeMap` insert and a `String` for every field, then freeing them all. Here
//! each member is written as it is read, and an object whose keys did not come in order is
//! rewritten sorted when it ends (upstream's usually do, so that is one copy of it at most). The
//! keys and buffers are kept from one entity to the next, so a page costs no allocation per entity
//! once they have grown.

use std::fmt;
use std::ops::Range;

use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};

use crate::KeyField;
use crate::fingerprint::write_json;

/// The object key that makes `Value`'s parser read the member's string value as JSON text and
/// stand for it (serde_json's `raw_value` feature, on in this build). It only applies to the
/// first key of an object below the entity (an entity is a `Map`, which has no such rule).
const RAW_VALUE_TOKEN: &str = "$serde_json::private::RawValue";

/// The buffers that entities are transcoded with, one entity after another.
#[derive(Debug, Default)]
pub(crate) struct Transcoder {
    /// The keys of the objects being read, as read (unescaped, which is what keys sort by),
    /// innermost object last.
    keys: String,
    /// The members of the objects being read, innermost object last.
    members: Vec<Member>,
    /// An object whose keys came out of order, while it is rewritten sorted.
    unsorted: Vec<u8>,
    /// The last entity's `id`, when it was a string.
    id: String,
    /// Whether the last entity's `id` was a string (a later `id` member wins).
    id_is_string: bool,
    /// The last entity's members whose fields hold lookup keys, in the order written: each
    /// field and where its value is, from the entity's first byte.
    key_members: Vec<(KeyField, Range<usize>)>,
}

impl Transcoder {
    /// A seed that appends the canonical JSON of one entity, a JSON object, to `out`.
    pub(crate) fn entity<'a>(&'a mut self, out: &'a mut Vec<u8>) -> Canonical<'a> {
        self.id_is_string = false;
        self.key_members.clear();
        Canonical {
            transcoder: self,
            out,
            role: Role::Entity,
        }
    }

    /// The `id` field of the entity last written, when it is a string.
    pub(crate) fn last_id(&self) -> Option<&str> {
        self.id_is_string.then_some(self.id.as_str())
    }

    /// The members of the entity last written whose fields hold lookup keys, in the order
    /// written: each field and where its value's canonical JSON is, from the entity's first
    /// byte (a key given twice is its last value, the one written).
    pub(crate) fn last_key_members(&self) -> &[(KeyField, Range<usize>)] {
        &self.key_members
    }
}

/// One member of an object being read.
#[derive(Debug)]
struct Member {
    /// Its key in [`Transcoder::keys`].
    key: Range<usize>,
    /// Its canonical `"key":value` in the output, from the object's start.
    written: Range<usize>,
    /// Where its value starts in the output, from the object's start.
    value: usize,
    /// The lookup key its field holds, for a member of the entity itself.
    field: Option<KeyField>,
}

/// What the value being read is to the entity around it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Role {
    /// The entity itself: an object, read as a `Map` reads it.
    Entity,
    /// The value of the entity's `id` member, kept when it is a string.
    Id,
    /// Anything else, read as a `Value` reads it.
    Value,
}

/// Reads one JSON value and appends its canonical JSON to `out`.
#[derive(Debug)]
pub(crate) struct Canonical<'a> {
    transcoder: &'a mut Transcoder,
    out: &'a mut Vec<u8>,
    role: Role,
}

impl Canonical<'_> {
    /// Notes a value of the entity's `id` member that is not a string (a later `id` wins).
    fn not_a_string(&mut self) {
        if self.role == Role::Id {
            self.transcoder.id_is_string = false;
        }
    }

    fn scalar(mut self, json: &(impl serde::Serialize + ?Sized)) {
        self.not_a_string();
        write_json(self.out, json);
    }
}

impl<'de> DeserializeSeed<'de> for Canonical<'_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        if self.role == Role::Entity {
            deserializer.deserialize_map(self)
        } else {
            deserializer.deserialize_any(self)
        }
    }
}

impl<'de> Visitor<'de> for Canonical<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(if self.role == Role::Entity {
            "an entity object"
        } else {
            "a JSON value"
        })
    }

    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        self.scalar(&());
        Ok(())
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<(), E> {
        self.scalar(&v);
        Ok(())
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<(), E> {
        self.scalar(&v);
        Ok(())
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<(), E> {
        self.scalar(&v);
        Ok(())
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<(), E> {
        // serde_json writes a non-finite float as `null`, as `Value` holds it.
        self.scalar(&v);
        Ok(())
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<(), E> {
        if self.role == Role::Id {
            let transcoder = &mut *self.transcoder;
            transcoder.id.clear();
            transcoder.id.push_str(v);
            transcoder.id_is_string = true;
        }
        write_string(self.out, v);
        Ok(())
    }

    fn visit_seq<A: SeqAccess<'de>>(mut self, mut items: A) -> Result<(), A::Error> {
        self.not_a_string();
        let Canonical {
            transcoder, out, ..
        } = self;
        out.push(b'[');
        let mut first = true;
        loop {
            let before = out.len();
            if !first {
                out.push(b',');
            }
            let item = Canonical {
                transcoder: &mut *transcoder,
                out: &mut *out,
                role: Role::Value,
            };
            if items.next_element_seed(item)?.is_none() {
                out.truncate(before);
                break;
            }
            first = false;
        }
        out.push(b']');
        Ok(())
    }

    fn visit_map<A: MapAccess<'de>>(mut self, mut map: A) -> Result<(), A::Error> {
        self.not_a_string();
        let Canonical {
            transcoder,
            out,
            role,
        } = self;
        let start = out.len();
        let keys_start = transcoder.keys.len();
        let first = transcoder.members.len();
        let mut sorted = true;
        out.push(b'{');
        loop {
            let key_start = transcoder.keys.len();
            if map.next_key_seed(Key(&mut transcoder.keys))?.is_none() {
                break;
            }
            let key = key_start..transcoder.keys.len();
            let key_text = &transcoder.keys[key.clone()];
            let previous = transcoder.members[first..].last();
            if role != Role::Entity && previous.is_none() && key_text == RAW_VALUE_TOKEN {
                out.truncate(start);
                transcoder.keys.truncate(keys_start);
                return raw_value(map, transcoder, out, role);
            }
            sorted &=
                previous.is_none_or(|previous| &transcoder.keys[previous.key.clone()] < key_text);
            let field = if role == Role::Entity {
                KeyField::of(key_text)
            } else {
                None
            };
            let value_role = if field == Some(KeyField::Id) {
                Role::Id
            } else {
                Role::Value
            };
            if previous.is_some() {
                out.push(b',');
            }
            let written = out.len() - start;
            write_string(out, key_text);
            out.push(b':');
            let value = out.len() - start;
            map.next_value_seed(Canonical {
                transcoder: &mut *transcoder,
                out: &mut *out,
                role: value_role,
            })?;
            transcoder.members.push(Member {
                key,
                written: written..out.len() - start,
                value,
                field,
            });
        }
        out.push(b'}');
        if !sorted {
            let Transcoder {
                keys,
                members,
                unsorted,
                ..
            } = transcoder;
            unsorted.clear();
            unsorted.extend_from_slice(&out[start..]);
            out.truncate(start);
            let kept = write_sorted(out, start, keys, unsorted, &mut members[first..]);
            members.truncate(first + kept);
        }
        if role == Role::Entity {
            // The members are now as written, sorted or rewritten sorted.
            let Transcoder {
                members,
                key_members,
                ..
            } = transcoder;
            key_members.extend(
                members[first..]
                    .iter()
                    .filter_map(|member| Some((member.field?, member.value..member.written.end))),
            );
        }
        transcoder.members.truncate(first);
        transcoder.keys.truncate(keys_start);
        Ok(())
    }
}

/// Reads an object key, appending it to the keys being read.
struct Key<'a>(&'a mut String);

impl<'de> DeserializeSeed<'de> for Key<'_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for Key<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an object key")
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<(), E> {
        self.0.push_str(v);
        Ok(())
    }
}

/// What `Value` makes of an object whose first key is [`RAW_VALUE_TOKEN`]: the JSON text in the
/// member's string value, parsed. Any member after it is refused by serde_json's parser, as it is
/// when a `Value` is read.
fn raw_value<'de, A: MapAccess<'de>>(
    mut map: A,
    transcoder: &mut Transcoder,
    out: &mut Vec<u8>,
    role: Role,
) -> Result<(), A::Error> {
    let text: String = map.next_value()?;
    let mut json = serde_json::Deserializer::from_str(&text);
    let value = Canonical {
        transcoder,
        out,
        role,
    };
    value
        .deserialize(&mut json)
        .and_then(|()| json.end())
        .map_err(de::Error::custom)
}

/// Appends the object written in `unsorted` (its `members` read in that order) with its members
/// sorted by key, the last of equal keys standing for them all; the object starts at `start` in
/// `out`.
///
/// The members written are left first in `members`, in the order written and with their new
/// places (from `start`), so that the entity's key members can still be found; how many there
/// are is returned.
fn write_sorted(
    out: &mut Vec<u8>,
    start: usize,
    keys: &str,
    unsorted: &[u8],
    members: &mut [Member],
) -> usize {
    let key = |member: &Member| &keys[member.key.clone()];
    // Ties keep the order they were read in, so the last of equal keys is the one written.
    members.sort_unstable_by(|a, b| key(a).cmp(key(b)).then(a.key.start.cmp(&b.key.start)));
    out.push(b'{');
    let mut kept = 0;
    for i in 0..members.len() {
        if members
            .get(i + 1)
            .is_some_and(|next| key(next) == key(&members[i]))
        {
            continue;
        }
        if kept > 0 {
            out.push(b',');
        }
        let member = &mut members[i];
        let at = out.len() - start;
        out.extend_from_slice(&unsorted[member.written.clone()]);
        member.value = at + (member.value - member.written.start);
        member.written = at..out.len() - start;
        members.swap(kept, i);
        kept += 1;
    }
    out.push(b'}');
    kept
}

/// Whether serde_json writes `text` as it is between its quotes: it escapes the bytes checked
/// here and no others (a test holds it to that), and most strings have none of them.
fn is_plain(text: &[u8]) -> bool {
    // Every byte is looked at, with no early exit, which the compiler checks many at a time.
    text.iter().fold(true, |plain, &b| {
        plain & (b >= 0x20) & (b != b'"') & (b != b'\\')
    })
}

/// The text of `json` when it is one JSON string with nothing escaped, as the entries JSON of a
/// fetch holds every string without characters to escape: the bytes between the quotes, read
/// without a parser. `None` for any other JSON value (which a parser must read).
pub fn plain_string(json: &[u8]) -> Option<&str> {
    let text = json.strip_prefix(b"\"")?.strip_suffix(b"\"")?;
    if !is_plain(text) {
        return None;
    }
    std::str::from_utf8(text).ok()
}

/// Appends `text` as a JSON string, as serde_json writes it.
fn write_string(out: &mut Vec<u8>, text: &str) {
    // A string with nothing to escape is written as it is, without serde_json's escaping writer.
    if is_plain(text.as_bytes()) {
        out.reserve(text.len() + 2);
        out.push(b'"');
        out.extend_from_slice(text.as_bytes());
        out.push(b'"');
    } else {
        write_json(out, text);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Entry, canonical_json};
    use serde_json::Value;

    /// What the transcoder makes of `entity` (its canonical JSON and string id), or the error.
    fn transcoded(
        transcoder: &mut Transcoder,
        entity: &str,
    ) -> Result<(String, Option<String>), serde_json::Error> {
        let mut out = Vec::new();
        let mut json = serde_json::Deserializer::from_str(entity);
        transcoder.entity(&mut out).deserialize(&mut json)?;
        json.end()?;
        let id = transcoder.last_id().map(str::to_owned);
        Ok((String::from_utf8(out).expect("JSON is UTF-8"), id))
    }

    /// What `entity` parsed as an [`Entry`] is: its canonical JSON and id, or the error.
    fn parsed(entity: &str) -> Result<(String, Option<String>), serde_json::Error> {
        let entry: Entry = serde_json::from_str(entity)?;
        let json = String::from_utf8(canonical_json(std::slice::from_ref(&entry))).unwrap();
        let json = json[1..json.len() - 1].to_owned();
        Ok((json, entry.id().map(str::to_owned)))
    }

    /// Asserts that the transcoder and an [`Entry`] agree on `entity`: the same bytes and id, or
    /// both refuse it.
    fn agree(transcoder: &mut Transcoder, entity: &str) {
        match (transcoded(transcoder, entity), parsed(entity)) {
            (Ok(ours), Ok(theirs)) => assert_eq!(ours, theirs, "{entity}"),
            (Err(_), Err(_)) => {}
            (ours, theirs) => panic!("{entity}: transcoded {ours:?}, parsed {theirs:?}"),
        }
    }

    #[test]
    fn keys_are_sorted_at_every_depth_and_arrays_keep_their_order() {
        let mut transcoder = Transcoder::default();
        let entity = r#"{"z": {"b": [3, {"y": 1, "x": [{"d": {}, "c": []}]}, 1], "a": null},
                         "id": "e-1", "A": [], "": {}, "é": 1, "e": 2, "ab": 0, "a": {"a": {"a": {}}}}"#;
        let (json, id) = transcoded(&mut transcoder, entity).unwrap();
        assert_eq!(
            json,
            r#"{"":{},"A":[],"a":{"a":{"a":{}}},"ab":0,"e":2,"id":"e-1","z":{"a":null,"b":[3,{"x":[{"c":[],"d":{}}],"y":1},1]},"é":1}"#
        );
        assert_eq!(id.as_deref(), Some("e-1"));
        agree(&mut transcoder, entity);
        let deep = format!(
            "{{\"k\":{}1{}}}",
            "[{\"b\":0,\"a\":".repeat(40),
            "}]".repeat(40)
        );
        agree(&mut transcoder, &deep);
    }

    #[test]
    fn strings_are_escaped_as_serde_json_escapes_them() {
        let mut transcoder = Transcoder::default();
        for entity in [
            r#"{"name": "Zo\u00eb \"Z\" \\ \/ \b\f\n\r\t \u0000 \u001f \u007f \u2028 ∑"}"#,
            r#"{"emoji": "\ud83d\ude00 😀", "\ud83d\ude00": "key", "\u00e9": "é", "e\u0301": 1}"#,
            r#"{"k\"ey": 1, "k\\ey": 2, "k\nkey": 3, "key": 4, "\u0000": 5}"#,
            r#"{"lone": "\ud800"}"#,
            r#"{"bad": "\x"}"#,
        ] {
            agree(&mut transcoder, entity);
        }
        let (json, _) = transcoded(&mut transcoder, r#"{"a": "\u00e9\t\ud83d\ude00"}"#).unwrap();
        assert_eq!(json, "{\"a\":\"é\\t😀\"}");
    }

    #[test]
    fn a_string_written_plain_is_read_back_without_a_parser_and_nothing_else_is() {
        for text in ["Zoë Ñúñez", "", "a\"b", "a\tb", "a\\b", "é\u{2028}"] {
            let mut out = Vec::new();
            write_string(&mut out, text);
            let plain = is_plain(text.as_bytes()).then_some(text);
            assert_eq!(plain_string(&out), plain, "{text:?}");
        }
        assert_eq!(plain_string(b"\"a\\tb\""), None);
        for json in [
            &b"\"\xff\""[..],
            b"\"",
            b"\"a\",\"b\"",
            b"null",
            b"{\"e164\":\"+1\"}",
        ] {
            assert_eq!(
                plain_string(json),
                None,
                "{}",
                String::from_utf8_lossy(json)
            );
        }
    }

    #[test]
    fn a_string_is_written_plain_only_where_serde_json_writes_it_plain() {
        let ascii = (0..=0x7f_u8).map(char::from);
        for c in ascii.chain(['é', '😀', '\u{2028}', '\u{feff}']) {
            let text = format!("a{c}b");
            let mut out = Vec::new();
            write_string(&mut out, &text);
            assert_eq!(out, serde_json::to_vec(&text).unwrap(), "{c:?}");
        }
    }

    #[test]
    fn numbers_are_written_as_a_value_holds_them() {
        let mut transcoder = Transcoder::default();
        for number in [
            "0",
            "-0",
            "1",
            "-1",
            "0.0",
            "-0.0",
            "1.0",
            "1.50",
            "1e0",
            "1E+2",
            "1e-7",
            "2.5e+3",
            "1e300",
            "-1e300",
            "1e-300",
            "5e-324",
            "1.7976931348623157e308",
            "0.1",
            "0.30000000000000004",
            "123456789.123456789",
            "9007199254740993",
            "18446744073709551615",
            "18446744073709551616",
            "-9223372036854775808",
            "-9223372036854775809",
            "123456789012345678901234567890",
            "-123456789012345678901234567890",
            "1e400",
            "-1e400",
            "1e-400",
            "01",
            "1.",
            ".5",
            "+1",
            "NaN",
            "Infinity",
        ] {
            agree(
                &mut transcoder,
                &format!(r#"{{"n": {number}, "a": [{number}]}}"#),
            );
        }
        let (json, _) = transcoded(
            &mut transcoder,
            r#"{"a": [-0, 1.0, 1e300, 1E2, 18446744073709551616]}"#,
        )
        .unwrap();
        assert_eq!(
            json,
            r#"{"a":[-0.0,1.0,1e+300,100.0,1.8446744073709552e+19]}"#
        );
    }

    #[test]
    fn a_key_given_twice_keeps_its_last_value() {
        let mut transcoder = Transcoder::default();
        for entity in [
            r#"{"a": 1, "b": 2, "a": 3}"#,
            r#"{"b": 1, "a": 2, "b": {"x": 1, "x": [2], "w": 0}, "a": null, "c": 0, "a": 4}"#,
            r#"{"id": "first", "id": "second"}"#,
            r#"{"id": "first", "id": 2}"#,
            r#"{"id": 1, "id": "second"}"#,
            r#"{"id": {"id": "inner"}}"#,
            r#"{"x": {"id": "nested"}}"#,
        ] {
            agree(&mut transcoder, entity);
        }
        let (json, id) =
            transcoded(&mut transcoder, r#"{"id": "1", "a": 1, "id": "2", "a": 0}"#).unwrap();
        assert_eq!(
            (json.as_str(), id.as_deref()),
            (r#"{"a":0,"id":"2"}"#, Some("2"))
        );
        let (_, id) = transcoded(&mut transcoder, r#"{"id": "1", "id": null}"#).unwrap();
        assert_eq!(id, None);
    }

    #[test]
    fn an_entity_must_be_an_object_and_whole() {
        let mut transcoder = Transcoder::default();
        for entity in [
            "[]",
            "null",
            "1",
            r#""text""#,
            "true",
            "{",
            r#"{"a": }"#,
            r#"{"a": 1,}"#,
            r#"{"a" 1}"#,
            r#"{1: 2}"#,
            "{} {}",
            "{}",
            r#"{"a": [1,]}"#,
            r#"{"a": [1 2]}"#,
        ] {
            agree(&mut transcoder, entity);
        }
        assert!(transcoded(&mut transcoder, "[]").is_err());
        let too_deep = format!("{{\"a\":{}{}}}", "[".repeat(200), "]".repeat(200));
        agree(&mut transcoder, &too_deep);
    }

    #[test]
    fn an_object_led_by_serde_jsons_raw_value_key_reads_as_a_value_reads_it() {
        // `Value` parses the string of such a member as JSON and stands it for the object: odd,
        // but what the fingerprints of every earlier version were taken over.
        let mut transcoder = Transcoder::default();
        let token = RAW_VALUE_TOKEN;
        for entity in [
            format!(r#"{{"x": {{"{token}": "[1, {{\"b\": 2, \"a\": 1}}]"}}}}"#),
            format!(r#"{{"x": {{"{token}": " 2 "}}}}"#),
            format!(r#"{{"x": {{"{token}": "\"text\""}}}}"#),
            format!(r#"{{"id": {{"{token}": "\"e-9\""}}}}"#),
            format!(r#"{{"x": {{"{token}": "{{\"{token}\": \"3\"}}"}}}}"#),
            format!(r#"{{"x": {{"{token}": "1", "b": 2}}}}"#),
            format!(r#"{{"x": {{"{token}": 1}}}}"#),
            format!(r#"{{"x": {{"{token}": "[1"}}}}"#),
            format!(r#"{{"x": {{"{token}": "1 2"}}}}"#),
            format!(r#"{{"x": {{"b": 1, "{token}": "1"}}}}"#),
            format!(r#"{{"{token}": "1", "id": "top"}}"#),
            format!(r#"{{"x": [{{"{token}": "{{}}"}}]}}"#),
        ] {
            agree(&mut transcoder, &entity);
        }
        let entity = format!(r#"{{"id": {{"{token}": "\"e-9\""}}, "x": {{"{token}": "[1]"}}}}"#);
        let (json, id) = transcoded(&mut transcoder, &entity).unwrap();
        assert_eq!(
            (json.as_str(), id.as_deref()),
            (r#"{"id":"e-9","x":[1]}"#, Some("e-9"))
        );
    }

    /// `value` as JSON text with its object keys in reverse order and some whitespace.
    fn reversed(value: &Value) -> String {
        match value {
            Value::Object(fields) => {
                let members: Vec<String> = fields
                    .iter()
                    .rev()
                    .map(|(key, value)| {
                        format!("{} : {}", Value::from(key.as_str()), reversed(value))
                    })
                    .collect();
                format!("{{ {} }}", members.join(" ,\n"))
            }
            Value::Array(items) => {
                let items: Vec<String> = items.iter().map(reversed).collect();
                format!("[{}]", items.join(", "))
            }
            scalar => scalar.to_string(),
        }
    }

    #[test]
    fn generated_directories_agree_in_any_key_order() {
        let mut transcoder = Transcoder::default();
        for entity in genesys_mock::generate_entries(500, 7) {
            agree(&mut transcoder, &entity.to_string());
            agree(&mut transcoder, &reversed(&entity));
            agree(
                &mut transcoder,
                &serde_json::to_string_pretty(&entity).unwrap(),
            );
        }
    }

    /// Asserts that the key members recorded for `entity` are its top-level fields that hold
    /// keys, in the order written, each range slicing exactly its value's canonical JSON (as
    /// a `Value` writes it, the last of a key given twice).
    fn key_members_slice_their_values(transcoder: &mut Transcoder, entity: &str) {
        let Ok(Value::Object(fields)) = serde_json::from_str::<Value>(entity) else {
            return;
        };
        let (json, _) = transcoded(transcoder, entity).unwrap();
        let found: Vec<(KeyField, &str)> = transcoder
            .last_key_members()
            .iter()
            .map(|(field, value)| (*field, &json[value.clone()]))
            .collect();
        let expected: Vec<(KeyField, String)> = fields
            .iter()
            .filter_map(|(key, value)| Some((KeyField::of(key)?, value.to_string())))
            .collect();
        let expected: Vec<(KeyField, &str)> = expected
            .iter()
            .map(|(field, value)| (*field, value.as_str()))
            .collect();
        assert_eq!(found, expected, "{entity}");
    }

    #[test]
    fn key_members_slice_exactly_their_values_in_any_key_order() {
        let mut transcoder = Transcoder::default();
        for source in genesys_mock::MockSource::every() {
            let entities = source.generated(60, 5);
            assert!(!entities.is_empty(), "{source:?}");
            for entity in entities {
                key_members_slice_their_values(&mut transcoder, &entity.to_string());
                key_members_slice_their_values(&mut transcoder, &reversed(&entity));
                key_members_slice_their_values(
                    &mut transcoder,
                    &serde_json::to_string_pretty(&entity).unwrap(),
                );
            }
        }
        let token = RAW_VALUE_TOKEN;
        for entity in [
            r#"{"phone": "+1", "id": "b", "x": 1, "id": "a", "name": {"z": 1, "a": [2]}}"#,
            r#"{"email": 1, "email": "last@example.com", "addresses": null, "user": {"name": "U", "id": 3}}"#,
            r#"{"workPhone": {"e164": "+33", "display": ""x""}, "id": "q"uote", "a": {}}"#,
            r#"{"name": "a", "name": "b", "name": "c"}"#,
            r#"{"zz": 0, "id": "late", "id": null}"#,
            r#"{}"#,
            r#"{"noKeys": [1, {"id": "nested"}]}"#,
            &format!(
                r#"{{"x": 2, "id": {{"{token}": ""e-9""}}, "phone": {{"{token}": "[1, {{"b": 2, "a": 1}}]"}}}}"#
            ),
        ] {
            key_members_slice_their_values(&mut transcoder, entity);
        }
        let (json, _) = transcoded(
            &mut transcoder,
            r#"{"name": "N", "id": "1", "id": "2", "b": 0}"#,
        )
        .unwrap();
        assert_eq!(json, r#"{"b":0,"id":"2","name":"N"}"#);
        assert_eq!(
            transcoder.last_key_members(),
            [(KeyField::Id, 12..15), (KeyField::Name, 23..26)]
        );
    }

    /// Object keys for random entities: few, so that they repeat and need sorting.
    const KEYS: &[&str] = &[
        "id",
        "name",
        "a",
        "b",
        "B",
        "ab",
        "",
        "é",
        "e\\u0301",
        "\\u00e9",
        "k\\\"q",
        "\\n",
        "\\ud83d\\ude00",
        "😀",
        "z\\u0000",
    ];

    /// Random JSON text, `depth` levels at most: strings with every kind of escape, numbers of
    /// every shape, and rarely something invalid.
    fn random_json(rng: &mut fastrand::Rng, depth: u32, out: &mut String) {
        const STRINGS: &[&str] = &[
            "plain",
            "Zoë",
            "\\u00e9",
            "\\\"",
            "\\\\",
            "\\/",
            "\\n\\r\\t\\b\\f",
            "\\u0000",
            "\\u001f",
            "\\u007f",
            "\u{7f}",
            "\\ud83d\\ude00",
            "😀",
            "\\u2028",
            "李雷",
            "",
            " ",
            "[1, {\\\"b\\\": 2, \\\"a\\\": 1}]",
        ];
        const NUMBERS: &[&str] = &[
            "0",
            "-0",
            "7",
            "-7",
            "0.0",
            "-0.0",
            "1.0",
            "2.50",
            "1e300",
            "-1E-7",
            "2.5e+3",
            "18446744073709551615",
            "18446744073709551616",
            "-9223372036854775808",
            "-9223372036854775809",
            "123456789012345678901234567890",
        ];
        const INVALID: &[&str] = &["\"\\ud800\"", "\"\\x\"", "1e400", "01", "4.", "-", "[1,]"];
        if rng.u16(..400) == 0 {
            out.push_str(INVALID[rng.usize(..INVALID.len())]);
            return;
        }
        match rng.u8(..if depth == 0 { 5 } else { 8 }) {
            0 => out.push_str(["null", "true", "false"][rng.usize(..3)]),
            1 => out.push_str(NUMBERS[rng.usize(..NUMBERS.len())]),
            2 => {
                let number = match rng.u8(..4) {
                    0 => rng.u64(..).to_string(),
                    1 => rng.i64(..).to_string(),
                    2 => format!("{:e}", f64::from_bits(rng.u64(..))),
                    _ => format!("{}", rng.f64() * 10f64.powi(rng.i32(-20..20))),
                };
                let finite = !number.contains("inf") && !number.contains("NaN");
                out.push_str(if finite { &number } else { "0" });
            }
            3 | 4 => {
                out.push('"');
                for _ in 0..rng.usize(..4) {
                    out.push_str(STRINGS[rng.usize(..STRINGS.len())]);
                }
                out.push('"');
            }
            5 => {
                out.push('[');
                for i in 0..rng.usize(..4) {
                    if i > 0 {
                        out.push(',');
                    }
                    if rng.bool() {
                        out.push_str([" ", "\n", "\t ", "\r\n"][rng.usize(..4)]);
                    }
                    random_json(rng, depth - 1, out);
                }
                out.push(']');
            }
            _ => random_object(rng, depth - 1, out),
        }
    }

    /// A random JSON object, its members `depth` levels deep at most.
    fn random_object(rng: &mut fastrand::Rng, depth: u32, out: &mut String) {
        out.push('{');
        for i in 0..rng.usize(..6) {
            if i > 0 {
                out.push(',');
            }
            // The raw-value key now and then, mostly leading no object.
            let key = if rng.u8(..30) == 0 {
                RAW_VALUE_TOKEN
            } else {
                KEYS[rng.usize(..KEYS.len())]
            };
            out.push_str(&format!("\"{key}\": "));
            random_json(rng, depth, out);
        }
        out.push('}');
    }

    #[test]
    fn random_entities_agree_with_their_entries() {
        let mut transcoder = Transcoder::default();
        let mut rng = fastrand::Rng::with_seed(20_240_601);
        let mut entity = String::new();
        let (mut accepted, mut refused) = (0, 0);
        for _ in 0..20_000 {
            entity.clear();
            random_object(&mut rng, 4, &mut entity);
            agree(&mut transcoder, &entity);
            key_members_slice_their_values(&mut transcoder, &entity);
            if parsed(&entity).is_ok() {
                accepted += 1;
            } else {
                refused += 1;
            }
        }
        // Both outcomes were exercised, most entities being valid.
        assert!(
            accepted > 10_000 && refused > 100,
            "{accepted} accepted, {refused} refused"
        );
    }
}
