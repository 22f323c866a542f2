//! `mitid-lab run`: the nightly job. Every feature (conformance and citizen journeys) against the
//! lab's own components, plus the default policy scenario at a reduced population; all reports
//! under `reports/<run>/`; exit 0 only if every MUST passed (and the policy run succeeded).

use std::path::PathBuf;
use std::process::ExitCode;

use super::certify::{Runtime, finish, load_features};
use crate::conformance::catalogue::Catalogue;
use crate::conformance::suite::{self, FLOW_FEATURES, SP_FEATURES};

/// The policy scenario the nightly run simulates.
pub const NIGHTLY_SCENARIO: &str = "scenarios/nemid-phaseout-2023.yaml";
/// Population of the nightly policy run: large enough to exercise every queue, small enough to
/// take seconds.
pub const NIGHTLY_POPULATION: u32 = 50_000;

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
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let catalogue = Catalogue::embedded();
    let features = load_features(
        &[],
        &[SP_FEATURES, FLOW_FEATURES],
        &catalogue,
        args.tags.as_deref(),
    )?;
    let run_id = format!("nightly-{}", suite::run_tag());
    let dir = args.reports.join(&run_id);
    let report = suite::certify_reference(
        &[],
        args.runtime.kind(),
        &features,
        &catalogue,
        &run_id,
        Some(&dir),
    )?;
    let features_code = finish(&report, &dir)?;
    let mut ok = features_code == ExitCode::SUCCESS;
    if !args.no_policy {
        let scenario = suite::project_path(NIGHTLY_SCENARIO);
        if scenario.exists() {
            println!(
                "\npolicy scenario {} at population {NIGHTLY_POPULATION}:",
                scenario.display()
            );
            let policy = super::simulate::run(super::simulate::Args {
                scenario,
                sets: Vec::new(),
                population: Some(NIGHTLY_POPULATION),
                seed: None,
                out: Some(dir.join("policy")),
            });
            match policy {
                Ok(code) if code == ExitCode::SUCCESS => {}
                Ok(_) => ok = false,
                Err(err) => {
                    eprintln!("error: the policy scenario failed: {err:#}");
                    ok = false;
                }
            }
        } else {
            println!("\nno policy scenario at {NIGHTLY_SCENARIO}: skipped");
        }
    }
    Ok(if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}
