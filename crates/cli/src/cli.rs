//! The command line: subcommands and flags (clap), and the configuration layers they give.

use std::path::PathBuf;

use clap::parser::ValueSource;
use clap::{Arg, CommandFactory, FromArgMatches, Parser, Subcommand, ValueEnum};

use crate::config::{Layer, Setting};

/// `dircache`: a cache in front of the Genesys Cloud directory API.
#[derive(Debug, Parser)]
#[command(
    name = "dircache",
    version,
    about = "A cache in front of the Genesys Cloud directory API: one-shot commands, an HTTP \
             sidecar (serve) and a guided demo.",
    after_help = "Exit status: 0 success, 1 the operation failed, 2 usage or configuration error."
)]
pub(crate) struct Cli {
    /// A TOML configuration file (settings from flags and the environment take precedence).
    #[arg(long, env = "DIRCACHE_CONFIG", global = true, value_name = "FILE")]
    pub(crate) config: Option<PathBuf>,

    #[command(subcommand)]
    pub(crate) command: Command,
}

/// What to do.
#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Print one directory, from the cache or from Genesys.
    Get {
        /// The directory id.
        id: String,
        /// `table`: one row per entry and a summary; `json`: the document `serve` answers.
        #[arg(long, value_enum, default_value_t = GetOutput::Table)]
        output: GetOutput,
    },
    /// Look up entries inside one directory, from its cached copy: by phone, e-mail, name,
    /// entry id, or any of phone, e-mail and name (`--q`).
    Find {
        /// The directory id.
        id: String,
        /// What to look for.
        #[command(flatten)]
        key: FindKey,
        /// The most matches printed, 1..=1000.
        #[arg(long, default_value_t = cache_core::DEFAULT_LIMIT, value_parser = find_limit)]
        limit: usize,
        /// `table`: one row per match and a summary; `json`: the document `serve` answers.
        #[arg(long, value_enum, default_value_t = GetOutput::Table)]
        output: GetOutput,
    },
    /// Fetch directories into the cache (a progress bar on a terminal, one line each otherwise).
    Warm {
        /// The directory ids.
        #[arg(required = true)]
        ids: Vec<String>,
    },
    /// Remove a directory from the cache.
    Invalidate {
        /// The directory id.
        id: String,
    },
    /// Check a cached directory against Genesys; refill it if it changed.
    Verify {
        /// The directory id.
        id: String,
        /// `text` or `json`.
        #[arg(long, value_enum, default_value_t = ReportOutput::Text)]
        output: ReportOutput,
    },
    /// Print the cache statistics.
    Stats {
        /// `text` or `json`.
        #[arg(long, value_enum, default_value_t = ReportOutput::Text)]
        output: ReportOutput,
    },
    /// List the declared directories: source, parameters, TTL and entry limit.
    Directories {
        /// `table` or `json` (the document of `GET /v1/directories`).
        #[arg(long, value_enum, default_value_t = GetOutput::Table)]
        output: GetOutput,
    },
    /// Run the HTTP sidecar.
    // Its flag, `--listen`, comes from the settings' declaration, like every setting's.
    Serve,
    /// A guided tour against a fake Genesys org started in process (no credentials needed).
    // Parsed even without the `demo` feature, so that `dircache demo` can say what is missing;
    // not offered in `--help` then.
    #[cfg_attr(not(feature = "demo"), command(hide = true))]
    Demo,
}

/// What `find` looks for: exactly one of its flags.
#[derive(Debug, clap::Args)]
#[group(required = true, multiple = false)]
pub(crate) struct FindKey {
    /// A phone number, any punctuation; without `+`, 7 digits or more also match the end of a
    /// longer number.
    #[arg(long)]
    pub(crate) phone: Option<String>,
    /// An e-mail address, whole, in any case.
    #[arg(long)]
    pub(crate) email: Option<String>,
    /// The start of a name or of a word of it, without regard to case or accents.
    #[arg(long)]
    pub(crate) name: Option<String>,
    /// An entry id.
    #[arg(long)]
    pub(crate) entry: Option<String>,
    /// Any of a name, an e-mail or a phone.
    #[arg(long)]
    pub(crate) q: Option<String>,
}

/// A `find --limit`.
fn find_limit(raw: &str) -> Result<usize, String> {
    cache_core::parse_limit(raw).map_err(|e| e.to_string())
}

/// How `get` prints a directory.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub(crate) enum GetOutput {
    /// A table of entries and a summary line.
    Table,
    /// The JSON document, exactly as `serve` answers it.
    Json,
}

/// How `verify` and `stats` print their report.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub(crate) enum ReportOutput {
    /// Readable lines.
    Text,
    /// One JSON object.
    Json,
}

/// The parsed command line and the configuration layers it gave.
#[derive(Debug)]
pub(crate) struct Parsed {
    pub(crate) cli: Cli,
    /// Settings given as flags.
    pub(crate) flags: Layer,
    /// Settings given in the environment.
    pub(crate) env: Layer,
    /// How the configuration file was given (`--config` or `DIRCACHE_CONFIG`).
    pub(crate) config_origin: &'static str,
}

