//! Lookups over entities shaped as Genesys sends them, one source after another.

use std::time::SystemTime;

use genesys_client::{DirectorySnapshot, Entry};
use serde_json::{Value, json};

use super::*;
use crate::{DirectoryId, InvalidationDirective, Limits, Ttl};

fn directory(entities: &[Value]) -> CachedDirectory {
    let entries = entities
        .iter()
        .map(|v| Entry::try_from(v.clone()).unwrap())
        .collect();
    CachedDirectory::from_snapshot(
        DirectoryId::new("lookups").unwrap(),
        "users",
        &DirectorySnapshot::new(entries),
        Ttl::from_secs(300).unwrap(),
        SystemTime::now(),
        InvalidationDirective::Fresh,
        Limits { max_entries: 1000 },
    )
    .unwrap()
}

/// The ids of the entities `query` finds, in order.
fn ids(directory: &CachedDirectory, query: Query) -> Vec<String> {
    directory
        .find(&query, MAX_LIMIT)
        .entries()
        .iter()
        .map(|e| {
            serde_json::from_slice::<Value>(e).unwrap()["id"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect()
}

fn phone(number: &str) -> Query {
    Query::Phone(number.into())
}

/// A user of `GET /api/v2/users` (model `User`), with its contact points.
fn user(id: &str, name: &str, email: &str, phone: &str, sms: &str) -> Value {
    json!({
        "id": id,
        "name": name,
        "division": {"id": "8a1f3c52-6d4e-4b7a-9c0d-2e5f6a7b8c9d", "name": "Home", "selfUri": "/api/v2/authorization/divisions/8a1f3c52-6d4e-4b7a-9c0d-2e5f6a7b8c9d"},
        "chat": {"jabberId": format!("{id}@example.orgspan.com")},
        "department": "Support",
        "email": email,
        "primaryContactInfo": [
            {"address": email, "mediaType": "EMAIL", "type": "PRIMARY"},
            {"address": phone, "display": phone, "mediaType": "PHONE", "type": "PRIMARY"}
        ],
        "addresses": [
            {"display": phone, "mediaType": "PHONE", "type": "WORK", "extension": "4021"},
            {"address": sms, "display": sms, "mediaType": "SMS", "type": "MOBILE"}
        ],
        "state": "active",
        "title": "Agent",
        "username": email,
        "version": 3,
        "acdAutoAnswer": false,
        "selfUri": format!("/api/v2/users/{id}")
    })
}

fn users() -> CachedDirectory {
    directory(&user_entities())
}

/// The users of [`users`].
fn user_entities() -> Vec<Value> {
    vec![
        user(
            "u1",
            "José Ñúñez",
            "Jose.Nunez@Example.com",
            "+1 (317) 555-0100",
            "+13175550142",
        ),
        user(
            "u2",
            "Ana Smith-Jones",
            "ana@example.com",
            "+44 20 7946 0018",
            "+447700900123",
        ),
        user(
            "u3",
            "Joselyn Park",
            "joselyn@example.com",
            "+1 317 555 0199",
            "+13175550100",
        ),
        user(
            "u4",
            "Mary Jose",
            "mary@example.com",
            "+33 1 42 68 53 00",
            "+33612345678",
        ),
    ]
}

#[test]
fn a_phone_is_found_in_international_and_national_forms_with_any_punctuation() {
    let users = users();
    assert_eq!(ids(&users, phone("+13175550100")), ["u1", "u3"]);
    assert_eq!(ids(&users, phone("+1 317.555.0100")), ["u1", "u3"]);
    assert_eq!(ids(&users, phone("(317) 555-0100")), ["u1", "u3"]);
    assert_eq!(ids(&users, phone("555-0100")), ["u1", "u3"]);
    assert_eq!(ids(&users, phone("020 7946 0018")), Vec::<String>::new());
    assert_eq!(ids(&users, phone("20 7946 0018")), ["u2"]);
    // Fewer than seven digits must be the whole number.
    assert!(ids(&users, phone("0100")).is_empty());
    // An international number is never the end of another.
    assert!(ids(&users, phone("+3175550100")).is_empty());
    assert_eq!(ids(&users, phone("+447700900123")), ["u2"]);
}

#[test]
fn an_email_is_found_whole_in_another_case() {
    let users = users();
    let email = |e: &str| ids(&users, Query::Email(e.into()));
    assert_eq!(email("JOSE.NUNEZ@example.COM"), ["u1"]);
    assert!(email("jose.nunez@example").is_empty());
    assert!(email("jose").is_empty());
}

#[test]
fn a_name_is_found_without_accents_and_by_a_later_word_whole_names_first() {
    let users = users();
    let name = |n: &str| ids(&users, Query::Name(n.into()));
    assert_eq!(name("jose"), ["u1", "u3", "u4"]);
    assert_eq!(name("nunez"), ["u1"]);
    assert_eq!(name("JOSÉ ñú"), ["u1"]);
    assert_eq!(name("jones"), ["u2"]);
    assert_eq!(name("smith-j"), ["u2"]);
    assert!(name("ose").is_empty());
    assert!(name("- '").is_empty());
}

#[test]
fn q_looks_in_names_emails_and_phones_together() {
    let users = users();
    let q = |text: &str| ids(&users, Query::Any(text.into()));
    assert_eq!(q("ana"), ["u2"]);
    assert_eq!(q("mary@example.com"), ["u4"]);
    assert_eq!(q("+33 1 42 68 53 00"), ["u4"]);
}

#[test]
fn the_limit_cuts_the_answer_not_the_count() {
    let users = users();
    let matches = users.find(&Query::Name("jo".into()), 2);
    assert_eq!(matches.entries().len(), 2);
    // José, Joselyn, Mary Jose and Ana Smith-Jones.
    assert_eq!(matches.match_count(), 4);
    assert!(matches.truncated());
    let all = users.find(&Query::Name("jo".into()), 4);
    assert!(!all.truncated());
}

#[test]
fn an_entry_is_its_stored_bytes() {
    let users = users();
    let entry = users.entry("u2").unwrap();
    let stored: Vec<Value> = serde_json::from_slice(users.entries_json()).unwrap();
    assert_eq!(serde_json::from_slice::<Value>(&entry).unwrap(), stored[1]);
    assert!(
        users
            .entries_json()
            .windows(entry.len())
            .any(|w| w == &entry[..])
    );
    assert_eq!(users.entry("nobody"), None);
}

/// Entities whose ids the canonical JSON writes with escapes (a quote, a backslash and control
/// characters, not `é`), and one without.
fn escaped_id_entities() -> Vec<Value> {
    vec![
        json!({"id": "a\"b", "name": "Quote"}),
        json!({"id": "tab\there", "name": "Tab"}),
        json!({"id": "café", "name": "Accent"}),
        json!({"id": "plain", "name": "Plain"}),
    ]
}

#[test]
fn ids_written_with_escapes_are_found_unescaped() {
    let escaped = directory(&escaped_id_entities());
    for (id, name) in [
        ("a\"b", "Quote"),
        ("tab\there", "Tab"),
        ("café", "Accent"),
        ("plain", "Plain"),
    ] {
        let entry: Value = serde_json::from_slice(&escaped.entry(id).unwrap()).unwrap();
        assert_eq!(entry["name"], name, "{id:?}");
    }
    assert_eq!(escaped.entry("a"), None);
    assert_eq!(
        escaped.entry("a\\\"b"),
        None,
        "the id as written is not the id"
    );
}

/// Queue members, one named and one named by its user only.
fn queue_member_entities() -> Vec<Value> {
    vec![
        json!({"id": "m1", "name": "Søren Kierkegaard", "user": user("m1", "Søren Kierkegaard", "soren@example.com", "+4533123456", "+4520123456"),
            "ringNumber": 1, "joined": true, "memberBy": "user", "routingStatus": {"status": "IDLE"}, "selfUri": "/api/v2/users/m1"}),
        json!({"id": "m2", "user": user("m2", "Çağla Yılmaz", "cagla@example.com", "+902121234567", "+905321234567"),
            "ringNumber": 2, "joined": false, "memberBy": "group"}),
    ]
}

#[test]
fn queue_members_are_named_by_their_user_when_they_have_no_name() {
    let members = directory(&queue_member_entities());
    assert_eq!(ids(&members, Query::Name("cagla".into())), ["m2"]);
    assert_eq!(ids(&members, Query::Name("kierke".into())), ["m1"]);
    assert_eq!(ids(&members, phone("+905321234567")), ["m2"]);
    assert_eq!(
        ids(&members, Query::Email("SOREN@example.com".into())),
        ["m1"]
    );
}

/// An external contact, an external organisation, a location and a queue.
fn contact_organisation_location_entities() -> Vec<Value> {
    vec![
        json!({"id": "c1", "firstName": "Renée", "middleName": null, "lastName": "Lefèvre", "salutation": "Mme",
            "workPhone": {"display": "+33 1 42 68 53 00", "e164": "+33142685300", "countryCode": "FR", "acceptsSMS": false},
            "cellPhone": {"display": "06 12 34 56 78", "userInput": "0612345678"},
            "homePhone": null,
            "workEmail": "Renee.Lefevre@Vendor.fr", "personalEmail": "renee@example.fr", "otherEmail": null,
            "address": {"address1": "12 Rue de Rivoli", "city": "Paris", "postalCode": "75004", "countryCode": "FR"},
            "externalOrganization": {"id": "o1", "name": "Vendor SA"},
            "createDate": "2026-01-02T03:04:05Z", "selfUri": "/api/v2/externalcontacts/contacts/c1"}),
        json!({"id": "o1", "name": "Vendor SA", "phoneNumber": {"display": "+33 1 40 20 50 50", "e164": "+33140205050"},
            "faxNumber": {"display": "+33 1 40 20 50 51", "e164": "+33140205051"},
            "websites": ["https://vendor.example.fr"], "selfUri": "/api/v2/externalcontacts/organizations/o1"}),
        json!({"id": "l1", "name": "Indianapolis HQ", "address": {"street1": "1 Monument Cir", "city": "Indianapolis"},
            "emergencyNumber": {"e164": "+13175559111", "number": "(317) 555-9111", "type": "default"},
            "state": "active", "version": 4, "path": [], "selfUri": "/api/v2/locations/l1"}),
        json!({"id": "q1", "name": "Billing Queue", "memberCount": 12, "mediaSettings": {"call": {"alertingTimeoutSeconds": 8}}}),
    ]
}

#[test]
fn external_contacts_organisations_and_locations_have_their_keys() {
    let entities = directory(&contact_organisation_location_entities());
    assert_eq!(ids(&entities, Query::Name("lefevre".into())), ["c1"]);
    assert_eq!(ids(&entities, Query::Name("renee l".into())), ["c1"]);
    assert_eq!(
        ids(&entities, phone("01 42 68 53 00")),
        Vec::<String>::new()
    );
    assert_eq!(ids(&entities, phone("1 42 68 53 00")), ["c1"]);
    assert_eq!(ids(&entities, phone("06 12 34 56 78")), ["c1"]);
    assert_eq!(
        ids(&entities, Query::Email("renee.lefevre@vendor.fr".into())),
        ["c1"]
    );
    assert_eq!(
        ids(&entities, Query::Email("RENEE@example.fr".into())),
        ["c1"]
    );
    assert_eq!(ids(&entities, phone("+33140205050")), ["o1"]);
    assert!(
        ids(&entities, phone("+33140205051")).is_empty(),
        "a fax is not a phone"
    );
    assert_eq!(ids(&entities, phone("317-555-9111")), ["l1"]);
    assert_eq!(ids(&entities, Query::Name("queue".into())), ["q1"]);
    assert_eq!(ids(&entities, Query::Name("vendor".into())), ["o1"]);
}

#[test]
fn routing_directory_entries_of_the_mock_are_found_by_their_phone() {
    let entities = genesys_mock::generate_entries(200, 11);
    let with_phone = entities.iter().find(|e| e["phone"].is_string()).unwrap();
    let number = with_phone["phone"].as_str().unwrap();
    let directory = directory(&entities);
    let matches = directory.find(&phone(number), 5);
    let found: Vec<Value> = matches
        .entries()
        .iter()
        .map(|e| serde_json::from_slice(e).unwrap())
        .collect();
    assert!(found.contains(with_phone), "{number}");
    assert!(found.iter().all(|e| e["phone"] == number));
}

#[test]
fn a_directory_without_phones_answers_no_match() {
    let skills = directory(&[json!({"id": "s1", "name": "French", "state": "active"})]);
    let matches = skills.find(&phone("+13175550100"), DEFAULT_LIMIT);
    assert_eq!(matches.match_count(), 0);
    assert!(matches.entries().is_empty() && !matches.truncated());
    assert_eq!(
        directory(&[])
            .find(&Query::Any("x".into()), 1)
            .match_count(),
        0
    );
}

#[test]
fn a_query_is_parsed_and_refused_by_key_and_value() {
    assert_eq!(Query::parse("q", "jo").unwrap(), Query::Any("jo".into()));
    for (key, value) in [("phone", ""), ("name", "  "), ("city", "x")] {
        let err = Query::parse(key, value).unwrap_err();
        assert!(matches!(err, Error::InvalidQuery { .. }), "{err}");
    }
    assert_eq!(parse_limit("1000").unwrap(), 1000);
    for limit in ["0", "1001", "-1", "x", ""] {
        assert!(parse_limit(limit).is_err(), "{limit}");
    }
}

#[test]
fn the_answer_document_holds_the_stored_entities() {
    let users = users();
    let query = Query::Email("ana@example.com".into());
    let document: Value =
        serde_json::from_slice(&users.find(&query, 1).to_json(&users, &query)).unwrap();
    assert_eq!(document["directory_id"], "lookups");
    assert_eq!(document["fingerprint"], users.fingerprint().as_str());
    assert_eq!(document["query"], json!({"email": "ana@example.com"}));
    assert_eq!(document["matches"][0]["name"], "Ana Smith-Jones");
    assert_eq!(document["match_count"], 1);
    assert_eq!(document["truncated"], false);
}

#[test]
fn the_answer_written_from_the_copy_is_the_matches_document() {
    let users = users();
    for (query, limit) in [
        (Query::Email("ana@example.com".into()), 1),
        (Query::Any("a".into()), 1),
        (Query::Any("a".into()), MAX_LIMIT),
        (Query::Name("nobody \"quoted\"".into()), 5),
        (phone("+1 (317) 555-0100"), 3),
    ] {
        let matches = users.find(&query, limit);
        assert_eq!(
            users.find_json(&query, limit),
            matches.to_json(&users, &query),
            "{query:?}"
        );
    }
}

#[test]
fn corrupt_entries_and_a_wrong_count_are_refused() {
    let users = users();
    let mut meta = users.meta().clone();
    assert!(CachedDirectory::from_parts(meta.clone(), b"[{\"id\":1},").is_err());
    meta.entry_count = 3;
    let err = CachedDirectory::from_parts(meta, users.entries_json()).unwrap_err();
    assert!(matches!(err, Error::Corrupt { .. }), "{err}");
}

#[test]
fn the_index_is_small_beside_the_body() {
    let entities = genesys_mock::generate_entries(1000, 3);
    let directory = directory(&entities);
    let ratio = directory.lookup_index().heap_bytes() as f64 / directory.body().len() as f64;
    assert!(ratio < 1.0, "{ratio}");
}

/// Asserts that the index a fill builds from the key members of `entities` (a JSON array's
/// text, written as a fetch writes a page) is the index a full parse of the same entries builds,
/// and that a copy made from the snapshot has it.
fn both_builds_agree(entities: &str) {
    let snapshot = DirectorySnapshot::from_entities_json(entities.as_bytes()).unwrap();
    let members = snapshot.key_members.as_ref().unwrap();
    let from_members = LookupIndex::from_key_members(&snapshot.entries_json, members).unwrap();
    let parsed = LookupIndex::build(&snapshot.entries_json).unwrap();
    assert_eq!(from_members.len(), snapshot.entry_count);
    assert!(from_members == parsed, "{entities}");
    let filled = CachedDirectory::from_snapshot(
        DirectoryId::new("agree").unwrap(),
        "users",
        &snapshot,
        Ttl::from_secs(300).unwrap(),
        SystemTime::now(),
        InvalidationDirective::Fresh,
        Limits {
            max_entries: snapshot.entry_count,
        },
    )
    .unwrap();
    assert!(*filled.lookup_index() == parsed, "{entities}");
}

/// `entities` as a JSON array's text, each entity's members in reverse order (so that the
/// transcoder rewrites it sorted).
fn reversed(entities: &[Value]) -> String {
    let entities: Vec<String> = entities
        .iter()
        .map(|entity| {
            let members: Vec<String> = entity
                .as_object()
                .unwrap()
                .iter()
                .rev()
                .map(|(key, value)| format!("{}: {value}", Value::from(key.as_str())))
                .collect();
            format!("{{{}}}", members.join(", "))
        })
        .collect();
    format!("[{}]", entities.join(",\n"))
}

/// Every entity shape of the fixtures above and of genesys-mock's sources.
fn every_source() -> Vec<Vec<Value>> {
    let mut all = vec![
        user_entities(),
        queue_member_entities(),
        contact_organisation_location_entities(),
        escaped_id_entities(),
        genesys_mock::generate_entries(300, 11),
    ];
    for source in genesys_mock::MockSource::every() {
        all.push(source.generated(150, 23));
    }
    all
}

#[test]
fn the_index_from_key_members_is_the_index_of_a_full_parse_for_every_source() {
    for entities in every_source() {
        both_builds_agree(&Value::from(entities.clone()).to_string());
        both_builds_agree(&reversed(&entities));
    }
    both_builds_agree("[]");
}

#[test]
fn the_index_from_key_members_agrees_on_repeated_keys_odd_values_and_escapes() {
    both_builds_agree(
        r#"[
        {"name": "First", "id": "d1", "name": "Second Name", "email": "a@example.com", "email": 3,
         "phone": "+1 317 555 0100", "phone": {"e164": "+13175550101"}, "id": "d1 last"},
        {"email": "B@example.com", "workEmail": "b@example.com", "id": "d2", "email": "c@example.com"},
        {"id": 7, "name": null, "email": {"x": 1}, "phone": [1, 2], "primaryContactInfo": "none",
         "addresses": [null, 3, {"mediaType": 5}, {"mediaType": "EMAIL", "address": 4}]},
        {"user": "text", "firstName": 1, "lastName": true, "id": {"id": "inner"}, "workPhone": null},
        {"user": {"id": "u", "user": {"name": "deeper"}, "firstName": "F", "name": 3,
                  "addresses": [{"mediaType": "SMS", "display": "+44 7700 900123"}]}},
        {"id": "q\"uote", "lastName": "Ñúñez", "firstName": "José"},
        {"id": "back\\slash\u0001", "id": "tab\there", "name": "Escaped \"twice\""},
        {"zz": {"b": 1, "a": 2}, "id": "\u00e9t\u00e9", "cellPhone": {"display": "  ", "number": "0612"}}
    ]"#,
    );
}
