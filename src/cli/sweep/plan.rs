//! The plan: every run of a sweep (point, replication, seed), packed into shards.
//!
//! A plan is self-contained: it carries the base scenario's text, so a shard on a cluster node
//! needs only the plan file and the binary. Its hash (SHA-256 of its canonical JSON) is written
//! beside it and into every shard output, so `merge` can refuse a shard from another plan.
//!
//! Seeds: a run's seed is derived from the sweep's seed, the point's overrides (as text) and
//! the replication number. A point therefore keeps its seeds when the grid grows, and two sweeps
//! that share a point and a seed share its runs.

use serde::{Deserialize, Serialize};
use serde_yaml::Value;
use sha2::{Digest as _, Sha256};

use super::file::{Collect, SweepFile};

/// The plan file's format; a plan of another format is refused rather than misread.
pub const FORMAT: u32 = 1;

/// Everything needed to run and merge a sweep.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Plan {
    pub format: u32,
    /// The sweep's name.
    pub sweep: String,
    /// The sweep file as given on the command line (for the reports).
    pub sweep_file: String,
    /// The base scenario's path as written in the sweep file, and its text.
    pub scenario_file: String,
    pub scenario_text: String,
    /// SHA-256 of the scenario text, hex.
    pub scenario_sha256: String,
    pub seed: u64,
    pub replications: u32,
    /// `--set` assignments applied to every run, in order.
    pub set: Vec<String>,
    /// The swept fields and their values (display text), in grid order.
    pub axes: Vec<Axis>,
    /// Every combination of the axes' values.
    pub points: Vec<Point>,
    pub collect: Collect,
    pub runs_per_shard: u32,
    pub shards: u32,
    /// Every run, point-major: the runs of point 0 first.
    pub runs: Vec<Run>,
    /// Where the shards write: an object store URL (`--store`); absent = the sweep folder's
    /// `shards/`. Absent plans hash as before the field existed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shard_store: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Axis {
    pub field: String,
    pub values: Vec<String>,
}

/// One point of the grid: one value per axis.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Point {
    pub index: u32,
    /// Index into each axis's values, in axis order.
    pub choice: Vec<u32>,
    /// The point's `--set` assignments, one per axis.
    pub set: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Run {
    pub index: u32,
    pub point: u32,
    pub replication: u32,
    pub seed: u64,
}

/// A plan as stored: the plan and its hash.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlanFile {
    pub plan_sha256: String,
    pub plan: Plan,
}

/// What to build a plan from.
pub struct PlanInput<'a> {
    pub sweep: &'a SweepFile,
    pub axes: &'a [(String, Vec<Value>)],
    pub sweep_file: &'a str,
    pub scenario_text: &'a str,
    pub runs_per_shard: u32,
}

/// Expands the grid into points and runs and packs them into shards.
#[must_use]
pub fn build(input: &PlanInput<'_>) -> Plan {
    let axes: Vec<Axis> = input
        .axes
        .iter()
        .map(|(field, values)| Axis {
            field: field.clone(),
            values: values.iter().map(display_value).collect(),
        })
        .collect();
    let yaml_axes = input.axes;
    let mut points = Vec::new();
    let mut choice = vec![0u32; yaml_axes.len()];
    'points: loop {
        let set = yaml_axes
            .iter()
            .zip(&choice)
            .map(|((field, values), &pick)| assignment(field, &values[pick as usize]))
            .collect();
        points.push(Point {
            index: points.len() as u32,
            choice: choice.clone(),
            set,
        });
        // Odometer order: the last axis turns fastest.
        for axis in (0..choice.len()).rev() {
            choice[axis] += 1;
            if (choice[axis] as usize) < yaml_axes[axis].1.len() {
                continue 'points;
            }
            choice[axis] = 0;
        }
        break;
    }
    let mut runs = Vec::with_capacity(points.len() * input.sweep.replications as usize);
    for point in &points {
        for replication in 0..input.sweep.replications {
            runs.push(Run {
                index: runs.len() as u32,
                point: point.index,
                replication,
                seed: run_seed(input.sweep.seed, &point.set, replication),
            });
        }
    }
    let runs_per_shard = input.runs_per_shard.max(1);
    let shards = runs.len().div_ceil(runs_per_shard as usize) as u32;
    Plan {
        format: FORMAT,
        sweep: input.sweep.name.clone(),
        sweep_file: input.sweep_file.to_owned(),
        scenario_file: input.sweep.scenario.clone(),
        scenario_text: input.scenario_text.to_owned(),
        scenario_sha256: hex_sha256(input.scenario_text.as_bytes()),
        seed: input.sweep.seed,
        replications: input.sweep.replications,
        set: input
            .sweep
            .set
            .0
            .iter()
            .map(|(field, value)| assignment(field, value))
            .collect(),
        axes,
        points,
        collect: input.sweep.collect.clone(),
        runs_per_shard,
        shards,
        runs,
        shard_store: None,
    }
}

impl Plan {
    /// The runs of shard `index`, or `None` past the last shard.
    #[must_use]
    pub fn shard_runs(&self, index: u32) -> Option<&[Run]> {
        if index >= self.shards {
            return None;
        }
        let per = self.runs_per_shard as usize;
        let start = index as usize * per;
        Some(&self.runs[start..(start + per).min(self.runs.len())])
    }

    /// `--set` assignments of a run: the sweep's fixed ones, then the point's.
    #[must_use]
    pub fn run_sets(&self, run: &Run) -> Vec<String> {
        let mut sets = self.set.clone();
        sets.extend(self.points[run.point as usize].set.iter().cloned());
        sets
    }

