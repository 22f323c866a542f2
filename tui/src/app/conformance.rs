//! The conformance view's state: which target to certify, the last report, and the requirement
//! tree's rows (requirements and, when opened, their scenarios).

use mitid_conformance::outcome::{SuiteReport, Verdict};
use std::collections::BTreeSet;

/// Where a certify run stands.
#[derive(Debug, Clone, PartialEq)]
pub enum CertifyStatus {
    Idle,
    /// Running against `target` for `ticks` ticks.
    Running {
        target: String,
        ticks: u32,
    },
    /// The last run could not be carried out (its report, if any earlier, stays on screen).
    Error(String),
}

/// The conformance view's state.
#[derive(Debug, Clone)]
pub struct Conformance {
    /// `reference` and then every named flaw of the reference service provider.
    pub targets: Vec<String>,
    pub target: usize,
    pub status: CertifyStatus,
    pub report: Option<SuiteReport>,
    /// Where the report on screen came from (`certify reference --flaw X`, a report.json path).
    pub source: Option<String>,
    /// Selected row of the tree.
    pub selected: usize,
    /// Requirement ids whose scenarios are shown.
    pub open: BTreeSet<String>,
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
        let mut targets = vec!["reference".to_owned()];
        targets.extend(flaws);
        Self {
            targets,
            target: 0,
            status: CertifyStatus::Idle,
            report: None,
            source: None,
            selected: 0,
            open: BTreeSet::new(),
        }
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

    /// The target's flaws as `certify_reference` takes them.
    pub(super) fn flaws(&self) -> Vec<String> {
        if self.target == 0 {
            Vec::new()
        } else {
            vec![self.targets[self.target].clone()]
        }
    }

    pub(super) fn target_label(&self) -> String {
        if self.target == 0 {
            "reference".to_owned()
        } else {
            format!("reference --flaw {}", self.targets[self.target])
        }
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
