//! The components in real containers: the image is built from this package's own binary, the
//! stack starts on a private Docker network, answers the same checks as the embedded stack, and
//! leaves no container or network behind — after a normal stop and after Ctrl-C.
//!
//! Without a Docker engine these tests print that they were skipped and pass, unless
//! `MITID_LAB_REQUIRE_DOCKER=1` (CI on the lab's machine sets it), where they fail.

mod certify_in_containers;
mod ctrl_c_cleanup;
mod live_in_containers;
mod stack_in_containers;

use std::process::Command;

use mitid_components::runtime::containers;

/// `true` when the tests can run; `false` (after saying so) when they are skipped.
///
/// # Panics
/// When Docker is missing and `MITID_LAB_REQUIRE_DOCKER=1`.
#[must_use]
pub fn docker_or_skip(test: &str) -> bool {
    match containers::docker_available() {
        Ok(()) => true,
        Err(err) => {
            assert!(
                std::env::var("MITID_LAB_REQUIRE_DOCKER").as_deref() != Ok("1"),
                "{test}: MITID_LAB_REQUIRE_DOCKER=1 but no Docker engine answers: {err}"
            );
            println!(
                "SKIPPED {test}: no Docker engine ({err}); set MITID_LAB_REQUIRE_DOCKER=1 to make this a failure"
            );
            false
        }
    }
}

/// Names of containers and networks (any state) that carry `label=value`, via the Docker CLI so
/// the check does not share code with what it checks.
///
/// # Panics
/// When the Docker CLI cannot be run or answers with a failure.
#[must_use]
pub fn labelled_leftovers(label: &str, value: &str) -> (Vec<String>, Vec<String>) {
    let filter = format!("label={label}={value}");
    let list = |args: &[&str]| -> Vec<String> {
        let output = Command::new("docker")
            .args(args)
            .output()
            .unwrap_or_else(|err| panic!("running docker {args:?}: {err}"));
        assert!(
            output.status.success(),
            "docker {args:?} failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8_lossy(&output.stdout)
            .lines()
            .filter(|l| !l.trim().is_empty())
            .map(str::to_owned)
            .collect()
    };
    let containers = list(&["ps", "-a", "--filter", &filter, "--format", "{{.Names}}"]);
    let networks = list(&[
        "network",
        "ls",
        "--filter",
        &filter,
        "--format",
        "{{.Name}}",
    ]);
    (containers, networks)
}
