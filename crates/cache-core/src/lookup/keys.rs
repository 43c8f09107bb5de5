//! The one key extractor: which fields of an entity, from any source of SPEC §7, are its id,
//! name, e-mails and phones ([`KeyField`]), and how each one's value is read: from a whole
//! entity, or from the key members a fetch located ([`KeyMember`]), by the same code.

use std::borrow::Cow;
use std::fmt;

use genesys_client::{KeyField, KeyMember, plain_string};
use serde::de::{
    Deserialize, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor,
};

/// The parts of a phone object that hold the number, best first: `PhoneNumber` (contacts,
/// organisations) has `e164` and `display`, `LocationEmergencyNumber` `e164` and `number`.
const PHONE_PARTS: &[&str] = &["e164", "display", "number"];

/// The parts of a contact point (`Contact`, `GroupContact`) that hold its value, best first.
const CONTACT_PARTS: &[&str] = &["address", "display"];

/// A contact point's `mediaType`, and whether it is an e-mail (else a phone).
const MEDIA_TYPES: &[(&str, bool)] = &[("EMAIL", true), ("PHONE", false), ("SMS", false)];

/// The keys found in one entity, borrowed from its JSON (only strings that must be unescaped
/// are copied).
#[derive(Debug, Default)]
pub(crate) struct EntityKeys<'de> {
    /// `id`.
    pub(crate) id: Option<Cow<'de, str>>,
    name: Option<Cow<'de, str>>,
    first_name: Option<Cow<'de, str>>,
    last_name: Option<Cow<'de, str>>,
    user_name: Option<Cow<'de, str>>,
    /// Every e-mail, as written.
    pub(crate) emails: Vec<Cow<'de, str>>,
    /// Every phone number, as written.
    pub(crate) phones: Vec<Cow<'de, str>>,
}

impl<'de> EntityKeys<'de> {
    /// The parts of the entity's name: `name`; else `firstName` `lastName`; else the user's
    /// `name`.
    pub(crate) fn name_parts(&self) -> impl Iterator<Item = &str> {
        let parts: [Option<&Cow<'de, str>>; 2] = match (&self.name, &self.user_name) {
            (Some(name), _) => [Some(name), None],
            (None, _) if self.first_name.is_some() || self.last_name.is_some() => {
                [self.first_name.as_ref(), self.last_name.as_ref()]
            }
            (None, user_name) => [user_name.as_ref(), None],
        };
        parts.into_iter().flatten().map(|part| &**part)
    }
}

impl<'de> EntityKeys<'de> {
    /// Becomes the keys of one entity from its key members alone, each value read from
    /// `entries_json` where the fetch wrote it: the same keys as reading the entity whole,
    /// as the members are its key fields in the order written. The lists of e-mails and
    /// phones are kept from the entity before, so that an index of many entities does not
    /// allocate them for each.
    pub(crate) fn read_members(
        &mut self,
        entries_json: &'de [u8],
        members: &[KeyMember],
    ) -> Result<(), serde_json::Error> {
        let Self {
            id,
            name,
            first_name,
            last_name,
            user_name,
            emails,
            phones,
        } = self;
        for text in [id, name, first_name, last_name, user_name] {
            *text = None;
        }
        emails.clear();
        phones.clear();
        for member in members {
            let value = entries_json.get(member.value()).ok_or_else(|| {
                <serde_json::Error as serde::de::Error>::custom(
                    "a key member is not in the entries",
                )
            })?;
            let field = FieldValue {
                keys: &mut *self,
                field: member.field(),
                nested: false,
            };
            // Most key values are strings with nothing escaped: their text is between the
            // quotes, and reading them needs no parser (a third of the index's cost was there).
            if let Some(text) = plain_string(value) {
                field.string(Cow::Borrowed(text));
                continue;
            }
            let mut json = serde_json::Deserializer::from_slice(value);
            Lenient(field).deserialize(&mut json)?;
            json.end()?;
        }
        Ok(())
    }
}

impl<'de> Deserialize<'de> for EntityKeys<'de> {
    /// The keys of one entity, a JSON value (an entity that is not an object has none).
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let mut keys = EntityKeys::default();
        Lenient(Entity {
            keys: &mut keys,
            nested: false,
        })
        .deserialize(deserializer)?;
        Ok(keys)
    }
}