    /// The plan with its hash, as written to `plan.json`.
    pub fn into_file(self) -> Result<PlanFile, serde_json::Error> {
        let plan_sha256 = hex_sha256(&serde_json::to_vec(&self)?);
        Ok(PlanFile {
            plan_sha256,
            plan: self,
        })
    }
}

impl PlanFile {
    /// Checks that the stored hash is the plan's: an edited plan is not silently run.
    #[must_use]
    pub fn hash_matches(&self) -> bool {
        serde_json::to_vec(&self.plan).is_ok_and(|bytes| hex_sha256(&bytes) == self.plan_sha256)
    }
}

/// `field=value` as `simulate --set` takes it.
fn assignment(field: &str, value: &Value) -> String {
    format!("{field}={}", yaml_text(value))
}

/// A value as one line of YAML (flow style for collections), so `--set` reads it back.
fn yaml_text(value: &Value) -> String {
    match value {
        Value::String(text) => {
            // Quoted only when YAML would read the bare text as something else.
            let reread: Option<Value> = serde_yaml::from_str(text).ok();
            if reread.as_ref() == Some(value) {
                text.clone()
            } else {
                serde_json::to_string(text).unwrap_or_else(|_| text.clone())
            }
        }
        // JSON is valid flow-style YAML and stays on one line.
        other => serde_json::to_string(other).unwrap_or_else(|_| format!("{other:?}")),
    }
}

/// A value as a reader sees it in a report: `2023-10-31`, `0.25`, `true`.
#[must_use]
pub fn display_value(value: &Value) -> String {
    match value {
        Value::String(text) => text.clone(),
        other => yaml_text(other),
    }
}

fn run_seed(sweep_seed: u64, point_set: &[String], replication: u32) -> u64 {
    let mut hasher = Sha256::new();
    hasher.update(b"mitid-lab sweep run seed v1\0");
    hasher.update(sweep_seed.to_le_bytes());
    for assignment in point_set {
        hasher.update(assignment.as_bytes());
        hasher.update([0]);
    }
    hasher.update(replication.to_le_bytes());
    let digest = hasher.finalize();
    let mut bytes = [0u8; 8];
    bytes.copy_from_slice(&digest[..8]);
    u64::from_le_bytes(bytes)
}

#[must_use]
pub fn hex_sha256(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    Sha256::digest(bytes)
        .iter()
        .fold(String::with_capacity(64), |mut text, byte| {
            let _ = write!(text, "{byte:02x}");
            text
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::sweep::file;

    const SWEEP: &str = "name: s\nscenario: base.yaml\nseed: 5\nreplications: 3\n\
        set:\n  population.size: 1000\n\
        grid:\n  calendar.nemid_shutdown: { from: 2023-06-30, to: 2023-08-30, step: 1 month }\n  \
        capacities.support.agents_day: [10, 20]\n\
        collect:\n  figures: [totals.via_nemid]\n";

    fn plan(runs_per_shard: u32, sweep: &str) -> Plan {
        let (sweep, axes) = file::parse("s.yaml", sweep).unwrap();
        build(&PlanInput {
            sweep: &sweep,
            axes: &axes,
            sweep_file: "s.yaml",
            scenario_text: "kind: policy\nname: base\n",
            runs_per_shard,
        })
    }

    #[test]
    fn points_are_every_combination_last_axis_fastest() {
        let plan = plan(4, SWEEP);
        assert_eq!(plan.points.len(), 6);
        assert_eq!(
            plan.points[1].set,
            [
                "calendar.nemid_shutdown=2023-06-30",
                "capacities.support.agents_day=20"
            ]
        );
        assert_eq!(plan.runs.len(), 18);
        assert_eq!(plan.shards, 5);
        assert_eq!(plan.shard_runs(4).unwrap().len(), 2);
        assert!(plan.shard_runs(5).is_none());
        assert_eq!(
            plan.run_sets(&plan.runs[4])[0],
            "population.size=1000",
            "fixed overrides come first"
        );
    }

    #[test]
    fn seeds_are_distinct_and_follow_the_point_not_its_position() {
        let small = plan(1, SWEEP);
        let mut seeds: Vec<u64> = small.runs.iter().map(|run| run.seed).collect();
        seeds.sort_unstable();
        seeds.dedup();
        assert_eq!(seeds.len(), small.runs.len(), "every run has its own seed");
        // A third value on the support axis shifts point positions but keeps each point's seeds.
        let larger = plan(1, &SWEEP.replace("[10, 20]", "[5, 10, 20]"));
        let seeds_of = |plan: &Plan, set: &[String]| -> Vec<u64> {
            let point = plan.points.iter().find(|point| point.set == set).unwrap();
            plan.runs
                .iter()
                .filter(|run| run.point == point.index)
                .map(|run| run.seed)
                .collect()
        };
        let set = &small.points[1].set;
        assert_eq!(seeds_of(&small, set), seeds_of(&larger, set));
    }

    #[test]
    fn the_hash_covers_the_plan() {
        let file = plan(2, SWEEP).into_file().unwrap();
        assert!(file.hash_matches());
        let mut edited = file.clone();
        edited.plan.runs[0].seed += 1;
        assert!(!edited.hash_matches());
    }

    #[test]
    fn values_that_yaml_would_misread_are_quoted() {
        assert_eq!(yaml_text(&Value::String("yes".into())), "yes");
        assert_eq!(yaml_text(&Value::String("10".into())), "\"10\"");
        assert_eq!(yaml_text(&serde_yaml::from_str("[1, 2]").unwrap()), "[1,2]");
    }
}
