//! Secrets given inline or as a file to read: which one wins, and reading the file.

use std::borrow::Cow;
use std::path::Path;

use secrecy::SecretString;

use super::{ConfigError, Named};

/// One source's say about a secret: its value, or a file holding it.
#[derive(Default)]
pub(crate) struct SecretSource<'a> {
    /// The secret itself, and the name it was given under.
    pub(crate) inline: Option<(SecretString, Cow<'static, str>)>,
    /// A path to read it from, and the name it was given under.
    pub(crate) file: Option<(&'a Path, Cow<'static, str>)>,
}

impl SecretSource<'_> {
    /// The secret this source gives, if any; both forms at once is refused, since which one
    /// was meant cannot be known.
    pub(crate) fn resolve(self) -> Result<Option<Named<SecretString>>, ConfigError> {
        match (self.inline, self.file) {
            (Some((_, inline)), Some((_, file))) => Err(ConfigError::new(
                file.clone(),
                format!("set either {inline} or {file}, not both"),
            )),
            (Some((secret, name)), None) => Ok(Some(Named::new(secret, name))),
            (None, Some((path, name))) => read(path, &name).map(|s| Some(Named::new(s, name))),
            (None, None) => Ok(None),
        }
    }
}

/// The first secret given, searching `sources` from the strongest.
pub(crate) fn first_secret<'a>(
    sources: impl IntoIterator<Item = SecretSource<'a>>,
) -> Result<Option<Named<SecretString>>, ConfigError> {
    for source in sources {
        if let Some(secret) = source.resolve()? {
            return Ok(Some(secret));
        }
    }
    Ok(None)
}

/// Reads a secret file: its text without the surrounding blanks (a trailing newline is
/// almost always there). Neither the content nor any part of it ever goes into an error.
fn read(path: &Path, setting: &str) -> Result<SecretString, ConfigError> {
    let bytes = std::fs::read(path).map_err(|e| {
        ConfigError::new(
            setting.to_owned(),
            format!("cannot read {}: {e}", path.display()),
        )
    })?;
    let text = String::from_utf8(bytes).map_err(|_| {
        ConfigError::new(
            setting.to_owned(),
            format!("{} is not UTF-8 text", path.display()),
        )
    })?;
    let trimmed = text.trim();
    if trimmed.is_empty() {
        return Err(ConfigError::new(
            setting.to_owned(),
            format!("{} is empty", path.display()),
        ));
    }
    Ok(SecretString::from(trimmed.to_owned()))
}

#[cfg(test)]
mod tests {
    use secrecy::ExposeSecret;

    use super::*;

    /// A source given only as a file at `path`, under `name`.
    fn from_file<'a>(path: &'a Path, name: &'static str) -> SecretSource<'a> {
        SecretSource {
            inline: None,
            file: Some((path, name.into())),
        }
    }

    #[test]
    fn a_file_is_read_and_trimmed() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("secret");
        std::fs::write(&path, "  hunter2\n").unwrap();
        let secret = from_file(&path, "GENESYS_CLIENT_SECRET_FILE")
            .resolve()
            .unwrap()
            .unwrap();
        assert_eq!(secret.value.expose_secret(), "hunter2");
        assert_eq!(secret.name, "GENESYS_CLIENT_SECRET_FILE");
    }

    #[test]
    fn unreadable_empty_and_ambiguous_are_refused_without_the_secret() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("missing");
        let err = from_file(&missing, "DIRCACHE_ADMIN_TOKEN_FILE")
            .resolve()
            .err()
            .unwrap();
        assert_eq!(err.setting, "DIRCACHE_ADMIN_TOKEN_FILE");
        assert!(err.reason.contains("cannot read"), "{}", err.reason);

        let empty = dir.path().join("empty");
        std::fs::write(&empty, "\n").unwrap();
        let err = from_file(&empty, "serve.admin_token_file")
            .resolve()
            .err()
            .unwrap();
        assert!(err.reason.contains("is empty"), "{}", err.reason);

        let err = SecretSource {
            inline: Some((
                SecretString::from("inline-s3cr3t"),
                "serve.admin_token".into(),
            )),
            file: Some((&empty, "serve.admin_token_file".into())),
        }
        .resolve()
        .err()
        .unwrap();
        assert!(!err.to_string().contains("inline-s3cr3t"), "{err}");
        assert!(err.reason.contains("not both"), "{}", err.reason);
    }

    #[test]
    fn the_strongest_source_wins_even_if_a_weaker_one_is_broken() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("missing");
        let secret = first_secret([
            SecretSource {
                inline: Some((
                    SecretString::from("from-env"),
                    "GENESYS_CLIENT_SECRET".into(),
                )),
                file: None,
            },
            from_file(&missing, "genesys.client_secret_file"),
        ])
        .unwrap()
        .unwrap();
        assert_eq!(secret.value.expose_secret(), "from-env");
    }
}
