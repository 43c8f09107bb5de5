//! `dircache directories`: the declared directories, as a table or as the JSON of
//! `GET /v1/directories`.

use crate::app::App;
use crate::cli::GetOutput;
use crate::failure::Failure;

use super::print;

pub(super) fn run(app: &App, output: GetOutput) -> Result<(), Failure> {
    match output {
        GetOutput::Table => print(app.directories.to_table()),
        GetOutput::Json => print(
            serde_json::to_vec(&*app.directories)
                .map_err(|e| Failure::Failed(format!("cannot encode the directories: {e}")))?,
        ),
    }
}
