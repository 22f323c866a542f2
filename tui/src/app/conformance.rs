//! The conformance view's state: which target to certify, the last report, the requirement
//! tree's rows (requirements and, when opened, their scenarios) and the exchange of a scenario
//! being read.

use mitid_conformance::evidence::Actor;
use mitid_conformance::outcome::{ScenarioResult, SuiteReport, Verdict};
use std::collections::BTreeSet;
use std::path::PathBuf;

/// What a certify run is pointed at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// The lab's reference service provider as it should be.
    Reference,
    /// The reference service provider with one named flaw.
    Flaw(String),
    /// An integrator's service, described by a target file (`certify init` writes one).
    File(PathBuf),
}

impl Target {
    /// The word the palette takes for it (`certify WORD`).
    #[must_use]
    pub fn word(&self) -> String {
        match self {
            Target::Reference => "reference".to_owned(),
            Target::Flaw(name) => name.clone(),
            Target::File(path) => path.display().to_string(),
        }
    }

    /// How the command line would say it.
    #[must_use]
    pub fn label(&self) -> String {
        match self {
            Target::Reference => "reference".to_owned(),
            Target::Flaw(name) => format!("reference --flaw {name}"),
            Target::File(path) => format!("--config {}", path.display()),
        }
    }
}

/// Where a certify run stands.
#[derive(Debug, Clone, PartialEq)]
pub enum CertifyStatus {
    Idle,
    /// Running against `target` (only `requirement`'s scenarios, when one is named) for
    /// `ticks` ticks.
    Running {
        target: String,
        requirement: Option<String>,
        ticks: u32,
    },
    /// The last run could not be carried out (its report, if any earlier, stays on screen).
    Error(String),
}

/// The conformance view's state.
#[derive(Debug, Clone)]
pub struct Conformance {
    /// The reference service provider, then each of its named flaws, then any target file.
    pub targets: Vec<Target>,
    pub target: usize,
    pub status: CertifyStatus,
    pub report: Option<SuiteReport>,
    /// Where the report on screen came from (`certify reference --flaw X`, a report.json path).
    pub source: Option<String>,
    /// Selected row of the tree.
    pub selected: usize,
    /// Requirement ids whose scenarios are shown.
    pub open: BTreeSet<String>,
    /// The selected scenario's exchange being read in full (`→` from a scenario row).
    pub exchange: Option<usize>,
}

/// One row of the requirement tree.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TreeRow {
    /// Index into `report.requirements`.
    Requirement(usize),
    /// A requirement's scenario: (requirement index, index into `report.scenarios`).
    Scenario(usize, usize),
}

impl Conformance {
    #[must_use]
    pub fn new(flaws: Vec<String>) -> Self {
        let mut targets = vec![Target::Reference];
        targets.extend(flaws.into_iter().map(Target::Flaw));
        Self {
            targets,
            target: 0,
            status: CertifyStatus::Idle,
            report: None,
            source: None,
            selected: 0,
            open: BTreeSet::new(),
            exchange: None,
        }
    }

    /// Adds a target file (once) and selects it.
    pub fn choose_file(&mut self, path: PathBuf) {
        let file = Target::File(path);
        self.target = if let Some(at) = self.targets.iter().position(|t| *t == file) {
            at
        } else {
            self.targets.push(file);
            self.targets.len() - 1
        };
    }

    /// The selected row's requirement id and, on a scenario row, the scenario.
    #[must_use]
    pub fn selection(&self, filter: &str) -> Option<(&str, Option<&ScenarioResult>)> {
        let report = self.report.as_ref()?;
        match self.rows(filter).get(self.selected)? {
            TreeRow::Requirement(index) => Some((report.requirements[*index].id.as_str(), None)),
            TreeRow::Scenario(index, scenario) => Some((
                report.requirements[*index].id.as_str(),
                Some(&report.scenarios[*scenario]),
            )),
        }
    }

    /// The exchange that decided a failed scenario: the browser's last request before the
    /// failing step gave up (what the scenario's checks read). The service provider's own calls
    /// to the broker and the lab's set-up calls are recorded by other clients and may be stored
    /// after it, so they are passed over unless the browser made none.
    #[must_use]
    pub fn deciding_exchange(scenario: &ScenarioResult) -> Option<usize> {
        scenario
            .evidence
            .iter()
            .rposition(|e| e.actor == Actor::Browser)
            .or_else(|| scenario.evidence.len().checked_sub(1))
    }

    /// Jumps from the selected row to the first scenario of its requirement that did not pass
    /// and to the exchange that decided it. Answers whether there was one to jump to.
    pub fn jump_to_failure(&mut self, filter: &str) -> bool {
        let Some((id, _)) = self.selection(filter) else {
            return false;
        };
        let id = id.to_owned();
        self.open.insert(id.clone());
        let Some(report) = &self.report else {
            return false;
        };
        let rows = self.rows(filter);
        let found = rows.iter().position(|row| match row {
            TreeRow::Scenario(index, scenario) => {
                report.requirements[*index].id == id
                    && matches!(
                        report.scenarios[*scenario].verdict,
                        Verdict::Failed | Verdict::Warning
                    )
            }
            TreeRow::Requirement(_) => false,
        });
        let Some(at) = found else {
            return false;
        };
        self.selected = at;
        self.exchange = match rows[at] {
            TreeRow::Scenario(_, scenario) => Self::deciding_exchange(&report.scenarios[scenario]),
            TreeRow::Requirement(_) => None,
        };
        true
    }

    /// The rows of the tree under `filter` (case-insensitive, on id and title): requirements
    /// in catalogue order, worst verdicts are not moved so the catalogue's grouping stays.
    #[must_use]
    pub fn rows(&self, filter: &str) -> Vec<TreeRow> {
        let Some(report) = &self.report else {
            return Vec::new();
        };
        let needle = filter.to_lowercase();
        let mut rows = Vec::new();
        for (index, requirement) in report.requirements.iter().enumerate() {
            if !needle.is_empty()
                && !requirement.id.to_lowercase().contains(&needle)
                && !requirement.title.to_lowercase().contains(&needle)
                && !requirement.verdict_text().to_lowercase().contains(&needle)
            {
                continue;
            }
            rows.push(TreeRow::Requirement(index));
            if self.open.contains(&requirement.id) {
                for (scenario, _) in report
                    .scenarios
                    .iter()
                    .enumerate()
                    .filter(|(_, s)| s.requirements.contains(&requirement.id))
                {
                    rows.push(TreeRow::Scenario(index, scenario));
                }
            }
        }
        rows
    }

    pub(super) fn target_label(&self) -> String {
        self.targets[self.target].label()
    }

    /// Shows `report` from `source`, opening every requirement that did not pass so the failure
    /// and its scenario are visible at once.
    pub fn show(&mut self, report: SuiteReport, source: String) {
        self.open = report
            .requirements
            .iter()
            .filter(|r| matches!(r.verdict, Verdict::Failed | Verdict::Warning))
            .map(|r| r.id.clone())
            .collect();
        self.report = Some(report);
        self.source = Some(source);
        self.exchange = None;
        // Start on the first requirement that did not pass, so its scenario shows at once.
        let rows = self.rows("");
        let report = self.report.as_ref().map(|r| &r.requirements);
        self.selected = rows
            .iter()
            .position(|row| match (row, report) {
                (TreeRow::Requirement(index), Some(requirements)) => {
                    matches!(
                        requirements[*index].verdict,
                        Verdict::Failed | Verdict::Warning
                    )
                }
                _ => false,
            })
            .unwrap_or(0);
    }
}
