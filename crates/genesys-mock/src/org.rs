//! Deterministic entities of a generated Genesys org, one shape per listing, as Genesys sends
//! them: non-ASCII names, phones in national and international formats, `null`s, absent and
//! unknown fields.

use serde_json::{Map, Value, json};

use crate::entries::{person, uuid};
use crate::sources::MockSource;

/// One phone number written the ways a real org writes them: `(display, e164, countryCode)`.
fn phone(rng: &mut fastrand::Rng) -> (String, String, &'static str) {
    let n = rng.u32(..10_000);
    match rng.u8(..6) {
        0 => (
            format!("+44 20 7946 {n:04}"),
            format!("+44207946{n:04}"),
            "GB",
        ),
        1 => (format!("020 7946 {n:04}"), format!("+44207946{n:04}"), "GB"),
        2 => (format!("(317) 555-{n:04}"), format!("+1317555{n:04}"), "US"),
        3 => (
            format!("+1-317-555-{n:04}"),
            format!("+1317555{n:04}"),
            "US",
        ),
        4 => (
            format!("+353 (0)1 555 {n:04}"),
            format!("+3531555{n:04}"),
            "IE",
        ),
        _ => (
            format!("0033 1 42 68 {:02} {:02}", n / 100, n % 100),
            format!("+33142680{n:04}"),
            "FR",
        ),
    }
}

/// A Genesys `PhoneNumber` object (contacts, organisations).
fn phone_object(rng: &mut fastrand::Rng) -> Value {
    let (display, e164, country) = phone(rng);
    let mut number = json!({"display": display, "e164": e164, "countryCode": country});
    if rng.u8(..4) == 0 {
        // Numbers typed in by hand are often left without their E.164 form.
        number.as_object_mut().expect("an object").remove("e164");
    }
    number
}

/// `slot` of a rotation of `period`: present, `null` at `null_at`, absent at `absent_at`.
fn rotate(fields: &mut Map<String, Value>, key: &str, value: Value, slot: (usize, usize, usize)) {
    let (index, null_at, absent_at) = slot;
    if index == null_at {
        fields.insert(key.to_owned(), Value::Null);
    } else if index != absent_at {
        fields.insert(key.to_owned(), value);
    }
}

/// The `index`-th of `options`, round and round.
fn pick<'a>(options: &[&'a str], index: usize) -> &'a str {
    options[index % options.len()]
}

const DIVISION: &str = "8a1f3c52-6d4e-4b7a-9c0d-2e5f6a7b8c9d";

fn division() -> Value {
    json!({"id": DIVISION, "name": "Home", "selfUri": format!("/api/v2/authorization/divisions/{DIVISION}")})
}

const TIMESTAMP: &str = "2024-05-17T09:31:12.345Z";

/// A `User` as `/api/v2/users` and `/api/v2/groups/{id}/members` send it.
fn user(rng: &mut fastrand::Rng, index: usize) -> Value {
    let id = uuid(rng);
    let person = person(rng);
    let email = format!("{}{}@example.com", person.handle, rng.u16(1..1000));
    let (work_display, work_e164, _) = phone(rng);
    let (sms_display, sms_e164, _) = phone(rng);
    let mut contact = vec![json!({"address": email, "mediaType": "EMAIL", "type": "PRIMARY"})];
    if index % 3 != 1 {
        contact.push(json!({
            "address": work_e164, "display": work_display, "mediaType": "PHONE", "type": "PRIMARY"
        }));
    }
    let mut addresses = vec![json!({
        "display": work_display, "mediaType": "PHONE", "type": "WORK",
        "extension": format!("{}", rng.u16(1000..9999)),
    })];
    if index.is_multiple_of(4) {
        addresses.push(json!({
            "address": sms_e164, "display": sms_display, "mediaType": "SMS", "type": "MOBILE"
        }));
    }
    let mut user = json!({
        "id": id,
        "name": person.name,
        "division": division(),
        "chat": {"jabberId": format!("{id}@example.orgspan.com")},
        "email": email,
        "primaryContactInfo": contact,
        "addresses": addresses,
        "state": "active",
        "username": email,
        "version": rng.u32(1..=9),
        "acdAutoAnswer": index.is_multiple_of(5),
        "selfUri": format!("/api/v2/users/{id}"),
    });
    let fields = user.as_object_mut().expect("an object");
    rotate(fields, "title", "Agent".into(), (index % 5, 2, 4));
    rotate(fields, "department", "Support".into(), (index % 6, 3, 5));
    rotate(fields, "manager", Value::Null, (index % 7, 0, 0));
    if index.is_multiple_of(9) {
        // A field this client has never heard of: kept and served back all the same.
        fields.insert("presenceSummary".into(), json!({"since": TIMESTAMP}));
    }
    user
}

