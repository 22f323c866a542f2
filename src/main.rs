//! `mitid-lab`: the one binary over the lab's crates.
//!
//! The binary is thin: argument parsing, file and terminal I/O, reports. The work happens in
//! `mitid-devices` (authenticators), `mitid-sim` (the discrete-event model) and
//! `mitid-components` (the real services). Each subcommand lives in its own module under `cli/`.

mod cli;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

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
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Simulate(args) => cli::simulate::run(args),
        Command::Compare(args) => cli::simulate::compare::run(&args),
        Command::Components(args) => cli::components::run(args),
        Command::Bench(args) => cli::bench::run(args),
        Command::Certify(args) => cli::certify::run(args),
        Command::Run(args) => cli::run::run(&args),
        Command::Sweep(args) => cli::sweep::run(args),
    };
    match result {
        Ok(code) => code,
        Err(err) => cli::report_error(&err),
    }
}
