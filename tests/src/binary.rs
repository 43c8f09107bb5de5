//! Locating the `dircache` binary beside the test executable, building it once per test run.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use anyhow::{Context, Result, anyhow, bail};

/// The built binary, or why it could not be built: every test of a run shares one build.
static BINARY: OnceLock<Result<PathBuf, String>> = OnceLock::new();

/// The `dircache` binary of the profile the tests were built with (`target/<profile>/dircache`).
///
/// The first call runs `cargo build -p cli --bin dircache` with that profile, so the tests never
/// run a stale binary; cargo makes it a no-op when the binary is current. Later calls reuse the
/// answer of the first, failure included.
pub fn dircache_binary() -> Result<&'static Path> {
    BINARY
        .get_or_init(|| build().map_err(|error| format!("{error:#}")))
        .as_deref()
        .map_err(|error| anyhow!("{error}"))
}

fn build() -> Result<PathBuf> {
    let profile_dir = profile_dir()?;
    let profile = profile_dir
        .file_name()
        .and_then(|name| name.to_str())
        .context("the profile directory has no UTF-8 name")?;
    // Cargo names the `dev` profile's directory `debug`; every other profile keeps its name.
    let profile = if profile == "debug" { "dev" } else { profile };
    let cargo = std::env::var_os("CARGO")
        .or_else(|| option_env!("CARGO").map(Into::into))
        .unwrap_or_else(|| "cargo".into());
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR")).join("../Cargo.toml");
    let output = Command::new(&cargo)
        .args([
            "build",
            "--quiet",
            "-p",
            "cli",
            "--bin",
            "dircache",
            "--profile",
            profile,
        ])
        .arg("--manifest-path")
        .arg(&manifest)
        .output()
        .with_context(|| format!("running {}", Path::new(&cargo).display()))?;
    if !output.status.success() {
        bail!(
            "`cargo build -p cli --bin dircache --profile {profile}` failed ({}):\n{}",
            output.status,
            String::from_utf8_lossy(&output.stderr)
        );
    }
    let binary = profile_dir.join(format!("dircache{}", std::env::consts::EXE_SUFFIX));
    if !binary.is_file() {
        bail!(
            "cargo built the cli package, but {} is missing",
            binary.display()
        );
    }
    Ok(binary)
}

/// `target/<profile>`: the parent of the `deps` directory the test executable runs from.
fn profile_dir() -> Result<PathBuf> {
    let executable = std::env::current_exe().context("locating the test executable")?;
    executable
        .ancestors()
        .find(|dir| dir.file_name().is_some_and(|name| name == "deps"))
        .and_then(Path::parent)
        .map(Path::to_path_buf)
        .with_context(|| {
            format!(
                "{} is not under a cargo target directory (target/<profile>/deps)",
                executable.display()
            )
        })
}
