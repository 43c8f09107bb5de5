//! The TOML configuration file: the types of its values, and parse errors that name the
//! offending key without quoting its value. Its tables follow from the settings' declaration.

use std::fmt;
use std::path::{Path, PathBuf};

use secrecy::SecretString;
use serde::{Deserialize, Deserializer};

use super::{ConfigError, FileConfig};

/// One `[[webhooks]]` entry.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct WebhookTable {
    pub(crate) url: Option<String>,
    pub(crate) secret: Option<FileSecret>,
    pub(crate) secret_file: Option<PathBuf>,
}

/// `redis.l1`: `true`/`false`, or `"on"`/`"off"` as in `DIRCACHE_L1`.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub(crate) enum Switch {
    Bool(bool),
    Text(String),
}

/// A secret written in the file, held as a `SecretString` from the moment it is read.
pub(crate) struct FileSecret(pub(crate) SecretString);

impl<'de> Deserialize<'de> for FileSecret {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        String::deserialize(deserializer).map(|text| FileSecret(SecretString::from(text)))
    }
}

impl fmt::Debug for FileSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[REDACTED]")
    }
}

impl FileConfig {
    /// Parses the text of the file at `path`; `origin` names how the file was given
    /// (`--config` or `DIRCACHE_CONFIG`), for errors that are about no key in particular.
    pub(crate) fn parse(text: &str, path: &Path, origin: &str) -> Result<Self, ConfigError> {
        toml::from_str(text).map_err(|error| {
            let start = error.span().map_or(0, |span| span.start);
            let line = text[..start.min(text.len())].matches('\n').count() + 1;
            let setting = key_at(text, start).unwrap_or_else(|| origin.to_owned());
            ConfigError::new(
                setting,
                format!(
                    "{} (in {}, line {line})",
                    without_values(error.message()),
                    path.display()
                ),
            )
        })
    }
}

/// The dotted key of the line holding byte `offset`: `table.key`, or the table itself when the
/// line is a table header. `[[array]]` tables are numbered from 0: `webhooks[1].url`.
fn key_at(text: &str, offset: usize) -> Option<String> {
    let offset = (0..=offset.min(text.len()))
        .rev()
        .find(|&i| text.is_char_boundary(i))?;
    let line_start = text[..offset].rfind('\n').map_or(0, |i| i + 1);
    let line_end = text[line_start..]
        .find('\n')
        .map_or(text.len(), |i| line_start + i);
    let line = &text[line_start..line_end];
    let headers_before: Vec<&str> = text[..line_start].lines().collect();
    if let Some(header) = header(line, &headers_before) {
        return Some(header);
    }
    let key = line.split('=').next()?.trim().trim_matches(['"', '\'']);
    if key.is_empty() || !line.contains('=') {
        return None;
    }
    let table = headers_before
        .iter()
        .enumerate()
        .rev()
        .find_map(|(i, line)| header(line, &headers_before[..i]));
    Some(match table {
        Some(table) => format!("{table}.{key}"),
        None => key.to_owned(),
    })
}

/// The name of a table header line (`[a.b]`, or `[[a]]` as `a[n]`), given the lines before it.
fn header(line: &str, before: &[&str]) -> Option<String> {
    let line = line.split('#').next()?.trim();
    if let Some(name) = line
        .strip_prefix("[[")
        .and_then(|rest| rest.strip_suffix("]]"))
    {
        let name = name.trim();
        let index = before
            .iter()
            .filter(|earlier| {
                earlier
                    .split('#')
                    .next()
                    .and_then(|l| l.trim().strip_prefix("[["))
                    .and_then(|l| l.strip_suffix("]]"))
                    .is_some_and(|n| n.trim() == name)
            })
            .count();
        return Some(format!("{name}[{index}]"));
    }
    line.strip_prefix('[')
        .and_then(|rest| rest.strip_suffix(']'))
        .map(|name| name.trim().to_owned())
}

