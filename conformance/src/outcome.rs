//! Results: what each scenario did, and what that means for each requirement.
//!
//! A scenario's raw outcome (its steps passed, one failed, or it did not run) becomes a
//! [`Verdict`] through the level of the requirements it proves: a failure against a MUST is
//! FAILED, against only SHOULDs it is a WARNING. A requirement takes the worst verdict of its
//! scenarios, and is SKIPPED when none of them ran (filtered out, or the target lacks the
//! endpoint the scenario needs).

use serde::{Deserialize, Serialize};

use super::catalogue::{Catalogue, Level};
use super::evidence::Exchange;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
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
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", content = "detail", rename_all = "snake_case")]
pub enum RawOutcome {
    Passed,
    /// A step failed: the message says which check and what the lab saw.
    Failed(String),
    /// The scenario did not run: why.
    Skipped(String),
}

#[derive(Debug, Clone, Serialize, Deserialize)]
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
    /// The optional feature (`service_provider.implements`) the target does not declare, when
    /// that is why the scenario did not run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub not_implemented: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RequirementResult {
    pub id: String,
    pub title: String,
    pub level: Level,
    pub verdict: Verdict,
    /// Locations of the scenarios that prove it.
    pub scenarios: Vec<String>,
    /// The optional feature the target does not implement, when the requirement is SKIPPED for
    /// that reason (it then does not apply: it neither certifies nor makes the run partial).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub not_implemented: Option<String>,
}

impl RequirementResult {
    /// `PASSED`, `FAILED`, ..., `SKIPPED (not implemented)`: what every output calls it.
    #[must_use]
    pub fn verdict_text(&self) -> &'static str {
        if self.verdict == Verdict::Skipped && self.not_implemented.is_some() {
            "SKIPPED (not implemented)"
        } else {
            self.verdict.as_str()
        }
    }

    /// Whether the requirement applies to this target (it is not on an undeclared optional
    /// feature).
    #[must_use]
    pub fn applies(&self) -> bool {
        self.not_implemented.is_none()
    }
}

/// What a run certifies: the one decision the terminal, every report and the exit code share.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Decision {
    /// Every requirement that applies to the target ran, and every MUST passed. `not_implemented`
    /// names the optional parts the target does not declare (their requirements do not apply).
    Certified { not_implemented: Vec<String> },
    /// Everything that ran passed, but only `checked` of the `applicable` requirements ran
    /// (a `--tags` or `--features` subset, or scenarios the lab could not run here).
    Partial { checked: usize, applicable: usize },
    /// A MUST requirement (or a journey or policy run outside the catalogue) failed.
    NotCertified {
        failed_musts: Vec<String>,
        failed_outside: Vec<String>,
    },
}

impl Decision {
    /// The verdict line, e.g. `PARTIAL RUN: 1 of 45 requirements checked, all passed: not a
    /// certification`.
    #[must_use]
    pub fn headline(&self) -> String {
        match self {
            Decision::Certified { not_implemented } if not_implemented.is_empty() => {
                "CERTIFIED: every MUST requirement ran and passed.".to_owned()
            }
            Decision::Certified { not_implemented } => format!(
                "CERTIFIED: every MUST requirement ran and passed, except those on what the service does not implement ({}), SKIPPED (not implemented).",
                not_implemented.join(", ")
            ),
            Decision::Partial {
                checked: 0,
                applicable,
            } => format!(
                "PARTIAL RUN: 0 of {applicable} requirements checked (nothing that ran proves one): not a certification"
            ),
            Decision::Partial {
                checked,
                applicable,
            } => format!(
                "PARTIAL RUN: {checked} of {applicable} requirements checked, all passed: not a certification"
            ),
            Decision::NotCertified {
                failed_musts,
                failed_outside,
            } => {
                let mut parts = Vec::new();
                if !failed_musts.is_empty() {
                    parts.push(format!(
                        "MUST requirements failed: {}",
                        failed_musts.join(", ")
                    ));
                }
                if !failed_outside.is_empty() {
                    parts.push(format!(
                        "journeys or the policy run failed: {}",
                        failed_outside.join(", ")
                    ));
                }
                format!("NOT CERTIFIED: {}", parts.join("; "))
            }
        }
    }

