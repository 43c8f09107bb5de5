//! `dircache get ID`: one directory, as a table or as the JSON document `serve` answers.

use cache_core::{DirectoryId, Entry};
use comfy_table::{Table, presets};

use super::{print, rfc3339};
use crate::app::App;
use crate::cli::GetOutput;
use crate::failure::Failure;

/// Prints directory `id`.
pub(super) async fn run(app: &App, id: &DirectoryId, output: GetOutput) -> Result<(), Failure> {
    let lookup = app.cache.get(id).await?;
    let directory = &lookup.directory;
    match output {
        GetOutput::Json => print(directory.body()),
        GetOutput::Table => {
            let entries = directory.entries()?;
            print(entry_table(&entries))?;
            print(format!(
                "{} entries in {} ({}), fingerprint {}, expires at {}",
                directory.entry_count(),
                id,
                lookup.outcome.as_str(),
                directory.fingerprint(),
                rfc3339(directory.expires_at()),
            ))
        }
    }
}

/// `entries` as a table: id, name, e-mail, phone.
pub(super) fn entry_table(entries: &[Entry]) -> String {
    let mut table = Table::new();
    table
        .load_preset(presets::UTF8_FULL_CONDENSED)
        .set_header(["id", "name", "email", "phone"]);
    for entry in entries {
        table.add_row([
            entry.id().unwrap_or_default(),
            entry.name().unwrap_or_default(),
            entry.email().unwrap_or_default(),
            entry.phone().unwrap_or_default(),
        ]);
    }
    table.to_string()
}