/// How a value of some expected shape is read; any other shape is skipped, never an error,
/// because upstream may send `null`, or a type a source does not document, in any field.
trait Shape<'de>: Sized {
    fn string(self, _value: Cow<'de, str>) {}

    fn map<A: MapAccess<'de>>(self, map: A) -> Result<(), A::Error> {
        skip_map(map)
    }

    fn seq<A: SeqAccess<'de>>(self, seq: A) -> Result<(), A::Error> {
        skip_seq(seq)
    }
}

fn skip_map<'de, A: MapAccess<'de>>(mut map: A) -> Result<(), A::Error> {
    while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
    Ok(())
}

fn skip_seq<'de, A: SeqAccess<'de>>(mut seq: A) -> Result<(), A::Error> {
    while seq.next_element::<IgnoredAny>()?.is_some() {}
    Ok(())
}

/// Reads any JSON value into a [`Shape`].
struct Lenient<S>(S);

impl<'de, S: Shape<'de>> DeserializeSeed<'de> for Lenient<S> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de, S: Shape<'de>> Visitor<'de> for Lenient<S> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_bool<E>(self, _: bool) -> Result<(), E> {
        Ok(())
    }

    fn visit_i64<E>(self, _: i64) -> Result<(), E> {
        Ok(())
    }

    fn visit_u64<E>(self, _: u64) -> Result<(), E> {
        Ok(())
    }

    fn visit_f64<E>(self, _: f64) -> Result<(), E> {
        Ok(())
    }

    fn visit_unit<E>(self) -> Result<(), E> {
        Ok(())
    }

    fn visit_borrowed_str<E>(self, value: &'de str) -> Result<(), E> {
        self.0.string(Cow::Borrowed(value));
        Ok(())
    }

    fn visit_str<E>(self, value: &str) -> Result<(), E> {
        self.0.string(Cow::Owned(value.to_owned()));
        Ok(())
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<(), A::Error> {
        self.0.map(map)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<(), A::Error> {
        self.0.seq(seq)
    }
}

/// A string, kept; anything else, skipped.
struct Text<'a, 'de>(&'a mut Option<Cow<'de, str>>);

impl<'de> Shape<'de> for Text<'_, 'de> {
    fn string(self, value: Cow<'de, str>) {
        *self.0 = Some(value);
    }
}

/// The next key of `map`, or `None` at its end.
fn next_key<'de, A: MapAccess<'de>>(map: &mut A) -> Result<Option<Cow<'de, str>>, A::Error> {
    let mut key = None;
    Ok(map.next_key_seed(Lenient(Text(&mut key)))?.and(key))
}

/// Of the `parts` of an object, the value of the first present, read from `map`.
fn best_part<'de, A: MapAccess<'de>>(
    mut map: A,
    parts: &[&str],
    mut also: impl FnMut(&str, &mut A) -> Result<bool, A::Error>,
) -> Result<Option<Cow<'de, str>>, A::Error> {
    let mut best: Option<(usize, Cow<'de, str>)> = None;
    while let Some(key) = next_key(&mut map)? {
        if let Some(rank) = parts.iter().position(|part| *part == key) {
            let mut text = None;
            map.next_value_seed(Lenient(Text(&mut text)))?;
            if let Some(text) = text.filter(|t| !t.trim().is_empty())
                && best.as_ref().is_none_or(|(best, _)| rank < *best)
            {
                best = Some((rank, text));
            }
        } else if !also(&key, &mut map)? {
            map.next_value::<IgnoredAny>()?;
        }
    }
    Ok(best.map(|(_, text)| text))
}

/// A phone number: a string, or an object with [`PHONE_PARTS`].
struct PhoneValue<'a, 'de>(&'a mut Vec<Cow<'de, str>>);

impl<'de> Shape<'de> for PhoneValue<'_, 'de> {
    fn string(self, value: Cow<'de, str>) {
        self.0.push(value);
    }

    fn map<A: MapAccess<'de>>(self, map: A) -> Result<(), A::Error> {
        self.0
            .extend(best_part(map, PHONE_PARTS, |_, _| Ok(false))?);
        Ok(())
    }
}

/// A list of contact points.
struct Contacts<'a, 'de>(&'a mut EntityKeys<'de>);

impl<'de> Shape<'de> for Contacts<'_, 'de> {
    fn seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while seq
            .next_element_seed(Lenient(Contact(&mut *self.0)))?
            .is_some()
        {}
        Ok(())
    }
}

/// One contact point: its value goes to the e-mails or the phones by its `mediaType`.
struct Contact<'a, 'de>(&'a mut EntityKeys<'de>);

