//! Deterministic generation of realistic routing directory entries.

use serde_json::{Value, json};

/// Western given names, as upstream stores them (accents and all), with an ASCII form for emails.
const GIVEN_NAMES: &[(&str, &str)] = &[
    ("Zoë", "zoe"),
    ("José", "jose"),
    ("Siobhán", "siobhan"),
    ("Søren", "soren"),
    ("François", "francois"),
    ("Małgorzata", "malgorzata"),
    ("Jürgen", "jurgen"),
    ("Ana", "ana"),
    ("Çağla", "cagla"),
    ("Ngọc Anh", "ngocanh"),
    ("Björk", "bjork"),
    ("Olivia", "olivia"),
    ("Dmitrij", "dmitrij"),
    ("Renée", "renee"),
];

/// Family names matching [`GIVEN_NAMES`] in spirit.
const FAMILY_NAMES: &[(&str, &str)] = &[
    ("Ångström", "angstrom"),
    ("Núñez", "nunez"),
    ("O'Connor", "oconnor"),
    ("Kierkegaard", "kierkegaard"),
    ("Lefèvre", "lefevre"),
    ("Wiśniewska", "wisniewska"),
    ("Müller", "muller"),
    ("Gonçalves", "goncalves"),
    ("Yılmaz", "yilmaz"),
    ("Trần", "tran"),
    ("Guðmundsdóttir", "gudmundsdottir"),
    ("Smith", "smith"),
];

/// Names written without a given/family split, as many directories hold them.
const WHOLE_NAMES: &[(&str, &str)] = &[
    ("李雷", "li.lei"),
    ("韩梅梅", "han.meimei"),
    ("山田 太郎", "yamada.taro"),
    ("김민준", "kim.minjun"),
    ("Αλέξανδρος Παπαδόπουλος", "alexandros.papadopoulos"),
    ("Дмитрий Иванов", "dmitry.ivanov"),
    ("محمد الأحمد", "mohammed.alahmad"),
];

const STREETS: &[&str] = &[
    "Rua Augusta 12, 1100-053 Lisboa",
    "Königstraße 4, 70173 Stuttgart",
    "12 Rue de Rivoli, 75004 Paris",
    "1-1 Marunouchi, Chiyoda-ku, Tokyo",
    "221B Baker Street, London NW1 6XE",
    "Calle de Alcalá 50, 28014 Madrid",
];

const DEPARTMENTS: &[&str] = &["Sales", "Support", "Billing", "Émergences", "物流"];

const DIVISIONS: &[(&str, &str)] = &[
    ("8a1f3c52-6d4e-4b7a-9c0d-2e5f6a7b8c9d", "Home"),
    ("3b9d7e21-0c4a-4f68-8e15-7d2c9b4a6e30", "Europe"),
];

/// `count` routing directory entries, the same for the same `seed`.
///
/// Every entry has a unique UUID-shaped `id` and a `name` (many non-ASCII). `address`, `email`,
/// `phone` and `custom_attributes` are each present in most entries, `null` in some and absent in
/// others, in a fixed rotation so that any ten consecutive entries show all three states. Entries
/// also carry fields upstream sends and a client must keep: `selfUri`, `division`, `version`.
pub fn generate_entries(count: usize, seed: u64) -> Vec<Value> {
    let mut rng = fastrand::Rng::with_seed(seed);
    (0..count).map(|index| entry(&mut rng, index)).collect()
}

/// A generated person: the whole name, its given and family parts, and an ASCII handle for
/// e-mail addresses.
pub(crate) struct Person {
    pub(crate) name: String,
    pub(crate) given: String,
    pub(crate) family: String,
    pub(crate) handle: String,
}

/// A person, one in five written without a given/family split (the whole name is then both).
pub(crate) fn person(rng: &mut fastrand::Rng) -> Person {
    if rng.u8(..5) == 0 {
        let (name, handle) = WHOLE_NAMES[rng.usize(..WHOLE_NAMES.len())];
        let (family, given) = name.split_once(' ').unwrap_or((name, ""));
        Person {
            name: name.to_owned(),
            given: given.to_owned(),
            family: family.to_owned(),
            handle: handle.to_owned(),
        }
    } else {
        let (given, given_ascii) = GIVEN_NAMES[rng.usize(..GIVEN_NAMES.len())];
        let (family, family_ascii) = FAMILY_NAMES[rng.usize(..FAMILY_NAMES.len())];
        Person {
            name: format!("{given} {family}"),
            given: given.to_owned(),
            family: family.to_owned(),
            handle: format!("{given_ascii}.{family_ascii}"),
        }
    }
}

