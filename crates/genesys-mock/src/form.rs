//! Decoding `application/x-www-form-urlencoded` text, used for token request bodies and queries.

use percent_encoding::percent_decode_str;

/// The first value of `name` in `text`, decoded; `+` stands for a space as HTML forms send it.
pub(crate) fn form_value(text: &str, name: &str) -> Option<String> {
    text.split('&').find_map(|pair| {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        (decode(key) == name).then(|| decode(value))
    })
}

fn decode(part: &str) -> String {
    percent_decode_str(&part.replace('+', " "))
        .decode_utf8_lossy()
        .into_owned()
}

#[cfg(test)]
mod tests {
    use super::form_value;

    #[test]
    fn decodes_plus_and_percent_escapes_and_takes_the_first_value() {
        let text = "grant%5Ftype=client_credentials&scope=a+b%2Fc&scope=ignored&flag";
        assert_eq!(
            form_value(text, "grant_type").as_deref(),
            Some("client_credentials")
        );
        assert_eq!(form_value(text, "scope").as_deref(), Some("a b/c"));
        assert_eq!(form_value(text, "flag").as_deref(), Some(""));
        assert_eq!(form_value(text, "missing"), None);
    }
}
