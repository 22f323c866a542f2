//! Population synthesis: compact records, real municipal and age shares, validated scenarios.

use mitid_sim::kernel::RandomStreams;
use mitid_sim::policy::population::{Citizen, apportion, synthesize, traits};
use mitid_sim::policy::{PolicyError, PolicyScenario};

use crate::policy_support::{AALBORG_YAML, DEMO_YAML, PHASEOUT_YAML, run, scenario};

#[test]
fn citizen_record_is_far_below_200_bytes() {
    let size = std::mem::size_of::<Citizen>();
    assert!(
        size <= 12,
        "Citizen is {size} bytes; 5.9 million of them must stay small (limit 200, aim 12)"
    );
}

#[test]
fn municipalities_get_their_real_share_and_ages_follow_the_fixture() {
    let s = scenario(PHASEOUT_YAML, 100_000);
    let pop = synthesize(
        &s.population,
        &mut RandomStreams::new(1).stream("population"),
    )
    .expect("synthesis");
    assert_eq!(pop.citizens.len(), 100_000);
    assert_eq!(pop.municipalities.len(), 98);
    let aalborg = pop
        .municipalities
        .iter()
        .position(|m| m.name == "Aalborg")
        .expect("Aalborg");
    // 217 075 of 5 822 679 (fixture sum) -> 3 728.1 of 100 000.
    assert!(
        (3727..=3729).contains(&pop.residents[aalborg]),
        "Aalborg got {} residents of 100 000",
        pop.residents[aalborg]
    );
    let over_15 = pop.citizens.iter().filter(|c| c.age >= 15).count() as f64 / 1e5;
    // Fixture: 1 - (310 676 + 306 909 + 329 873) / 5 932 654 = 0.8403.
    assert!((over_15 - 0.8403).abs() < 0.01, "share 15+ is {over_15}");
    let vi = pop
        .citizens
        .iter()
        .filter(|c| c.has(traits::VISUALLY_IMPAIRED))
        .count();
    // §5: about 65 000 of 5.9 million -> about 1 100 of 100 000.
    assert!(
        (800..=1500).contains(&vi),
        "{vi} visually impaired of 100 000"
    );
}

#[test]
fn apportion_is_exact_and_proportional() {
    let got = apportion(10, &[1, 1, 1]);
    assert_eq!(got.iter().sum::<u32>(), 10, "{got:?}");
    assert_eq!(got, vec![4, 3, 3]);
    assert_eq!(apportion(7, &[0, 5]), vec![0, 7]);
}

#[test]
fn one_municipality_scenario_populates_only_aalborg_and_reports_its_counter_hours() {
    let s = scenario(AALBORG_YAML, 20_000);
    let outcome = run(&s, 1);
    assert_eq!(
        outcome.municipalities.len(),
        1,
        "{:?}",
        outcome
            .municipalities
            .iter()
            .map(|m| &m.name)
            .collect::<Vec<_>>()
    );
    let m = &outcome.municipalities[0];
    assert_eq!((m.code, m.name.as_str()), (851, "Aalborg"));
    let april = m
        .months
        .iter()
        .find(|x| x.month == "2023-04")
        .expect("April 2023 in the run");
    assert!(april.counter_hours_available > 0.0, "{april:?}");
    let served: u32 = m.months.iter().map(|x| x.served).sum();
    assert!(
        served > 0,
        "Aalborg's Citizen Service served nobody: {:?}",
        m.months
    );
}

#[test]
fn every_committed_scenario_validates() {
    for (name, yaml) in [
        ("phaseout", PHASEOUT_YAML),
        ("aalborg", AALBORG_YAML),
        ("demo", DEMO_YAML),
    ] {
        let s: PolicyScenario =
            serde_yaml::from_str(yaml).unwrap_or_else(|e| panic!("{name}: {e}"));
        s.validate().unwrap_or_else(|e| panic!("{name}: {e}"));
    }
}

#[test]
fn invalid_fields_are_named_by_their_path() {
    let mut s = scenario(DEMO_YAML, 1_000);
    s.capacities.support.patience_minutes = 0.0;
    let err = s.validate().expect_err("zero patience must be refused");
    assert_eq!(
        err.field_path(),
        Some("capacities.support.patience_minutes"),
        "{err}"
    );

    let mut s = scenario(DEMO_YAML, 1_000);
    s.population.segments.smartphone.0[2].share = 1.5;
    let err = s.validate().expect_err("a share of 1.5 must be refused");
    assert_eq!(
        err.field_path(),
        Some("population.segments.smartphone[2].share"),
        "{err}"
    );

    let mut s = scenario(DEMO_YAML, 1_000);
    s.population.municipalities = vec!["Atlantis".into()];
    let err =
        mitid_sim::policy::run_policy(&s, 1, &mut |_| {}).expect_err("Atlantis is no municipality");
    assert!(
        matches!(&err, PolicyError::Invalid { path, .. } if path == "population.municipalities[0]"),
        "{err}"
    );

    let unknown = "kind: policy\nname: x\ncapacities:\n  support:\n    agents_dya: 3\n";
    let err =
        serde_yaml::from_str::<PolicyScenario>(unknown).expect_err("unknown field must be refused");
    assert!(err.to_string().contains("agents_dya"), "{err}");
}

#[test]
fn built_in_defaults_are_the_documented_values_of_the_phaseout_scenario() {
    let yaml = scenario(PHASEOUT_YAML, 5_900_000);
    let defaults: PolicyScenario =
        serde_yaml::from_str("kind: policy\nname: nemid-phaseout-2023\nseed: 2023\n")
            .expect("minimal scenario parses");
    assert_eq!(
        yaml, defaults,
        "scenarios/nemid-phaseout-2023.yaml and the built-in defaults have drifted apart"
    );
}
