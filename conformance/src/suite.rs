//! Whole runs: certify one target, or self-check the suite against the reference service provider
//! and each of its named flaws. The CLI (`certify`, `run`) and the `conformance` test both call
//! these, so what the test proves is what integrators run.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use mitid_components::runtime::RuntimeKind;
use mitid_components::runtime::interrupt::{self, Interrupted};
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
///
/// Cucumber's own JUnit and JSON files go to `cucumber_dir` (a report folder still being
/// written: the CLI hands in its staging folder). An interrupt (SIGINT, SIGTERM) stops the run
/// and answers [`SuiteError::Interrupted`]: an interrupted run is never weighed into a verdict.
pub async fn run_against(
    lab: Arc<Lab>,
    features: &Features,
    catalogue: &Catalogue,
    run_id: &str,
    cucumber_dir: Option<&Path>,
) -> Result<SuiteReport, SuiteError> {
    interrupt::check()?;
    let started = Instant::now();
    let write_error = |dir: &Path| {
        let dir = dir.to_owned();
        move |source| SuiteError::Write { dir, source }
    };
    let outputs = match cucumber_dir {
        Some(dir) => {
            std::fs::create_dir_all(dir).map_err(write_error(dir))?;
            Some(CucumberOutputs {
                junit: dir.join(".cucumber-junit.xml.tmp"),
                json: dir.join(".cucumber.json.tmp"),
            })
        }
        None => None,
    };
    let run = runner::run(
        Arc::clone(&lab),
        features,
        runner::DEFAULT_CONCURRENCY,
        outputs.as_ref(),
    );
    let results = tokio::select! {
        biased;
        stopped = interrupt::wait() => return Err(stopped.into()),
        results = run => results,
    };
    // A signal that came while the last scenarios ended (e.g. containers removed under them)
    // still makes the run an interrupted one.
    interrupt::check()?;
    let results = match (results, cucumber_dir) {
        (Err(source), Some(dir)) => return Err(write_error(dir)(source)),
        (Err(source), None) => return Err(SuiteError::Io(source)),
        (Ok(results), _) => results,
    };
    if let (Some(outputs), Some(dir)) = (&outputs, cucumber_dir) {
        outputs.redact().map_err(write_error(dir))?;
        std::fs::rename(&outputs.junit, dir.join("cucumber-junit.xml"))
            .and_then(|()| std::fs::rename(&outputs.json, dir.join("cucumber.json")))
            .map_err(write_error(dir))?;
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
    interrupt::check()?;
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

/// Certifies an integrator's service, described by a checked target file, against a lab
/// started for it (the broker it logs in at and the registers behind it); the lab stops when
/// the run ends. The service is first asked to start a login (the preflight), so a service that
/// is down or misconfigured is said so before any scenario runs.
pub fn certify_external(
    target: &crate::target::Target,
    features: &Features,
    catalogue: &Catalogue,
    run_id: &str,
    cucumber_dir: Option<&Path>,
) -> Result<SuiteReport, SuiteError> {
    interrupt::check()?;
    let runtime = tokio_runtime()?;
    runtime.block_on(async {
        let external = setup::external(target, run_id).await?;
        let lab = &external.lab;
        setup::preflight(&lab.sp, &lab.endpoints.issuer, Some(&lab.sp.client_id)).await?;
        let report = run_against(
            Arc::clone(&external.lab),
            features,
            catalogue,
            run_id,
            cucumber_dir,
        )
        .await?;
        external.public.shutdown().await;
        external.control.shutdown().await;
        Ok(report)
    })
}

#[derive(Debug, thiserror::Error)]
pub enum SuiteError {
    #[error(transparent)]
    Setup(#[from] SetupError),
    /// The cause is the chained source, not repeated here (the CLI prints the chain).
    #[error("cannot write the run's files in {}", dir.display())]
    Write {
        dir: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("the suite's runtime failed")]
    Io(#[from] std::io::Error),
    #[error(transparent)]
    Interrupted(#[from] Interrupted),
    /// A journey could not be picked out of its feature file (see [`crate::journey`]).
    #[error("{0}")]
    Journey(String),
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
    /// The requirement written to catch the flaw (from the flaw catalogue).
    pub expected: Option<String>,
    pub failed_musts: Vec<String>,
    pub warnings: Vec<String>,
    pub skipped: Vec<String>,
    pub duration_ms: u64,
}

impl SelfCheckRow {
    /// The reference passes every MUST; a flaw fails its own requirement (others may fail
    /// too, but a flaw caught only by them, collaterally, leaves its requirement unproven).
    #[must_use]
    pub fn ok(&self) -> bool {
        match (&self.flaw, &self.expected) {
            (None, _) => self.failed_musts.is_empty(),
            (Some(_), Some(expected)) => self.failed_musts.contains(expected),
            (Some(_), None) => false,
        }
    }

    /// What the row's verdict is, in words.
    #[must_use]
    pub fn verdict(&self) -> String {
        match (&self.flaw, self.ok(), &self.expected) {
            (None, true, _) => "passes every MUST".to_owned(),
            (None, false, _) => "FAILS a MUST (suite or reference is wrong)".to_owned(),
            (Some(_), true, Some(expected)) => format!("caught by {expected}"),
            (Some(_), false, Some(expected)) if self.failed_musts.is_empty() => {
                format!("NOT CAUGHT (by {expected} or any other)")
            }
            (Some(_), false, Some(expected)) => {
                format!("NOT CAUGHT by {expected}, only collaterally")
            }
            (Some(_), _, None) => "no requirement named for this flaw".to_owned(),
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
            "| service provider | verdict | MUST requirements failed | SHOULD warnings |\n|---|---|---|---|\n",
        );
        for row in &self.rows {
            let name = row.flaw.as_ref().map_or_else(
                || "reference (no flaw)".to_owned(),
                |f| format!("--flaw {f}"),
            );
            let verdict = row.verdict();
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

/// The requirement the OIDC reference service provider's flaw `name` must fail.
fn oidc_expected(name: &str) -> Option<String> {
    mitid_components::reference_sp::FlawCatalogue::embedded()
        .named(name)
        .map(|entry| entry.requirement.clone())
}

fn row(flaw: Option<String>, expected: Option<String>, report: &SuiteReport) -> SelfCheckRow {
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
        expected,
        failed_musts,
        warnings: ids(Verdict::Warning),
        skipped: ids(Verdict::Skipped),
        duration_ms: report.duration_ms,
    }
}

/// Stacks the self-check runs at once by default. Each embedded stack is a few threads of
/// loopback services whose scenarios mostly wait (timeouts, the unreachable broker), so several
/// overlap well even on two cores. Containers share one set of routes per process: one at a time.
#[must_use]
pub fn selfcheck_jobs(kind: RuntimeKind) -> usize {
    match kind {
        RuntimeKind::Embedded => 6,
        RuntimeKind::Containers => 1,
    }
}

/// Runs the suite against the reference service provider and against each flaw, `jobs` stacks
/// at once (each on a fresh stack of its own), and reports the rows in the order given.
pub fn selfcheck(
    flaws: &[String],
    kind: RuntimeKind,
    features: &Features,
    catalogue: &Catalogue,
    run_id: &str,
    jobs: usize,
    progress: impl FnMut(&SelfCheckRow),
) -> Result<SelfCheck, SuiteError> {
    selfcheck_with(
        flaws,
        jobs,
        |flaw| certify_reference(flaw, kind, features, catalogue, run_id, None),
        oidc_expected,
        progress,
    )
}

/// The self-check's scheduling, for any protocol: `certify(flaws)` runs the suite against the
/// reference with those flaws (none: the correct one) on a fresh stack, `expected(flaw)` names
/// the requirement that flaw must fail. `jobs` runs at once; rows in the order given.
pub fn selfcheck_with(
    flaws: &[String],
    jobs: usize,
    certify: impl Fn(&[String]) -> Result<SuiteReport, SuiteError> + Sync,
    expected: impl Fn(&str) -> Option<String>,
    mut progress: impl FnMut(&SelfCheckRow),
) -> Result<SelfCheck, SuiteError> {
    let mut runs: Vec<Option<String>> = vec![None];
    runs.extend(flaws.iter().cloned().map(Some));
    let next = std::sync::atomic::AtomicUsize::new(0);
    let (done_tx, done_rx) = std::sync::mpsc::channel();
    let mut reports: Vec<Option<SuiteReport>> = vec![None; runs.len()];
    std::thread::scope(|scope| -> Result<(), SuiteError> {
        for _ in 0..jobs.clamp(1, runs.len()) {
            let done_tx = done_tx.clone();
            let (runs, next, certify) = (&runs, &next, &certify);
            scope.spawn(move || {
                loop {
                    let index = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    let Some(flaw) = runs.get(index) else { break };
                    let result = certify(flaw.as_slice());
                    let failed = result.is_err();
                    if done_tx.send((index, result)).is_err() || failed {
                        break;
                    }
                }
            });
        }
        drop(done_tx);
        for (index, result) in done_rx {
            let report = result?;
            let flaw = runs[index].clone();
            let wanted = flaw.as_deref().and_then(&expected);
            progress(&row(flaw, wanted, &report));
            reports[index] = Some(report);
        }
        Ok(())
    })?;
    let mut rows = Vec::new();
    let mut reference = None;
    for (flaw, report) in runs.into_iter().zip(reports) {
        let report = report.expect("every run reported or the self-check returned its error");
        let wanted = flaw.as_deref().and_then(&expected);
        rows.push(row(flaw.clone(), wanted, &report));
        if flaw.is_none() {
            reference = Some(report);
        }
    }
    Ok(SelfCheck {
        rows,
        reference: reference.expect("the reference runs first"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn flaw_row(failed: &[&str]) -> SelfCheckRow {
        SelfCheckRow {
            flaw: Some("never-refresh-jwks".into()),
            expected: Some("SP-JWKS-ROTATE-01".into()),
            failed_musts: failed.iter().map(|s| (*s).to_owned()).collect(),
            warnings: Vec::new(),
            skipped: Vec::new(),
            duration_ms: 0,
        }
    }

    #[test]
    fn a_flaw_caught_only_collaterally_is_not_caught() {
        let collateral = flaw_row(&["SP-LOGIN-01", "SP-PKCE-01"]);
        assert!(!collateral.ok());
        assert!(
            collateral.verdict().contains("only collaterally"),
            "{}",
            collateral.verdict()
        );
        let own = flaw_row(&["SP-LOGIN-01", "SP-JWKS-ROTATE-01"]);
        assert!(own.ok());
        assert_eq!(own.verdict(), "caught by SP-JWKS-ROTATE-01");
        assert!(flaw_row(&[]).verdict().starts_with("NOT CAUGHT"));
    }
}
