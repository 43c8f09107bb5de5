//! `cargo xtask bench`: the table of performance figures, the runs that measure them, and the
//! summary they are kept in.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use serde_json::Value;

/// The package whose bench targets measure the figures.
const PACKAGE: &str = "dircache-benches";
/// Criterion settings: short enough that every figure is measured in about a minute on two
/// cores, long enough that a rerun lands within a few percent.
const CRITERION_ARGS: &[&str] = &["--warm-up-time", "1", "--measurement-time", "3", "--noplot"];
/// Read by the bench targets that record counts (see `dircache_benches::record`).
const BENCH_DIR_ENV: &str = "DIRCACHE_BENCH_DIR";
/// Result files may be stamped a little before the run started (coarse file-system clocks);
/// anything older than this before the start is a previous run's.
const CLOCK_SLACK: Duration = Duration::from_secs(1);

/// Every figure of SPEC §6 measured so far, and a few shown beside them without a target.
/// Adding one is one entry here (and, for a new bench target, its file in `benches/benches/`).
const FIGURES: &[Figure] = &[
    Figure {
        name: "memory_hit_ns",
        bench: "memory_hit",
        value: Source::Median(criterion("memory_hit", "pipeline")),
        unit: Unit::Nanoseconds,
        goal: Goal::AtMost(250.0),
    },
    Figure {
        name: "memory_hit_vs_moka",
        bench: "memory_hit",
        value: Source::Ratio(
            criterion("memory_hit", "pipeline"),
            criterion("memory_hit", "moka"),
        ),
        unit: Unit::Ratio,
        goal: Goal::AtMost(1.5),
    },
    Figure {
        name: "stampede_upstream_requests",
        bench: "stampede",
        value: Source::Recorded("upstream_requests"),
        unit: Unit::Requests,
        goal: Goal::Exactly(2.0),
    },
    Figure {
        name: "cold_fetch_vs_raw",
        bench: "cold_fetch",
        value: Source::Recorded("cold_fetch_vs_raw"),
        unit: Unit::Ratio,
        goal: Goal::AtMost(1.2),
    },
    Figure {
        name: "redis_hit_vs_raw_get",
        bench: "redis_hit",
        value: Source::Ratio(
            criterion("redis_hit", "pipeline"),
            criterion("redis_hit", "raw"),
        ),
        unit: Unit::Ratio,
        goal: Goal::AtMost(1.3),
    },
    Figure {
        name: "redis_bytes_vs_json",
        bench: "redis_hit",
        value: Source::Recorded("redis_bytes_vs_json"),
        unit: Unit::Ratio,
        goal: Goal::AtMost(0.35),
    },
    Figure {
        name: "serve_hit_vs_static",
        bench: "serve_hit",
        value: Source::Recorded("hit_vs_static"),
        unit: Unit::Ratio,
        goal: Goal::AtLeast(0.8),
    },
    Figure {
        name: "serve_zstd_hit_vs_static",
        bench: "serve_hit",
        value: Source::Recorded("zstd_hit_vs_static"),
        unit: Unit::Ratio,
        goal: Goal::AtLeast(0.8),
    },
    Figure {
        name: "zstd_bytes_vs_json",
        bench: "serve_hit",
        value: Source::Recorded("zstd_bytes_vs_json"),
        unit: Unit::Ratio,
        goal: Goal::AtMost(0.15),
    },
    Figure {
        name: "rss_bytes_per_entry",
        bench: "serve_rss",
        value: Source::Recorded("rss_bytes_per_entry"),
        unit: Unit::Ratio,
        goal: Goal::AtMost(2.0),
    },
    Figure {
        name: "big_directory_rss_per_entry",
        bench: "big_directory_rss",
        value: Source::Recorded("big_directory_rss_per_entry"),
        unit: Unit::Ratio,
        goal: Goal::AtMost(2.5),
    },
    Figure {
        name: "shared_budget_overshoot",
        bench: "shared_budget",
        value: Source::Recorded("overshoot"),
        unit: Unit::Ratio,
        goal: Goal::AtMost(1.0),
    },
    Figure {
        name: "lookup_ns",
        bench: "lookup",
        value: Source::Median(criterion("lookup", "find_phone")),
        unit: Unit::Nanoseconds,
        goal: Goal::AtMost(500.0),
    },
    Figure {
        name: "index_build_vs_fetch",
        bench: "lookup",
        value: Source::Recorded("index_build_vs_fetch"),
        unit: Unit::Ratio,
        goal: Goal::AtMost(0.25),
    },
    Figure {
        name: "lookup_vs_hit",
        bench: "serve_lookup",
        value: Source::Recorded("lookup_vs_hit"),
        unit: Unit::Ratio,
        goal: Goal::AtLeast(0.9),
    },
    // What the eager compressed forms add to every fill of a 500-entry directory (issue 12).
    Figure {
        name: "fill_eager_ns",
        bench: "fill",
        value: Source::Median(criterion("fill", "eager")),
        unit: Unit::Nanoseconds,
        goal: Goal::Shown,
    },
    Figure {
        name: "fill_none_ns",
        bench: "fill",
        value: Source::Median(criterion("fill", "none")),
        unit: Unit::Nanoseconds,
        goal: Goal::Shown,
    },
    Figure {
        name: "fill_eager_vs_none",
        bench: "fill",
        value: Source::Ratio(criterion("fill", "eager"), criterion("fill", "none")),
        unit: Unit::Ratio,
        goal: Goal::Shown,
    },
];

