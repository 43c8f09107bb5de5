//! `LookupIndex`: the keys of one cached copy's entities in sorted vectors, each pointing at
//! its entity's bytes in the stored JSON.

use std::fmt;

use genesys_client::KeyMembers;

use super::fold::{self, NATIONAL_MIN_DIGITS, PhoneKey};
use super::keys::EntityKeys;
use super::query::Query;

/// Where an entity's JSON is in the entries array, in bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Span {
    /// Its first byte.
    pub(crate) at: u32,
    /// Its length.
    pub(crate) len: u32,
}

/// One key: bytes in the index's text (or, for ids, in the entries JSON), and the entity it
/// leads to.
#[derive(Clone, Copy, Debug)]
#[cfg_attr(test, derive(PartialEq))]
struct Key {
    at: u32,
    len: u32,
    entity: u32,
}

impl Key {
    /// Its bytes in `source`.
    fn of(self, source: &[u8]) -> &[u8] {
        &source[self.at as usize..(self.at + self.len) as usize]
    }
}

/// The lookup index of a cached copy (SPEC §8): built once from the copy's entries JSON,
/// shared by every lookup on that copy, dropped with it.
///
/// It holds no strings of its own but one buffer of folded keys: entities are found as byte
/// ranges of the stored JSON, so an answer is sliced from it, never re-serialised. Ids need no
/// folding, so their keys point into the stored JSON itself rather than into a copy.
///
/// A fill builds it from the values of the key members its fetch located
/// ([`LookupIndex::from_key_members`]); a copy read from a backend, by parsing the entries
/// ([`LookupIndex::build`]). Both give the same index (equality, for the tests that hold them
/// to it, compares every array).
#[cfg_attr(test, derive(PartialEq))]
pub struct LookupIndex {
    spans: Box<[Span]>,
    /// Every folded key, one after another.
    text: Box<[u8]>,
    /// Ids, as they are in the entries JSON.
    ids: Box<[Key]>,
    /// The few ids the JSON writes with escapes, unescaped into the text.
    escaped_ids: Box<[Key]>,
    emails: Box<[Key]>,
    /// Phone numbers, sorted, so that those ending with some digits are one range.
    phones: Box<[PhoneKey]>,
    /// The entity of each phone number.
    phone_entities: Box<[u32]>,
    /// Folded names, from their first word.
    names: Box<[Key]>,
    /// The same names from each later word.
    words: Box<[Key]>,
}

impl LookupIndex {
    /// Indexes `entries_json`, a JSON array of entities (of any source of SPEC §7). Fails on
    /// bytes that are not such an array, or too large to index (4 GiB).
    pub fn build(entries_json: &[u8]) -> Result<Self, String> {
        let json =
            std::str::from_utf8(entries_json).map_err(|e| format!("entries are not UTF-8: {e}"))?;
        let offset = |len: usize| {
            u32::try_from(len).map_err(|_| "entries are too large to index (4 GiB)".to_owned())
        };
        offset(json.len())?;
        // Entities run a few hundred bytes: a guess on the high side saves regrowing the
        // vectors (what is left over is given back when the index is finished).
        let mut builder = Builder::with_capacity(json.len() / 256);
        let mut entity = 0u32;
        each_entity(json, |at, len, keys| {
            builder.spans.push(Span {
                at: offset(at)?,
                len: offset(len)?,
            });
            builder.add(entries_json, &keys, entity)?;
            entity += 1;
            Ok(())
        })?;
        crate::metrics::lookup_index_built();
        Ok(builder.finish(entries_json))
    }

    /// Indexes `entries_json` from the key members its fetch located in it
    /// ([`genesys_client::DirectorySnapshot::key_members`]): only those values are read, one by
    /// one, and the entities are where the members say. The same index as
    /// [`LookupIndex::build`] of the same bytes, for the cost of a fraction of a parse: what a
    /// fill builds. Fails on members that are not in `entries_json`, or values that are not
    /// JSON.
    pub fn from_key_members(entries_json: &[u8], members: &KeyMembers) -> Result<Self, String> {
        if u32::try_from(entries_json.len()).is_err() {
            return Err("entries are too large to index (4 GiB)".to_owned());
        }
        let mut builder = Builder::with_capacity(members.len());
        let mut keys = EntityKeys::default();
        for (entity, (span, members)) in (0u32..).zip(members.entities()) {
            if span.end > entries_json.len() {
                return Err(format!("entity {entity} is not in the entries"));
            }
            // In bounds of a buffer under 4 GiB, checked above.
            builder.spans.push(Span {
                at: span.start as u32,
                len: span.len() as u32,
            });
            keys.read_members(entries_json, members)
                .map_err(|e| format!("entity {entity} cannot be read: {e}"))?;
            builder.add(entries_json, &keys, entity)?;
        }
        crate::metrics::lookup_index_built();
        Ok(builder.finish(entries_json))
    }