    /// 0 for a certification or a partial run whose checks all passed, 1 when something failed.
    #[must_use]
    pub fn exit_code(&self) -> u8 {
        match self {
            Decision::Certified { .. } | Decision::Partial { .. } => 0,
            Decision::NotCertified { .. } => 1,
        }
    }
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
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
#[derive(Debug, Clone, Serialize, Deserialize)]
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
    /// [`SuiteReport::decide`], kept current by every method that changes the results, so
    /// report.json carries the same decision as the terminal.
    pub decision: Decision,
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
                let not_implemented = if ran.is_empty() {
                    proving.iter().find_map(|s| s.not_implemented.clone())
                } else {
                    None
                };
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
                    not_implemented,
                }
            })
            .collect();
        let mut report = SuiteReport {
            run_id,
            target,
            tags,
            duration_ms,
            scenario_counts,
            requirement_counts,
            requirements,
            scenarios,
            decision: Decision::Partial {
                checked: 0,
                applicable: 0,
            },
        };
        report.decision = report.decide();
        report
    }

    /// One report of two runs with disjoint catalogues (the nightly run's OIDC and OIOSAML
    /// suites): every scenario of both, weighed again against `catalogue`, both joined.
    #[must_use]
    pub fn merge(self, other: SuiteReport, catalogue: &Catalogue) -> SuiteReport {
        let mut scenarios = self.scenarios;
        scenarios.extend(other.scenarios);
        SuiteReport::build(
            self.run_id,
            format!("{} and {}", self.target, other.target),
            self.tags,
            self.duration_ms + other.duration_ms,
            catalogue,
            scenarios,
        )
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
        self.decision = self.decide();
    }

    /// Every MUST that ran passed, and no scenario outside the catalogue (a flow) failed.
    #[must_use]
    pub fn all_musts_passed(&self) -> bool {
        self.requirements
            .iter()
            .all(|r| r.verdict != Verdict::Failed)
            && self.scenarios.iter().all(|s| s.verdict != Verdict::Failed)
    }

    /// The run's decision. CERTIFIED only when every requirement that applies ran and every MUST
    /// passed; everything passed but some applicable requirement did not run: a partial run;
    /// any failure: NOT CERTIFIED.
    #[must_use]
    pub fn decide(&self) -> Decision {
        let failed_outside: Vec<String> = self
            .scenarios
            .iter()
            .filter(|s| s.verdict == Verdict::Failed && s.requirements.is_empty())
            .map(|s| s.location.clone())
            .collect();
        let failed_musts: Vec<String> =
            self.failed_musts().into_iter().map(str::to_owned).collect();
        if !failed_musts.is_empty() || !failed_outside.is_empty() {
            return Decision::NotCertified {
                failed_musts,
                failed_outside,
            };
        }
        let applicable = self.requirements.iter().filter(|r| r.applies()).count();
        let checked = self
            .requirements
            .iter()
            .filter(|r| r.applies() && r.verdict != Verdict::Skipped)
            .count();
        if checked == applicable && applicable > 0 {
            let mut not_implemented: Vec<String> = self
                .requirements
                .iter()
                .filter_map(|r| r.not_implemented.clone())
                .collect();
            not_implemented.sort();
            not_implemented.dedup();
            Decision::Certified { not_implemented }
        } else {
            Decision::Partial {
                checked,
                applicable,
            }
        }
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
            not_implemented: None,
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
        assert_eq!(report.decide().exit_code(), 1);
        assert!(
            report
                .decide()
                .headline()
                .starts_with("NOT CERTIFIED: MUST requirements failed: SP-TOKEN-SIG-01"),
            "{}",
            report.decide().headline()
        );
    }

    #[test]
    fn a_subset_that_passed_is_a_partial_run_and_undeclared_features_do_not_apply() {
        let catalogue = Catalogue::embedded();
        let total = catalogue.requirements.len();
        let partial = SuiteReport::build(
            "r".into(),
            "t".into(),
            Some("@req:SP-LOGIN-01".into()),
            0,
            &catalogue,
            vec![scenario(&["SP-LOGIN-01"], RawOutcome::Passed)],
        );
        assert_eq!(
            partial.decide(),
            Decision::Partial {
                checked: 1,
                applicable: total
            }
        );
        assert_eq!(
            partial.decide().headline(),
            format!(
                "PARTIAL RUN: 1 of {total} requirements checked, all passed: not a certification"
            )
        );
        assert_eq!(partial.decide().exit_code(), 0);
        // Every requirement ran and passed, except one on a feature the target does not declare.
        let mut all: Vec<ScenarioResult> = catalogue
            .requirements
            .iter()
            .filter(|r| r.id != "SP-LOGOUT-BC-01")
            .map(|r| scenario(&[r.id.as_str()], RawOutcome::Passed))
            .collect();
        let mut undeclared = scenario(
            &["SP-LOGOUT-BC-01"],
            RawOutcome::Skipped("not implemented".into()),
        );
        undeclared.not_implemented = Some("backchannel_logout".into());
        all.push(undeclared);
        let report = SuiteReport::build("r".into(), "t".into(), None, 0, &catalogue, all);
        let bc = report
            .requirements
            .iter()
            .find(|r| r.id == "SP-LOGOUT-BC-01")
            .unwrap();
        assert_eq!(bc.verdict_text(), "SKIPPED (not implemented)");
        assert_eq!(
            report.decide(),
            Decision::Certified {
                not_implemented: vec!["backchannel_logout".into()]
            }
        );
        // Nothing at all ran: never a certification.
        let empty = SuiteReport::build("r".into(), "t".into(), None, 0, &catalogue, vec![]);
        assert!(matches!(
            empty.decide(),
            Decision::Partial { checked: 0, .. }
        ));
    }
}