/// The bench targets that run the `dircache` binary: xtask builds it in release mode first and
/// names it in [`DIRCACHE_BIN_ENV`].
const NEEDS_DIRCACHE: &[&str] = &[
    "serve_hit",
    "serve_rss",
    "big_directory_rss",
    "shared_budget",
    "serve_lookup",
];
/// Read by the bench targets in [`NEEDS_DIRCACHE`] (see `testkit::dircache_binary`).
const DIRCACHE_BIN_ENV: &str = "DIRCACHE_BIN";
/// Builds the binary those targets run, as users run it.
const BUILD_DIRCACHE: &[&str] = &["build", "--release", "-p", "cli", "--bin", "dircache"];

/// A figure: its name, the bench target that measures it, where its value is read, its unit
/// and its target.
#[derive(Debug)]
struct Figure {
    name: &'static str,
    bench: &'static str,
    value: Source,
    unit: Unit,
    goal: Goal,
}

/// Where a figure's value comes from once its bench target has run.
#[derive(Debug)]
enum Source {
    /// The median time per iteration of a criterion benchmark, in nanoseconds.
    Median(Criterion),
    /// One criterion median divided by another, measured in the same run.
    Ratio(Criterion, Criterion),
    /// A number the bench target recorded under this key in `target/bench/<bench>.json`.
    Recorded(&'static str),
}

/// A criterion benchmark: `group/function`.
#[derive(Debug)]
struct Criterion {
    group: &'static str,
    function: &'static str,
}

const fn criterion(group: &'static str, function: &'static str) -> Criterion {
    Criterion { group, function }
}

#[derive(Clone, Copy, Debug)]
enum Unit {
    Nanoseconds,
    Ratio,
    Requests,
}

impl Unit {
    /// The unit word of a `BENCH` line.
    fn label(self) -> &'static str {
        match self {
            Self::Nanoseconds => "ns",
            Self::Ratio => "ratio",
            Self::Requests => "requests",
        }
    }

    /// `value` as printed: as precise as the measurement is.
    fn format(self, value: f64) -> String {
        match self {
            Self::Nanoseconds => format!("{value:.1}"),
            Self::Ratio => format!("{value:.2}"),
            Self::Requests => format!("{value:.0}"),
        }
    }
}

/// A figure's target (SPEC §6).
#[derive(Clone, Copy, Debug)]
enum Goal {
    AtMost(f64),
    AtLeast(f64),
    Exactly(f64),
    /// Shown beside the figures, with no target to meet.
    Shown,
}

impl Goal {
    fn is_met(self, value: f64) -> bool {
        match self {
            Self::AtMost(bound) => value <= bound,
            Self::AtLeast(bound) => value >= bound,
            Self::Exactly(wanted) => value == wanted,
            Self::Shown => true,
        }
    }
}

