//! Results that are counts, not timings: written where `cargo xtask bench` reads them.

use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

use crate::Error;

/// The environment variable naming the folder results are written to; `cargo xtask bench`
/// sets it (to `target/bench`). Unset, results are only printed.
pub const BENCH_DIR_ENV: &str = "DIRCACHE_BENCH_DIR";

/// Writes `values` as the JSON object `{name: value, …}` to `<$DIRCACHE_BENCH_DIR>/<target>.json`,
/// where `target` is the bench target that measured them. Returns the file written, or `None`
/// when [`BENCH_DIR_ENV`] is unset.
pub fn record(target: &str, values: &[(&str, f64)]) -> Result<Option<PathBuf>, Error> {
    match std::env::var_os(BENCH_DIR_ENV) {
        Some(dir) => write(Path::new(&dir), target, values).map(Some),
        None => Ok(None),
    }
}

fn write(dir: &Path, target: &str, values: &[(&str, f64)]) -> Result<PathBuf, Error> {
    let path = dir.join(format!("{target}.json"));
    let object: Map<String, Value> = values
        .iter()
        .map(|(name, value)| ((*name).to_owned(), Value::from(*value)))
        .collect();
    std::fs::create_dir_all(dir)
        .and_then(|()| std::fs::write(&path, Value::Object(object).to_string()))
        .map_err(|source| Error::Record {
            path: path.clone(),
            source,
        })?;
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_written_as_one_json_object_named_after_the_target() {
        let dir = std::env::temp_dir().join(format!("dircache-benches-{}", std::process::id()));
        let path = write(
            &dir,
            "stampede",
            &[("upstream_requests", 2.0), ("callers", 1000.0)],
        )
        .unwrap();
        assert_eq!(path, dir.join("stampede.json"));
        let written: Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
        assert_eq!(written["upstream_requests"], 2.0);
        assert_eq!(written["callers"], 1000.0);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
