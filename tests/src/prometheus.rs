//! A strict reader of the Prometheus text exposition format, to check what `/metrics` serves.

use std::collections::{BTreeMap, BTreeSet};

use anyhow::{Context, Result, bail};

/// Suffixes of the series a histogram or summary family exposes besides its own name.
const SERIES_SUFFIXES: [&str; 3] = ["_bucket", "_sum", "_count"];

/// One sample line: `name{labels} value [timestamp]`.
#[derive(Clone, Debug, PartialEq)]
pub struct Sample {
    /// The series name.
    pub name: String,
    /// The labels, unescaped.
    pub labels: BTreeMap<String, String>,
    /// The value.
    pub value: f64,
}

/// A parsed exposition: the `# HELP` and `# TYPE` lines by family, and every sample.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Exposition {
    /// HELP text by family name.
    pub help: BTreeMap<String, String>,
    /// TYPE by family name (`counter`, `gauge`, `histogram`, `summary`, `untyped`).
    pub types: BTreeMap<String, String>,
    /// The samples, in order.
    pub samples: Vec<Sample>,
}

impl Exposition {
    /// The family a series belongs to: `x` for `x_bucket`, `x_sum` and `x_count` when `x` is a
    /// histogram or summary, else the series name itself.
    pub fn family_of<'a>(&self, series: &'a str) -> &'a str {
        SERIES_SUFFIXES
            .iter()
            .filter_map(|suffix| series.strip_suffix(suffix))
            .find(|base| {
                self.types
                    .get(*base)
                    .is_some_and(|kind| kind == "histogram" || kind == "summary")
            })
            .unwrap_or(series)
    }

    /// Every family named by a HELP line, a TYPE line or a sample.
    pub fn families(&self) -> BTreeSet<String> {
        let from_samples = self
            .samples
            .iter()
            .map(|sample| self.family_of(&sample.name).to_owned());
        self.help
            .keys()
            .chain(self.types.keys())
            .cloned()
            .chain(from_samples)
            .collect()
    }

    /// The sum of the samples of series `name` whose labels include all of `labels`; `None`
    /// when there is no such sample.
    pub fn sum(&self, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
        let matching: Vec<f64> = self
            .samples
            .iter()
            .filter(|sample| sample.name == name)
            .filter(|sample| {
                labels
                    .iter()
                    .all(|(key, value)| sample.labels.get(*key).map(String::as_str) == Some(*value))
            })
            .map(|sample| sample.value)
            .collect();
        (!matching.is_empty()).then(|| matching.iter().sum())
    }
}

/// Parses `text`; any line that is neither a comment, blank, nor a well-formed sample is an
/// error naming it.
pub fn parse(text: &str) -> Result<Exposition> {
    let mut exposition = Exposition::default();
    for (index, line) in text.lines().enumerate() {
        let number = index + 1;
        let line = line.trim_end();
        if line.is_empty() {
            continue;
        }
        if let Some(comment) = line.strip_prefix('#') {
            let mut words = comment.trim_start().splitn(3, ' ');
            match (words.next(), words.next(), words.next()) {
                (Some("HELP"), Some(name), text) => {
                    exposition
                        .help
                        .insert(name.to_owned(), text.unwrap_or_default().trim().to_owned());
                }
                (Some("TYPE"), Some(name), Some(kind)) => {
                    exposition
                        .types
                        .insert(name.to_owned(), kind.trim().to_owned());
                }
                (Some("TYPE"), ..) => bail!("line {number}: TYPE without a type: {line:?}"),
                _ => {}
            }
            continue;
        }
        let sample = sample(line).with_context(|| format!("line {number}: {line:?}"))?;
        exposition.samples.push(sample);
    }
    Ok(exposition)
}

fn sample(line: &str) -> Result<Sample> {
    let name_end = line
        .find(|c: char| c == '{' || c.is_whitespace())
        .context("no value after the name")?;
    let name = &line[..name_end];
    if !is_metric_name(name) {
        bail!("bad metric name {name:?}");
    }
    let mut rest = &line[name_end..];
    let mut labels = BTreeMap::new();
    if let Some(after_brace) = rest.strip_prefix('{') {
        rest = parse_labels(after_brace, &mut labels)?;
    }
    let mut fields = rest.split_whitespace();
    let value = fields.next().context("no value")?;
    let value = parse_value(value)?;
    if let Some(timestamp) = fields.next() {
        timestamp
            .parse::<i64>()
            .with_context(|| format!("bad timestamp {timestamp:?}"))?;
    }
    if fields.next().is_some() {
        bail!("text after the timestamp");
    }
    Ok(Sample {
        name: name.to_owned(),
        labels,
        value,
    })
}

