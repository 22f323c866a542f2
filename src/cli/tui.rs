//! `mitid-lab tui`: the terminal dashboard. Argument parsing only; the dashboard is the
//! `mitid-tui` crate.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Result;

use super::BadInput;
use crate::live::session::{self, LiveSession};
use crate::live::{LiveError, LiveOptions, Speed};
use mitid_sim::policy::PolicyScenario;

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
    /// Certify your service from the conformance view: its target file (`certify init` writes
    /// one); `r` runs it, `t` switches to the reference service provider and its flaws.
    #[arg(long, value_name = "FILE")]
    pub target_config: Option<PathBuf>,
    /// Replay a demo script (scenario, seed, keys with pauses), then hand over the keyboard.
    #[arg(long, value_name = "FILE")]
    pub script: Option<PathBuf>,
    /// Language of the Flows view's narration: en or da.
    #[arg(long, value_name = "LANG", default_value = "en", value_parser = ["en", "da"])]
    pub lang: String,
    /// Presenter mode: large device drawings, the keys pressed, CPR numbers, codes and tokens
    /// redacted.
    #[arg(long)]
    pub presenter: bool,
    /// Live mode: a sample of the simulated citizens acts for real against the lab's
    /// components as the simulation plays, and the flows performed and failed per component
    /// appear beside the model's figures (as `simulate --live`, a day at a time).
    #[arg(long)]
    pub live: bool,
    #[command(flatten)]
    pub live_setup: super::simulate::LiveSampleArgs,
}

pub fn run(args: Args) -> Result<ExitCode> {
    let options = mitid_tui::Options {
        scenario: args.scenario,
        seed: args.seed,
        population: args.population,
        sets: args.sets,
        report: args.report,
        target_config: args.target_config,
        script: args.script,
        lang: mitid_tui::flows::Lang::parse(&args.lang).unwrap_or_default(),
        presenter: args.presenter,
    };
    let result = if args.live {
        let live = args.live_setup;
        let runtime = live.runtime.kind();
        mitid_tui::run_with(
            &options,
            &mut |policy: PolicyScenario, seed: u64, say: &mut dyn FnMut(&str)| {
                // Checked before the components start, so a bad size is refused at once.
                let sample = live
                    .sample(policy.population.size)
                    .map_err(|BadInput(message)| mitid_tui::TuiError::BadInput(message))?;
                say(&format!(
                    "starting the lab's components ({}) for the live run…",
                    session::runtime_name(runtime)
                ));
                let options = LiveOptions {
                    runtime,
                    sample,
                    // The dashboard paces the run (its play speed); a day's flows go at once.
                    speed: Speed::Max,
                };
                match LiveSession::start(policy, seed, options) {
                    Ok(session) => Ok(Box::new(session) as Box<dyn mitid_tui::run::SteppableRun>),
                    Err(LiveError::Policy(err)) => Err(mitid_tui::TuiError::Simulation(err)),
                    Err(other) => Err(mitid_tui::TuiError::Live(Box::new(other))),
                }
            },
        )
    } else {
        mitid_tui::run(&options)
    };
    match result {
        Ok(()) => Ok(ExitCode::SUCCESS),
        Err(err) if err.is_bad_input() => Err(BadInput(err.to_string()).into()),
        Err(err) => Err(err.into()),
    }
}
