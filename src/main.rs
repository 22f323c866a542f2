//! `mitid-lab`: the one binary over the lab's crates.
//!
//! The binary is thin: argument parsing, file and terminal I/O, reports. The work happens in
//! `mitid-devices` (authenticators), `mitid-sim` (the discrete-event model) and
//! `mitid-components` (the real services). Each subcommand lives in its own module under `cli/`.

mod cli;
mod live;

use std::process::ExitCode;

use clap::{CommandFactory as _, FromArgMatches as _, Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(
    name = "mitid-lab",
    version,
    about = "Simulation and conformance test lab for MitID and the NemID retirement"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run a policy scenario (or a queue validation scenario) on a synthetic Denmark.
    Simulate(cli::simulate::Args),
    /// Compare two `simulate` report folders (a policy what-if) in one chart.
    Compare(cli::simulate::compare::Args),
    /// Start, serve or list the lab's components (IdP, CPR, Citizen Service, ...).
    Components(cli::components::Args),
    /// Measure the lab: complete login flows per second, simulator throughput.
    Bench(cli::bench::Args),
    /// Certify a MitID service provider against the conformance suite (init, list, selfcheck).
    Certify(cli::certify::Args),
    /// The nightly job: every feature against the lab's components, the policy scenario, all reports.
    Run(cli::run::Args),
    /// What-if sweeps: a scenario x a grid of overrides x replications, merged into intervals,
    /// on this machine or on a Slurm cluster.
    Sweep(cli::sweep::Args),
    /// The terminal dashboard: watch a policy run day by day, run certify and read its results.
    Tui(cli::tui::Args),
}

fn main() -> ExitCode {
    quiet_on_closed_stdout();
    let matches = cli::exit::with_codes_help(Cli::command()).get_matches();
    let cli = Cli::from_arg_matches(&matches).unwrap_or_else(|err| err.exit());
    let dispatched = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| match cli.command {
        Command::Simulate(args) => cli::simulate::run(args),
        Command::Compare(args) => cli::simulate::compare::run(&args),
        Command::Components(args) => cli::components::run(args),
        Command::Bench(args) => cli::bench::run(args),
        Command::Certify(args) => cli::certify::run(args),
        Command::Run(args) => cli::run::run(&args),
        Command::Sweep(args) => cli::sweep::run(args),
        Command::Tui(args) => cli::tui::run(args),
    }));
    match dispatched {
        Ok(Ok(code)) => code,
        Ok(Err(err)) => cli::report_error(&err),
        // The reader of our output went away (`| head`): what was being done was unwound (a
        // report folder still being written is removed) and the process ends the way a Unix
        // tool ended by SIGPIPE does.
        Err(payload) if is_closed_stdout(payload.as_ref()) => ExitCode::from(141),
        Err(payload) => std::panic::resume_unwind(payload),
    }
}

/// `println!` panics when stdout is a pipe whose reader has gone; such a panic is not a bug of
/// the lab, so it is not reported as one (see `main`).
fn quiet_on_closed_stdout() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        if !is_closed_stdout(info.payload()) {
            default(info);
        }
    }));
}

fn is_closed_stdout(payload: &(dyn std::any::Any + Send)) -> bool {
    let text = payload
        .downcast_ref::<String>()
        .map(String::as_str)
        .or_else(|| payload.downcast_ref::<&str>().copied())
        .unwrap_or_default();
    text.starts_with("failed printing to stdout") && text.contains("Broken pipe")
}
