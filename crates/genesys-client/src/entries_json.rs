//! A listing's entities written as canonical JSON while its pages are read, so that a fill never
//! holds every entity parsed at once.
//!
//! A parsed entity (a `serde_json` map of its fields) takes several times its JSON size, in many
//! small allocations. Each entity of a page is instead transcoded straight from the page's JSON
//! to its canonical JSON ([`PageEntities`], with [`Transcoder`]), and the pages' JSON is joined
//! as it comes ([`EntriesJson`]): at 100,000 entities what a fill holds is their canonical JSON,
//! one page and the transcoder's buffers for one entity, never an entity parsed into a tree.
//! Where each entity and the values of its key fields were written is kept beside the JSON
//! ([`KeyMembers`]), for the lookup index of the fill.

use std::collections::HashSet;
use std::fmt;

use serde::de::{Deserialize, Deserializer, SeqAccess, Visitor};
use xxhash_rust::xxh3::xxh3_128;

use crate::KeyMembers;
use crate::transcode::Transcoder;

/// The entities of one page: their canonical JSON, comma-separated (no brackets), and their ids.
#[derive(Debug, Default)]
pub(crate) struct PageEntities {
    json: Vec<u8>,
    count: usize,
    /// The entities' string ids, one after another (one string rather than one an entity).
    ids: String,
    /// Where each id in `ids` ends.
    id_ends: Vec<usize>,
    /// Where each entity and its key members are in `json`; `None` past 4 GiB.
    key_members: Option<KeyMembers>,
}

impl PageEntities {
    /// Whether the page had no entities.
    pub(crate) fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// The ids of the entities that have a string one, in order.
    fn ids(&self) -> impl Iterator<Item = &str> {
        let mut start = 0;
        self.id_ends.iter().map(move |&end| {
            let id = &self.ids[start..end];
            start = end;
            id
        })
    }
}

impl<'de> Deserialize<'de> for PageEntities {
    /// An `entities` array of JSON objects, each transcoded in turn.
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_seq(PageVisitor)
    }
}

struct PageVisitor;

impl<'de> Visitor<'de> for PageVisitor {
    type Value = PageEntities;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an array of entity objects")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<PageEntities, A::Error> {
        // Upstream entities run a few hundred bytes: a close guess saves regrowing the buffer.
        let hint = seq.size_hint().unwrap_or(0);
        let mut page = PageEntities {
            json: Vec::with_capacity(hint * 512),
            count: 0,
            ids: String::new(),
            id_ends: Vec::with_capacity(hint),
            key_members: Some(KeyMembers::default()),
        };
        let mut transcoder = Transcoder::default();
        loop {
            let before = page.json.len();
            if page.count > 0 {
                page.json.push(b',');
            }
            let at = page.json.len();
            if seq
                .next_element_seed(transcoder.entity(&mut page.json))?
                .is_none()
            {
                page.json.truncate(before);
                break;
            }
            if let Some(id) = transcoder.last_id() {
                page.ids.push_str(id);
                page.id_ends.push(page.ids.len());
            }
            if let Some(key_members) = &mut page.key_members {
                let members = transcoder.last_key_members().iter().cloned();
                if key_members
                    .push(at, 0..page.json.len() - at, members)
                    .is_none()
                {
                    page.key_members = None;
                }
            }
            page.count += 1;
        }
        Ok(page)
    }
}

/// The entries of a whole listing so far, as one canonical JSON array being written.
#[derive(Debug)]
pub(crate) struct EntriesJson {
    json: Vec<u8>,
    count: usize,
    /// The XXH3-128 hash of every id so far: 16 bytes an id rather than a string each. Two
    /// different ids of one listing hashing alike is about as likely as a 128-bit collision,
    /// and would cost one needless re-read, never a wrong snapshot.
    ids: HashSet<u128>,
    /// Where each entity and its key members are in `json`; `None` past 4 GiB.
    key_members: Option<KeyMembers>,
}

impl EntriesJson {
    /// No entries yet.
    pub(crate) fn new() -> Self {
        Self {
            json: vec![b'['],
            count: 0,
            ids: HashSet::new(),
            key_members: Some(KeyMembers::default()),
        }
    }

    /// Makes room for about `expected` more entries (upstream entities run a few hundred bytes).
    pub(crate) fn reserve(&mut self, expected: usize) {
        self.json.reserve(expected * 512 + 1);
        self.ids.reserve(expected);
    }

    /// Appends a page's entities; an id already read (on this page or an earlier one) is
    /// given back, as a sign that pages of two versions of the listing were mixed.
    pub(crate) fn append(&mut self, page: PageEntities) -> Result<(), String> {
        if let Some(repeated) = page
            .ids()
            .find(|id| !self.ids.insert(xxh3_128(id.as_bytes())))
        {
            return Err(repeated.to_string());
        }
        if self.count > 0 && page.count > 0 {
            self.json.push(b',');
        }
        let base = self.json.len();
        self.key_members = match (self.key_members.take(), &page.key_members) {
            (Some(mut all), Some(members)) => all.append(base, members).map(|()| all),
            _ => None,
        };
        self.json.extend_from_slice(&page.json);
        self.count += page.count;
        Ok(())
    }