    /// How many entities it indexes.
    pub fn len(&self) -> usize {
        self.spans.len()
    }

    /// Whether it indexes none.
    pub fn is_empty(&self) -> bool {
        self.spans.is_empty()
    }

    /// The memory it holds, in bytes (what a copy weighs beyond its body).
    pub fn heap_bytes(&self) -> usize {
        std::mem::size_of::<Self>()
            + std::mem::size_of_val(&*self.spans)
            + self.text.len()
            + std::mem::size_of_val(&*self.phones)
            + std::mem::size_of_val(&*self.phone_entities)
            + std::mem::size_of::<Key>()
                * (self.ids.len()
                    + self.escaped_ids.len()
                    + self.emails.len()
                    + self.names.len()
                    + self.words.len())
    }

    /// Where entity `entity` is in the entries JSON.
    pub(crate) fn span(&self, entity: u32) -> Span {
        self.spans[entity as usize]
    }

    /// The entity whose `id` is `id`, in the copy whose entries JSON is `entries_json` (the
    /// bytes the index was built from).
    pub(crate) fn entity(&self, entries_json: &[u8], id: &str) -> Option<u32> {
        let id = id.as_bytes();
        matching(&self.ids, entries_json, id, Match::Exact)
            .next()
            .or_else(|| matching(&self.escaped_ids, &self.text, id, Match::Exact).next())
    }

    /// Every entity `query` matches, best first, each once.
    pub(crate) fn find(&self, query: &Query) -> Vec<u32> {
        // Folded names and e-mails are written here; a phone query needs none (nothing is
        // allocated for it until a name or an e-mail is folded).
        let mut probe = Vec::new();
        let mut found = Vec::with_capacity(4);
        match query {
            Query::Phone(number) => self.find_phone(number, &mut found),
            Query::Email(email) => self.find_email(email, &mut probe, &mut found),
            Query::Name(name) => self.find_name(name, &mut probe, &mut found),
            Query::Any(text) => {
                self.find_name(text, &mut probe, &mut found);
                self.find_email(text, &mut probe, &mut found);
                self.find_phone(text, &mut found);
            }
        }
        self.first_of_each(found)
    }

    fn find_name(&self, name: &str, probe: &mut Vec<u8>, found: &mut Vec<u32>) {
        probe.clear();
        fold::fold_name([name], probe, |_| {});
        if probe.is_empty() {
            return;
        }
        found.extend(matching(&self.names, &self.text, probe, Match::Prefix));
        found.extend(matching(&self.words, &self.text, probe, Match::Prefix));
    }

    fn find_email(&self, email: &str, probe: &mut Vec<u8>, found: &mut Vec<u32>) {
        probe.clear();
        fold::fold_email(email, probe);
        if !probe.is_empty() {
            found.extend(matching(&self.emails, &self.text, probe, Match::Exact));
        }
    }

    fn find_phone(&self, number: &str, found: &mut Vec<u32>) {
        let phone = fold::fold_phone(number);
        let (low, high) = if phone.digits == 0 {
            return;
        } else if !phone.international && phone.digits >= NATIONAL_MIN_DIGITS {
            phone.key.ending_range(phone.digits)
        } else {
            (phone.key, phone.key)
        };
        let first = self.phones.partition_point(|key| *key < low);
        let last = first + self.phones[first..].partition_point(|key| *key <= high);
        found.extend_from_slice(&self.phone_entities[first..last]);
    }

    /// `found` with each entity only where it first appears.
    fn first_of_each(&self, mut found: Vec<u32>) -> Vec<u32> {
        if found.len() <= 16 {
            let mut kept = 0;
            for i in 0..found.len() {
                if !found[..kept].contains(&found[i]) {
                    found[kept] = found[i];
                    kept += 1;
                }
            }
            found.truncate(kept);
        } else {
            let mut seen = vec![0u64; self.spans.len().div_ceil(64)];
            found.retain(|&entity| {
                let (word, bit) = (entity as usize / 64, 1u64 << (entity % 64));
                let new = seen[word] & bit == 0;
                seen[word] |= bit;
                new
            });
        }
        found
    }
}

