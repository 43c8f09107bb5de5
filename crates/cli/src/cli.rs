//! The command line: subcommands and flags (clap), and the configuration layers they give.

use std::path::PathBuf;

use clap::parser::ValueSource;
use clap::{ArgMatches, Args, CommandFactory, FromArgMatches, Parser, Subcommand, ValueEnum};

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

    #[command(flatten)]
    pub(crate) settings: SettingArgs,

    #[command(subcommand)]
    pub(crate) command: Command,
}

/// The settings that have a flag. Secrets have none: they come from the environment, a file
/// (`--client-secret-file`, `--admin-token-file`) or the configuration file.
#[derive(Debug, Args)]
#[command(next_help_heading = "Settings (flags beat the environment, which beats --config)")]
pub(crate) struct SettingArgs {
    /// OAuth client id (client-credentials grant).
    #[arg(long, env = "GENESYS_CLIENT_ID", global = true, value_name = "ID")]
    client_id: Option<String>,
    /// A file holding the OAuth client secret (or set GENESYS_CLIENT_SECRET).
    #[arg(
        long,
        env = "GENESYS_CLIENT_SECRET_FILE",
        global = true,
        value_name = "FILE"
    )]
    client_secret_file: Option<String>,
    /// Genesys Cloud region (eu-west-1) or domain (mypurecloud.ie) [default: us-east-1].
    #[arg(long, env = "GENESYS_REGION", global = true, value_name = "REGION")]
    region: Option<String>,
    /// Overrides the API base URL of the region.
    #[arg(long, env = "GENESYS_API_URL", global = true, value_name = "URL")]
    api_url: Option<String>,
    /// Overrides the login base URL of the region.
    #[arg(long, env = "GENESYS_LOGIN_URL", global = true, value_name = "URL")]
    login_url: Option<String>,
    /// Entries per upstream page, 1..=500 [default: 250].
    #[arg(long, env = "DIRCACHE_PAGE_SIZE", global = true, value_name = "N")]
    page_size: Option<String>,
    /// Requests a minute this instance may send to Genesys; instances sharing one OAuth client
    /// share its allowance [default: 300].
    #[arg(long, env = "DIRCACHE_UPSTREAM_RPM", global = true, value_name = "N")]
    upstream_rpm: Option<String>,
    /// Default TTL in seconds, 30..=3600 [default: 300].
    #[arg(
        long,
        env = "DIRCACHE_TTL_DEFAULT",
        global = true,
        value_name = "SECONDS"
    )]
    ttl_default: Option<String>,
    /// Most entries a cached directory may have; a larger one is refused [default: 500].
    #[arg(long, env = "DIRCACHE_MAX_ENTRIES", global = true, value_name = "N")]
    max_entries: Option<String>,
    /// How long after expiry a copy is served while upstream fails [default: 3600].
    #[arg(
        long,
        env = "DIRCACHE_STALE_IF_ERROR",
        global = true,
        value_name = "SECONDS"
    )]
    stale_if_error: Option<String>,
    /// Cache backend: memory or redis [default: memory].
    #[arg(long, env = "DIRCACHE_BACKEND", global = true, value_name = "BACKEND")]
    backend: Option<String>,
    /// Prefix of every Redis key [default: dircache]. The URL is DIRCACHE_REDIS_URL.
    #[arg(
        long,
        env = "DIRCACHE_REDIS_PREFIX",
        global = true,
        value_name = "PREFIX"
    )]
    redis_prefix: Option<String>,
    /// In-process cache in front of Redis: on or off [default: on].
    #[arg(long, env = "DIRCACHE_L1", global = true, value_name = "on|off")]
    l1: Option<String>,
    /// Append audit events (JSON lines) to this file [default: none].
    #[arg(long, env = "DIRCACHE_AUDIT_LOG", global = true, value_name = "FILE")]
    audit_log: Option<String>,
    /// Also audit every cache hit: true or false [default: false].
    #[arg(
        long,
        env = "DIRCACHE_AUDIT_HITS",
        global = true,
        value_name = "true|false"
    )]
    audit_hits: Option<String>,
    /// A file holding the admin bearer token (or set DIRCACHE_ADMIN_TOKEN).
    #[arg(
        long,
        env = "DIRCACHE_ADMIN_TOKEN_FILE",
        global = true,
        value_name = "FILE"
    )]
    admin_token_file: Option<String>,
    /// This instance's name in the audit log [default: HOSTNAME-PID].
    #[arg(long, env = "DIRCACHE_INSTANCE_ID", global = true, value_name = "ID")]
    instance_id: Option<String>,
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
    /// Run the HTTP sidecar.
    Serve {
        /// The address to listen on [default: 127.0.0.1:8080].
        #[arg(long, env = "DIRCACHE_LISTEN", value_name = "ADDR")]
        listen: Option<String>,
    },
    /// A guided tour against a fake Genesys org started in process (no credentials needed).
    Demo,
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

