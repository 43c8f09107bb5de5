//! The lookup handlers (SPEC §8): one entry by id, and the entries matching a phone, an
//! e-mail, a name or any of them, answered from the cached copy's index.

use std::borrow::Cow;

use axum::extract::rejection::PathRejection;
use axum::extract::{Path, Request, State};
use axum::response::Response;
use cache_core::{DEFAULT_LIMIT, Query, Route, parse_limit};
use percent_encoding::percent_decode_str;

use super::ServeState;
use super::error::ApiError;
use super::routes::{Answer, copy_response, valid_directory_id};

/// The longest entry id asked for (Genesys ids are 36-character UUIDs).
const MAX_ENTRY_ID_LEN: usize = 256;

/// `GET /v1/directories/{id}/entries/{entry_id}`: the entity as upstream sent it, with the
/// copy's `X-Cache` and `ETag`; 404 `entry_not_found`.
pub(crate) async fn entry(
    State(state): State<ServeState>,
    path: Result<Path<(String, String)>, PathRejection>,
    request: Request,
) -> Result<Response, ApiError> {
    let Path((id, entry_id)) = path.map_err(|_| ApiError::unreadable_id())?;
    let id = valid_directory_id(&id)?;
    if entry_id.is_empty()
        || entry_id.len() > MAX_ENTRY_ID_LEN
        || entry_id.chars().any(char::is_control)
    {
        return Err(ApiError::entry_not_found(&id));
    }
    let lookup = state
        .cache()
        .get_for(&id, Route::Lookup)
        .await
        .map_err(|e| ApiError::from_cache(&e))?;
    let entry = lookup
        .directory
        .entry(&entry_id)
        .ok_or_else(|| ApiError::entry_not_found(&id))?;
    Ok(copy_response(
        &lookup.directory,
        lookup.outcome,
        request.headers(),
        Answer::Part(entry),
    ))
}

/// `GET /v1/directories/{id}/entries?phone=|email=|name=|q=&limit=`: `{directory_id,
/// fingerprint, query, matches, match_count, truncated}`; the query is checked before any I/O.
pub(crate) async fn find(
    State(state): State<ServeState>,
    path: Result<Path<String>, PathRejection>,
    // The request itself: its query and headers are read in place, not copied.
    request: Request,
) -> Result<Response, ApiError> {
    let Path(id) = path.map_err(|_| ApiError::unreadable_id())?;
    let id = valid_directory_id(&id)?;
    let (query, limit) = lookup_of(request.uri().query().unwrap_or_default())
        .map_err(|e| ApiError::from_cache(&e))?;
    let lookup = state
        .cache()
        .get_for(&id, Route::Lookup)
        .await
        .map_err(|e| ApiError::from_cache(&e))?;
    let body = lookup.directory.find_json(&query, limit);
    Ok(copy_response(
        &lookup.directory,
        lookup.outcome,
        request.headers(),
        Answer::Part(body.into()),
    ))
}

/// The query and limit of a lookup's query string: exactly one of `phone`, `email`, `name`
/// and `q`, not empty, and at most one `limit` of 1..=1000.
fn lookup_of(raw: &str) -> Result<(Query, usize), cache_core::Error> {
    let invalid = |reason: String| cache_core::Error::InvalidQuery { reason };
    let mut query: Option<Query> = None;
    let mut limit = None;
    for (key, value) in form_pairs(raw) {
        if key == "limit" {
            if limit.replace(parse_limit(&value)?).is_some() {
                return Err(invalid("`limit` is given twice".to_owned()));
            }
        } else if let Some(asked) = &query
            && Query::KEYS.contains(&&*key)
        {
            return Err(invalid(format!(
                "asked by both `{}` and `{key}`: a lookup is asked by one key",
                asked.key()
            )));
        } else {
            query = Some(Query::parse(&key, value)?);
        }
    }
    let query = query.ok_or_else(|| {
        invalid(
            "no key: ask by one of phone, email, name or q (e.g. ?phone=%2B13175550100)".to_owned(),
        )
    })?;
    Ok((query, limit.unwrap_or(DEFAULT_LIMIT)))
}

/// The pairs of a query string, form-decoded as `application/x-www-form-urlencoded` reads them
/// (`+` is a space, `%XX` a byte, bad UTF-8 replaced); empty pairs are skipped.
///
/// Not `form_urlencoded::parse`: a lookup is a hit's work plus this, and that parser took a
/// quarter of what a lookup adds to a hit (1,300 instructions for `phone=%2B13175550100`,
/// callgrind); this one copies nothing that needs no decoding and decodes in one allocation.
fn form_pairs(raw: &str) -> impl Iterator<Item = (Cow<'_, str>, Cow<'_, str>)> {
    raw.split('&').filter(|pair| !pair.is_empty()).map(|pair| {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        (form_decoded(key), form_decoded(value))
    })
}

/// One key or value of a query string, form-decoded.
fn form_decoded(raw: &str) -> Cow<'_, str> {
    if !raw.contains(['+', '%']) {
        return Cow::Borrowed(raw);
    }
    let mut bytes = Vec::with_capacity(raw.len());
    // `+` is a space before `%XX` is decoded, so that `%2B` stays a `+`.
    for (i, part) in raw.split('+').enumerate() {
        if i > 0 {
            bytes.push(b' ');
        }
        bytes.extend(percent_decode_str(part));
    }
    Cow::Owned(
        String::from_utf8(bytes)
            .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned()),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refused(raw: &str) -> String {
        match lookup_of(raw) {
            Err(cache_core::Error::InvalidQuery { reason }) => reason,
            other => panic!("{raw}: {other:?}"),
        }
    }

    #[test]
    fn query_strings_are_form_decoded() {
        let pairs = |raw| {
            form_pairs(raw)
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect::<Vec<_>>()
        };
        // What `form_urlencoded`, the reference, reads from the same strings.
        for raw in [
            "phone=%2B1%20317-555-0100",
            "name=Jos%C3%A9+N%C3%BA%C3%B1ez&limit=5",
            "q=a+%2B+b&&limit=",
            "email",
            "=x&name=%ZZ%4",
            "name=%FF%C3",
            "name=plain&q=a%26b%3Dc",
            "",
        ] {
            let reference: Vec<(String, String)> = url::form_urlencoded::parse(raw.as_bytes())
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect();
            assert_eq!(pairs(raw), reference, "{raw:?}");
        }
        assert!(matches!(
            form_pairs("phone=13175550100").next(),
            Some((Cow::Borrowed("phone"), Cow::Borrowed("13175550100")))
        ));
    }

    #[test]
    fn a_lookup_is_one_key_with_a_value_and_an_optional_limit() {
        assert_eq!(
            lookup_of("phone=%2B1%20317-555-0100").unwrap(),
            (Query::Phone("+1 317-555-0100".into()), DEFAULT_LIMIT)
        );
        assert_eq!(
            lookup_of("limit=5&name=Jos%C3%A9+N").unwrap(),
            (Query::Name("José N".into()), 5)
        );
        assert!(refused("").contains("no key"));
        assert!(refused("limit=3").contains("no key"));
        assert!(refused("phone=1&email=a@b").contains("both `phone` and `email`"));
        assert!(refused("name=").contains("`name` is empty"));
        assert!(refused("city=Paris").contains("unknown key `city`"));
        assert!(refused("q=a&limit=0").contains("limit"));
        assert!(refused("q=a&limit=1001").contains("limit"));
        assert!(refused("q=a&limit=2&limit=3").contains("twice"));
    }
}
