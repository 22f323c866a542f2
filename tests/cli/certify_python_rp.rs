//! Outside relying parties written in Python (`tests/outside_rp/`), independent of the lab's
//! reference service provider and configured only from the target file and the README, are
//! certified as an integrator would: `certify init`, the service started as its own process,
//! `certify --target URL --config target.yaml`.
//!
//! The RP on Authlib and the correct hand-rolled RP (`requests` + `PyJWT`) are CERTIFIED; each
//! variant of the hand-rolled one that breaks one rule the README gives integrators is caught by
//! the requirement written for that rule:
//! accounts keyed on `dk.cpr` (SP-ACCOUNT-01), pending logins in one global table looked up by
//! `state` (SP-STATE-03), RP-initiated logout without `id_token_hint` (SP-LOGOUT-RP-02).
//!
//! The RPs need the pinned packages of `tests/outside_rp/requirements.txt` (`.ci/run` installs
//! them). Missing outside CI, the test says so and skips; in CI (`MITID_LAB_REQUIRE_DOCKER=1`,
//! which `.ci/run` sets) a missing package fails it.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

use super::certify_outside_rp::{ServiceProcess, read_report, unmet_requirements};
use super::harness::{InitTarget, init_full_target, run_in, scratch_dir};

/// The Python modules every outside RP imports.
const MODULES: &str = "import requests, jwt, yaml, cryptography, authlib";

pub(super) fn outside_rp_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/outside_rp")
}

/// Whether python3 and the RPs' packages are there; `false` (with a message) means skip.
pub(super) fn python_ready() -> bool {
    let probe = Command::new("python3").args(["-c", MODULES]).output();
    let missing = match probe {
        Ok(output) if output.status.success() => return true,
        Ok(output) => String::from_utf8_lossy(&output.stderr).trim().to_owned(),
        Err(err) => format!("python3: {err}"),
    };
    let install = format!(
        "python3 -m pip install -r {}",
        outside_rp_dir().join("requirements.txt").display()
    );
    assert!(
        std::env::var("MITID_LAB_REQUIRE_DOCKER").as_deref() != Ok("1"),
        "the outside Python relying parties cannot run ({missing}); CI installs them with `{install}`"
    );
    eprintln!(
        "SKIPPED certify_python_rp: the outside Python relying parties cannot run ({missing}); install them with `{install}`"
    );
    false
}

/// Certifies `script` (with `--variant`) and answers its `report.json`, the exit code and a
/// description for failure messages.
fn certify(name: &str, script: &str, variant: Option<&str>) -> (Value, Option<i32>, String) {
    let dir = scratch_dir(&format!("certify_python_rp_{name}"));
    let InitTarget { service, base_url } = init_full_target(&dir);
    let mut command = Command::new("python3");
    command
        .arg(outside_rp_dir().join(script))
        .arg("--config")
        .arg(dir.join("target.yaml"))
        .arg("--listen")
        .arg(service.to_string());
    if let Some(variant) = variant {
        command.arg("--variant").arg(variant);
    }
    let mut process = ServiceProcess::spawn(&dir, command);
    process.wait_ready(service);
    let reports = dir.join("reports");
    let reports_arg = reports.display().to_string();
    let run = run_in(
        Some(&dir),
        &[
            "certify",
            "--target",
            &base_url,
            "--config",
            "target.yaml",
            "--reports",
            &reports_arg,
        ],
    );
    let report = read_report(&reports, &run, &process);
    let described = format!(
        "{}\n{}{}",
        unmet_requirements(&report),
        run.describe(),
        process.output()
    );
    (report, run.code, described)
}

fn failed_musts(report: &Value) -> Vec<String> {
    report["requirements"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|r| r["level"] == "MUST" && r["verdict"] == "FAILED")
        .filter_map(|r| r["id"].as_str().map(str::to_owned))
        .collect()
}

#[test]
fn hand_rolled_python_rps_are_judged_by_the_requirement_of_each_rule() {
    if !python_ready() {
        return;
    }
    // The certifications run at once: each has its own broker and service, and mostly waits.
    let hand_rolled = "handrolled_rp.py";
    let cases: [(&str, &str, Option<&str>, Option<&str>); 5] = [
        ("authlib", "authlib_rp.py", None, None),
        ("handrolled", hand_rolled, None, None),
        (
            "cpr_accounts",
            hand_rolled,
            Some("cpr-accounts"),
            Some("SP-ACCOUNT-01"),
        ),
        (
            "global_state",
            hand_rolled,
            Some("global-state"),
            Some("SP-STATE-03"),
        ),
        (
            "no_id_token_hint",
            hand_rolled,
            Some("no-id-token-hint"),
            Some("SP-LOGOUT-RP-02"),
        ),
    ];
    let results: Vec<_> = std::thread::scope(|scope| {
        let handles: Vec<_> = cases
            .iter()
            .map(|(name, script, variant, _)| scope.spawn(move || certify(name, script, *variant)))
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("a certification thread panicked"))
            .collect()
    });
    for ((name, _, variant, expected), (report, code, described)) in cases.iter().zip(results) {
        let failed = failed_musts(&report);
        match expected {
            None => assert!(
                code == Some(0) && failed.is_empty(),
                "the correct {name} RP is not certified: MUSTs failed {failed:?}\n{described}"
            ),
            Some(requirement) => assert!(
                code == Some(1) && failed.iter().any(|f| f == requirement),
                "{name} (--variant {variant:?}) must be caught by {requirement}; failed MUSTs {failed:?}, exit {code:?}\n{described}"
            ),
        }
    }
}
