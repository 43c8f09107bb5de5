//! Finding the `dircache` binary: the one `DIRCACHE_BIN` names, or the one of this profile,
//! built once per run.
//!
//! `CARGO_BIN_EXE_dircache` is only set for the package that defines the binary (cli), so the
//! end-to-end tests and the benches find it this way instead.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use crate::Error;

/// The environment variable naming the `dircache` binary to run; `cargo xtask bench` builds it
/// in release mode and sets this. When it is unset, [`dircache_binary`] builds one.
pub const DIRCACHE_BIN_ENV: &str = "DIRCACHE_BIN";

/// The binary, or why there is none: every test of a run shares one answer.
static BINARY: OnceLock<Result<PathBuf, String>> = OnceLock::new();

/// The `dircache` binary to run: the file named by [`DIRCACHE_BIN_ENV`] when it is set, else
/// `target/<profile>/dircache` of the profile the running test or bench was built with.
///
/// In the second case the first call runs `cargo build -p cli --bin dircache` with that
/// profile, so a stale binary is never run; cargo makes it a no-op when the binary is current.
/// Later calls reuse the answer of the first, failure included.
pub fn dircache_binary() -> Result<&'static Path, Error> {
    BINARY
        .get_or_init(|| locate(std::env::var_os(DIRCACHE_BIN_ENV).map(PathBuf::from)))
        .as_deref()
        .map_err(|reason| Error::Binary {
            reason: reason.clone(),
        })
}

fn locate(named: Option<PathBuf>) -> Result<PathBuf, String> {
    match named.filter(|path| !path.as_os_str().is_empty()) {
        Some(path) if path.is_file() => Ok(path),
        Some(path) => Err(format!(
            "{} (named by {DIRCACHE_BIN_ENV}) is not a file",
            path.display()
        )),
        None => build(),
    }
}

fn build() -> Result<PathBuf, String> {
    let profile_dir = profile_dir()?;
    let profile = profile_dir
        .file_name()
        .and_then(|name| name.to_str())
        .ok_or("the profile directory has no UTF-8 name")?;
    // Cargo names the `dev` profile's directory `debug`; every other profile keeps its name.
    let profile = if profile == "debug" { "dev" } else { profile };
    let cargo = std::env::var_os("CARGO")
        .or_else(|| option_env!("CARGO").map(Into::into))
        .unwrap_or_else(|| "cargo".into());
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../Cargo.toml");
    let command = format!("cargo build -p cli --bin dircache --profile {profile}");
    let output = Command::new(&cargo)
        .args(["build", "--quiet", "-p", "cli", "--bin", "dircache"])
        .args(["--profile", profile])
        .arg("--manifest-path")
        .arg(&manifest)
        .output()
        .map_err(|e| format!("running {}: {e}", Path::new(&cargo).display()))?;
    if !output.status.success() {
        return Err(format!(
            "`{command}` failed ({}):\n{}",
            output.status,
            String::from_utf8_lossy(&output.stderr)
        ));
    }
    let binary = profile_dir.join(format!("dircache{}", std::env::consts::EXE_SUFFIX));
    if binary.is_file() {
        Ok(binary)
    } else {
        Err(format!(
            "`{command}` succeeded, but {} is missing",
            binary.display()
        ))
    }
}

/// `target/<profile>`: the parent of the `deps` directory the test or bench executable runs
/// from.
fn profile_dir() -> Result<PathBuf, String> {
    let executable =
        std::env::current_exe().map_err(|e| format!("locating the running executable: {e}"))?;
    executable
        .ancestors()
        .find(|dir| dir.file_name().is_some_and(|name| name == "deps"))
        .and_then(Path::parent)
        .map(Path::to_path_buf)
        .ok_or_else(|| {
            format!(
                "{} is not under a cargo target directory (target/<profile>/deps)",
                executable.display()
            )
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_named_binary_is_used_as_it_is_and_a_missing_one_names_the_variable() {
        let this = std::env::current_exe().unwrap();
        assert_eq!(locate(Some(this.clone())), Ok(this));
        let message = locate(Some("/nonexistent/dircache".into())).unwrap_err();
        assert!(
            message.contains("/nonexistent/dircache (named by DIRCACHE_BIN) is not a file"),
            "{message}"
        );
    }

    #[test]
    fn the_profile_is_that_of_the_running_test() {
        let dir = profile_dir().unwrap();
        assert!(dir.join("deps").is_dir(), "{}", dir.display());
    }
}
