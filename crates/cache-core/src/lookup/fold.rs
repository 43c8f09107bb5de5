//! How keys and queries are folded so that they compare: names case- and accent-free in
//! words, e-mails case-free, phones reduced to their digits.

use caseless::Caseless;
use unicode_normalization::UnicodeNormalization;
use unicode_normalization::char::is_combining_mark;

/// The fewest digits of a national number (no `+`) that match the end of a longer one.
pub(crate) const NATIONAL_MIN_DIGITS: usize = 7;

/// Whether `c` separates the words of a name (SPEC §8: white space, `-` and `'`; the
/// typographic apostrophe too, as names are often typed with it).
fn separates_words(c: char) -> bool {
    c.is_whitespace() || matches!(c, '-' | '\'' | '\u{2019}')
}

/// Appends the words of `parts` (a name, or a given and a family name), folded and joined by
/// one space, to `out`; calls `word_at` with the offset in `out` where each word starts.
///
/// Folding is Unicode case folding, then canonical decomposition with the combining marks
/// dropped, so `José Ñúñez` becomes `jose nunez`. ASCII takes a shortcut to the same result.
pub(crate) fn fold_name<'a>(
    parts: impl IntoIterator<Item = &'a str>,
    out: &mut Vec<u8>,
    mut word_at: impl FnMut(usize),
) {
    let start = out.len();
    for part in parts {
        let mut in_word = false;
        for c in part.chars() {
            if separates_words(c) {
                in_word = false;
                continue;
            }
            let mut folded = [0u8; 16];
            let folded = fold_char(c, &mut folded);
            if folded.is_empty() {
                continue;
            }
            if !in_word {
                if out.len() > start {
                    out.push(b' ');
                }
                word_at(out.len());
                in_word = true;
            }
            out.extend_from_slice(folded);
        }
    }
}

/// `c` case- and accent-folded, as UTF-8 in `buffer` (empty for a lone combining mark).
fn fold_char(c: char, buffer: &mut [u8; 16]) -> &[u8] {
    if c.is_ascii() {
        buffer[0] = c.to_ascii_lowercase() as u8;
        return &buffer[..1];
    }
    let mut len = 0;
    for folded in std::iter::once(c)
        .default_case_fold()
        .nfd()
        .filter(|&c| !is_combining_mark(c))
    {
        // Case folding expands a character to at most three, of at most four bytes each.
        if len + folded.len_utf8() <= buffer.len() {
            len += folded.encode_utf8(&mut buffer[len..]).len();
        }
    }
    &buffer[..len]
}

/// Appends `email` case-folded and trimmed to `out` (accents kept: they are part of an
/// address).
pub(crate) fn fold_email(email: &str, out: &mut Vec<u8>) {
    let email = email.trim();
    if email.is_ascii() {
        out.extend(email.bytes().map(|b| b.to_ascii_lowercase()));
    } else {
        let mut buffer = [0u8; 4];
        for c in email.chars().default_case_fold() {
            out.extend_from_slice(c.encode_utf8(&mut buffer).as_bytes());
        }
    }
}

/// A phone number reduced to `+` and digits, stored backwards so that the numbers ending in
/// some digits are the keys starting with them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Phone {
    /// How many digits it has.
    pub(crate) digits: usize,
    /// Whether it was written with a leading `+` (an international number).
    pub(crate) international: bool,
}

/// The marker after the reversed digits of an international number.
pub(crate) const INTERNATIONAL: u8 = b'+';

/// Appends the digits of `number` backwards to `out`, then [`INTERNATIONAL`] when it starts
/// with `+` (`+1 (317) 555-0100` → `00105557131` `+`).
pub(crate) fn fold_phone(number: &str, out: &mut Vec<u8>) -> Phone {
    let start = out.len();
    let international = number.trim_start().starts_with('+');
    out.extend(number.bytes().rev().filter(u8::is_ascii_digit));
    let digits = out.len() - start;
    if international && digits > 0 {
        out.push(INTERNATIONAL);
    }
    Phone {
        digits,
        international,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn name(parts: &[&str]) -> (String, Vec<usize>) {
        let mut out = Vec::new();
        let mut words = Vec::new();
        fold_name(parts.iter().copied(), &mut out, |at| words.push(at));
        (String::from_utf8(out).unwrap(), words)
    }

    #[test]
    fn names_fold_case_and_accents_into_words() {
        assert_eq!(name(&["José Ñúñez"]), ("jose nunez".into(), vec![0, 5]));
        assert_eq!(name(&["  Jean-Luc  O'Brien "]).0, "jean luc o brien");
        assert_eq!(name(&["Siobhán", "O’Connor"]).0, "siobhan o connor");
        assert_eq!(name(&["STRASSE", "Straße"]).0, "strasse strasse");
        assert_eq!(name(&["Guðmundsdóttir"]).0, "guðmundsdottir");
        assert_eq!(name(&["Αλέξανδρος"]).0, "αλεξανδροσ");
        assert_eq!(name(&["李雷"]).0, "李雷");
        // A decomposed accent folds as the composed one does.
        assert_eq!(name(&["Jose\u{301}"]).0, "jose");
        assert_eq!(name(&["- '"]), (String::new(), vec![]));
    }

    #[test]
    fn emails_fold_case() {
        let mut out = Vec::new();
        fold_email(" Zoe.Angstrom@Example.COM ", &mut out);
        assert_eq!(out, b"zoe.angstrom@example.com");
        out.clear();
        fold_email("RENÉE@example.com", &mut out);
        assert_eq!(String::from_utf8(out).unwrap(), "renée@example.com");
    }

    #[test]
    fn phones_keep_digits_backwards_and_mark_international_numbers() {
        let mut out = Vec::new();
        let phone = fold_phone("+1 (317) 555-0100", &mut out);
        assert_eq!(out, b"00105557131+");
        assert_eq!(
            phone,
            Phone {
                digits: 11,
                international: true
            }
        );
        out.clear();
        assert!(!fold_phone("317.555.0100", &mut out).international);
        assert_eq!(out, b"0010555713");
        out.clear();
        assert_eq!(fold_phone("ext", &mut out).digits, 0);
        assert!(out.is_empty());
    }
}