impl fmt::Debug for LookupIndex {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The keys are entry contents: counts only.
        f.debug_struct("LookupIndex")
            .field("entities", &self.spans.len())
            .field("ids", &self.ids.len())
            .field("emails", &self.emails.len())
            .field("phones", &self.phones.len())
            .field("names", &self.names.len())
            .field("heap_bytes", &self.heap_bytes())
            .finish()
    }
}

#[derive(Clone, Copy)]
enum Match {
    Exact,
    Prefix,
}

/// The entities of the `keys` (sorted, pointing into `source`) equal to `probe`, or starting
/// with it, in key order.
fn matching<'a>(
    keys: &'a [Key],
    source: &'a [u8],
    probe: &'a [u8],
    how: Match,
) -> impl Iterator<Item = u32> + 'a {
    let first = keys.partition_point(|key| key.of(source) < probe);
    keys[first..]
        .iter()
        .take_while(move |key| match how {
            Match::Exact => key.of(source) == probe,
            Match::Prefix => key.of(source).starts_with(probe),
        })
        .map(|key| key.entity)
}

/// The index as it is filled, entity by entity.
struct Builder {
    spans: Vec<Span>,
    text: Vec<u8>,
    ids: Vec<Key>,
    escaped_ids: Vec<Key>,
    emails: Vec<Key>,
    phones: Vec<(PhoneKey, u32)>,
    names: Vec<Key>,
    words: Vec<Key>,
    /// Where the words of the name being added start, reused from entity to entity.
    word_starts: Vec<usize>,
}

impl Builder {
    fn with_capacity(entities: usize) -> Self {
        Self {
            spans: Vec::with_capacity(entities),
            text: Vec::with_capacity(entities * 48),
            ids: Vec::with_capacity(entities),
            escaped_ids: Vec::new(),
            emails: Vec::new(),
            phones: Vec::new(),
            names: Vec::with_capacity(entities),
            words: Vec::with_capacity(entities),
            word_starts: Vec::new(),
        }
    }

    /// Adds the keys of `entity`, read from `json` (the entries JSON being indexed).
    fn add(&mut self, json: &[u8], keys: &EntityKeys<'_>, entity: u32) -> Result<(), String> {
        if let Some(id) = &keys.id {
            match range_in(json, id) {
                // An id read as it is written is a range of the JSON, which the copy keeps.
                Some((at, end)) => self.ids.push(key(at, end, entity)?),
                None => {
                    let at = self.text.len();
                    self.text.extend_from_slice(id.as_bytes());
                    self.escaped_ids.push(key(at, self.text.len(), entity)?);
                }
            }
        }
        for email in &keys.emails {
            let at = self.text.len();
            fold::fold_email(email, &mut self.text);
            self.keep_once(at, entity)?;
        }
        let entity_phones = self.phones.len();
        for phone in &keys.phones {
            let phone = fold::fold_phone(phone);
            let repeated = self.phones[entity_phones..]
                .iter()
                .any(|(key, _)| *key == phone.key);
            if phone.digits > 0 && !repeated {
                self.phones.push((phone.key, entity));
            }
        }
        let at = self.text.len();
        let word_starts = &mut self.word_starts;
        word_starts.clear();
        fold::fold_name(keys.name_parts(), &mut self.text, |start| {
            word_starts.push(start)
        });
        let end = self.text.len();
        if end > at {
            self.names.push(key(at, end, entity)?);
            for &start in &self.word_starts[1..] {
                self.words.push(key(start, end, entity)?);
            }
        }
        Ok(())
    }

    /// Keeps the e-mail written at `at..` unless it is empty or the entity already has it.
    fn keep_once(&mut self, at: usize, entity: u32) -> Result<(), String> {
        let end = self.text.len();
        let written = &self.text[at..end];
        let repeated = self
            .emails
            .iter()
            .rev()
            .take_while(|key| key.entity == entity)
            .any(|key| key.of(&self.text) == written);
        if written.is_empty() || repeated {
            self.text.truncate(at);
            return Ok(());
        }
        self.emails.push(key(at, end, entity)?);
        Ok(())
    }