impl Cli {
    /// Parses `args`; a usage error is returned for the caller to print (exit status 2).
    pub(crate) fn parse_from_args(
        args: impl IntoIterator<Item = std::ffi::OsString>,
    ) -> Result<Parsed, clap::Error> {
        let matches = Cli::command().try_get_matches_from(args)?;
        let cli = Cli::from_arg_matches(&matches)?;
        let mut flags = Layer::default();
        let mut env = Layer::default();
        let serve_matches = matches
            .subcommand()
            .filter(|(name, _)| *name == "serve")
            .map(|(_, m)| m);
        for (setting, value) in cli.given() {
            let Some(value) = value else { continue };
            let source = match setting {
                Setting::Listen => serve_matches.and_then(|m| source_of(m, setting)),
                _ => source_of(&matches, setting),
            };
            match source {
                Some(ValueSource::CommandLine) => flags.set(setting, value.to_owned()),
                Some(ValueSource::EnvVariable) => env.set(setting, value.to_owned()),
                _ => {}
            }
        }
        // Secrets and the Redis URL have no flag, so clap does not read them; nor does it read
        // DIRCACHE_LISTEN for other commands than serve, where it is still checked.
        let mut unread = vec![
            Setting::ClientSecret,
            Setting::AdminToken,
            Setting::RedisUrl,
        ];
        if serve_matches.is_none() {
            unread.push(Setting::Listen);
        }
        for setting in unread {
            match std::env::var(setting.env()) {
                Ok(value) => env.set(setting, value),
                Err(std::env::VarError::NotPresent) => {}
                Err(std::env::VarError::NotUnicode(_)) => {
                    return Err(Cli::command().error(
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

    /// Every flagged setting and the value clap found for it (from a flag or the environment).
    fn given(&self) -> Vec<(Setting, Option<&str>)> {
        let s = &self.settings;
        let listen = match &self.command {
            Command::Serve { listen } => listen.as_deref(),
            _ => None,
        };
        vec![
            (Setting::ClientId, s.client_id.as_deref()),
            (Setting::ClientSecretFile, s.client_secret_file.as_deref()),
            (Setting::Region, s.region.as_deref()),
            (Setting::ApiUrl, s.api_url.as_deref()),
            (Setting::LoginUrl, s.login_url.as_deref()),
            (Setting::PageSize, s.page_size.as_deref()),
            (Setting::UpstreamRpm, s.upstream_rpm.as_deref()),
            (Setting::TtlDefault, s.ttl_default.as_deref()),
            (Setting::MaxEntries, s.max_entries.as_deref()),
            (Setting::StaleIfError, s.stale_if_error.as_deref()),
            (Setting::Backend, s.backend.as_deref()),
            (Setting::RedisPrefix, s.redis_prefix.as_deref()),
            (Setting::L1, s.l1.as_deref()),
            (Setting::AuditLog, s.audit_log.as_deref()),
            (Setting::AuditHits, s.audit_hits.as_deref()),
            (Setting::AdminTokenFile, s.admin_token_file.as_deref()),
            (Setting::InstanceId, s.instance_id.as_deref()),
            (Setting::Listen, listen),
        ]
    }
}

/// Where clap found `setting`'s value.
fn source_of(matches: &ArgMatches, setting: Setting) -> Option<ValueSource> {
    setting.arg_id().and_then(|id| matches.value_source(&id))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Parsed {
        Cli::parse_from_args(args.iter().map(Into::into)).unwrap()
    }

    #[test]
    fn the_definition_is_consistent() {
        Cli::command().debug_assert();
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
        assert!(matches!(serve.cli.command, Command::Serve { .. }));
    }

    #[test]
    fn every_flagged_setting_has_its_flag_and_environment_variable() {
        let command = Cli::command();
        let serve = command.find_subcommand("serve").unwrap();
        for setting in Setting::ALL {
            let Some(id) = setting.arg_id() else { continue };
            let owner = if setting == Setting::Listen {
                serve
            } else {
                &command
            };
            let arg = owner
                .get_arguments()
                .find(|arg| arg.get_id() == id.as_str())
                .unwrap_or_else(|| panic!("no flag for {setting:?}"));
            assert_eq!(arg.get_long(), setting.flag());
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