    /// How many entries so far.
    pub(crate) fn len(&self) -> usize {
        self.count
    }

    /// The JSON array of every entry, in order.
    #[cfg(test)]
    pub(crate) fn finish(self) -> Vec<u8> {
        self.finish_with_key_members().0
    }

    /// The JSON array of every entry, in order, and where each entry and its key members are
    /// in it (`None` past 4 GiB).
    pub(crate) fn finish_with_key_members(mut self) -> (Vec<u8>, Option<KeyMembers>) {
        self.json.push(b']');
        (self.json, self.key_members)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Entry, canonical_json};
    use serde_json::json;

    fn page(entities: serde_json::Value) -> PageEntities {
        serde_json::from_value(entities).unwrap()
    }

    #[test]
    fn pages_join_into_the_canonical_json_of_all_their_entries() {
        let first = json!([{"name": "Zoë", "id": "1", "x": {"b": 1, "a": null}}, {"id": "2"}]);
        let second = json!([{"id": "3", "extra": [true]}]);
        let mut all = EntriesJson::new();
        all.append(page(json!([]))).unwrap();
        all.append(page(first.clone())).unwrap();
        all.append(page(json!([]))).unwrap();
        all.append(page(second.clone())).unwrap();
        assert_eq!(all.len(), 3);
        let mut entries: Vec<Entry> = serde_json::from_value(first).unwrap();
        entries.extend(serde_json::from_value::<Vec<Entry>>(second).unwrap());
        assert_eq!(all.finish(), canonical_json(&entries));
        let mut none = EntriesJson::new();
        none.reserve(4);
        assert_eq!(none.finish(), b"[]");
    }

    #[test]
    fn a_page_read_from_its_text_is_the_canonical_json_and_ids_of_its_entries() {
        let entities = genesys_mock::generate_entries(300, 3);
        let text = serde_json::to_vec(&entities).unwrap();
        let mut all = EntriesJson::new();
        all.append(serde_json::from_slice(&text).unwrap()).unwrap();
        let entries: Vec<Entry> = serde_json::from_slice(&text).unwrap();
        assert_eq!(all.finish(), canonical_json(&entries));

        let page: PageEntities =
            serde_json::from_str(r#"[{"id": "a"}, {"id": 1}, {}, {"id": "b\u00e9", "id": "c"}]"#)
                .unwrap();
        assert_eq!(page.ids().collect::<Vec<_>>(), ["a", "c"]);
    }

    #[test]
    fn key_members_point_into_the_joined_json() {
        let entities = genesys_mock::generate_entries(30, 9);
        let mut all = EntriesJson::new();
        all.append(page(json!([]))).unwrap();
        for chunk in entities.chunks(7) {
            all.append(page(serde_json::Value::from(chunk.to_vec())))
                .unwrap();
        }
        let (json, members) = all.finish_with_key_members();
        let members = members.unwrap();
        assert_eq!(members.len(), entities.len());
        for ((span, members), entity) in members.entities().zip(&entities) {
            let written: serde_json::Value = serde_json::from_slice(&json[span]).unwrap();
            assert_eq!(&written, entity);
            let fields: Vec<(crate::KeyField, serde_json::Value)> = members
                .iter()
                .map(|m| (m.field(), serde_json::from_slice(&json[m.value()]).unwrap()))
                .collect();
            let expected: Vec<(crate::KeyField, serde_json::Value)> = entity
                .as_object()
                .unwrap()
                .iter()
                .filter_map(|(k, v)| Some((crate::KeyField::of(k)?, v.clone())))
                .collect();
            assert!(!expected.is_empty());
            assert_eq!(fields, expected);
        }
    }

    #[test]
    fn an_id_read_twice_is_given_back_across_pages_and_within_one() {
        let mut all = EntriesJson::new();
        all.append(page(json!([{"id": "a"}, {"id": "b"}, {"name": "no id"}])))
            .unwrap();
        assert_eq!(
            all.append(page(json!([{"id": "c"}, {"id": "b"}]))),
            Err("b".to_owned())
        );
        let mut one = EntriesJson::new();
        assert_eq!(
            one.append(page(json!([{"id": "x"}, {"id": "x"}]))),
            Err("x".to_owned())
        );
    }

    #[test]
    fn entities_must_be_objects() {
        assert!(serde_json::from_value::<PageEntities>(json!([{"id": "1"}, 2])).is_err());
        assert!(serde_json::from_value::<PageEntities>(json!({"id": "1"})).is_err());
        let mut all = EntriesJson::new();
        all.append(page(json!([{}, {}]))).unwrap();
        assert_eq!((all.len(), all.finish()), (2, b"[{},{}]".to_vec()));
    }
}