/// serde's type errors quote the value they met ("invalid type: string \"…\", expected …"),
/// which may be a secret written in the wrong place: only what was expected is kept.
fn without_values(message: &str) -> String {
    for kind in ["invalid type", "invalid value", "invalid length"] {
        if message.starts_with(kind) {
            let expected = message
                .split_once(", expected ")
                .map_or("another value", |(_, expected)| expected);
            return format!("{kind}, expected {expected}");
        }
    }
    message.trim().to_owned()
}

#[cfg(test)]
mod tests {
    use secrecy::ExposeSecret;

    use super::*;

    fn parse(text: &str) -> Result<FileConfig, ConfigError> {
        FileConfig::parse(text, Path::new("/etc/dircache.toml"), "--config")
    }

    #[test]
    fn reads_every_table() {
        let file = parse(
            r#"
            [genesys]
            client_id = "abc"
            client_secret = "s3cr3t"
            region = "eu-west-1"
            page_size = 100

            [ttl]
            default = 600

            [ttl.directories]
            internal_agents = 120
            "org:dir.v2" = 60

            [cache]
            max_entries = 1000
            stale_if_error = 0
            backend = "memory"

            [redis]
            prefix = "dc"
            l1 = "off"

            [audit]
            path = "/var/log/dircache/audit.jsonl"
            hits = true

            [serve]
            listen = "0.0.0.0:9000"
            admin_token_file = "/run/secrets/admin"

            [[webhooks]]
            url = "https://cdn.example/hook"
            secret = "hook-secret"
            "#,
        )
        .unwrap();
        assert_eq!(file.genesys.client_id.as_deref(), Some("abc"));
        assert_eq!(
            file.genesys
                .client_secret
                .as_ref()
                .unwrap()
                .0
                .expose_secret(),
            "s3cr3t"
        );
        assert_eq!(file.genesys.page_size, Some(100));
        assert_eq!(file.ttl.default, Some(600));
        assert_eq!(file.ttl.directories["org:dir.v2"], 60);
        assert_eq!(file.cache.max_entries, Some(1000));
        assert!(matches!(file.redis.l1, Some(Switch::Text(ref t)) if t == "off"));
        assert_eq!(file.audit.hits, Some(true));
        assert_eq!(file.webhooks.len(), 1);
        let debug = format!("{file:?}");
        assert!(
            !debug.contains("s3cr3t") && !debug.contains("hook-secret"),
            "{debug}"
        );
    }

    #[test]
    fn an_unknown_key_is_named_with_its_table() {
        let err = parse("[cache]\nmax_entries = 10\nmax_entires = 20\n").unwrap_err();
        assert_eq!(err.setting, "cache.max_entires");
        assert!(err.reason.contains("unknown field"), "{}", err.reason);
        assert!(err.reason.contains("line 3"), "{}", err.reason);

        let err = parse("[cachee]\nmax_entries = 10\n").unwrap_err();
        assert_eq!(err.setting, "cachee");

        let err = parse("colour = \"blue\"\n").unwrap_err();
        assert_eq!(err.setting, "colour");

        let err =
            parse("[[webhooks]]\nurl = \"https://a.example\"\n[[webhooks]]\nsecert = \"x\"\n")
                .unwrap_err();
        assert_eq!(err.setting, "webhooks[1].secert");
    }

    #[test]
    fn a_wrong_type_names_the_key_and_never_quotes_the_value() {
        let err = parse("[ttl]\ndefault = \"five minutes\"\n").unwrap_err();
        assert_eq!(err.setting, "ttl.default");
        assert!(!err.reason.contains("five minutes"), "{}", err.reason);

        let err = parse("[genesys]\nclient_secret = 12345678\n").unwrap_err();
        assert_eq!(err.setting, "genesys.client_secret");
        assert!(!err.reason.contains("12345678"), "{}", err.reason);
    }

    #[test]
    fn a_syntax_error_names_the_line_or_the_file() {
        let err = parse("[serve]\nlisten = \"127.0.0.1:80\n").unwrap_err();
        assert_eq!(err.setting, "serve.listen");
        let err = parse("[serve\n").unwrap_err();
        assert!(err.reason.contains("/etc/dircache.toml"), "{}", err.reason);
    }
}
