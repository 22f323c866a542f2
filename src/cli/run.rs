//! `mitid-lab run`: the nightly job. Every feature (OIDC and OIOSAML conformance, citizen
//! journeys) against the lab's own components, plus the default policy scenario at a reduced
//! population; all reports under `reports/<run>/`, the two catalogues weighed in one report;
//! exit 0 only if every MUST passed (and the policy run succeeded).
//!
//! The policy run is one more test case of the run's reports (feature "Policy scenario", tag
//! `@policy`), so CI sees a policy failure in the same JUnit file as a failed requirement; its own
//! report folder is `reports/<run>/policy/`.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use mitid_sim::scenario::{self, Overrides};

use super::BadInput;
use super::certify::{Runtime, finish, load_features};
use super::output::OutputDir;
use mitid_components::runtime::interrupt;
use mitid_conformance::catalogue::Catalogue;
use mitid_conformance::oiosaml::{self, SAML_FEATURES};
use mitid_conformance::outcome::{RawOutcome, ScenarioResult, Verdict};
use mitid_conformance::suite::{self, FLOW_FEATURES, SP_FEATURES};

/// The policy scenario the nightly run simulates.
pub const NIGHTLY_SCENARIO: &str = "scenarios/nemid-phaseout-2023.yaml";
/// Population of the nightly policy run: large enough to exercise every queue, small enough to
/// take seconds.
pub const NIGHTLY_POPULATION: u32 = 50_000;
/// The policy run's folder inside the run's report folder.
pub const POLICY_DIR: &str = "policy";
/// The feature name the policy run has in the run's reports.
pub const POLICY_FEATURE: &str = "Policy scenario";

#[derive(Debug, clap::Args)]
pub struct Args {
    /// How the lab's components run.
    #[arg(long, value_enum, default_value = "embedded")]
    runtime: Runtime,
    /// Tag expression selecting scenarios.
    #[arg(long)]
    tags: Option<String>,
    /// Where reports go (a directory per run is made inside).
    #[arg(long, default_value = "reports")]
    reports: PathBuf,
    /// Skip the policy scenario.
    #[arg(long)]
    no_policy: bool,
    /// The policy scenario to simulate.
    #[arg(long, default_value = NIGHTLY_SCENARIO)]
    scenario: PathBuf,
    /// Synthetic citizens in the policy run.
    #[arg(long, value_name = "N", default_value_t = NIGHTLY_POPULATION)]
    population: u32,
}

pub fn run(args: &Args) -> anyhow::Result<ExitCode> {
    let catalogue = Catalogue::embedded();
    let features = load_features(
        &[],
        &[SP_FEATURES, FLOW_FEATURES],
        &catalogue,
        args.tags.as_deref(),
    )?;
    let saml_catalogue = Catalogue::embedded_saml();
    let saml_features =
        load_features(&[], &[SAML_FEATURES], &saml_catalogue, args.tags.as_deref())?;
    // The policy scenario is read and checked before anything runs, so a malformed file is bad
    // input (exit 2, nothing written) rather than a failed night.
    let policy = if args.no_policy {
        None
    } else {
        policy_scenario(&args.scenario, args.population)?
    };
    let run_id = format!("nightly-{}", suite::run_tag());
    interrupt::install();
    let out = OutputDir::create(&args.reports.join(&run_id), "run", false)?;
    let dir = out.path().to_owned();
    let oidc = suite::certify_reference(
        &[],
        args.runtime.kind(),
        &features,
        &catalogue,
        &run_id,
        Some(&dir),
    )?;
    // The OIOSAML suite on a lab of its own; cucumber's files of it go to `saml/`.
    let saml = oiosaml::certify_reference(
        &[],
        args.runtime.kind(),
        &saml_features,
        &saml_catalogue,
        &run_id,
        Some(&dir.join("saml")),
    )?;
    let catalogue = catalogue.joined(&saml_catalogue);
    let mut report = oidc.merge(saml, &catalogue);
    if let Some(scenario) = policy {
        println!(
            "policy scenario {} at population {}:",
            scenario.display(),
            args.population
        );
        let result = run_policy(
            &scenario,
            args.population,
            &dir,
            &out.target().join(POLICY_DIR),
        );
        report.duration_ms += result.duration_ms;
        report.add_outside_catalogue(&catalogue, result);
    }
    finish(&report, out)
}

/// The scenario to simulate, checked; `None` when the default scenario is not in this checkout.
fn policy_scenario(path: &Path, population: u32) -> anyhow::Result<Option<PathBuf>> {
    let default = path == Path::new(NIGHTLY_SCENARIO);
    let path = if default {
        suite::project_path(NIGHTLY_SCENARIO)
    } else {
        path.to_owned()
    };
    if default && !path.exists() {
        println!("no policy scenario at {NIGHTLY_SCENARIO}: skipped");
        return Ok(None);
    }
    let file = path.display().to_string();
    let text = std::fs::read_to_string(&path)
        .map_err(|err| BadInput(format!("{file}: cannot read the scenario: {err}")))?;
    let overrides = Overrides {
        population: Some(population),
        ..Overrides::default()
    };
    scenario::load(&file, &text, &overrides).map_err(|err| BadInput(err.to_string()))?;
    Ok(Some(path))
}

/// Simulates `scenario` into `dir/policy` (`dir` is the run's report folder being written;
/// `shown_as` is where the policy report ends up) and answers the run's test case for it.
fn run_policy(scenario: &Path, population: u32, dir: &Path, shown_as: &Path) -> ScenarioResult {
    let started = Instant::now();
    let out = dir.join(POLICY_DIR);
    let outcome = match super::simulate::run(super::simulate::Args {
        scenario: scenario.to_owned(),
        sets: Vec::new(),
        population: Some(population),
        seed: None,
        out: Some(out.clone()),
        force: false,
        png: false,
        live: false,
        live_setup: super::simulate::LiveSampleArgs::NONE,
        target: None,
        config: None,
        target_sector: String::new(),
        speed: crate::live::Speed::Max,
        shown_as: Some(shown_as.to_owned()),
    }) {
        Ok(code) if code == ExitCode::SUCCESS => RawOutcome::Passed,
        Ok(code) => RawOutcome::Failed(format!("the policy run ended with {code:?}")),
        Err(err) => RawOutcome::Failed(format!("the policy run failed: {err:#}")),
    };
    let name = scenario
        .file_stem()
        .map_or_else(|| "policy".to_owned(), |s| s.to_string_lossy().into_owned());
    ScenarioResult {
        feature: POLICY_FEATURE.to_owned(),
        location: shown_path(scenario),
        name: format!("{name} at population {population} (report: {POLICY_DIR}/report.html)"),
        tags: vec!["policy".to_owned()],
        requirements: Vec::new(),
        outcome,
        verdict: Verdict::Passed,
        duration_ms: u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
        evidence: Vec::new(),
        not_implemented: None,
    }
}

/// `scenarios/x.yaml` when the scenario is under the working directory or the source tree.
fn shown_path(path: &Path) -> String {
    let roots = [
        std::env::current_dir().ok(),
        Some(PathBuf::from(env!("CARGO_MANIFEST_DIR"))),
    ];
    roots
        .iter()
        .flatten()
        .find_map(|root| path.strip_prefix(root).ok())
        .unwrap_or(path)
        .display()
        .to_string()
}