impl fmt::Display for Goal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::AtMost(bound) => write!(f, "≤ {bound}"),
            Self::AtLeast(bound) => write!(f, "≥ {bound}"),
            Self::Exactly(wanted) => write!(f, "= {wanted}"),
            Self::Shown => f.write_str("none"),
        }
    }
}

/// Where results are written and read.
#[derive(Debug)]
struct Dirs {
    /// Criterion's output (`CRITERION_HOME`): `<group>/<function>/new/estimates.json`.
    criterion: PathBuf,
    /// Recorded counts and `summary.txt`.
    bench: PathBuf,
    /// Release builds: where `cargo build --release` puts the `dircache` binary.
    release: PathBuf,
}

impl Dirs {
    /// Under the workspace's target directory (`CARGO_TARGET_DIR` when set).
    fn locate() -> Result<Dirs, String> {
        let target = match std::env::var_os("CARGO_TARGET_DIR") {
            Some(dir) => std::env::current_dir()
                .map_err(|e| format!("cannot read the current directory: {e}"))?
                .join(dir),
            None => Path::new(env!("CARGO_MANIFEST_DIR"))
                .parent()
                .ok_or("xtask is not inside the workspace")?
                .join("target"),
        };
        Ok(Dirs {
            criterion: target.join("criterion"),
            bench: target.join("bench"),
            release: target.join("release"),
        })
    }
}

/// `cargo xtask bench [NAME…]`.
pub(crate) fn run(names: &[String]) -> Result<(), String> {
    let figures = select(names)?;
    let dirs = Dirs::locate()?;
    let since = SystemTime::now()
        .checked_sub(CLOCK_SLACK)
        .unwrap_or(SystemTime::UNIX_EPOCH);
    let benches = benches(&figures);
    let dircache = if benches.iter().any(|bench| NEEDS_DIRCACHE.contains(bench)) {
        crate::cargo(BUILD_DIRCACHE, &[])?;
        Some(
            dirs.release
                .join(format!("dircache{}", std::env::consts::EXE_SUFFIX)),
        )
    } else {
        None
    };
    for bench in benches {
        run_bench(bench, &figures, &dirs, dircache.as_deref())?;
    }

    let mut lines = Vec::with_capacity(figures.len());
    let mut missed = Vec::new();
    for figure in &figures {
        let value = figure
            .unit
            .format(figure.value.read(figure.bench, &dirs, since)?);
        let line = format!("BENCH {} {value} {}", figure.name, figure.unit.label());
        let met = value.parse().is_ok_and(|value| figure.goal.is_met(value));
        if !met {
            missed.push(figure.name);
        }
        println!("{line}");
        if let Goal::Shown = figure.goal {
            println!("  no target: shown beside the figures of SPEC §6");
        } else {
            println!(
                "  target {}{}: {}",
                figure.goal,
                match figure.unit {
                    Unit::Ratio => String::new(),
                    unit => format!(" {}", unit.label()),
                },
                if met { "met" } else { "MISSED" }
            );
        }
        lines.push(line);
    }

    let summary = dirs.bench.join("summary.txt");
    let previous = match std::fs::read_to_string(&summary) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(e) => return Err(format!("cannot read {}: {e}", summary.display())),
    };
    std::fs::create_dir_all(&dirs.bench)
        .and_then(|()| std::fs::write(&summary, merge(&previous, &lines)))
        .map_err(|e| format!("cannot write {}: {e}", summary.display()))?;
    eprintln!("xtask: figures written to {}", summary.display());
    if !missed.is_empty() {
        eprintln!("xtask: missed their target: {}", missed.join(", "));
    }
    Ok(())
}

/// The figures named (all when none is), in table order; an unknown name is an error that
/// lists the known ones.
fn select(names: &[String]) -> Result<Vec<&'static Figure>, String> {
    if let Some(unknown) = names
        .iter()
        .find(|name| !FIGURES.iter().any(|figure| figure.name == name.as_str()))
    {
        let known: Vec<&str> = FIGURES.iter().map(|figure| figure.name).collect();
        return Err(format!(
            "unknown figure `{unknown}`; the figures are: {}",
            known.join(", ")
        ));
    }
    Ok(FIGURES
        .iter()
        .filter(|figure| names.is_empty() || names.iter().any(|name| name == figure.name))
        .collect())
}

