//! `dircache warm ID…`: fetches directories into the cache, a few at a time.

use std::io::IsTerminal;

use cache_core::{DirectoryId, Outcome};
use futures::StreamExt;
use indicatif::{ProgressBar, ProgressStyle};

use super::print;
use crate::app::App;
use crate::failure::{Failure, one_line};

/// Warms `ids`: on a terminal, a progress bar with a line per directory above it; otherwise
/// one plain line per directory, `<id> MISS|HIT|STALE|ERROR <reason>`. Fails if any failed.
pub(super) async fn run(app: &App, ids: Vec<DirectoryId>) -> Result<(), Failure> {
    let total = ids.len();
    let bar = (std::io::stdout().is_terminal() && std::io::stderr().is_terminal()).then(|| {
        let style = ProgressStyle::with_template("{bar:40} {pos}/{len} directories {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar());
        ProgressBar::new(total as u64).with_style(style)
    });
    let mut failed = 0;
    let mut results = app.cache.warm(ids);
    while let Some((id, result)) = results.next().await {
        let line = match result {
            Ok(outcome) => line(&id, Ok(outcome)),
            Err(e) => {
                failed += 1;
                line(&id, Err(&one_line(&e)))
            }
        };
        match &bar {
            Some(bar) => {
                bar.println(&line);
                bar.inc(1);
            }
            None => print(&line)?,
        }
    }
    if let Some(bar) = bar {
        bar.finish_with_message(format!("({failed} failed)"));
    }
    if failed == 0 {
        Ok(())
    } else {
        Err(Failure::Failed(format!(
            "{failed} of {total} directories could not be warmed"
        )))
    }
}

/// `<id> <OUTCOME>` or `<id> ERROR <reason>`.
fn line(id: &DirectoryId, result: Result<Outcome, &str>) -> String {
    match result {
        Ok(outcome) => format!("{id} {}", outcome.as_str()),
        Err(reason) => format!("{id} ERROR {reason}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_name_the_outcome_or_the_error() {
        let id = DirectoryId::new("vendors").unwrap();
        assert_eq!(line(&id, Ok(Outcome::Miss)), "vendors MISS");
        assert_eq!(
            line(&id, Err("not found upstream")),
            "vendors ERROR not found upstream"
        );
    }
}
