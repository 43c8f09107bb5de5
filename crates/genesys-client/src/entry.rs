//! A routing directory entry exactly as upstream sent it, with typed accessors for the known fields.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// One directory entry: `{id, name, address?, email?, phone?, custom_attributes?}` plus every
/// other field upstream sent (unknown fields and `null`s included), so nothing is dropped when it
/// is cached and served back.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Entry(Map<String, Value>);

impl Entry {
    fn str_field(&self, name: &str) -> Option<&str> {
        self.0.get(name).and_then(Value::as_str)
    }

    /// The entry id, when upstream sent it as a string.
    pub fn id(&self) -> Option<&str> {
        self.str_field("id")
    }

    /// The entry name.
    pub fn name(&self) -> Option<&str> {
        self.str_field("name")
    }

    /// The postal or routing address.
    pub fn address(&self) -> Option<&str> {
        self.str_field("address")
    }

    /// The e-mail address.
    pub fn email(&self) -> Option<&str> {
        self.str_field("email")
    }

    /// The phone number.
    pub fn phone(&self) -> Option<&str> {
        self.str_field("phone")
    }

    /// The `custom_attributes` object.
    pub fn custom_attributes(&self) -> Option<&Map<String, Value>> {
        self.0.get("custom_attributes").and_then(Value::as_object)
    }

    /// Every field, as sent.
    pub fn fields(&self) -> &Map<String, Value> {
        &self.0
    }

    /// Every field, as sent, by value.
    pub fn into_fields(self) -> Map<String, Value> {
        self.0
    }
}

impl From<Map<String, Value>> for Entry {
    fn from(fields: Map<String, Value>) -> Self {
        Self(fields)
    }
}

impl TryFrom<Value> for Entry {
    type Error = Value;

    /// Succeeds for a JSON object; gives the value back otherwise.
    fn try_from(value: Value) -> Result<Self, Self::Error> {
        match value {
            Value::Object(fields) => Ok(Self(fields)),
            other => Err(other),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn keeps_unknown_and_null_fields_and_reads_known_ones() {
        let raw = json!({
            "id": "e-1", "name": "Ada", "email": null, "phone": "+1 555",
            "custom_attributes": {"tier": "gold"}, "x-vendor": [1, 2], "nothing": null
        });
        let entry = Entry::try_from(raw.clone()).unwrap();
        assert_eq!(entry.id(), Some("e-1"));
        assert_eq!(entry.name(), Some("Ada"));
        assert_eq!(entry.email(), None);
        assert_eq!(entry.phone(), Some("+1 555"));
        assert_eq!(entry.address(), None);
        assert_eq!(entry.custom_attributes().unwrap()["tier"], "gold");
        assert_eq!(serde_json::to_value(&entry).unwrap(), raw);
        assert!(entry.fields().contains_key("nothing"));
    }

    #[test]
    fn only_objects_are_entries() {
        assert_eq!(Entry::try_from(json!([1])).unwrap_err(), json!([1]));
        assert!(serde_json::from_str::<Entry>("\"text\"").is_err());
    }
}
