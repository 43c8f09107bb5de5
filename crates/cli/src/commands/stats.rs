//! `dircache stats`: the cache statistics.

use super::print;
use crate::app::App;
use crate::cli::ReportOutput;
use crate::failure::Failure;
use crate::report::StatsReport;

/// Prints the statistics.
pub(super) async fn run(app: &App, output: ReportOutput) -> Result<(), Failure> {
    let report = StatsReport::of(app).await;
    match output {
        ReportOutput::Json => print(
            serde_json::to_string(&report)
                .map_err(|e| Failure::Failed(format!("cannot write the report: {e}")))?,
        ),
        ReportOutput::Text => print(report.to_text()),
    }
}
