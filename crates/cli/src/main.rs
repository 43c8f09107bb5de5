//! The `dircache` binary: parses the command line, loads the configuration and runs the
//! command; a failure prints one `dircache: …` line on stderr and exits 1 (the operation
//! failed) or 2 (usage or configuration).

mod app;
mod budget;
mod cli;
mod commands;
mod config;
#[cfg(feature = "demo")]
mod demo;
mod directories;
mod failure;
mod report;
mod serve;

use std::io::IsTerminal;
use std::process::ExitCode;
use std::time::Duration;

use tracing_subscriber::EnvFilter;

use cli::{Cli, Command, Parsed};
use config::{Config, ConfigError, FileConfig, Inputs, Upstream};
use failure::Failure;

fn main() -> ExitCode {
    let parsed = match Cli::parse_from_args(std::env::args_os()) {
        Ok(parsed) => parsed,
        Err(usage) => {
            // clap prints help and version to stdout (status 0), usage errors to stderr (2).
            let _ = usage.print();
            return ExitCode::from(u8::try_from(usage.exit_code()).unwrap_or(2));
        }
    };
    match run(&parsed) {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => {
            eprintln!("dircache: {failure}");
            failure.exit_code()
        }
    }
}

fn run(parsed: &Parsed) -> Result<(), Failure> {
    let command = &parsed.cli.command;
    // The sidecar logs each request; a one-shot command only says what went wrong.
    let default_level = match command {
        Command::Serve => "info",
        _ => "warn",
    };
    init_tracing(default_level)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| Failure::Failed(format!("cannot start the async runtime: {e}")))?;
    let result = match command {
        // The demo brings its own fake Genesys and ignores the configuration.
        #[cfg(feature = "demo")]
        Command::Demo => runtime.block_on(demo::run()),
        #[cfg(not(feature = "demo"))]
        Command::Demo => Err(Failure::Usage(
            "the demo is not in this build: it was built without the `demo` feature \
             (cargo build -p cli --features demo)"
                .to_owned(),
        )),
        Command::Serve => {
            let config = load_config(parsed)?;
            runtime.block_on(serve::run(&config))
        }
        one_shot => {
            let config = load_config(parsed)?;
            runtime.block_on(commands::run(one_shot, &config))
        }
    };
    // Background work (refresh-ahead, webhook retries) is abandoned rather than waited for.
    runtime.shutdown_timeout(Duration::from_secs(1));
    result
}

/// Reads the TOML file, if any, and merges it with the flags and the environment.
fn load_config(parsed: &Parsed) -> Result<Config, Failure> {
    let file = match parsed
        .cli
        .config
        .as_ref()
        .filter(|path| !path.as_os_str().is_empty())
    {
        Some(path) => {
            let text = std::fs::read_to_string(path).map_err(|e| {
                ConfigError::new(
                    parsed.config_origin,
                    format!("cannot read {}: {e}", path.display()),
                )
            })?;
            FileConfig::parse(&text, path, parsed.config_origin)?
        }
        None => FileConfig::default(),
    };
    let inputs = Inputs {
        flags: parsed.flags.clone(),
        env: parsed.env.clone(),
        file,
    };
    Ok(Config::resolve(&inputs, Upstream::Required)?)
}

/// Logs go to stderr, filtered by `RUST_LOG` (`default` when unset).
fn init_tracing(default: &str) -> Result<(), Failure> {
    let filter = match std::env::var("RUST_LOG") {
        Ok(spec) if !spec.trim().is_empty() => {
            EnvFilter::try_new(&spec).map_err(|e| ConfigError::new("RUST_LOG", e.to_string()))?
        }
        _ => EnvFilter::new(default),
    };
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .init();
    Ok(())
}
