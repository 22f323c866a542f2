//! `simulate --live --target URL --config target.yaml`: an outside service provider (the
//! hand-rolled Python relying party of `tests/outside_rp/`, started as `certify`'s tests start
//! it, from the target file `certify init` writes) takes the banks' logins of the sampled
//! citizens. The correct one breaks no requirement; the variant that keys accounts on the CPR
//! number lets citizens without CPR into one another's account, which is recorded against
//! SP-ACCOUNT-01 with evidence. A bad target file is refused before anything starts.

use std::path::Path;
use std::process::Command;

use serde_json::Value;

use super::certify_outside_rp::ServiceProcess;
use super::certify_python_rp::{outside_rp_dir, python_ready};
use super::harness::{InitTarget, Run, init_full_target, project_file, run_in, scratch_dir};

/// The live demo, shorter (across the banks' NemID cut-off on 2022-11-01) and with half the
/// citizens without CPR, so some of them get MitID with a P code at Citizen Service in the
/// window and log in at the bank.
const SETS: [&str; 4] = [
    "--set",
    "population.end=2023-03-31",
    "--set",
    "population.segments.no_cpr=0.5",
];

/// Starts the hand-rolled RP (`variant`) from a fresh target file and runs the live demo
/// against it; answers the run, `live.json` (if written) and the service's log.
fn live_against(name: &str, variant: Option<&str>) -> (Run, Option<Value>, String) {
    let dir = scratch_dir(&format!("simulate_live_target_{name}"));
    let InitTarget { service, base_url } = init_full_target(&dir);
    let mut command = Command::new("python3");
    command
        .arg(outside_rp_dir().join("handrolled_rp.py"))
        .arg("--config")
        .arg(dir.join("target.yaml"))
        .arg("--listen")
        .arg(service.to_string());
    if let Some(variant) = variant {
        command.arg("--variant").arg(variant);
    }
    let mut process = ServiceProcess::spawn(&dir, command);
    process.wait_ready(service);
    let scenario = project_file("scenarios/live-demo.yaml");
    let out = dir.join("report");
    let out_arg = out.display().to_string();
    let mut args = vec![
        "simulate",
        scenario.as_str(),
        "--live",
        "--live-citizens",
        "40",
        "--target",
        base_url.as_str(),
        "--config",
        "target.yaml",
        "--out",
        out_arg.as_str(),
    ];
    args.extend_from_slice(&SETS);
    let run = run_in(Some(&dir), &args);
    let live = std::fs::read_to_string(out.join("live.json"))
        .ok()
        .map(|text| serde_json::from_str(&text).expect("live.json is JSON"));
    (run, live, process.output())
}

fn count(value: &Value, pointer: &str) -> u64 {
    value
        .pointer(pointer)
        .and_then(Value::as_u64)
        .unwrap_or_else(|| panic!("no count at {pointer}: {value:#}"))
}

