//! What the dashboard's test files share: the checkout's root and one small demo run.

use std::path::{Path, PathBuf};

use mitid_tui::run::ScenarioRun;

pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// The demo scenario with 3 000 citizens (every municipality, every milestone, quick to run),
/// opened before its first day.
pub fn demo_run() -> ScenarioRun {
    let overrides = mitid_sim::scenario::Overrides {
        population: Some(3000),
        ..Default::default()
    };
    mitid_tui::open_run(
        &root().join("scenarios/demo-100k.yaml"),
        &overrides,
        &mut |_| {},
    )
    .expect("the demo scenario opens")
}
