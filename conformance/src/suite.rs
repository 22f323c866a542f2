//! Whole runs: certify one target, or self-check the suite against the reference service provider
//! and each of its named flaws. The CLI (`certify`, `run`) and the `conformance` test both call
//! these, so what the test proves is what integrators run.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use mitid_components::runtime::RuntimeKind;
use serde::Serialize;

use super::catalogue::Catalogue;
use super::outcome::{SuiteReport, Verdict};
use super::runner::{self, CucumberOutputs, Features};
use super::setup::{self, SetupError};
use super::world::Lab;

/// The conformance features, relative to the project root.
pub const SP_FEATURES: &str = "features/conformance/sp";
/// Citizen journeys driven against the components.
pub const FLOW_FEATURES: &str = "features/flows";

/// The workspace root this crate was built in (the parent of `conformance/`).
pub fn source_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map_or_else(|| PathBuf::from("."), Path::to_path_buf)
}

/// `rel` under the working directory if it exists there, else under the source tree this binary
/// was built from (so `certify` works from any directory of a checkout).
#[must_use]
pub fn project_path(rel: &str) -> PathBuf {
    let here = PathBuf::from(rel);
    if here.exists() {
        here
    } else {
        source_root().join(rel)
    }
}

/// A short id for report directories and citizen user IDs: seconds since the epoch in base 36.
#[must_use]
pub fn run_tag() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    let mut n = secs * 1000 + u64::from(nanos / 1_000_000);
    let digits = b"0123456789abcdefghijklmnopqrstuvwxyz";
    let mut out = Vec::new();
    while n > 0 {
        out.push(digits[(n % 36) as usize]);
        n /= 36;
    }
    out.reverse();
    String::from_utf8(out).expect("base-36 digits are ASCII")
}

/// Runs `features` against `lab` and weighs the results.
pub async fn run_against(
    lab: Arc<Lab>,
    features: &Features,
    catalogue: &Catalogue,
    run_id: &str,
    cucumber_dir: Option<&Path>,
) -> std::io::Result<SuiteReport> {
    let started = Instant::now();
    let outputs = match cucumber_dir {
        Some(dir) => {
            std::fs::create_dir_all(dir)?;
            Some(CucumberOutputs {
                junit: dir.join(".cucumber-junit.xml.tmp"),
                json: dir.join(".cucumber.json.tmp"),
            })
        }
        None => None,
    };
    let results = runner::run(
        Arc::clone(&lab),
        features,
        runner::DEFAULT_CONCURRENCY,
        outputs.as_ref(),
    )
    .await?;
    if let (Some(outputs), Some(dir)) = (&outputs, cucumber_dir) {
        outputs.redact()?;
        std::fs::rename(&outputs.junit, dir.join("cucumber-junit.xml"))?;
        std::fs::rename(&outputs.json, dir.join("cucumber.json"))?;
    }
    Ok(SuiteReport::build(
        run_id.to_owned(),
        lab.sp.label.clone(),
        features.tags_text.clone(),
        started.elapsed().as_millis() as u64,
        catalogue,
        results,
    ))
}

/// Certifies the reference service provider (with `flaws`) on a fresh stack.
pub fn certify_reference(
    flaws: &[String],
    kind: RuntimeKind,
    features: &Features,
    catalogue: &Catalogue,
    run_id: &str,
    cucumber_dir: Option<&Path>,
) -> Result<SuiteReport, SuiteError> {
    let runtime = tokio_runtime()?;
    let reference = setup::reference(flaws, kind, run_id, &runtime)?;
    let report = runtime.block_on(run_against(
        Arc::clone(&reference.lab),
        features,
        catalogue,
        run_id,
        cucumber_dir,
    ))?;
    drop(reference);
    Ok(report)
}