/// Reads `name="value",…}` and returns what follows the closing brace.
fn parse_labels<'a>(mut rest: &'a str, labels: &mut BTreeMap<String, String>) -> Result<&'a str> {
    loop {
        rest = rest.trim_start();
        if let Some(after) = rest.strip_prefix('}') {
            return Ok(after);
        }
        let (name, after_name) = rest.split_once('=').context("a label without `=`")?;
        let name = name.trim();
        if !is_label_name(name) {
            bail!("bad label name {name:?}");
        }
        let mut chars = after_name
            .trim_start()
            .strip_prefix('"')
            .context("a label value without opening quote")?
            .char_indices();
        let mut value = String::new();
        let end = loop {
            match chars.next() {
                Some((_, '\\')) => match chars.next() {
                    Some((_, 'n')) => value.push('\n'),
                    Some((_, escaped @ ('\\' | '"'))) => value.push(escaped),
                    other => bail!("bad escape in label {name}: {other:?}"),
                },
                Some((index, '"')) => break index,
                Some((_, c)) => value.push(c),
                None => bail!("label {name} has no closing quote"),
            }
        };
        if labels.insert(name.to_owned(), value).is_some() {
            bail!("label {name} is repeated");
        }
        let quoted = after_name.trim_start();
        rest = quoted[1 + end + 1..].trim_start();
        rest = rest.strip_prefix(',').unwrap_or(rest);
    }
}

fn parse_value(value: &str) -> Result<f64> {
    match value {
        "+Inf" => Ok(f64::INFINITY),
        "-Inf" => Ok(f64::NEG_INFINITY),
        "NaN" => Ok(f64::NAN),
        number => number
            .parse()
            .with_context(|| format!("bad value {number:?}")),
    }
}

fn is_metric_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || c == ':')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
}

fn is_label_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

#[cfg(test)]
mod tests {
    use super::parse;

    const TEXT: &str = r#"# HELP app_requests_total Requests by outcome.
# TYPE app_requests_total counter
app_requests_total{outcome="hit",path="a\"b\\c"} 3
app_requests_total{outcome="hit",path="d",} 2 1700000000000
app_requests_total{outcome="miss"} 1
# TYPE app_latency_seconds histogram
app_latency_seconds_bucket{le="+Inf"} 6
app_latency_seconds_sum 0.25
app_latency_seconds_count 6
up NaN
"#;

    #[test]
    fn reads_samples_labels_and_families() {
        let exposition = parse(TEXT).unwrap();
        assert_eq!(exposition.samples.len(), 7);
        assert_eq!(exposition.samples[0].labels["path"], "a\"b\\c");
        assert_eq!(
            exposition.sum("app_requests_total", &[("outcome", "hit")]),
            Some(5.0)
        );
        assert_eq!(
            exposition.sum("app_requests_total", &[("outcome", "error")]),
            None
        );
        assert_eq!(
            exposition.family_of("app_latency_seconds_count"),
            "app_latency_seconds"
        );
        assert_eq!(
            exposition.family_of("app_requests_total"),
            "app_requests_total"
        );
        let families: Vec<String> = exposition.families().into_iter().collect();
        assert_eq!(
            families,
            ["app_latency_seconds", "app_requests_total", "up"]
        );
        assert_eq!(
            exposition.help["app_requests_total"],
            "Requests by outcome."
        );
        assert!(!exposition.help.contains_key("app_latency_seconds"));
    }

    #[test]
    fn refuses_malformed_lines() {
        for bad in [
            "no_value",
            "1bad_name 1",
            "x{a=\"1\" 1",
            "x{a=1} 1",
            "x{a=\"1\",a=\"2\"} 1",
            "x one",
            "x 1 2 3",
            "x{a=\"\\t\"} 1",
            "# TYPE x",
        ] {
            assert!(parse(bad).is_err(), "{bad:?} should be refused");
        }
    }
}
