//! The integrator's path, end to end: `certify init`, a service provider written on a standard
//! OIDC relying-party library (`examples/mitid_sp_openidconnect/`, configured only from the
//! target file) started as its own process, then `certify --target URL --config target.yaml`.
//! Every MUST requirement must pass, exactly as the README promises.
//!
//! `cargo test` without target filters (the README's test command) builds the example next to
//! the binary; `cargo test --test cli` alone does not, so build it first with
//! `cargo build --example mitid_sp_openidconnect`.

use std::fmt::Write as _;
use std::fs::File;
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use super::harness::{InitTarget, Run, init_full_target, run_in, scratch_dir};

const EXAMPLE: &str = "mitid_sp_openidconnect";

/// Where cargo put the example: `<target>/<profile>/examples/`, next to the `mitid-lab` binary
/// and one level above this test binary (`<target>/<profile>/deps/`).
fn example_binary() -> PathBuf {
    let name = format!("{EXAMPLE}{}", std::env::consts::EXE_SUFFIX);
    let mut candidates = Vec::new();
    if let Some(profile_dir) = Path::new(env!("CARGO_BIN_EXE_mitid-lab")).parent() {
        candidates.push(profile_dir.join("examples").join(&name));
    }
    if let Ok(test_binary) = std::env::current_exe()
        && let Some(profile_dir) = test_binary.parent().and_then(Path::parent)
    {
        candidates.push(profile_dir.join("examples").join(&name));
    }
    candidates
        .iter()
        .find(|path| path.is_file())
        .cloned()
        .unwrap_or_else(|| {
            panic!(
                "the example service provider is not built (looked at {candidates:?}); \
                 run `cargo test --workspace`, or `cargo build --example {EXAMPLE}` before \
                 `cargo test --test cli`"
            )
        })
}

/// The example service provider as a child process, killed when the test ends (also on panic).
pub struct ServiceProcess {
    child: Child,
    log: PathBuf,
}

impl ServiceProcess {
    pub fn start(dir: &Path, config: &Path, listen: SocketAddr) -> Self {
        let binary = example_binary();
        let mut command = Command::new(&binary);
        command
            .arg("--config")
            .arg(config)
            .arg("--listen")
            .arg(listen.to_string());
        Self::spawn(dir, command)
    }

    /// Starts `command` in `dir`, its output in `dir/service.log`.
    pub fn spawn(dir: &Path, mut command: Command) -> Self {
        let log = dir.join("service.log");
        let out = File::create(&log)
            .unwrap_or_else(|err| panic!("cannot create {}: {err}", log.display()));
        let err = out
            .try_clone()
            .unwrap_or_else(|err| panic!("cannot share {}: {err}", log.display()));
        let child = command
            .current_dir(dir)
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .spawn()
            .unwrap_or_else(|err| panic!("cannot start {command:?}: {err}"));
        Self { child, log }
    }

    /// Waits until the service accepts connections (or has exited, or 20 s passed).
    pub fn wait_ready(&mut self, addr: SocketAddr) {
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok() {
                return;
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!(
                    "the service provider exited ({status}) before listening\n{}",
                    self.output()
                );
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!(
            "the service provider does not listen on {addr} after 20 s\n{}",
            self.output()
        );
    }

    pub fn output(&self) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_else(|err| format!("({err})"));
        format!("--- service provider output ---\n{text}")
    }
}

impl Drop for ServiceProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The `report.json` of the run's only report directory under `reports`.
pub(super) fn read_report(reports: &Path, run: &Run, service: &ServiceProcess) -> Value {
    let path = std::fs::read_dir(reports)
        .ok()
        .into_iter()
        .flatten()
        .filter_map(Result::ok)
        .map(|entry| entry.path().join("report.json"))
        .find(|path| path.is_file())
        .unwrap_or_else(|| {
            panic!(
                "no report.json under {}\n{}{}",
                reports.display(),
                run.describe(),
                service.output()
            )
        });
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|err| panic!("cannot read {}: {err}", path.display()));
    serde_json::from_str(&text)
        .unwrap_or_else(|err| panic!("{} is not JSON: {err}", path.display()))
}

/// Every requirement that is not PASSED, with the scenarios behind it and why they ended so.
pub(super) fn unmet_requirements(report: &Value) -> String {
    let mut text = String::new();
    let empty = Vec::new();
    let scenarios = report["scenarios"].as_array().unwrap_or(&empty);
    for requirement in report["requirements"].as_array().unwrap_or(&empty) {
        if requirement["verdict"] == "PASSED" {
            continue;
        }
        let id = requirement["id"].as_str().unwrap_or("?");
        let _ = writeln!(
            text,
            "{id} {} {}: {}",
            requirement["level"].as_str().unwrap_or("?"),
            requirement["verdict"].as_str().unwrap_or("?"),
            requirement["title"].as_str().unwrap_or("?")
        );
        for scenario in scenarios.iter().filter(|s| {
            s["requirements"]
                .as_array()
                .is_some_and(|ids| ids.iter().any(|r| r == id))
                && s["verdict"] != "PASSED"
        }) {
            let _ = writeln!(
                text,
                "    {} ({}): {}",
                scenario["name"].as_str().unwrap_or("?"),
                scenario["location"].as_str().unwrap_or("?"),
                scenario["outcome"]
            );
        }
    }
    text
}

#[test]
fn a_service_provider_on_the_openidconnect_crate_is_certified_by_following_the_readme() {
    let dir = scratch_dir("certify_outside_rp");

    // 1. The target file, as the README's first step writes it.
    let InitTarget { service, base_url } = init_full_target(&dir);
    let config = dir.join("target.yaml");
    assert!(
        config.is_file(),
        "certify init wrote no {}",
        config.display()
    );

    // 2./3. The integrator's service, configured from nothing but that file.
    let mut process = ServiceProcess::start(&dir, &config, service);
    process.wait_ready(service);

    // 4. The suite against it.
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
    let unmet = unmet_requirements(&report);
    let failed_musts: Vec<&str> = report["requirements"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|r| r["level"] == "MUST" && r["verdict"] != "PASSED")
        // The example offers no business logins and its target file does not declare them:
        // those requirements are SKIPPED as not implemented, the one part it may leave out.
        .filter(|r| !(r["verdict"] == "SKIPPED" && r["not_implemented"] == "business_logins"))
        .filter_map(|r| r["id"].as_str())
        .collect();
    assert!(
        run.code == Some(0) && failed_musts.is_empty(),
        "the example service provider is not certified: MUSTs not passed {failed_musts:?}\n\
         {unmet}\n{}{}",
        run.describe(),
        process.output()
    );
    let musts = report["requirements"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|r| r["level"] == "MUST")
        .count();
    assert!(
        musts >= 30,
        "the report names only {musts} MUST requirements\n{}",
        run.describe()
    );
}
