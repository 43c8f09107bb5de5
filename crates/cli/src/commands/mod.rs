//! The one-shot commands (`get`, `find`, `warm`, `invalidate`, `verify`, `stats`): the same pipeline
//! as `serve`, run once. With the memory backend each starts from an empty cache.

mod directories;
mod find;
mod get;
mod invalidate;
mod stats;
mod verify;
mod warm;

use std::io::Write;
use std::time::SystemTime;

use cache_core::DirectoryId;

use crate::app::App;
use crate::cli::{Command, GetOutput, ReportOutput};
use crate::config::Config;
use crate::failure::{Failure, one_line};

/// A one-shot command with its directory ids checked.
enum Task {
    Get(DirectoryId, GetOutput),
    Find(DirectoryId, find::Search),
    Warm(Vec<DirectoryId>),
    Invalidate(DirectoryId),
    Verify(DirectoryId, ReportOutput),
    Stats(ReportOutput),
    Directories(GetOutput),
}

impl Task {
    /// The task of `command`; a bad directory id is a usage error, found before any work.
    fn of(command: &Command) -> Result<Task, Failure> {
        Ok(match command {
            Command::Get { id, output } => Task::Get(directory_id(id)?, *output),
            Command::Find {
                id,
                key,
                limit,
                output,
            } => Task::Find(directory_id(id)?, find::Search::of(key, *limit, *output)?),
            Command::Warm { ids } => {
                let mut valid = Vec::with_capacity(ids.len());
                for id in ids {
                    let id = directory_id(id)?;
                    // Asked twice, warmed once.
                    if !valid.contains(&id) {
                        valid.push(id);
                    }
                }
                Task::Warm(valid)
            }
            Command::Invalidate { id } => Task::Invalidate(directory_id(id)?),
            Command::Verify { id, output } => Task::Verify(directory_id(id)?, *output),
            Command::Stats { output } => Task::Stats(*output),
            Command::Directories { output } => Task::Directories(*output),
            Command::Serve | Command::Demo => {
                return Err(Failure::Usage(
                    "serve and demo are not one-shot commands".to_owned(),
                ));
            }
        })
    }
}

/// Runs a one-shot `command`: its directory ids are checked first, then the cache is built,
/// the command runs, and the audit log is flushed whatever the outcome.
pub(crate) async fn run(command: &Command, config: &Config) -> Result<(), Failure> {
    let task = Task::of(command)?;
    let app = App::build(config).await?;
    let result = match task {
        Task::Get(id, output) => get::run(&app, &id, output).await,
        Task::Find(id, search) => find::run(&app, &id, &search).await,
        Task::Warm(ids) => warm::run(&app, ids).await,
        Task::Invalidate(id) => invalidate::run(&app, &id).await,
        Task::Verify(id, output) => verify::run(&app, &id, output).await,
        Task::Stats(output) => stats::run(&app, output).await,
        Task::Directories(output) => directories::run(&app, output),
    };
    let flushed = app.shutdown().await;
    result.and(flushed)
}

/// A directory id from the command line; a bad one is a usage error.
fn directory_id(raw: &str) -> Result<DirectoryId, Failure> {
    DirectoryId::new(raw).map_err(|e| Failure::Usage(one_line(&e)))
}

/// Writes `text` and a newline to stdout.
fn print(text: impl AsRef<[u8]>) -> Result<(), Failure> {
    let mut stdout = std::io::stdout().lock();
    stdout
        .write_all(text.as_ref())
        .and_then(|()| stdout.write_all(b"\n"))
        .and_then(|()| stdout.flush())
        .map_err(|e| Failure::Failed(format!("cannot write to stdout: {e}")))
}

/// A time as dircache writes times (RFC 3339 UTC, milliseconds).
fn rfc3339(at: SystemTime) -> String {
    audit::timestamp::rfc3339(at).unwrap_or_else(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn times_are_rfc3339_utc() {
        let at = SystemTime::UNIX_EPOCH + Duration::from_millis(1_764_291_723_456);
        assert_eq!(rfc3339(at), "2025-11-28T01:02:03.456Z");
    }

    #[test]
    fn bad_ids_are_usage_errors() {
        let failure = directory_id("a b").unwrap_err();
        assert_eq!(failure.exit_code(), std::process::ExitCode::from(2));
        assert!(
            failure.to_string().contains("invalid directory id"),
            "{failure}"
        );
    }
}
