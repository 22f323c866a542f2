//! The sweep file: a base scenario, fixed overrides, a grid of overrides, replications and the
//! figures to collect.
//!
//! ```yaml
//! name: nemid-shutdown-dates
//! scenario: ../scenarios/demo-100k.yaml   # relative to this file
//! seed: 7                                  # the sweep's seed; every run's seed derives from it
//! replications: 10
//! set:                                     # applied to every run, like `simulate --set`
//!   population.size: 50000
//! grid:                                    # every combination of these is one point
//!   calendar.nemid_shutdown: { from: 2023-06-30, to: 2023-12-31, step: 1 month }
//!   capacities.citizen_service.counters_per_10k_residents: [0.2, 0.25, 0.3]
//! collect:
//!   figures:                               # any figure of summary.json, by path
//!     - totals.citizen_service
//!     - peaks.citizen_service_queue.value
//!     - milestones.nemid_shutdown.figures.without_eid_age_80plus
//!   series: [without_eid, citizen_service_queue]   # daily columns, merged into bands
//! ```
//!
//! The file is read with the scenario reader, so every error names the file, the line and the
//! field. Without a grid the sweep is replications of one scenario. A grid key must be a field of the base scenario: the plan checks that by loading the
//! scenario with every point's overrides before it writes anything.

use std::fmt;
use std::marker::PhantomData;

use chrono::{Months, NaiveDate};
use mitid_sim::scenario::{
    FieldPath, PathSegment, ScenarioDocument, ScenarioError, ScenarioErrorKind,
};
use serde::{Deserialize, Serialize};
use serde_yaml::Value;

/// A sweep file as written.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SweepFile {
    /// Name of the sweep, used in reports and job names.
    pub name: String,
    /// The base scenario (a `kind: policy` file), relative to the sweep file.
    pub scenario: String,
    /// The sweep's seed. Default 1.
    #[serde(default = "default_seed")]
    pub seed: u64,
    /// Runs per point, each with its own seed. At least 2 for an interval.
    pub replications: u32,
    /// Overrides applied to every run (field path → YAML value).
    #[serde(default)]
    pub set: Ordered<Value>,
    /// Swept fields (field path → a list of values or a range). Empty: one point, the base
    /// scenario with `set`, replicated.
    #[serde(default)]
    pub grid: Ordered<GridAxis>,
    /// What each run reports back.
    pub collect: Collect,
}

fn default_seed() -> u64 {
    1
}

/// A YAML mapping read in the order it is written: the first grid field is the x axis of
/// the charts, and a later `set` wins over an earlier one, as on the command line.
#[derive(Debug, Clone, PartialEq)]
pub struct Ordered<V>(pub Vec<(String, V)>);

impl<V> Default for Ordered<V> {
    fn default() -> Self {
        Self(Vec::new())
    }
}

impl<V: Serialize> Serialize for Ordered<V> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_map(self.0.iter().map(|(key, value)| (key, value)))
    }
}

impl<'de, V: Deserialize<'de>> Deserialize<'de> for Ordered<V> {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Entries<V>(PhantomData<V>);
        impl<'de, V: Deserialize<'de>> serde::de::Visitor<'de> for Entries<V> {
            type Value = Ordered<V>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a mapping of field paths")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<Self::Value, A::Error> {
                let mut entries: Vec<(String, V)> = Vec::new();
                while let Some((key, value)) = map.next_entry::<String, V>()? {
                    if entries.iter().any(|(seen, _)| *seen == key) {
                        return Err(serde::de::Error::custom(format!("`{key}` is given twice")));
                    }
                    entries.push((key, value));
                }
                Ok(Ordered(entries))
            }
        }
        deserializer.deserialize_map(Entries(PhantomData))
    }
}

/// The values of one swept field.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum GridAxis {
    /// `[a, b, c]`: these values, in this order.
    List(Vec<Value>),
    /// `{ from, to, step }`: numbers, or dates with a step such as `7 days` or `1 month`.
    Range { from: Value, to: Value, step: Value },
}

/// The figures collected from each run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Collect {
    /// Paths into `summary.json` (`totals.via_nemid`, `peaks.without_eid.value`,
    /// `milestones.nemid_shutdown.figures.without_eid`); a list element is picked by its
    /// `name`.
    #[serde(default)]
    pub figures: Vec<String>,
    /// Daily columns of `timeseries.csv`, merged into bands.
    #[serde(default)]
    pub series: Vec<String>,
}

/// The swept fields and their values, in the order the grid gives them.
pub type Axes = Vec<(String, Vec<Value>)>;