#[test]
fn an_outside_service_provider_takes_a_sectors_logins_and_its_flaw_is_recorded_by_requirement() {
    if !python_ready() {
        return;
    }
    // Both runs at once: each has its own broker port and service, and mostly waits.
    let ((good, good_live, good_log), (flawed, flawed_live, flawed_log)) =
        std::thread::scope(|scope| {
            let good = scope.spawn(|| live_against("good", None));
            let flawed = scope.spawn(|| live_against("cpr_accounts", Some("cpr-accounts")));
            (
                good.join().expect("the good run's thread"),
                flawed.join().expect("the flawed run's thread"),
            )
        });

    good.expect_code(0);
    let live = good_live.unwrap_or_else(|| panic!("no live.json\n{}{good_log}", good.describe()));
    let target = &live["target"];
    assert_eq!(target["sector"], "bank", "{target:#}");
    let logins = count(target, "/logins");
    assert!(logins > 0, "no login reached the service: {live:#}");
    assert!(count(target, "/sessions") > 0, "{live:#}\n{good_log}");
    // Every login at the service is a flow of the component `target`, counted once.
    assert_eq!(
        count(&live, "/by_component/target/performed"),
        logins,
        "{live:#}"
    );
    assert_eq!(
        count(target, "/sessions") + count(target, "/refused") + count(target, "/unavailable"),
        logins,
        "{target:#}"
    );
    assert_eq!(count(target, "/unavailable"), 0, "{target:#}\n{good_log}");
    assert_eq!(
        count(target, "/violations"),
        0,
        "the correct service was blamed: {target:#}\n{good_log}"
    );
    // The accounting holds with the service in the run.
    assert_eq!(
        count(&live, "/model/performed_live")
            + count(&live, "/model/resolved_by_model_outside_sample"),
        count(&live, "/model/actions_resolved"),
        "{live:#}"
    );

    flawed.expect_code(0);
    let live =
        flawed_live.unwrap_or_else(|| panic!("no live.json\n{}{flawed_log}", flawed.describe()));
    let broken = &live["target"]["by_requirement"]["SP-ACCOUNT-01"];
    assert!(
        count(broken, "/count") > 0,
        "citizens without CPR shared an account unnoticed: {:#}\n{flawed_log}",
        live["target"]
    );
    assert_eq!(broken["kind"], "wrong acceptance", "{broken:#}");
    assert_eq!(broken["level"], "MUST", "{broken:#}");
    let example = &broken["examples"][0];
    assert!(
        example["what"]
            .as_str()
            .is_some_and(|w| w.contains("was let into account")),
        "{example:#}"
    );
    let evidence: Vec<&str> = example["evidence"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect();
    assert!(
        evidence.iter().any(|line| line.contains("/me -> 200"))
            && evidence.iter().any(|line| line.contains("/authorize")),
        "the evidence does not show the login and /me: {evidence:#?}"
    );
    assert!(
        evidence
            .iter()
            .all(|line| !line.contains("code=") || line.contains("code=[redacted]")),
        "the evidence shows an authorization code: {evidence:#?}"
    );
    // Other requirements the flaw does not touch stay clean: the verdict names the flaw's own.
    let others: Vec<&String> = live["target"]["by_requirement"]
        .as_object()
        .into_iter()
        .flat_map(|m| m.keys())
        .filter(|id| *id != "SP-ACCOUNT-01")
        .collect();
    assert!(others.is_empty(), "{:#}", live["target"]);
    let report = std::fs::read_to_string(
        Path::new(env!("CARGO_TARGET_TMPDIR"))
            .join("cli/simulate_live_target_cpr_accounts/report/report.md"),
    )
    .expect("report.md");
    assert!(report.contains("SP-ACCOUNT-01 (MUST)"), "{report}");
}

#[test]
fn a_bad_target_file_is_refused_naming_file_line_and_field_before_anything_starts() {
    let dir = scratch_dir("simulate_live_target_bad_file");
    let InitTarget { base_url, .. } = init_full_target(&dir);
    let text = std::fs::read_to_string(dir.join("target.yaml")).expect("target.yaml");
    let secret_line = text
        .lines()
        .position(|l| l.trim_start().starts_with("client_secret:"))
        .expect("the file has a client secret")
        + 1;
    let broken: String = text
        .lines()
        .map(|l| {
            if l.trim_start().starts_with("client_secret:") {
                "  client_secret: short".to_owned()
            } else {
                l.to_owned()
            }
        })
        .collect::<Vec<_>>()
        .join("\n");
    std::fs::write(dir.join("broken.yaml"), broken).expect("writing broken.yaml");
    let scenario = project_file("scenarios/live-demo.yaml");
    let out = dir.join("report");
    let run = run_in(
        Some(&dir),
        &[
            "simulate",
            &scenario,
            "--live",
            "--target",
            &base_url,
            "--config",
            "broken.yaml",
            "--out",
            &out.display().to_string(),
        ],
    );
    run.expect_code(2)
        .expect_stderr(&format!("broken.yaml:{secret_line}"))
        .expect_stderr("client.client_secret");
    assert!(!out.exists(), "a refused run wrote {}", out.display());
    // A sector the calendar does not know is refused the same way.
    let run = run_in(
        Some(&dir),
        &[
            "simulate",
            &scenario,
            "--live",
            "--target",
            &base_url,
            "--config",
            "target.yaml",
            "--target-sector",
            "casino",
            "--out",
            &out.display().to_string(),
        ],
    );
    run.expect_code(2)
        .expect_stderr("--target-sector \"casino\"");
    assert!(!out.exists());
}
