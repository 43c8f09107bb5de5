//! `dircache verify ID`: checks the cached copy against Genesys and prints the report.

use cache_core::{DirectoryId, Fingerprint, VerifyMethod, VerifyReport};

use super::{print, rfc3339};
use crate::app::App;
use crate::cli::ReportOutput;
use crate::failure::Failure;

/// Verifies `id` and prints what was found.
pub(super) async fn run(app: &App, id: &DirectoryId, output: ReportOutput) -> Result<(), Failure> {
    let report = app.cache.verify(id).await?;
    match output {
        ReportOutput::Json => print(
            serde_json::to_string(&report)
                .map_err(|e| Failure::Failed(format!("cannot write the report: {e}")))?,
        ),
        ReportOutput::Text => print(text(&report)),
    }
}

/// The report as readable lines.
fn text(report: &VerifyReport) -> String {
    let how = match report.method {
        VerifyMethod::Conditional => "conditional request",
        _ => "fingerprint comparison",
    };
    format!(
        "{}: {} (by {how})\n  changed:     {}\n  fingerprint: {} (before: {})\n  entries:     {}\n  expires at:  {}",
        report.directory_id,
        report.result.as_str(),
        report.changed,
        report.fingerprint,
        report
            .previous_fingerprint
            .as_ref()
            .map_or("not cached", Fingerprint::as_str),
        report.entry_count,
        rfc3339(report.expires_at),
    )
}