/// Parses and checks a sweep file; `file` names it in errors.
pub fn parse(file: &str, text: &str) -> Result<(SweepFile, Axes), ScenarioError> {
    let document = ScenarioDocument::parse(file, text)?;
    let sweep: SweepFile = document.load(&[])?;
    if sweep.name.trim().is_empty() {
        return Err(document.invalid("name", "the sweep needs a name", &[]));
    }
    if sweep.replications < 2 {
        return Err(document.invalid(
            "replications",
            "at least 2 replications are needed for an interval",
            &[],
        ));
    }
    if sweep.collect.figures.is_empty() && sweep.collect.series.is_empty() {
        return Err(document.invalid("collect", "collect at least one figure or series", &[]));
    }
    let mut axes = Vec::new();
    for (key, axis) in &sweep.grid.0 {
        if sweep.set.0.iter().any(|(fixed, _)| fixed == key) {
            return Err(invalid_at(
                &document,
                &["grid", key],
                "this field is also under `set`: sweep it or fix it, not both",
            ));
        }
        let values = axis
            .values()
            .map_err(|message| invalid_at(&document, &["grid", key], &message))?;
        axes.push((key.clone(), values));
    }
    for (index, figure) in sweep.collect.figures.iter().enumerate() {
        if figure.trim().is_empty() || figure.split('.').any(str::is_empty) {
            return Err(document.error_at(
                FieldPath(vec![
                    PathSegment::Key("collect".into()),
                    PathSegment::Key("figures".into()),
                    PathSegment::Index(index),
                ]),
                ScenarioErrorKind::Invalid(
                    "a figure is a dotted path into summary.json, e.g. `totals.via_nemid`".into(),
                ),
                &[],
            ));
        }
    }
    Ok((sweep, axes))
}

/// An error at a field whose keys may themselves contain dots (a grid key is a field path).
fn invalid_at(document: &ScenarioDocument, keys: &[&str], message: &str) -> ScenarioError {
    let path = FieldPath(
        keys.iter()
            .map(|key| PathSegment::Key((*key).to_owned()))
            .collect(),
    );
    document.error_at(path, ScenarioErrorKind::Invalid(message.to_owned()), &[])
}

/// The most points a grid may have: a guard against a range with a tiny step.
const MAX_AXIS_VALUES: usize = 10_000;

impl GridAxis {
    /// The axis's values, in order.
    pub fn values(&self) -> Result<Vec<Value>, String> {
        match self {
            Self::List(values) if values.is_empty() => Err("the list of values is empty".into()),
            Self::List(values) => Ok(values.clone()),
            Self::Range { from, to, step } => range_values(from, to, step),
        }
    }
}

fn range_values(from: &Value, to: &Value, step: &Value) -> Result<Vec<Value>, String> {
    if let (Some(from), Some(to)) = (as_date(from), as_date(to)) {
        let step = step
            .as_str()
            .ok_or("a date range's step is text such as `7 days` or `1 month`")?;
        let step = DateStep::parse(step)?;
        if to < from {
            return Err(format!("`to` ({to}) is before `from` ({from})"));
        }
        let mut values = Vec::new();
        let mut n = 0u32;
        loop {
            let Some(date) = step.nth(from, n) else {
                return Err("the range runs past the calendar".into());
            };
            if date > to {
                break;
            }
            values.push(Value::String(date.to_string()));
            if values.len() > MAX_AXIS_VALUES {
                return Err(format!(
                    "more than {MAX_AXIS_VALUES} values: use a larger step"
                ));
            }
            n += 1;
        }
        return Ok(values);
    }
    let (Some(start), Some(end), Some(step)) = (from.as_f64(), to.as_f64(), step.as_f64()) else {
        return Err(
            "a range is `{ from, to, step }` of numbers, or of dates with a step like `1 month`"
                .into(),
        );
    };
    if step <= 0.0 || !step.is_finite() {
        return Err(format!("`step` must be a positive number, not {step}"));
    }
    if end < start {
        return Err(format!("`to` ({end}) is below `from` ({start})"));
    }
    let count = ((end - start) / step + 1e-9).floor() as usize + 1;
    if count > MAX_AXIS_VALUES {
        return Err(format!(
            "more than {MAX_AXIS_VALUES} values: use a larger step"
        ));
    }
    let integers = from.is_i64() && to.is_i64() && step.fract() == 0.0;
    Ok((0..count)
        .map(|i| {
            let value = start + step * i as f64;
            if integers {
                Value::Number((value as i64).into())
            } else {
                // Rounded so that 0.1 steps print as 0.3, not 0.30000000000000004.
                let rounded = (value * 1e9).round() / 1e9;
                Value::Number(rounded.into())
            }
        })
        .collect())
}

fn as_date(value: &Value) -> Option<NaiveDate> {
    value
        .as_str()
        .and_then(|text| NaiveDate::parse_from_str(text, "%Y-%m-%d").ok())
}

/// `7 days`, `2 weeks`, `1 month`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum DateStep {
    Days(u32),
    Months(u32),
}