impl<'de> Shape<'de> for Contact<'_, 'de> {
    fn map<A: MapAccess<'de>>(self, map: A) -> Result<(), A::Error> {
        let mut media_type = None;
        let value = best_part(map, CONTACT_PARTS, |key, map| {
            if key != "mediaType" {
                return Ok(false);
            }
            map.next_value_seed(Lenient(Text(&mut media_type)))?;
            Ok(true)
        })?;
        let is_email = media_type.and_then(|media_type| {
            MEDIA_TYPES
                .iter()
                .find(|(name, _)| *name == media_type)
                .map(|(_, is_email)| *is_email)
        });
        match (is_email, value) {
            (Some(true), Some(value)) => self.0.emails.push(value),
            (Some(false), Some(value)) => self.0.phones.push(value),
            _ => {}
        }
        Ok(())
    }
}

/// An entity, or the user nested in one (`nested`: only its name, e-mails and phones count).
struct Entity<'a, 'de> {
    keys: &'a mut EntityKeys<'de>,
    nested: bool,
}

impl<'de> Shape<'de> for Entity<'_, 'de> {
    fn map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let keys = self.keys;
        while let Some(key) = next_key(&mut map)? {
            match KeyField::of(&key) {
                Some(field) => map.next_value_seed(Lenient(FieldValue {
                    keys: &mut *keys,
                    field,
                    nested: self.nested,
                }))?,
                None => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(())
    }
}

/// The value of a key field of an entity, or of the user nested in one (`nested`: only its
/// name, e-mails and phones count), read into the entity's keys.
struct FieldValue<'a, 'de> {
    keys: &'a mut EntityKeys<'de>,
    field: KeyField,
    nested: bool,
}

impl<'de> Shape<'de> for FieldValue<'_, 'de> {
    fn string(self, value: Cow<'de, str>) {
        let keys = self.keys;
        match (self.field, self.nested) {
            (KeyField::Id, false) => keys.id = Some(value),
            (KeyField::Name, false) => keys.name = Some(value),
            (KeyField::Name, true) => keys.user_name = Some(value),
            (KeyField::FirstName, false) => keys.first_name = Some(value),
            (KeyField::LastName, false) => keys.last_name = Some(value),
            (KeyField::Email, _) => keys.emails.push(value),
            (KeyField::Phone, _) => PhoneValue(&mut keys.phones).string(value),
            (KeyField::Contacts | KeyField::User, _)
            | (KeyField::Id | KeyField::FirstName | KeyField::LastName, true) => {}
        }
    }

    fn map<A: MapAccess<'de>>(self, map: A) -> Result<(), A::Error> {
        match (self.field, self.nested) {
            (KeyField::Phone, _) => PhoneValue(&mut self.keys.phones).map(map),
            (KeyField::User, false) => Entity {
                keys: self.keys,
                nested: true,
            }
            .map(map),
            _ => skip_map(map),
        }
    }

    fn seq<A: SeqAccess<'de>>(self, seq: A) -> Result<(), A::Error> {
        match self.field {
            KeyField::Contacts => Contacts(self.keys).seq(seq),
            _ => skip_seq(seq),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn keys_of(entity: &serde_json::Value) -> (Option<String>, String, Vec<String>, Vec<String>) {
        let json = entity.to_string();
        let keys: EntityKeys<'_> = serde_json::from_str(&json).unwrap();
        let name = keys.name_parts().collect::<Vec<_>>().join("|");
        let strings = |v: &Vec<Cow<'_, str>>| v.iter().map(|s| s.to_string()).collect();
        (
            keys.id.as_deref().map(str::to_owned),
            name,
            strings(&keys.emails),
            strings(&keys.phones),
        )
    }

    #[test]
    fn odd_types_and_nulls_are_skipped_not_errors() {
        let entity = json!({"id": 7, "name": null, "email": {"x": 1}, "phone": [1, 2],
            "primaryContactInfo": "none", "addresses": [null, 3, {"mediaType": 5}]});
        assert_eq!(keys_of(&entity), (None, String::new(), vec![], vec![]));
        assert_eq!(
            keys_of(&json!([1, 2])),
            (None, String::new(), vec![], vec![])
        );
    }

    #[test]
    fn escaped_strings_are_unescaped() {
        let (id, name, ..) = keys_of(&json!({"id": "a\"b", "name": "Zo\u{eb} \"Z\""}));
        assert_eq!(id.as_deref(), Some("a\"b"));
        assert_eq!(name, "Zoë \"Z\"");
    }
}