fn group(rng: &mut fastrand::Rng, index: usize) -> Value {
    let id = uuid(rng);
    let (display, e164, _) = phone(rng);
    let mut group = json!({
        "id": id,
        "name": format!("{} — équipe {index}", pick(&["Support", "Ventas", "物流", "Billing"], index)),
        "dateModified": TIMESTAMP,
        "memberCount": rng.u32(0..400),
        "state": "active",
        "version": rng.u32(1..=5),
        "type": "official",
        "rulesVisible": true,
        "visibility": pick(&["public", "members"], index),
        "owners": [],
        "selfUri": format!("/api/v2/groups/{id}"),
    });
    let fields = group.as_object_mut().expect("an object");
    rotate(
        fields,
        "addresses",
        json!([{"address": e164, "display": display, "type": "GROUPRING", "mediaType": "PHONE"}]),
        (index % 3, 1, 2),
    );
    rotate(
        fields,
        "description",
        "Escalations".into(),
        (index % 4, 2, 3),
    );
    group
}

fn queue(rng: &mut fastrand::Rng, index: usize) -> Value {
    let id = uuid(rng);
    let (display, e164, _) = phone(rng);
    let mut queue = json!({
        "id": id,
        "name": format!("{} Q{index}", pick(&["Soporte", "Kundenservice", "Réclamations", "Sales"], index)),
        "division": division(),
        "dateCreated": TIMESTAMP,
        "memberCount": rng.u32(0..200),
        "userMemberCount": rng.u32(0..200),
        "joinedMemberCount": rng.u32(0..100),
        "mediaSettings": {"call": {"alertingTimeoutSeconds": 8, "serviceLevel": {"percentage": 0.8, "durationMs": 20000}}},
        "acwSettings": {"wrapupPrompt": "OPTIONAL", "timeoutMs": 30000},
        "skillEvaluationMethod": "ALL",
        "selfUri": format!("/api/v2/routing/queues/{id}"),
    });
    let fields = queue.as_object_mut().expect("an object");
    rotate(fields, "callingPartyNumber", e164.into(), (index % 3, 1, 2));
    rotate(
        fields,
        "callingPartyName",
        display.into(),
        (index % 5, 3, 4),
    );
    rotate(fields, "description", Value::Null, (index % 2, 0, 0));
    queue
}

fn queue_member(rng: &mut fastrand::Rng, index: usize) -> Value {
    let user = user(rng, index);
    let id = user["id"].as_str().unwrap_or_default().to_owned();
    let name = user["name"].clone();
    let summary = json!({
        "id": id,
        "name": name,
        "email": user["email"],
        "primaryContactInfo": user["primaryContactInfo"],
        "addresses": user["addresses"],
        "state": "active",
        "selfUri": user["selfUri"],
    });
    let mut member = json!({
        "id": id,
        "user": summary,
        "ringNumber": 1 + index % 3,
        "joined": index % 4 != 3,
        "memberBy": pick(&["user", "group"], usize::from(index.is_multiple_of(5))),
        "routingStatus": {"userId": id, "status": pick(&["IDLE", "OFF_QUEUE", "INTERACTING"], index), "startTime": TIMESTAMP},
        "selfUri": format!("/api/v2/users/{id}"),
    });
    // Genesys leaves the member's own name out at times: `user.name` stands in.
    if index % 6 != 5 {
        member
            .as_object_mut()
            .expect("an object")
            .insert("name".into(), name);
    }
    member
}

fn postal_address(index: usize) -> Value {
    [
        json!({"address1": "Rua Augusta 12", "city": "Lisboa", "postalCode": "1100-053", "countryCode": "PT"}),
        json!({"address1": "Königstraße 4", "address2": null, "city": "Stuttgart", "postalCode": "70173", "countryCode": "DE"}),
        json!({"address1": "1-1 Marunouchi", "city": "千代田区", "state": "東京都", "countryCode": "JP"}),
    ][index % 3]
        .clone()
}

