//! `mitid-lab`: the one binary over the lab's crates.
//!
//! The binary is thin: argument parsing, file and terminal I/O, reports. The work happens in
//! `mitid-devices` (authenticators), `mitid-sim` (the discrete-event model) and
//! `mitid-components` (the real services). Each subcommand lives in its own module under `cli/`.

mod cli;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(name = "mitid-lab", version, about = "Simulation and conformance test lab for MitID and the NemID retirement")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run a policy scenario (or a queue validation scenario) on a synthetic Denmark.
    Simulate(cli::simulate::Args),
    /// Start, serve or list the lab's components (IdP, CPR, Citizen Service, ...).
    Components(cli::components::Args),
    /// Measure the lab: complete login flows per second, simulator throughput.
    Bench(cli::bench::Args),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Simulate(args) => cli::simulate::run(args),
        Command::Components(args) => cli::components::run(args),
        Command::Bench(args) => cli::bench::run(args),
    };
    match result {
        Ok(code) => code,
        Err(err) => cli::report_error(&err),
    }
}
