//! Results: what each scenario did, and what that means for each requirement.
//!
//! A scenario's raw outcome (its steps passed, one failed, or it did not run) becomes a
//! [`Verdict`] through the level of the requirements it proves: a failure against a MUST is
//! FAILED, against only SHOULDs it is a WARNING. A requirement takes the worst verdict of its
//! scenarios, and is SKIPPED when none of them ran (filtered out, or the target lacks the
//! endpoint the scenario needs).

use serde::Serialize;

use super::catalogue::{Catalogue, Level};
use super::evidence::Exchange;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Verdict {
    Passed,
    Skipped,
    Warning,
    Failed,
}

impl Verdict {
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Passed => "PASSED",
            Verdict::Skipped => "SKIPPED",
            Verdict::Warning => "WARNING",
            Verdict::Failed => "FAILED",
        }
    }
}

/// What happened when the scenario ran (before the catalogue weighs it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", content = "detail", rename_all = "snake_case")]
pub enum RawOutcome {
    Passed,
    /// A step failed: the message says which check and what the lab saw.
    Failed(String),
    /// The scenario did not run: why.
    Skipped(String),
}

#[derive(Debug, Clone, Serialize)]
pub struct ScenarioResult {
    pub feature: String,
    /// `features/conformance/sp/tokens.feature:12`
    pub location: String,
    pub name: String,
    pub tags: Vec<String>,
    /// Requirement ids from `@req:` tags.
    pub requirements: Vec<String>,
    pub outcome: RawOutcome,
    pub verdict: Verdict,
    pub duration_ms: u64,
    pub evidence: Vec<Exchange>,
}

#[derive(Debug, Clone, Serialize)]
pub struct RequirementResult {
    pub id: String,
    pub title: String,
    pub level: Level,
    pub verdict: Verdict,
    /// Locations of the scenarios that prove it.
    pub scenarios: Vec<String>,
}

#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct Counts {
    pub passed: usize,
    pub failed: usize,
    pub warning: usize,
    pub skipped: usize,
}

impl Counts {
    fn add(&mut self, verdict: Verdict) {
        match verdict {
            Verdict::Passed => self.passed += 1,
            Verdict::Failed => self.failed += 1,
            Verdict::Warning => self.warning += 1,
            Verdict::Skipped => self.skipped += 1,
        }
    }
}

/// A whole run, ready for the report writers.
#[derive(Debug, Clone, Serialize)]
pub struct SuiteReport {
    pub run_id: String,
    /// What was certified (`reference`, `reference --flaw NAME`, a URL).
    pub target: String,
    pub tags: Option<String>,
    pub duration_ms: u64,
    pub scenario_counts: Counts,
    pub requirement_counts: Counts,
    pub requirements: Vec<RequirementResult>,
    pub scenarios: Vec<ScenarioResult>,
}

impl SuiteReport {
    /// Weighs raw scenario outcomes against the catalogue.
    #[must_use]
    pub fn build(
        run_id: String,
        target: String,
        tags: Option<String>,
        duration_ms: u64,
        catalogue: &Catalogue,
        mut scenarios: Vec<ScenarioResult>,
    ) -> SuiteReport {
        scenarios.sort_by(|a, b| {
            a.location
                .cmp(&b.location)
                .then_with(|| a.name.cmp(&b.name))
        });
        for scenario in &mut scenarios {
            scenario.verdict = classify(&scenario.outcome, &scenario.requirements, catalogue);
        }
        let mut scenario_counts = Counts::default();
        for scenario in &scenarios {
            scenario_counts.add(scenario.verdict);
        }
        let mut requirement_counts = Counts::default();
        let requirements: Vec<RequirementResult> = catalogue
            .requirements
            .iter()
            .map(|requirement| {
                let proving: Vec<&ScenarioResult> = scenarios
                    .iter()
                    .filter(|s| s.requirements.contains(&requirement.id))
                    .collect();
                let ran: Vec<&&ScenarioResult> = proving
                    .iter()
                    .filter(|s| !matches!(s.outcome, RawOutcome::Skipped(_)))
                    .collect();
                let verdict = if ran.is_empty() {
                    Verdict::Skipped
                } else if ran.iter().all(|s| s.outcome == RawOutcome::Passed) {
                    Verdict::Passed
                } else if requirement.level == Level::Must {
                    Verdict::Failed
                } else {
                    Verdict::Warning
                };
                requirement_counts.add(verdict);
                RequirementResult {
                    id: requirement.id.clone(),
                    title: requirement.title.clone(),
                    level: requirement.level,
                    verdict,
                    scenarios: proving.iter().map(|s| s.location.clone()).collect(),
                }
            })
            .collect();
        SuiteReport {
            run_id,
            target,
            tags,
            duration_ms,
            scenario_counts,
            requirement_counts,
            requirements,
            scenarios,
        }
    }

