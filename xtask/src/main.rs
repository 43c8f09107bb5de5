//! `cargo xtask`: the project's checks and benchmarks in one command each.

mod bench;

use std::ffi::OsStr;
use std::process::{Command, ExitCode};

const USAGE: &str = "usage: cargo xtask <ci | bench [NAME...]>

  ci              cargo fmt --check, clippy (warnings denied; also the cli without its demo
                  feature), the workspace tests (not the benches), the docs (warnings denied)
  bench [NAME...] runs the benches of dircache-benches that the named figures need (all figures
                  when none is named), prints one `BENCH <name> <value> <unit>` line per figure
                  with its target on the next line, and merges the lines into
                  target/bench/summary.txt (figures not run keep their last line); the serve
                  figures first build the dircache binary in release mode";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("ci") if args.len() == 1 => ci(),
        Some("bench") => bench::run(&args[1..]),
        _ => {
            eprintln!("{USAGE}");
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("xtask: {message}");
            ExitCode::FAILURE
        }
    }
}

/// Every check CI runs, in the order that fails fastest.
fn ci() -> Result<(), String> {
    cargo(&["fmt", "--all", "--", "--check"], &[])?;
    // Clippy compiles every target, benches included, so they stay warning-free.
    clippy(&["--workspace", "--all-targets"])?;
    // The binary without the `demo` feature links no genesys-mock; it must build, warning-free
    // (what only the demo uses is cfg'd out with it).
    clippy(&["-p", "cli", "--no-default-features"])?;
    // Every target but the benches: `--all-targets` would run them too, and timings belong in
    // `cargo xtask bench`, never in a test run.
    cargo(
        &[
            "test",
            "--workspace",
            "--lib",
            "--bins",
            "--tests",
            "--examples",
        ],
        &[],
    )?;
    cargo(&["test", "--workspace", "--doc"], &[])?;
    cargo(
        &["doc", "--workspace", "--no-deps"],
        &[("RUSTDOCFLAGS", OsStr::new("-D warnings"))],
    )?;
    Ok(())
}

/// Runs `cargo <args>` with extra environment variables; an error if it fails.
/// `cargo clippy` of `targets`, every warning an error.
fn clippy(targets: &[&str]) -> Result<(), String> {
    let args: Vec<&str> = std::iter::once("clippy")
        .chain(targets.iter().copied())
        .chain(["--", "-D", "warnings"])
        .collect();
    cargo(&args, &[])
}

fn cargo(args: &[&str], env: &[(&str, &OsStr)]) -> Result<(), String> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    eprintln!("$ cargo {}", args.join(" "));
    let status = Command::new(cargo)
        .args(args)
        .envs(env.iter().copied())
        .status()
        .map_err(|e| format!("could not run cargo: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("`cargo {}` failed ({status})", args.join(" ")))
    }
}