impl DateStep {
    fn parse(text: &str) -> Result<Self, String> {
        let mut words = text.split_whitespace();
        let (Some(count), Some(unit), None) = (words.next(), words.next(), words.next()) else {
            return Err(format!(
                "step `{text}`: expected a count and a unit, e.g. `1 month`"
            ));
        };
        let count: u32 = count
            .parse()
            .ok()
            .filter(|count| *count > 0)
            .ok_or_else(|| format!("step `{text}`: the count must be a whole number above 0"))?;
        match unit.trim_end_matches('s') {
            "day" => Ok(Self::Days(count)),
            "week" => Ok(Self::Days(count * 7)),
            "month" => Ok(Self::Months(count)),
            _ => Err(format!("step `{text}`: the unit is days, weeks or months")),
        }
    }

    /// `from` plus `n` steps. Months keep the day of month where they can and clamp it to the
    /// month's last day otherwise (2023-01-31 + 1 month = 2023-02-28), always counted from
    /// `from` so that a clamp does not carry over to later months.
    fn nth(self, from: NaiveDate, n: u32) -> Option<NaiveDate> {
        match self {
            Self::Days(days) => {
                from.checked_add_days(chrono::Days::new(u64::from(days) * u64::from(n)))
            }
            Self::Months(months) => from.checked_add_months(Months::new(months.checked_mul(n)?)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn axis(yaml: &str) -> Result<Vec<String>, String> {
        let axis: GridAxis = serde_yaml::from_str(yaml).unwrap();
        axis.values().map(|values| {
            values
                .iter()
                .map(|value| serde_yaml::to_string(value).unwrap().trim().to_owned())
                .collect()
        })
    }

    #[test]
    fn date_ranges_step_by_months_from_the_first_date() {
        assert_eq!(
            axis("{ from: 2023-01-31, to: 2023-04-30, step: 1 month }").unwrap(),
            ["2023-01-31", "2023-02-28", "2023-03-31", "2023-04-30"]
        );
        assert_eq!(
            axis("{ from: 2023-06-01, to: 2023-06-20, step: 1 week }").unwrap(),
            ["2023-06-01", "2023-06-08", "2023-06-15"]
        );
    }

    #[test]
    fn number_ranges_include_the_end_and_print_cleanly() {
        assert_eq!(
            axis("{ from: 1, to: 5, step: 2 }").unwrap(),
            ["1", "3", "5"]
        );
        assert_eq!(
            axis("{ from: 0.1, to: 0.3, step: 0.1 }").unwrap(),
            ["0.1", "0.2", "0.3"]
        );
    }

    #[test]
    fn bad_ranges_say_why() {
        assert!(
            axis("{ from: 5, to: 1, step: 1 }")
                .unwrap_err()
                .contains("below")
        );
        assert!(
            axis("{ from: 1, to: 5, step: 0 }")
                .unwrap_err()
                .contains("positive")
        );
        assert!(
            axis("{ from: 2023-01-01, to: 2023-02-01, step: 1 fortnight }")
                .unwrap_err()
                .contains("days, weeks or months")
        );
        assert!(axis("[]").unwrap_err().contains("empty"));
    }

    #[test]
    fn grid_fields_keep_the_order_they_are_written_in() {
        let text = "name: s\nscenario: x.yaml\nreplications: 2\n\
                    grid:\n  z.last: [1]\n  a.first: [2, 3]\ncollect:\n  series: [x]\n";
        let (_, axes) = parse("s.yaml", text).unwrap();
        let fields: Vec<&str> = axes.iter().map(|(field, _)| field.as_str()).collect();
        assert_eq!(fields, ["z.last", "a.first"]);
    }

    #[test]
    fn sweep_errors_name_file_line_and_field() {
        let text = "name: s\nscenario: x.yaml\nreplications: 1\ngrid:\n  seed: [1, 2]\ncollect:\n  figures: [totals.via_nemid]\n";
        let err = parse("s.yaml", text).unwrap_err().to_string();
        assert!(err.starts_with("s.yaml:3: replications"), "{err}");

        let text = "name: s\nscenario: x.yaml\nreplications: 3\ngrid:\n  a.b: { from: 1, to: 0, step: 1 }\ncollect:\n  series: [without_eid]\n";
        let err = parse("s.yaml", text).unwrap_err().to_string();
        assert!(err.starts_with("s.yaml:5: grid.a.b"), "{err}");

        let text = "name: s\nscenario: x.yaml\nreplications: 3\ngrid:\n  a: [1]\ncollect:\n  series: [x]\nshards: 3\n";
        let err = parse("s.yaml", text).unwrap_err().to_string();
        assert!(err.contains("s.yaml:8: shards: unknown field"), "{err}");
    }
}
