//! The `SimPy` twin of the M/M/c validation model (`benches/simpy/mmc_simpy.py`, used by the
//! speed comparison) runs and simulates the same queue: both engines' mean waits are near
//! Erlang C. Needs `python3` with `SimPy` 4.1.1 (`.ci/run` installs it); set
//! `MITID_SKIP_SIMPY=1` to skip on a machine without them.

use std::process::Command;

use mitid_sim::queue_model::{
    QueueKind, QueueParameters, QueueScenario, ServiceDistribution, run_queue_scenario,
};

#[test]
fn simpy_twin_runs_and_agrees_with_theory() {
    if std::env::var_os("MITID_SKIP_SIMPY").is_some() {
        eprintln!("MITID_SKIP_SIMPY set: SimPy twin not checked");
        return;
    }
    let script = format!(
        "{}/../benches/simpy/mmc_simpy.py",
        env!("CARGO_MANIFEST_DIR")
    );
    let args = [
        "--servers",
        "5",
        "--arrival-rate-per-hour",
        "40",
        "--service-minutes",
        "6",
        "--horizon-hours",
        "3000",
        "--warmup-hours",
        "100",
        "--seed",
        "3",
    ];
    let out = Command::new("python3")
        .arg(&script)
        .args(args)
        .output()
        .unwrap_or_else(|e| {
            panic!("cannot run python3 {script}: {e} (set MITID_SKIP_SIMPY=1 to skip)")
        });
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "python3 {script} {args:?} failed (is simpy==4.1.1 installed?)\nstdout {stdout}\nstderr {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let simpy: serde_json::Value = serde_json::from_str(stdout.trim())
        .unwrap_or_else(|e| panic!("SimPy output is not JSON ({e}): {stdout}"));

    let scenario = QueueScenario {
        kind: QueueKind::Queue,
        name: "simpy-twin".into(),
        seed: 3,
        queue: QueueParameters {
            servers: 5,
            arrival_rate_per_hour: 40.0,
            service_minutes_mean: 6.0,
            service_distribution: ServiceDistribution::Exponential,
            patience_minutes_mean: None,
        },
        horizon_hours: 3000.0,
        warmup_hours: 100.0,
    };
    let ours = run_queue_scenario(&scenario).unwrap();
    let theory = ours.theory.clone().unwrap();
    let simpy_wait = simpy["mean_wait_minutes"]
        .as_f64()
        .expect("mean_wait_minutes");
    let simpy_util = simpy["utilization"].as_f64().expect("utilization");
    let why = format!("SimPy {simpy}\nmitid-sim {ours:?}\ntheory {theory:?}");
    // 3 000 hours is short for a ρ = 0.8 queue: both within 20 % of theory, utilisation ±0.03.
    for wait in [simpy_wait, ours.mean_wait_minutes] {
        assert!(
            (wait - theory.mean_wait_minutes).abs() / theory.mean_wait_minutes < 0.20,
            "{why}"
        );
    }
    assert!((simpy_util - theory.utilization).abs() < 0.03, "{why}");
    let arrivals = simpy["arrivals"].as_u64().expect("arrivals") as f64;
    assert!(
        (arrivals - ours.arrivals as f64).abs() / arrivals < 0.03,
        "{why}"
    );
}