/// The bench targets `figures` need, each once, in table order.
fn benches(figures: &[&Figure]) -> Vec<&'static str> {
    let mut benches: Vec<&'static str> = Vec::new();
    for figure in figures {
        if !benches.contains(&figure.bench) {
            benches.push(figure.bench);
        }
    }
    benches
}

/// Runs one bench target; criterion targets get the criterion settings (all of their
/// benchmarks run, so that each ratio's two sides come from the same run), and every target
/// the `dircache` binary when it was built.
fn run_bench(
    bench: &str,
    figures: &[&Figure],
    dirs: &Dirs,
    dircache: Option<&Path>,
) -> Result<(), String> {
    let mut args = vec!["bench", "-p", PACKAGE, "--bench", bench];
    if figures
        .iter()
        .any(|figure| figure.bench == bench && figure.value.is_criterion())
    {
        args.push("--");
        args.extend_from_slice(CRITERION_ARGS);
    }
    let mut env = vec![
        ("CRITERION_HOME", dirs.criterion.as_os_str()),
        (BENCH_DIR_ENV, dirs.bench.as_os_str()),
    ];
    if let Some(binary) = dircache {
        env.push((DIRCACHE_BIN_ENV, binary.as_os_str()));
    }
    crate::cargo(&args, &env)
}

impl Source {
    fn is_criterion(&self) -> bool {
        matches!(self, Self::Median(_) | Self::Ratio(..))
    }

    /// The value `bench` produced in this run (its files must be newer than `since`).
    fn read(&self, bench: &str, dirs: &Dirs, since: SystemTime) -> Result<f64, String> {
        match self {
            Self::Median(of) => of.median(dirs, since),
            Self::Ratio(of, to) => Ok(of.median(dirs, since)? / to.median(dirs, since)?),
            Self::Recorded(key) => {
                let path = dirs.bench.join(format!("{bench}.json"));
                number(&read_fresh(&path, since)?, &[key], &path)
            }
        }
    }
}

impl Criterion {
    /// The median point estimate, in nanoseconds per iteration.
    fn median(&self, dirs: &Dirs, since: SystemTime) -> Result<f64, String> {
        let path = dirs
            .criterion
            .join(self.group)
            .join(self.function)
            .join("new")
            .join("estimates.json");
        number(
            &read_fresh(&path, since)?,
            &["median", "point_estimate"],
            &path,
        )
    }
}

/// A JSON file written since `since`: an older one is a previous run's result.
fn read_fresh(path: &Path, since: SystemTime) -> Result<Value, String> {
    let modified = std::fs::metadata(path)
        .and_then(|metadata| metadata.modified())
        .map_err(|e| format!("no result at {}: {e}", path.display()))?;
    if modified < since {
        return Err(format!(
            "{} is from an earlier run: the bench did not write it this time",
            path.display()
        ));
    }
    let text = std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    serde_json::from_slice(&text).map_err(|e| format!("{} is not JSON: {e}", path.display()))
}

/// The number at `keys` in `json`.
fn number(json: &Value, keys: &[&str], path: &Path) -> Result<f64, String> {
    keys.iter()
        .try_fold(json, |json, key| json.get(key))
        .and_then(Value::as_f64)
        .ok_or_else(|| format!("{} has no number at {}", path.display(), keys.join(".")))
}

