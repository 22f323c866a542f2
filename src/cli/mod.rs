//! Subcommands, one module each, and the binary's error edge.

pub mod bench;
pub mod certify;
pub mod components;
pub mod run;
pub mod simulate;
pub mod sweep;

use std::process::ExitCode;

/// Bad input from the user (a scenario file, a flag, a target file): exit code 2.
///
/// Wrap the library's typed error in this at the binary's edge so `main` can tell "you gave me
/// something wrong" (2) from "the run failed" (1).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct BadInput(pub String);

/// Prints the error chain and picks the exit code: 2 for [`BadInput`], 1 otherwise.
pub fn report_error(err: &anyhow::Error) -> ExitCode {
    eprintln!("error: {err:#}");
    if err
        .chain()
        .any(|cause| cause.downcast_ref::<BadInput>().is_some())
    {
        ExitCode::from(2)
    } else {
        ExitCode::from(1)
    }
}
