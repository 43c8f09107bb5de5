//! `KeyField`: the fields of a Genesys entity that hold its lookup keys (SPEC §7), named once
//! for the transcoder that locates them and for the index that reads them.

/// What a top-level field of an entity holds as a lookup key (SPEC §7, §8), by the names
/// Genesys gives it in every source: routing directory entries, users, group members, queue
/// members, external contacts and organisations, locations.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum KeyField {
    /// `id`: the entity's id.
    Id,
    /// `name`: its whole name.
    Name,
    /// `firstName`: a given name (external contacts), joined with the family name.
    FirstName,
    /// `lastName`: a family name (external contacts).
    LastName,
    /// `email`, `workEmail`, `personalEmail`, `otherEmail`: an e-mail address, as a string.
    Email,
    /// `phone`, `workPhone`, `cellPhone`, `homePhone`, `otherPhone`, `phoneNumber`,
    /// `emergencyNumber`: a phone number, a string or an object (`e164`, `display`, `number`).
    Phone,
    /// `primaryContactInfo`, `addresses`: a list of contact points, each with a `mediaType`.
    Contacts,
    /// `user`: the user behind the entity (queue members): its name when the entity has none,
    /// its e-mails and phones.
    User,
}

impl KeyField {
    /// The key field named `name`, if that field holds keys.
    ///
    /// A `match`, not a list searched: every top-level field of every entity of a fill is
    /// asked about.
    pub fn of(name: &str) -> Option<KeyField> {
        Some(match name {
            "id" => KeyField::Id,
            "name" => KeyField::Name,
            "firstName" => KeyField::FirstName,
            "lastName" => KeyField::LastName,
            "email" | "workEmail" | "personalEmail" | "otherEmail" => KeyField::Email,
            "phone" | "workPhone" | "cellPhone" | "homePhone" | "otherPhone" | "phoneNumber"
            | "emergencyNumber" => KeyField::Phone,
            "primaryContactInfo" | "addresses" => KeyField::Contacts,
            "user" => KeyField::User,
            _ => return None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_fields_are_found_by_their_exact_names() {
        assert_eq!(KeyField::of("id"), Some(KeyField::Id));
        assert_eq!(KeyField::of("emergencyNumber"), Some(KeyField::Phone));
        assert_eq!(KeyField::of("addresses"), Some(KeyField::Contacts));
        for other in ["", "ID", "Name", "faxNumber", "selfUri", "user "] {
            assert_eq!(KeyField::of(other), None, "{other:?}");
        }
    }
}
