//! One shard: its runs, one after the other, and one output file written atomically.
//!
//! The output depends only on the plan and the shard's index (no clock, no host, no timing),
//! so a shard that a scheduler runs twice writes the same bytes twice.

use std::fs;
use std::path::Path;

use anyhow::{Context as _, Result};
use mitid_sim::policy::{PolicyOutcome, PolicyScenario, run_policy};
use mitid_sim::scenario::{self, Overrides, Scenario};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::plan::{Plan, PlanFile, Run};
use super::store::ShardStore;
use crate::cli::BadInput;
use crate::cli::simulate::policy_report;
use crate::cli::simulate::table::DailyTable;

/// What one shard leaves: the collected figures of each of its runs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ShardOutput {
    pub plan_sha256: String,
    pub shard: u32,
    pub runs: Vec<RunOutput>,
}

/// The figures of one run, in the order of the plan's `collect`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunOutput {
    pub run: u32,
    pub point: u32,
    pub replication: u32,
    pub seed: u64,
    /// The first simulated day: series values are one per day from it.
    pub start: String,
    /// `None` where the run has no value (a figure undefined on that day).
    pub figures: Vec<Option<f64>>,
    pub series: Vec<Vec<Option<f64>>>,
}

/// Runs shard `index` of the plan and writes its output to the store; returns where it went.
pub fn run_shard(
    plan_file: &PlanFile,
    store: &ShardStore,
    index: u32,
    on_run_done: &dyn Fn(),
) -> Result<String> {
    let plan = &plan_file.plan;
    let runs = plan.shard_runs(index).ok_or_else(|| {
        BadInput(format!(
            "shard index {index} is out of range: the plan has shards 0 to {}",
            plan.shards.saturating_sub(1)
        ))
    })?;
    let mut outputs = Vec::with_capacity(runs.len());
    for run in runs {
        outputs.push(run_one(plan, run)?);
        on_run_done();
    }
    let output = ShardOutput {
        plan_sha256: plan_file.plan_sha256.clone(),
        shard: index,
        runs: outputs,
    };
    let mut bytes = serde_json::to_vec(&output).context("cannot encode the shard's output")?;
    bytes.push(b'\n');
    store.put(index, bytes)
}

/// Writes `bytes` to a temporary file beside `path` and renames it into place, so a reader
/// (or a merge racing a re-run of the same shard) sees the old file or the new one, whole.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> Result<()> {
    let parent = path.parent().unwrap_or(Path::new("."));
    fs::create_dir_all(parent)
        .with_context(|| format!("cannot create the folder {}", parent.display()))?;
    let name = path.file_name().unwrap_or_default().to_string_lossy();
    let temporary = parent.join(format!(".{name}.tmp-{}", std::process::id()));
    fs::write(&temporary, bytes)
        .with_context(|| format!("cannot write {}", temporary.display()))?;
    fs::rename(&temporary, path).map_err(|err| {
        let _ = fs::remove_file(&temporary);
        anyhow::Error::new(err).context(format!("cannot write {}", path.display()))
    })?;
    // The sweep folder stays the lab's report: what later steps add is named in its manifest.
    crate::cli::output::record_in_report(path)?;
    Ok(())
}

/// Loads the run's scenario (the plan's base with the run's overrides) and runs it.
pub fn run_one(plan: &Plan, run: &Run) -> Result<RunOutput> {
    let policy = run_scenario(plan, run)?;
    let outcome = run_policy(&policy, policy.seed, &mut |_| {})
        .with_context(|| format!("run {} (point {}) failed", run.index, run.point))?;
    collect(plan, run, &policy, &outcome)
}

/// The typed scenario of one run.
pub fn run_scenario(plan: &Plan, run: &Run) -> Result<PolicyScenario> {
    let overrides = Overrides {
        sets: plan.run_sets(run),
        population: None,
        seed: Some(run.seed),
    };
    match scenario::load(&plan.scenario_file, &plan.scenario_text, &overrides)
        .map_err(|err| BadInput(err.to_string()))?
    {
        Scenario::Policy(policy) => Ok(*policy),
        Scenario::Queue(_) => Err(BadInput(format!(
            "{}: a sweep runs `kind: policy` scenarios; this one is `kind: queue`",
            plan.scenario_file
        ))
        .into()),
    }
}

