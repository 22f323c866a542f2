//! Exit codes, one meaning each, and the one place that maps an error to its code.
//!
//! A verdict is not an error: commands answer 0 or 1 themselves. Every error that reaches
//! `main` is either the user's input (2), an interruption (130), or the lab failing to do its
//! work (3): reports it cannot write, Docker missing when asked for, a port taken.

use std::process::ExitCode;

use mitid_components::runtime::interrupt;

use super::BadInput;
use super::output::OutputError;

/// A requirement failed: the verdict is "not certified" (or the nightly run failed).
pub const FAILED: u8 = 1;
/// Bad input: a file, a flag, a target that breaks the contract, nothing selected.
pub const BAD_INPUT: u8 = 2;
/// The lab could not do its work: cannot write reports, Docker missing, a port taken.
pub const LAB_ERROR: u8 = 3;
/// Interrupted by Ctrl-C (SIGINT) or SIGTERM: no verdict, nothing half-written.
pub const INTERRUPTED: u8 = 130;

/// The table every command's `--help` ends with (the README has the same table).
pub const CODES_HELP: &str = "\
Exit codes:
  0    passed: every requirement that ran passed (certified), or the command did its work
  1    a requirement failed (not certified; a nightly run with a failure)
  2    bad input: a file, a flag, a target that breaks the contract, nothing selected
  3    the lab could not do its work: cannot write reports, Docker missing, a port taken
  130  interrupted (Ctrl-C or SIGTERM): nothing was written";

/// The exit code for `err`.
#[must_use]
pub fn code_of(err: &anyhow::Error) -> u8 {
    // Whatever failed after an interrupt (a request to a removed container, an abandoned start)
    // failed because of it.
    if interrupt::interrupted().is_some() {
        return INTERRUPTED;
    }
    for cause in err.chain() {
        if cause.downcast_ref::<BadInput>().is_some() {
            return BAD_INPUT;
        }
        if let Some(output) = cause.downcast_ref::<OutputError>() {
            return if output.is_bad_input() {
                BAD_INPUT
            } else {
                LAB_ERROR
            };
        }
        if cause.downcast_ref::<interrupt::Interrupted>().is_some() {
            return INTERRUPTED;
        }
    }
    LAB_ERROR
}

/// Prints `err` (one line: `error: ` and its causes, each said once) and answers its code.
pub fn report_error(err: &anyhow::Error) -> ExitCode {
    let code = code_of(err);
    if code == INTERRUPTED {
        let signal = interrupt::interrupted().map_or("a signal", |stopped| stopped.signal);
        eprintln!("interrupted by {signal}: stopped, no verdict, nothing written");
    } else {
        eprintln!("error: {}", message(err));
    }
    ExitCode::from(code)
}

/// The causes of `err` joined with `: `, leaving out a cause whose text the message already
/// holds (an error that prints its source in its own text would otherwise say it twice).
#[must_use]
pub fn message(err: &anyhow::Error) -> String {
    let mut text = String::new();
    for cause in err.chain() {
        let part = cause.to_string();
        if part.is_empty() || text.contains(&part) {
            continue;
        }
        if !text.is_empty() {
            text.push_str(": ");
        }
        text.push_str(&part);
    }
    text
}

/// Sets [`CODES_HELP`] as the closing text of `command`'s help and every subcommand's.
#[must_use]
pub fn with_codes_help(command: clap::Command) -> clap::Command {
    command
        .after_help(CODES_HELP)
        .mut_subcommands(with_codes_help)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cause_repeated_in_its_wrapper_is_said_once() {
        let io = std::io::Error::from(std::io::ErrorKind::PermissionDenied);
        let text = io.to_string();
        let err = anyhow::Error::new(io).context(format!("cannot write the run's files: {text}"));
        assert_eq!(message(&err).matches(&text).count(), 1, "{}", message(&err));
    }

    #[test]
    fn output_errors_split_between_bad_input_and_lab_errors() {
        let foreign = anyhow::Error::new(OutputError::ForeignFile { path: "x".into() });
        assert_eq!(code_of(&foreign), BAD_INPUT);
        let io = anyhow::Error::new(OutputError::Io {
            action: "write",
            path: "x".into(),
            source: std::io::Error::from(std::io::ErrorKind::PermissionDenied),
        });
        assert_eq!(code_of(&io), LAB_ERROR);
        assert_eq!(code_of(&anyhow::anyhow!("anything else")), LAB_ERROR);
    }
}
