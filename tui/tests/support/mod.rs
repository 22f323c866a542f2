//! What the dashboard's test files share: the checkout's root and one small demo run.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use mitid_tui::run::ReplayRun;

pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// The demo scenario with 3 000 citizens (every municipality, every milestone, quick to run),
/// run once per test binary and shared (it is deterministic: each test gets an identical copy).
pub fn demo_run() -> ReplayRun {
    static RUN: OnceLock<ReplayRun> = OnceLock::new();
    RUN.get_or_init(|| {
        let overrides = mitid_sim::scenario::Overrides {
            population: Some(3000),
            ..Default::default()
        };
        mitid_tui::simulate(
            &root().join("scenarios/demo-100k.yaml"),
            &overrides,
            &mut |_| {},
        )
        .expect("the demo scenario runs")
    })
    .clone()
}