/// The summary after a run: `fresh` lines replace the lines of the same figures in `previous`;
/// other figures keep their last line. Known figures come in table order, others after.
fn merge(previous: &str, fresh: &[String]) -> String {
    fn name(line: &str) -> Option<&str> {
        let mut words = line.split_whitespace();
        (words.next() == Some("BENCH"))
            .then(|| words.next())
            .flatten()
    }
    let mut by_name: BTreeMap<&str, &str> = BTreeMap::new();
    let mut others = Vec::new();
    for line in previous.lines().chain(fresh.iter().map(String::as_str)) {
        if let Some(figure) = name(line)
            && by_name.insert(figure, line).is_none()
            && !FIGURES.iter().any(|known| known.name == figure)
        {
            others.push(figure);
        }
    }
    let order = FIGURES.iter().map(|figure| figure.name).chain(others);
    let mut summary = String::new();
    for figure in order {
        if let Some(line) = by_name.get(figure) {
            summary.push_str(line);
            summary.push('\n');
        }
    }
    summary
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(figures: &[&Figure]) -> Vec<&'static str> {
        figures.iter().map(|figure| figure.name).collect()
    }

    #[test]
    fn no_name_selects_every_figure_and_names_select_theirs_in_table_order() {
        assert_eq!(names(&select(&[]).unwrap()).len(), FIGURES.len());
        let chosen = select(&["cold_fetch_vs_raw".into(), "memory_hit_ns".into()]).unwrap();
        assert_eq!(names(&chosen), ["memory_hit_ns", "cold_fetch_vs_raw"]);
    }

    #[test]
    fn an_unknown_name_is_refused_with_the_known_ones() {
        let err = select(&["memory_hit_ns".into(), "memory_hit_ms".into()]).unwrap_err();
        assert!(err.contains("`memory_hit_ms`"), "{err}");
        for figure in FIGURES {
            assert!(err.contains(figure.name), "{err}");
        }
    }

    #[test]
    fn only_the_bench_targets_of_the_chosen_figures_run_each_once() {
        let chosen = select(&["memory_hit_vs_moka".into(), "memory_hit_ns".into()]).unwrap();
        assert_eq!(benches(&chosen), ["memory_hit"]);
        assert_eq!(
            benches(&select(&[]).unwrap()),
            [
                "memory_hit",
                "stampede",
                "cold_fetch",
                "redis_hit",
                "serve_hit",
                "serve_rss",
                "big_directory_rss",
                "shared_budget",
                "lookup",
                "serve_lookup",
                "fill"
            ]
        );
    }

    #[test]
    fn a_run_of_some_figures_keeps_the_others_last_lines() {
        let previous = "BENCH cold_fetch_vs_raw 1.10 ratio\n\
                        BENCH memory_hit_ns 200.0 ns\n\
                        BENCH some_later_figure 3 things\n\
                        not a bench line\n";
        let merged = merge(previous, &["BENCH memory_hit_ns 180.3 ns".to_owned()]);
        assert_eq!(
            merged,
            "BENCH memory_hit_ns 180.3 ns\n\
             BENCH cold_fetch_vs_raw 1.10 ratio\n\
             BENCH some_later_figure 3 things\n"
        );
        assert_eq!(merge("", &[]), "");
    }

    #[test]
    fn goals_are_judged_on_the_value_as_printed() {
        let printed = Unit::Ratio.format(1.2049);
        assert_eq!(printed, "1.20");
        assert!(Goal::AtMost(1.2).is_met(printed.parse().unwrap()));
        assert!(!Goal::AtMost(1.2).is_met(1.21));
        assert!(Goal::AtLeast(0.8).is_met(0.8));
        assert!(!Goal::AtLeast(0.8).is_met(0.79));
        assert!(Goal::Exactly(2.0).is_met(Unit::Requests.format(2.0).parse().unwrap()));
        assert!(!Goal::Exactly(2.0).is_met(3.0));
        assert!(Goal::Shown.is_met(f64::MAX));
        assert_eq!(Unit::Nanoseconds.format(180.26), "180.3");
        assert_eq!(Goal::AtMost(250.0).to_string(), "≤ 250");
    }

    #[test]
    fn medians_and_records_are_read_from_this_runs_files_only() {
        let root = std::env::temp_dir().join(format!("xtask-bench-{}", std::process::id()));
        let dirs = Dirs {
            criterion: root.join("criterion"),
            bench: root.join("bench"),
            release: root.join("release"),
        };
        let estimates = dirs.criterion.join("g/pipeline/new");
        std::fs::create_dir_all(&estimates).unwrap();
        let estimate = |median: f64| {
            format!(
                r#"{{"mean":{{"point_estimate":1.0}},"median":{{"point_estimate":{median},"standard_error":0.1}}}}"#
            )
        };
        std::fs::write(estimates.join("estimates.json"), estimate(300.0)).unwrap();
        let moka = dirs.criterion.join("g/moka/new");
        std::fs::create_dir_all(&moka).unwrap();
        std::fs::write(moka.join("estimates.json"), estimate(200.0)).unwrap();
        std::fs::create_dir_all(&dirs.bench).unwrap();
        std::fs::write(dirs.bench.join("t.json"), r#"{"upstream_requests":2.0}"#).unwrap();

        let before = SystemTime::now() - Duration::from_secs(60);
        let median = Source::Median(criterion("g", "pipeline"));
        assert_eq!(median.read("t", &dirs, before).unwrap(), 300.0);
        let ratio = Source::Ratio(criterion("g", "pipeline"), criterion("g", "moka"));
        assert_eq!(ratio.read("t", &dirs, before).unwrap(), 1.5);
        let recorded = Source::Recorded("upstream_requests");
        assert_eq!(recorded.read("t", &dirs, before).unwrap(), 2.0);

        let after = SystemTime::now() + Duration::from_secs(60);
        let err = median.read("t", &dirs, after).unwrap_err();
        assert!(err.contains("earlier run"), "{err}");
        let err = Source::Recorded("missing")
            .read("t", &dirs, before)
            .unwrap_err();
        assert!(err.contains("no number at missing"), "{err}");
        let err = Source::Median(criterion("g", "absent"))
            .read("t", &dirs, before)
            .unwrap_err();
        assert!(err.contains("no result at"), "{err}");
        std::fs::remove_dir_all(&root).unwrap();
    }

    /// The table names bench targets, groups, functions and keys that the benches really have.
    #[test]
    fn every_figure_is_measured_by_a_bench_that_exists() {
        let benches = Path::new(env!("CARGO_MANIFEST_DIR")).join("../benches");
        let manifest = std::fs::read_to_string(benches.join("Cargo.toml")).unwrap();
        for (i, figure) in FIGURES.iter().enumerate() {
            assert!(
                FIGURES[..i].iter().all(|other| other.name != figure.name),
                "{} is in the table twice",
                figure.name
            );
            assert!(
                manifest.contains(&format!("name = \"{}\"", figure.bench)),
                "no [[bench]] {} in benches/Cargo.toml",
                figure.bench
            );
            let source =
                std::fs::read_to_string(benches.join(format!("benches/{}.rs", figure.bench)))
                    .unwrap();
            let mut wanted = Vec::new();
            match &figure.value {
                Source::Median(of) => wanted.push(of),
                Source::Ratio(of, to) => wanted.extend([of, to]),
                Source::Recorded(key) => {
                    // Recorded by the bench itself, or by the shared `Growth` it names it to.
                    assert!(
                        source.contains(&format!("(\"{key}\""))
                            || source.contains(&format!("figure: \"{key}\"")),
                        "{key} is not recorded"
                    );
                }
            }
            for of in wanted {
                assert!(
                    source.contains(&format!("benchmark_group(\"{}\")", of.group)),
                    "{}: no group {}",
                    figure.name,
                    of.group
                );
                assert!(
                    source.contains(&format!("bench_function(\"{}\"", of.function)),
                    "{}: no function {}",
                    figure.name,
                    of.function
                );
            }
        }
    }

    /// The benches that run the `dircache` binary are exactly those xtask builds it for.
    #[test]
    fn the_dircache_binary_is_built_for_the_benches_that_run_it() {
        let folder = Path::new(env!("CARGO_MANIFEST_DIR")).join("../benches/benches");
        let mut running = Vec::new();
        for file in std::fs::read_dir(&folder).unwrap() {
            let path = file.unwrap().path();
            let source = std::fs::read_to_string(&path).unwrap();
            // The benches run the binary through testkit's harness.
            if source.contains("Dircache::") {
                let stem = path.file_stem().unwrap().to_str().unwrap().to_owned();
                running.push(stem);
            }
        }
        running.sort();
        let mut built: Vec<&str> = NEEDS_DIRCACHE.to_vec();
        built.sort_unstable();
        assert_eq!(running, built);
    }
}
