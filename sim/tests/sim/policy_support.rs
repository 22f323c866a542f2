//! Shared helpers of the policy tests: the committed scenarios, parsed from their YAML text.

use mitid_sim::policy::{PolicyOutcome, PolicyScenario, run_policy};

pub const PHASEOUT_YAML: &str = include_str!("../../../scenarios/nemid-phaseout-2023.yaml");
pub const AALBORG_YAML: &str = include_str!("../../../scenarios/aalborg.yaml");
pub const DEMO_YAML: &str = include_str!("../../../scenarios/demo-100k.yaml");

pub fn scenario(yaml: &str, population: u32) -> PolicyScenario {
    let mut s: PolicyScenario =
        serde_yaml::from_str(yaml).unwrap_or_else(|e| panic!("scenario does not parse: {e}"));
    s.population.size = population;
    s
}

pub fn run(s: &PolicyScenario, seed: u64) -> PolicyOutcome {
    run_policy(s, seed, &mut |_| {}).unwrap_or_else(|e| {
        panic!(
            "run of {} at {} citizens, seed {seed} failed: {e}",
            s.name, s.population.size
        )
    })
}

pub fn date(text: &str) -> chrono::NaiveDate {
    text.parse()
        .unwrap_or_else(|e| panic!("bad test date {text}: {e}"))
}
