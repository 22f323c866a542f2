//! Subcommands, one module each, and the binary's error edge.

pub mod bench;
pub mod certify;
pub mod certify_saml;
pub mod components;
pub mod exit;
pub mod output;
pub mod run;
pub mod simulate;
pub mod sweep;
pub mod tui;

use std::process::ExitCode;

/// Bad input from the user (a scenario file, a flag, a target file): exit code 2.
///
/// Wrap the library's typed error in this at the binary's edge so `main` can tell "you gave me
/// something wrong" (2) from "the lab could not do its work" (3).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct BadInput(pub String);

/// Prints the error and picks the exit code (see [`exit`]).
pub fn report_error(err: &anyhow::Error) -> ExitCode {
    exit::report_error(err)
}