fn contact(rng: &mut fastrand::Rng, index: usize) -> Value {
    let id = uuid(rng);
    let person = person(rng);
    let mut contact = json!({
        "id": id,
        "firstName": person.given,
        "lastName": person.family,
        "type": "Curated",
        "modifyDate": TIMESTAMP,
        "createDate": "2023-11-02T14:05:00Z",
        "selfUri": format!("/api/v2/externalcontacts/contacts/{id}"),
    });
    let fields = contact.as_object_mut().expect("an object");
    rotate(fields, "workPhone", phone_object(rng), (index % 5, 2, 4));
    rotate(fields, "cellPhone", phone_object(rng), (index % 4, 1, 3));
    rotate(fields, "homePhone", phone_object(rng), (index % 7, 3, 6));
    rotate(fields, "otherPhone", phone_object(rng), (index % 9, 0, 1));
    let handle = person.handle;
    rotate(
        fields,
        "workEmail",
        format!("{handle}@vendor.example").into(),
        (index % 5, 3, 1),
    );
    rotate(
        fields,
        "personalEmail",
        format!("{handle}@mail.example").into(),
        (index % 6, 2, 5),
    );
    rotate(
        fields,
        "otherEmail",
        format!("{handle}@other.example").into(),
        (index % 8, 0, 7),
    );
    rotate(fields, "address", postal_address(index), (index % 4, 2, 3));
    rotate(fields, "title", "Buyer".into(), (index % 3, 1, 2));
    rotate(fields, "customFields", Value::Null, (index % 2, 0, 0));
    contact
}

fn organization(rng: &mut fastrand::Rng, index: usize) -> Value {
    let id = uuid(rng);
    let mut organization = json!({
        "id": id,
        "name": pick(&["Müller & Söhne GmbH", "Ōkami 株式会社", "Núñez y Asociados", "Acme Ltd"], index),
        "companyType": "Vendor",
        "industry": "Logistics",
        "websites": ["https://example.com"],
        "modifyDate": TIMESTAMP,
        "createDate": "2023-11-02T14:05:00Z",
        "selfUri": format!("/api/v2/externalcontacts/organizations/{id}"),
    });
    let fields = organization.as_object_mut().expect("an object");
    rotate(fields, "phoneNumber", phone_object(rng), (index % 5, 2, 4));
    rotate(fields, "faxNumber", phone_object(rng), (index % 3, 1, 2));
    rotate(fields, "address", postal_address(index), (index % 4, 1, 3));
    rotate(
        fields,
        "employeeCount",
        rng.u32(1..5000).into(),
        (index % 6, 4, 5),
    );
    organization
}

fn skill(rng: &mut fastrand::Rng, index: usize) -> Value {
    let id = uuid(rng);
    json!({
        "id": id,
        "name": pick(&["Español", "Deutsch", "日本語", "Billing", "Français"], index).to_owned() + &format!(" {index}"),
        "dateModified": TIMESTAMP,
        "state": "active",
        "version": format!("{}", rng.u8(1..9)),
        "selfUri": format!("/api/v2/routing/skills/{id}"),
    })
}

fn wrapup_code(rng: &mut fastrand::Rng, index: usize) -> Value {
    let id = uuid(rng);
    let mut code = json!({
        "id": id,
        "name": format!("{} {index}", pick(&["Résolu", "Rappel demandé", "Escalated", "Venta cerrada"], index)),
        "dateCreated": TIMESTAMP,
        "createdBy": uuid(rng),
        "selfUri": format!("/api/v2/routing/wrapupcodes/{id}"),
    });
    rotate(
        code.as_object_mut().expect("an object"),
        "division",
        division(),
        (index % 3, 1, 2),
    );
    code
}

fn location(rng: &mut fastrand::Rng, index: usize) -> Value {
    let id = uuid(rng);
    let (display, e164, _) = phone(rng);
    let mut location = json!({
        "id": id,
        "name": pick(&["Zürich HQ", "São Paulo", "Kraków Office", "Dublin"], index).to_owned() + &format!(" {index}"),
        "address": {"street1": "Bahnhofstrasse 1", "city": "Zürich", "zipcode": "8001", "country": "CH", "countryName": "Switzerland"},
        "addressVerified": index.is_multiple_of(2),
        "state": "active",
        "version": rng.u32(1..=4),
        "path": [],
        "selfUri": format!("/api/v2/locations/{id}"),
    });
    let fields = location.as_object_mut().expect("an object");
    rotate(
        fields,
        "emergencyNumber",
        json!({"e164": e164, "number": display, "type": "default"}),
        (index % 5, 3, 4),
    );
    rotate(fields, "notes", Value::Null, (index % 2, 0, 0));
    location
}

/// `count` entities of `source`, the same for the same `seed`.
pub(crate) fn generate(source: &MockSource, count: usize, seed: u64) -> Vec<Value> {
    let mut rng = fastrand::Rng::with_seed(seed);
    let make = match source {
        MockSource::Users | MockSource::GroupMembers(_) => user,
        MockSource::Groups => group,
        MockSource::Queues => queue,
        MockSource::QueueMembers(_) => queue_member,
        MockSource::ExternalContacts => contact,
        MockSource::ExternalOrganizations => organization,
        MockSource::Skills => skill,
        MockSource::WrapupCodes => wrapup_code,
        MockSource::Locations => location,
    };
    (0..count).map(|index| make(&mut rng, index)).collect()
}
