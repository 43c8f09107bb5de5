//! How keys and queries are folded so that they compare: names case- and accent-free in
//! words, e-mails case-free, phones reduced to their digits.

use std::sync::OnceLock;

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
    // Before a word's first byte: the space that joins it to the word before, and its start.
    let mut begin_word = |out: &mut Vec<u8>| {
        if out.len() > start {
            out.push(b' ');
        }
        word_at(out.len());
    };
    for part in parts {
        let mut in_word = false;
        for c in part.chars() {
            if separates_words(c) {
                in_word = false;
                continue;
            }
            // ASCII, most of most names, is pushed folded without a buffer.
            if let Ok(byte) = u8::try_from(c)
                && byte.is_ascii()
            {
                if !in_word {
                    begin_word(out);
                    in_word = true;
                }
                out.push(byte.to_ascii_lowercase());
                continue;
            }
            let mut folded = [0u8; 16];
            let folded = fold_char(c, &mut folded);
            if folded.is_empty() {
                continue;
            }
            if !in_word {
                begin_word(out);
                in_word = true;
            }
            out.extend_from_slice(folded);
        }
    }
}

/// `c` case- and accent-folded, as UTF-8 in `buffer` (empty for a lone combining mark). ASCII is
/// folded by [`fold_name`] before it gets here.
fn fold_char(c: char, buffer: &mut [u8; 16]) -> &[u8] {
    if let Some(folded) = (c as usize)
        .checked_sub(0x80)
        .and_then(|at| two_byte_folds().get(at))
        && let Some(folded) = folded.as_bytes()
    {
        return folded;
    }
    fold_by_the_tables(c, buffer)
}

/// [`fold_char`] as the Unicode crates compute it, character by character.
fn fold_by_the_tables(c: char, buffer: &mut [u8; 16]) -> &[u8] {
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

/// The fold of one character, kept for later.
#[derive(Clone, Copy)]
struct Folded {
    /// How many bytes of `bytes`; [`Folded::TOO_LONG`] for a fold that does not fit.
    len: u8,
    bytes: [u8; 7],
}

impl Folded {
    const TOO_LONG: u8 = u8::MAX;

    fn as_bytes(&self) -> Option<&[u8]> {
        (self.len != Self::TOO_LONG).then(|| &self.bytes[..usize::from(self.len)])
    }
}

/// The folds of U+0080..U+07FF (the two-byte characters: accented Latin, Greek, Cyrillic,
/// Hebrew, Arabic…), computed once from the Unicode crates: the names of a directory repeat
/// the same few accented letters, and a copy of 100,000 entries folds them all.
fn two_byte_folds() -> &'static [Folded] {
    static FOLDS: OnceLock<Box<[Folded]>> = OnceLock::new();
    FOLDS.get_or_init(|| {
        (0x80..0x800u32)
            .filter_map(char::from_u32)
            .map(|c| {
                let mut buffer = [0u8; 16];
                let folded = fold_by_the_tables(c, &mut buffer);
                let mut kept = Folded {
                    len: Folded::TOO_LONG,
                    bytes: [0; 7],
                };
                if let Some(room) = kept.bytes.get_mut(..folded.len()) {
                    room.copy_from_slice(folded);
                    kept.len = folded.len() as u8;
                }
                kept
            })
            .collect()
    })
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

/// The most digits of a phone number compared: longer numbers are compared by their last 31
/// (E.164 numbers have at most 15).
pub(crate) const MAX_PHONE_DIGITS: usize = 31;

/// The nibble after the digits of an international number (written with a leading `+`).
const INTERNATIONAL: u128 = 0xB;

/// A phone number reduced to `+` and digits, packed in one integer that sorts as its digits
/// read backwards: each digit (plus one) in four bits from the top, then a marker for `+`, then
/// zeros. So the numbers ending with some digits are one range of keys, and a lookup compares
/// integers, not strings.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct PhoneKey(u128);

impl PhoneKey {
    /// The keys whose first `digits` digits (backwards) are this key's: the numbers ending
    /// with the same `digits` digits, with or without `+`.
    pub(crate) fn ending_range(self, digits: usize) -> (PhoneKey, PhoneKey) {
        let kept = 4 * digits.min(MAX_PHONE_DIGITS) as u32;
        let rest = u128::MAX.checked_shr(kept).unwrap_or(0);
        (PhoneKey(self.0 & !rest), PhoneKey(self.0 | rest))
    }
}

/// A phone number, folded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Phone {
    /// Its key.
    pub(crate) key: PhoneKey,
    /// How many digits it has (at most [`MAX_PHONE_DIGITS`]).
    pub(crate) digits: usize,
    /// Whether it was written with a leading `+` (an international number).
    pub(crate) international: bool,
}

/// `number` reduced to its digits and whether it starts with `+` (`+1 (317) 555-0100` → the
/// digits `13175550100`, international).
pub(crate) fn fold_phone(number: &str) -> Phone {
    let international = number.trim_start().starts_with('+');
    let mut key = 0u128;
    let mut digits = 0;
    for digit in number.bytes().rev().filter(u8::is_ascii_digit) {
        if digits == MAX_PHONE_DIGITS {
            break;
        }
        key |= u128::from(digit - b'0' + 1) << (124 - 4 * digits);
        digits += 1;
    }
    if international && digits > 0 {
        key |= INTERNATIONAL << (124 - 4 * digits);
    }
    Phone {
        key: PhoneKey(key),
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
    fn ascii_is_folded_as_the_tables_fold_it() {
        for c in (0..0x80u8).map(char::from).filter(|c| !separates_words(*c)) {
            let mut out = Vec::new();
            fold_name([c.to_string().as_str()], &mut out, |_| {});
            assert_eq!(out, fold_by_the_tables(c, &mut [0u8; 16]), "{c:?}");
        }
    }

    #[test]
    fn the_kept_folds_are_the_tables_folds() {
        for c in (0x80..0x800u32).filter_map(char::from_u32) {
            let (mut kept, mut computed) = ([0u8; 16], [0u8; 16]);
            assert_eq!(
                fold_char(c, &mut kept),
                fold_by_the_tables(c, &mut computed),
                "{c:?}"
            );
        }
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
    fn phones_keep_their_digits_backwards_and_whether_they_are_international() {
        let phone = fold_phone("+1 (317) 555-0100");
        assert_eq!((phone.digits, phone.international), (11, true));
        let national = fold_phone(" 317.555.0100");
        assert_eq!((national.digits, national.international), (10, false));
        assert_ne!(national.key, fold_phone("+317 555 0100").key);
        assert_eq!(national.key, fold_phone("(317) 5550100").key);
        let (low, high) = national.key.ending_range(national.digits);
        assert!(
            low <= phone.key && phone.key <= high,
            "+1 317… ends with 317…"
        );
        assert!(
            !(low <= fold_phone("+1 317 555 0101").key
                && fold_phone("+1 317 555 0101").key <= high)
        );
        assert_eq!(fold_phone("ext").digits, 0);
        assert_eq!(fold_phone(&"9".repeat(40)).digits, MAX_PHONE_DIGITS);
        assert_eq!(
            national.key.ending_range(MAX_PHONE_DIGITS + 5),
            national.key.ending_range(MAX_PHONE_DIGITS)
        );
    }
}