    /// The index, its keys sorted; `entries_json` is what the ids point into.
    fn finish(self, entries_json: &[u8]) -> LookupIndex {
        let text = self.text.into_boxed_slice();
        let mut phones = self.phones;
        // Equal numbers keep the directory's order.
        phones.sort_unstable();
        let (phones, phone_entities) = phones.into_iter().unzip::<_, _, Vec<_>, Vec<_>>();
        LookupIndex {
            spans: self.spans.into_boxed_slice(),
            phones: phones.into_boxed_slice(),
            phone_entities: phone_entities.into_boxed_slice(),
            ids: sorted(self.ids, entries_json),
            escaped_ids: sorted(self.escaped_ids, &text),
            emails: sorted(self.emails, &text),
            names: sorted(self.names, &text),
            words: sorted(self.words, &text),
            text,
        }
    }
}

/// The bytes of a key sorted by as one integer before any are compared one by one.
const PREFIX_LEN: usize = 16;

/// `keys` sorted by their bytes in `source`; equal keys keep the directory's order.
///
/// Keys are first sorted by their first [`PREFIX_LEN`] bytes as one integer, stably (the keys
/// come in entity order): most comparisons are one integer compare, not two slices of `source`
/// and a `memcmp`. Only a run of keys alike in those bytes that may still differ (longer keys,
/// or keys of other lengths, which differ in zero bytes) is sorted again by all its bytes.
fn sorted(keys: Vec<Key>, source: &[u8]) -> Box<[Key]> {
    let mut keyed: Vec<(u128, Key)> = keys
        .into_iter()
        .map(|key| (prefix(key.of(source)), key))
        .collect();
    keyed.sort_by_key(|(prefix, _)| *prefix);
    for run in keyed.chunk_by_mut(|(a, _), (b, _)| a == b) {
        // Most keys are alone in their prefix (every id, every e-mail of a directory).
        if run.len() == 1 {
            continue;
        }
        let len = run[0].1.len;
        let alike = run.iter().all(|(_, key)| key.len == len) && len as usize <= PREFIX_LEN;
        if !alike {
            run.sort_unstable_by(|(_, a), (_, b)| {
                a.of(source).cmp(b.of(source)).then(a.entity.cmp(&b.entity))
            });
        }
    }
    keyed.into_iter().map(|(_, key)| key).collect()
}

/// The first [`PREFIX_LEN`] bytes of `key` as a big-endian integer, zero-padded: integers
/// compare as the bytes do, but for keys alike in those bytes (zero bytes included).
fn prefix(key: &[u8]) -> u128 {
    if let Some(first) = key.first_chunk::<PREFIX_LEN>() {
        return u128::from_be_bytes(*first);
    }
    let mut first = [0u8; PREFIX_LEN];
    let len = key.len().min(PREFIX_LEN);
    first[..len].copy_from_slice(&key[..len]);
    u128::from_be_bytes(first)
}

/// Reads the JSON array `json` entity by entity, in one pass: `each` gets where each entity
/// is (its first byte and length) and its keys, borrowed from `json`.
fn each_entity<'de>(
    json: &'de str,
    mut each: impl FnMut(usize, usize, EntityKeys<'de>) -> Result<(), String>,
) -> Result<(), String> {
    let bytes = json.as_bytes();
    let not_an_array =
        |what: &str, at: usize| format!("entries are not a JSON array: {what} at byte {at}");
    let mut at = skip_whitespace(bytes, 0);
    if bytes.get(at) != Some(&b'[') {
        return Err(not_an_array("no `[`", at));
    }
    at = skip_whitespace(bytes, at + 1);
    if bytes.get(at) == Some(&b']') {
        at += 1;
    } else {
        for entity in 0usize.. {
            // One entity from `at` (after white space, so a character boundary); the stream
            // says where it ends.
            let mut stream =
                serde_json::Deserializer::from_str(&json[at..]).into_iter::<EntityKeys<'de>>();
            let keys = match stream.next() {
                Some(Ok(keys)) => keys,
                Some(Err(e)) => return Err(format!("entity {entity} cannot be read: {e}")),
                None => return Err(not_an_array("no `]`", at)),
            };
            let end = at + stream.byte_offset();
            each(at, end - at, keys)?;
            at = skip_whitespace(bytes, end);
            match bytes.get(at) {
                Some(b',') => at = skip_whitespace(bytes, at + 1),
                Some(b']') => {
                    at += 1;
                    break;
                }
                _ => return Err(not_an_array("no `,` or `]`", at)),
            }
        }
    }
    if skip_whitespace(bytes, at) != bytes.len() {
        return Err(not_an_array("more after the `]`", at));
    }
    Ok(())
}

