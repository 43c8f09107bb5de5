//! `Accept-Encoding` negotiation (RFC 9110 §12.5.3): which coding a client gets a body in.

use axum::http::{HeaderMap, header};
use cache_core::ContentCoding;

/// The quality a client gives each choice; `None` where it did not name it.
#[derive(Default)]
struct Qualities {
    codings: [Option<f32>; ContentCoding::ALL.len()],
    identity: Option<f32>,
    any: Option<f32>,
}

/// The coding to send a body in by the request's `Accept-Encoding`, `None` for the body as it
/// is (`identity`): the acceptable coding with the highest q-value, ties going to the order of
/// [`ContentCoding::ALL`], and to a coding over `identity`, which competes only when named
/// (itself or through `*`, which stands for every choice not named). No header (or an empty
/// one) means identity; `q=0` refuses a choice.
/// When nothing acceptable is left (`identity;q=0` and no coding we have), the body is sent
/// as it is, as RFC 9110 allows, rather than a 406 no client could act on.
pub(crate) fn negotiate(request: &HeaderMap) -> Option<ContentCoding> {
    let mut qualities = Qualities::default();
    let mut named = false;
    for item in request
        .get_all(header::ACCEPT_ENCODING)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
    {
        let mut parts = item.split(';');
        let name = parts.next().unwrap_or_default().trim();
        if name.is_empty() {
            continue;
        }
        named = true;
        let quality = parts.find_map(quality_of).unwrap_or(1.0);
        let slot = if name == "*" {
            &mut qualities.any
        } else if name.eq_ignore_ascii_case("identity") {
            &mut qualities.identity
        } else if let Some(coding) = ContentCoding::from_name(name) {
            &mut qualities.codings[index(coding)]
        } else {
            continue;
        };
        // A choice named twice keeps its best quality.
        *slot = Some(slot.map_or(quality, |q| q.max(quality)));
    }
    if !named {
        return None;
    }
    let best = ContentCoding::ALL
        .into_iter()
        .filter_map(|coding| {
            let q = qualities.codings[index(coding)].or(qualities.any)?;
            Some((coding, q))
        })
        .filter(|(_, q)| *q > 0.0)
        // `max_by` keeps the last of equals: iterate in reverse so the first preferred wins.
        .rev()
        .max_by(|a, b| a.1.total_cmp(&b.1));
    // Identity competes only when named (itself or as `*`): a client that lists codings
    // without it wants one of them.
    let identity = qualities.identity.or(qualities.any).unwrap_or(0.0);
    best.filter(|(_, q)| *q >= identity)
        .map(|(coding, _)| coding)
}

/// The q-value of a parameter `q=…`, or `None` for any other parameter. An unreadable q-value
/// counts as 1 (the default), one outside 0–1 is clamped into it.
fn quality_of(parameter: &str) -> Option<f32> {
    let (key, value) = parameter.split_once('=')?;
    if !key.trim().eq_ignore_ascii_case("q") {
        return None;
    }
    Some(
        value
            .trim()
            .parse::<f32>()
            .map_or(1.0, |q| q.clamp(0.0, 1.0)),
    )
}

fn index(coding: ContentCoding) -> usize {
    ContentCoding::ALL
        .iter()
        .position(|c| *c == coding)
        .expect("ALL lists every coding")
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;
    use ContentCoding::{Brotli, Gzip, Zstd};

    const IDENTITY: Option<ContentCoding> = None;

    fn negotiated(values: &[&str]) -> Option<ContentCoding> {
        let mut headers = HeaderMap::new();
        for value in values {
            headers.append(
                header::ACCEPT_ENCODING,
                HeaderValue::from_str(value).unwrap(),
            );
        }
        negotiate(&headers)
    }

    #[test]
    fn no_header_or_an_empty_one_is_identity() {
        assert_eq!(negotiated(&[]), IDENTITY);
        assert_eq!(negotiated(&[""]), IDENTITY);
        assert_eq!(negotiated(&["deflate, compress"]), IDENTITY);
    }

    #[test]
    fn the_best_acceptable_coding_wins_ties_going_to_zstd() {
        assert_eq!(negotiated(&["gzip"]), Some(Gzip));
        assert_eq!(negotiated(&["gzip, deflate, br, zstd"]), Some(Zstd));
        assert_eq!(negotiated(&["gzip, br"]), Some(Brotli));
        assert_eq!(negotiated(&["zstd;q=0.5, gzip;q=0.9"]), Some(Gzip));
        assert_eq!(negotiated(&["gzip;q=0.2", "br;q=0.3"]), Some(Brotli));
        assert_eq!(negotiated(&["X-GZIP"]), Some(Gzip));
        assert_eq!(negotiated(&["gzip ; Q=0.4 , zstd;q=0.3"]), Some(Gzip));
    }

    #[test]
    fn q_zero_refuses_and_star_stands_for_the_rest() {
        assert_eq!(negotiated(&["zstd;q=0, gzip"]), Some(Gzip));
        assert_eq!(negotiated(&["*"]), Some(Zstd));
        assert_eq!(negotiated(&["*, zstd;q=0"]), Some(Brotli));
        assert_eq!(negotiated(&["*;q=0.1, gzip;q=0.5"]), Some(Gzip));
        assert_eq!(negotiated(&["gzip;q=0"]), IDENTITY);
        // Nothing acceptable is left: the body goes as it is.
        assert_eq!(negotiated(&["*;q=0"]), IDENTITY);
        assert_eq!(negotiated(&["*;q=0, identity"]), IDENTITY);
    }

    #[test]
    fn identity_competes_by_its_own_q_value() {
        assert_eq!(negotiated(&["identity, gzip;q=0.5"]), IDENTITY);
        assert_eq!(negotiated(&["identity;q=0.5, gzip"]), Some(Gzip));
        assert_eq!(negotiated(&["identity;q=0, gzip;q=0.1"]), Some(Gzip));
        assert_eq!(negotiated(&["identity;q=0"]), IDENTITY);
        // Unnamed, identity does not compete with a coding the client listed.
        assert_eq!(negotiated(&["gzip;q=1"]), Some(Gzip));
        assert_eq!(negotiated(&["br;q=0.2"]), Some(Brotli));
    }

    #[test]
    fn unreadable_q_values_are_read_leniently() {
        assert_eq!(negotiated(&["gzip;q=abc"]), Some(Gzip));
        assert_eq!(negotiated(&["gzip;q=7, zstd;q=0.9"]), Some(Gzip));
        assert_eq!(negotiated(&["gzip;q=-1"]), IDENTITY);
    }
}