fn collect(
    plan: &Plan,
    run: &Run,
    policy: &PolicyScenario,
    outcome: &PolicyOutcome,
) -> Result<RunOutput> {
    let table = DailyTable::from_days(&outcome.days, &outcome.age_bands);
    let summary = policy_report::summary(policy, outcome, &table, None)?;
    let figures = plan
        .collect
        .figures
        .iter()
        .map(|path| figure(&summary, path))
        .collect::<Result<Vec<_>, _>>()
        .map_err(BadInput)?;
    let series = plan
        .collect
        .series
        .iter()
        .map(|name| {
            table
                .column(name)
                .map(|column| {
                    column
                        .values
                        .iter()
                        .map(|value| value.is_finite().then_some(*value))
                        .collect()
                })
                .ok_or_else(|| {
                    let names: Vec<&str> = table.columns.iter().map(|c| c.name.as_str()).collect();
                    BadInput(format!(
                        "collect.series: `{name}` is not a daily column; the columns are: {}",
                        names.join(", ")
                    ))
                })
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(RunOutput {
        run: run.index,
        point: run.point,
        replication: run.replication,
        seed: run.seed,
        start: outcome.start.to_string(),
        figures,
        series,
    })
}

/// The number at a dotted path of `summary.json`; a list element is picked by index or by its
/// `name` (`milestones.nemid_shutdown.figures.without_eid`).
pub fn figure(summary: &Value, path: &str) -> Result<Option<f64>, String> {
    let mut node = summary;
    let mut walked = String::new();
    for segment in path.split('.') {
        let next = match node {
            Value::Object(map) => map.get(segment),
            Value::Array(items) => match segment.parse::<usize>() {
                Ok(index) => items.get(index),
                Err(_) => items
                    .iter()
                    .find(|item| item.get("name").and_then(Value::as_str) == Some(segment)),
            },
            _ => None,
        };
        let Some(next) = next else {
            return Err(format!(
                "collect.figures: `{path}`: summary.json has no `{segment}` {where_}{choices}",
                where_ = if walked.is_empty() {
                    "at the top level".to_owned()
                } else {
                    format!("under `{walked}`")
                },
                choices = choices(node)
            ));
        };
        if !walked.is_empty() {
            walked.push('.');
        }
        walked.push_str(segment);
        node = next;
    }
    match node {
        Value::Number(number) => Ok(number.as_f64()),
        Value::Null => Ok(None),
        other => Err(format!(
            "collect.figures: `{path}` is not a number but {}{}",
            kind_of(other),
            choices(other)
        )),
    }
}

fn choices(node: &Value) -> String {
    let names: Vec<String> = match node {
        Value::Object(map) => map.keys().cloned().collect(),
        Value::Array(items) => items
            .iter()
            .filter_map(|item| item.get("name").and_then(Value::as_str).map(str::to_owned))
            .collect(),
        _ => Vec::new(),
    };
    if names.is_empty() {
        String::new()
    } else {
        format!(" (there: {})", names.join(", "))
    }
}

fn kind_of(value: &Value) -> &'static str {
    match value {
        Value::Object(_) => "an object",
        Value::Array(_) => "a list",
        Value::String(_) => "text",
        Value::Bool(_) => "true/false",
        Value::Number(_) | Value::Null => "a number",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn figures_are_found_by_key_index_and_name() {
        let summary = json!({
            "totals": { "via_nemid": 12 },
            "milestones": [
                { "name": "nemid_shutdown", "figures": { "without_eid": 3, "wait": null } }
            ]
        });
        assert_eq!(figure(&summary, "totals.via_nemid"), Ok(Some(12.0)));
        assert_eq!(
            figure(&summary, "milestones.nemid_shutdown.figures.without_eid"),
            Ok(Some(3.0))
        );
        assert_eq!(
            figure(&summary, "milestones.0.figures.without_eid"),
            Ok(Some(3.0))
        );
        assert_eq!(
            figure(&summary, "milestones.nemid_shutdown.figures.wait"),
            Ok(None)
        );
        let err = figure(&summary, "milestones.shutdown.figures").unwrap_err();
        assert!(err.contains("no `shutdown` under `milestones`"), "{err}");
        assert!(err.contains("(there: nemid_shutdown)"), "{err}");
        let err = figure(&summary, "totals").unwrap_err();
        assert!(err.contains("not a number but an object"), "{err}");
    }
}