/// The command line: the subcommands and `--config` of [`Cli`], and a flag for every setting
/// that has one, from the settings' declaration.
pub(crate) fn command() -> clap::Command {
    let mut command = Cli::command()
        .next_help_heading("Settings (flags beat the environment, which beats --config)");
    for &setting in Setting::ALL {
        let (Some(flag), Some(value_name)) = (setting.flag(), setting.value_name()) else {
            continue;
        };
        // As clap's derive does with a doc comment: a one-line help loses its final period.
        let help = setting.help();
        let arg = Arg::new(flag)
            .long(flag)
            .env(setting.env())
            .value_name(value_name)
            .help(help.strip_suffix('.').unwrap_or(help));
        command = match setting.subcommand() {
            Some(name) => command.mut_subcommand(name, |sub| sub.arg(arg)),
            None => command.arg(arg.global(true)),
        };
    }
    command
}

impl Cli {
    /// Parses `args`; a usage error is returned for the caller to print (exit status 2).
    pub(crate) fn parse_from_args(
        args: impl IntoIterator<Item = std::ffi::OsString>,
    ) -> Result<Parsed, clap::Error> {
        let matches = command().try_get_matches_from(args)?;
        let cli = Cli::from_arg_matches(&matches)?;
        let mut flags = Layer::default();
        let mut env = Layer::default();
        for &setting in Setting::ALL {
            let owner = match setting.subcommand() {
                Some(name) => matches.subcommand_matches(name),
                None => Some(&matches),
            };
            if let (Some(flag), Some(owner)) = (setting.flag(), owner) {
                let value = owner.get_one::<String>(flag).cloned();
                match (owner.value_source(flag), value) {
                    (Some(ValueSource::CommandLine), Some(value)) => flags.set(setting, value),
                    (Some(ValueSource::EnvVariable), Some(value)) => env.set(setting, value),
                    _ => {}
                }
                continue;
            }
            // clap reads no flag for it: secrets and the Redis URL have none, and a
            // subcommand's flag (DIRCACHE_LISTEN) is still checked for the other commands.
            match std::env::var(setting.env()) {
                Ok(value) => env.set(setting, value),
                Err(std::env::VarError::NotPresent) => {}
                Err(std::env::VarError::NotUnicode(_)) => {
                    return Err(command().error(
                        clap::error::ErrorKind::InvalidUtf8,
                        format!("{} is not valid UTF-8", setting.env()),
                    ));
                }
            }
        }
        let config_origin = match matches.value_source("config") {
            Some(ValueSource::EnvVariable) => "DIRCACHE_CONFIG",
            _ => "--config",
        };
        Ok(Parsed {
            cli,
            flags,
            env,
            config_origin,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Parsed {
        Cli::parse_from_args(args.iter().map(Into::into)).unwrap()
    }

    #[test]
    fn the_definition_is_consistent() {
        command().debug_assert();
    }

    #[test]
    fn flags_land_in_the_flag_layer_wherever_they_are_written() {
        let before = parse(&["dircache", "--ttl-default", "60", "stats"]);
        let after = parse(&["dircache", "stats", "--ttl-default", "60"]);
        for parsed in [before, after] {
            assert_eq!(parsed.flags.get(Setting::TtlDefault), Some("60"));
            assert_eq!(parsed.env.get(Setting::TtlDefault), None);
        }
        let serve = parse(&["dircache", "serve", "--listen", "127.0.0.1:0"]);
        assert_eq!(serve.flags.get(Setting::Listen), Some("127.0.0.1:0"));
        assert!(matches!(serve.cli.command, Command::Serve));
    }

    #[test]
    fn every_flagged_setting_has_its_flag_and_environment_variable() {
        let command = command();
        for &setting in Setting::ALL {
            let Some(flag) = setting.flag() else { continue };
            let owner = match setting.subcommand() {
                Some(name) => command.find_subcommand(name).unwrap(),
                None => &command,
            };
            let arg = owner
                .get_arguments()
                .find(|arg| arg.get_id() == flag)
                .unwrap_or_else(|| panic!("no flag for {setting:?}"));
            assert_eq!(arg.get_long(), Some(flag));
            assert_eq!(
                arg.get_env().and_then(|e| e.to_str()),
                Some(setting.env()),
                "{setting:?}"
            );
        }
    }

    #[test]
    fn usage_errors_are_clap_errors_with_status_2() {
        let err = Cli::parse_from_args(["dircache", "get"].iter().map(Into::into)).unwrap_err();
        assert_eq!(err.exit_code(), 2);
        let err = Cli::parse_from_args(
            ["dircache", "get", "x", "--output", "yaml"]
                .iter()
                .map(Into::into),
        )
        .unwrap_err();
        assert_eq!(err.exit_code(), 2);
    }
}
