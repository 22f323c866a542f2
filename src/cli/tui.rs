//! `mitid-lab tui`: the terminal dashboard. Argument parsing only; the dashboard is the
//! `mitid-tui` crate.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Result;

use super::BadInput;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The policy scenario to watch [default: scenarios/demo-100k.yaml, or the script's].
    pub scenario: Option<PathBuf>,
    /// Seed of the run (the scenario's `seed`).
    #[arg(long, value_name = "S")]
    pub seed: Option<u64>,
    /// Number of synthetic citizens (`population.size`).
    #[arg(long, value_name = "N")]
    pub population: Option<u32>,
    /// Override any scenario field, as `simulate --set` does (repeatable).
    #[arg(long = "set", value_name = "FIELD=VALUE")]
    pub sets: Vec<String>,
    /// Open an earlier certify run's report folder (its report.json) in the conformance view.
    #[arg(long, value_name = "DIR")]
    pub report: Option<PathBuf>,
    /// Replay a demo script (scenario, seed, keys with pauses), then hand over the keyboard.
    #[arg(long, value_name = "FILE")]
    pub script: Option<PathBuf>,
}

pub fn run(args: Args) -> Result<ExitCode> {
    let options = mitid_tui::Options {
        scenario: args.scenario,
        seed: args.seed,
        population: args.population,
        sets: args.sets,
        report: args.report,
        script: args.script,
    };
    match mitid_tui::run(&options) {
        Ok(()) => Ok(ExitCode::SUCCESS),
        Err(err) if err.is_bad_input() => Err(BadInput(err.to_string()).into()),
        Err(err) => Err(err.into()),
    }
}