    /// Adds a result that proves no catalogue requirement (the nightly run's policy scenario):
    /// weighed like a citizen journey, so its failure fails the run and shows in every report.
    pub fn add_outside_catalogue(&mut self, catalogue: &Catalogue, mut scenario: ScenarioResult) {
        debug_assert!(
            scenario.requirements.is_empty(),
            "a result that proves requirements belongs in SuiteReport::build"
        );
        scenario.verdict = classify(&scenario.outcome, &scenario.requirements, catalogue);
        self.scenario_counts.add(scenario.verdict);
        self.scenarios.push(scenario);
    }

    /// Every MUST that ran passed, and no scenario outside the catalogue (a flow) failed.
    #[must_use]
    pub fn all_musts_passed(&self) -> bool {
        self.requirements
            .iter()
            .all(|r| r.verdict != Verdict::Failed)
            && self.scenarios.iter().all(|s| s.verdict != Verdict::Failed)
    }

    /// Ids of the MUST requirements that failed.
    #[must_use]
    pub fn failed_musts(&self) -> Vec<&str> {
        self.requirements
            .iter()
            .filter(|r| r.verdict == Verdict::Failed)
            .map(|r| r.id.as_str())
            .collect()
    }
}

/// A failed scenario is FAILED if it proves any MUST (or no catalogue requirement at all: a flow
/// that fails is a failure), a WARNING if it proves only SHOULDs.
fn classify(outcome: &RawOutcome, requirements: &[String], catalogue: &Catalogue) -> Verdict {
    match outcome {
        RawOutcome::Passed => Verdict::Passed,
        RawOutcome::Skipped(_) => Verdict::Skipped,
        RawOutcome::Failed(_) => {
            let levels: Vec<Level> = requirements
                .iter()
                .filter_map(|id| catalogue.get(id))
                .map(|r| r.level)
                .collect();
            if !levels.is_empty() && levels.iter().all(|l| *l == Level::Should) {
                Verdict::Warning
            } else {
                Verdict::Failed
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scenario(reqs: &[&str], outcome: RawOutcome) -> ScenarioResult {
        ScenarioResult {
            feature: "f".into(),
            location: format!("f.feature:{}", reqs.join(",")),
            name: "s".into(),
            tags: vec![],
            requirements: reqs.iter().map(|r| (*r).to_owned()).collect(),
            outcome,
            verdict: Verdict::Passed,
            duration_ms: 0,
            evidence: vec![],
        }
    }

    #[test]
    fn a_should_failure_is_a_warning_and_a_must_failure_fails() {
        let catalogue = Catalogue::embedded();
        let report = SuiteReport::build(
            "r".into(),
            "t".into(),
            None,
            0,
            &catalogue,
            vec![
                scenario(
                    &["SP-TOKEN-ORDER-01"],
                    RawOutcome::Failed("accepted".into()),
                ),
                scenario(&["SP-TOKEN-SIG-01"], RawOutcome::Failed("accepted".into())),
                scenario(&["SP-LOGIN-01"], RawOutcome::Passed),
                scenario(
                    &["SP-LOGOUT-BC-01"],
                    RawOutcome::Skipped("no endpoint".into()),
                ),
            ],
        );
        let verdict = |id: &str| {
            report
                .requirements
                .iter()
                .find(|r| r.id == id)
                .unwrap()
                .verdict
        };
        assert_eq!(verdict("SP-TOKEN-ORDER-01"), Verdict::Warning);
        assert_eq!(verdict("SP-TOKEN-SIG-01"), Verdict::Failed);
        assert_eq!(verdict("SP-LOGIN-01"), Verdict::Passed);
        assert_eq!(verdict("SP-LOGOUT-BC-01"), Verdict::Skipped);
        assert_eq!(report.failed_musts(), vec!["SP-TOKEN-SIG-01"]);
        assert!(!report.all_musts_passed());
    }
}