#[derive(Debug, thiserror::Error)]
pub enum SuiteError {
    #[error(transparent)]
    Setup(#[from] SetupError),
    #[error("cannot write the run's files: {0}")]
    Io(#[from] std::io::Error),
}

pub fn tokio_runtime() -> std::io::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
}

/// One row of the self-check: a flaw and the requirements that caught it.
#[derive(Debug, Clone, Serialize)]
pub struct SelfCheckRow {
    /// `None` for the correct reference service provider.
    pub flaw: Option<String>,
    pub failed_musts: Vec<String>,
    pub warnings: Vec<String>,
    pub skipped: Vec<String>,
    pub duration_ms: u64,
}

impl SelfCheckRow {
    /// The reference passes every MUST; a flaw fails at least one.
    #[must_use]
    pub fn ok(&self) -> bool {
        match self.flaw {
            None => self.failed_musts.is_empty(),
            Some(_) => !self.failed_musts.is_empty(),
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct SelfCheck {
    pub rows: Vec<SelfCheckRow>,
    /// The reference run's full report (evidence for any requirement it failed).
    pub reference: SuiteReport,
}

impl SelfCheck {
    pub fn ok(&self) -> bool {
        self.rows.iter().all(SelfCheckRow::ok)
    }

    /// The table `certify selfcheck` prints.
    #[must_use]
    pub fn table(&self) -> String {
        use std::fmt::Write as _;
        let mut out = String::from(
            "| service provider | verdict | MUST requirements failed (caught by) | SHOULD warnings |\n|---|---|---|---|\n",
        );
        for row in &self.rows {
            let name = row.flaw.as_ref().map_or_else(
                || "reference (no flaw)".to_owned(),
                |f| format!("--flaw {f}"),
            );
            let verdict = match (&row.flaw, row.ok()) {
                (None, true) => "passes every MUST",
                (None, false) => "FAILS a MUST (suite or reference is wrong)",
                (Some(_), true) => "caught",
                (Some(_), false) => "NOT CAUGHT",
            };
            let _ = writeln!(
                out,
                "| {name} | {verdict} | {} | {} |",
                if row.failed_musts.is_empty() {
                    "—".to_owned()
                } else {
                    row.failed_musts.join(", ")
                },
                if row.warnings.is_empty() {
                    "—".to_owned()
                } else {
                    row.warnings.join(", ")
                }
            );
        }
        out
    }
}

fn row(flaw: Option<String>, report: &SuiteReport) -> SelfCheckRow {
    let ids = |v: Verdict| {
        report
            .requirements
            .iter()
            .filter(|r| r.verdict == v)
            .map(|r| r.id.clone())
            .collect()
    };
    let mut failed_musts: Vec<String> = ids(Verdict::Failed);
    // A failing flow (no requirement) also counts against the reference.
    failed_musts.extend(
        report
            .scenarios
            .iter()
            .filter(|s| s.verdict == Verdict::Failed && s.requirements.is_empty())
            .map(|s| s.location.clone()),
    );
    SelfCheckRow {
        flaw,
        failed_musts,
        warnings: ids(Verdict::Warning),
        skipped: ids(Verdict::Skipped),
        duration_ms: report.duration_ms,
    }
}

/// Runs the suite against the reference service provider and against each flaw in turn.
pub fn selfcheck(
    flaws: &[String],
    kind: RuntimeKind,
    features: &Features,
    catalogue: &Catalogue,
    run_id: &str,
    mut progress: impl FnMut(&SelfCheckRow),
) -> Result<SelfCheck, SuiteError> {
    let reference = certify_reference(&[], kind, features, catalogue, run_id, None)?;
    let mut rows = vec![row(None, &reference)];
    progress(&rows[0]);
    for flaw in flaws {
        let report = certify_reference(
            std::slice::from_ref(flaw),
            kind,
            features,
            catalogue,
            run_id,
            None,
        )?;
        let r = row(Some(flaw.clone()), &report);
        progress(&r);
        rows.push(r);
    }
    Ok(SelfCheck { rows, reference })
}