/// The first position from `at` that is not JSON white space.
fn skip_whitespace(bytes: &[u8], at: usize) -> usize {
    at + bytes[at.min(bytes.len())..]
        .iter()
        .take_while(|b| matches!(b, b' ' | b'\t' | b'\n' | b'\r'))
        .count()
}

/// Where `part` is in `whole`, if it is a slice of it (a string read without unescaping).
fn range_in(whole: &[u8], part: &str) -> Option<(usize, usize)> {
    let at = (part.as_ptr() as usize).checked_sub(whole.as_ptr() as usize)?;
    (at + part.len() <= whole.len()).then_some((at, at + part.len()))
}

/// The key of `text[at..end]` for `entity`.
fn key(at: usize, end: usize, entity: u32) -> Result<Key, String> {
    let too_large = |_| "the lookup keys are too large to index (4 GiB)".to_owned();
    Ok(Key {
        at: u32::try_from(at).map_err(too_large)?,
        len: u32::try_from(end - at).map_err(too_large)?,
        entity,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Where each entity is, and its id, as `each_entity` reads them.
    fn read(json: &str) -> Result<Vec<(&str, Option<String>)>, String> {
        let mut found = Vec::new();
        each_entity(json, |at, len, keys| {
            found.push((&json[at..at + len], keys.id.map(|id| id.into_owned())));
            Ok(())
        })?;
        Ok(found)
    }

    #[test]
    fn keys_are_sorted_by_all_their_bytes_and_alike_keys_by_entity() {
        let long = "abcdefghijklmnop";
        let words = [
            format!("{long}qz"),
            format!("{long}q"),
            "ab".to_owned(),
            format!("{long}qa"),
            "ab\0".to_owned(),
            long.to_owned(),
            "ab".to_owned(),
            format!("{long}q"),
            "b".to_owned(),
            "ab\0\0".to_owned(),
            format!("{long}\0"),
        ];
        let mut text = Vec::new();
        let mut keys = Vec::new();
        // Keys come in entity order (as `Builder` pushes them), not in the keys' order.
        for (entity, word) in (0..words.len() as u32).zip(&words) {
            let at = text.len();
            text.extend_from_slice(word.as_bytes());
            keys.push(key(at, text.len(), entity).unwrap());
        }
        let mut expected: Vec<(&[u8], u32)> =
            keys.iter().map(|k| (k.of(&text), k.entity)).collect();
        expected.sort();
        let got: Vec<(&[u8], u32)> = sorted(keys, &text)
            .iter()
            .map(|k| (k.of(&text), k.entity))
            .collect();
        assert_eq!(got, expected);
    }

    #[test]
    fn entities_are_found_where_they_are_in_any_spacing() {
        let json = " [ {\"id\":\"a\",\"x\":[1,{\"y\":\"]\"}]} ,\n\t{\"id\":\"b\\\"\"},7 ,null,\"s\",[]] \n";
        let found = read(json).unwrap();
        let spans: Vec<&str> = found.iter().map(|(span, _)| *span).collect();
        assert_eq!(
            spans,
            [
                r#"{"id":"a","x":[1,{"y":"]"}]}"#,
                r#"{"id":"b\""}"#,
                "7",
                "null",
                "\"s\"",
                "[]"
            ]
        );
        assert_eq!(found[1].1.as_deref(), Some("b\""));
        assert_eq!(read("[]").unwrap(), []);
        assert_eq!(read(" [\n] ").unwrap(), []);
    }

    #[test]
    fn anything_but_one_whole_array_is_refused_naming_the_place() {
        for (json, says) in [
            ("", "no `[`"),
            ("{}", "no `[`"),
            ("[", "no `]`"),
            ("[{}", "no `,` or `]`"),
            ("[{} {}]", "no `,` or `]`"),
            ("[{},]", "entity 1 cannot be read"),
            ("[{}] x", "more after the `]`"),
            ("[{\"id\":}]", "entity 0 cannot be read"),
        ] {
            let err = read(json).unwrap_err();
            assert!(err.contains(says), "{json:?}: {err}");
        }
    }
}