/// One entry; `index` decides which optional fields are null or absent.
pub(crate) fn entry(rng: &mut fastrand::Rng, index: usize) -> Value {
    let id = uuid(rng);
    let Person { name, handle, .. } = person(rng);
    let (division_id, division_name) = DIVISIONS[index % DIVISIONS.len()];
    let mut entry = json!({
        "id": id,
        "name": name,
        "selfUri": format!("/api/v2/routing/directories/entries/{id}"),
        "division": {
            "id": division_id,
            "name": division_name,
            "selfUri": format!("/api/v2/authorization/divisions/{division_id}"),
        },
        "version": rng.u32(1..=5),
    });
    let fields = entry
        .as_object_mut()
        .expect("the entry literal above is an object");
    let address = Value::from(STREETS[rng.usize(..STREETS.len())]);
    let email = Value::from(format!("{handle}{}@example.com", rng.u16(1..1000)));
    let phone = Value::from(format!("+44 20 7946 {:04}", rng.u16(..10_000)));
    let languages = &["en", "fr", "pt"][..rng.usize(1..=3)];
    let attributes = json!({
        "department": DEPARTMENTS[rng.usize(..DEPARTMENTS.len())],
        "floor": rng.u8(..12),
        "languages": languages,
    });
    for (key, value, null_at, absent_at, period) in [
        ("address", address, 1, 3, 5),
        ("email", email, 2, 4, 6),
        ("phone", phone, 5, 0, 7),
        ("custom_attributes", attributes, 7, 0, 10),
    ] {
        let slot = index % period;
        if slot == null_at {
            fields.insert(key.to_owned(), Value::Null);
        } else if slot != absent_at {
            fields.insert(key.to_owned(), value);
        }
    }
    entry
}

/// A version-4-shaped UUID drawn from `rng`, so ids are deterministic per seed.
pub(crate) fn uuid(rng: &mut fastrand::Rng) -> String {
    let bits = rng.u128(..);
    let hex = format!("{bits:032x}");
    let variant = ["8", "9", "a", "b"][rng.usize(..4)];
    format!(
        "{}-{}-4{}-{variant}{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[13..16],
        &hex[17..20],
        &hex[20..32]
    )
}

#[cfg(test)]
mod tests {
    use super::generate_entries;
    use std::collections::HashSet;

    #[test]
    fn same_seed_same_entries_other_seed_other_entries() {
        assert_eq!(generate_entries(50, 7), generate_entries(50, 7));
        assert_ne!(generate_entries(50, 7), generate_entries(50, 8));
        assert_eq!(generate_entries(0, 7), Vec::<serde_json::Value>::new());
    }

    #[test]
    fn ids_are_unique_and_uuid_shaped() {
        let entries = generate_entries(2_000, 42);
        let ids: HashSet<&str> = entries.iter().map(|e| e["id"].as_str().unwrap()).collect();
        assert_eq!(ids.len(), 2_000);
        for id in ids {
            let groups: Vec<usize> = id.split('-').map(str::len).collect();
            assert_eq!(groups, [8, 4, 4, 4, 12], "{id}");
            assert!(
                id.chars().all(|c| c == '-' || c.is_ascii_hexdigit()),
                "{id}"
            );
        }
    }

    #[test]
    fn entries_are_realistic_with_null_absent_and_extra_fields() {
        let entries = generate_entries(10, 1);
        assert!(
            entries
                .iter()
                .any(|e| !e["name"].as_str().unwrap().is_ascii())
        );
        for field in ["address", "email", "phone", "custom_attributes"] {
            let objects = entries.iter().map(|e| e.as_object().unwrap());
            let states: Vec<&str> = objects
                .map(|o| match o.get(field) {
                    None => "absent",
                    Some(serde_json::Value::Null) => "null",
                    Some(_) => "present",
                })
                .collect();
            for state in ["absent", "null", "present"] {
                assert!(states.contains(&state), "{field} never {state}: {states:?}");
            }
        }
        for entry in &entries {
            assert!(
                entry["selfUri"]
                    .as_str()
                    .unwrap()
                    .ends_with(entry["id"].as_str().unwrap())
            );
            assert!(entry["division"]["id"].is_string());
            assert!(entry["version"].is_u64());
        }
        let many = generate_entries(500, 3);
        let names: HashSet<&str> = many.iter().map(|e| e["name"].as_str().unwrap()).collect();
        assert!(
            names
                .iter()
                .any(|n| n.contains('ë') || n.contains('Å') || n.contains('ñ'))
        );
        assert!(
            names
                .iter()
                .any(|n| n.chars().any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c)))
        );
    }
}
