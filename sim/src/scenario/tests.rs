//! The loader's tests: typing, overrides and errors that name file, line and field.

use super::*;

const TEXT: &str = "\
kind: policy   # a comment
name: demo
calendar:
  milestones:
    - date: 2023-10-31
      what: shutdown
    - date: 2023-06-30
      what: |
        support: closes
        no: new NemID
  qr_rollout: 2023-06-06
segments:
- share: 0.5
  name: young
- share: 0.5
\"quoted key\": 1
";

fn path(text: &str) -> FieldPath {
    FieldPath::parse(text).unwrap()
}

#[test]
fn field_paths_round_trip_through_text() {
    for text in ["a", "a.b.c", "segments[2].share", "a[0][1].b"] {
        assert_eq!(path(text).to_string(), text);
    }
    assert!(FieldPath::parse("a..b").is_err());
    assert!(FieldPath::parse("a[x]").is_err());
    assert!(FieldPath::parse("").is_err());
}

#[test]
fn line_index_finds_nested_keys_and_list_items() {
    let index = LineIndex::new(TEXT);
    assert_eq!(index.exact_line_of(&path("kind")), Some(1));
    assert_eq!(
        index.exact_line_of(&path("calendar.milestones[0].date")),
        Some(5)
    );
    assert_eq!(
        index.exact_line_of(&path("calendar.milestones[1].what")),
        Some(8)
    );
    // Lines inside the block scalar are not keys.
    assert_eq!(
        index.exact_line_of(&path("calendar.milestones[1].no")),
        None
    );
    assert_eq!(index.exact_line_of(&path("calendar.qr_rollout")), Some(11));
    assert_eq!(index.exact_line_of(&path("segments[0].name")), Some(14));
    assert_eq!(index.exact_line_of(&path("segments[1].share")), Some(15));
    assert_eq!(index.exact_line_of(&path("quoted key")), Some(16));
    // A field left to its default maps to its nearest written ancestor.
    assert_eq!(
        index.line_of(&path("calendar.milestones[1].absent")),
        Some(7)
    );
}

#[test]
fn syntax_errors_name_the_line() {
    let err = ScenarioDocument::parse("x.yaml", "a: 1\nb: [1, 2\nc: 3\n").unwrap_err();
    assert!(matches!(err.kind, ScenarioErrorKind::Syntax(_)), "{err}");
    assert!(err.line.is_some(), "{err}");
    assert!(err.to_string().starts_with("x.yaml:"), "{err}");
}

#[derive(Debug, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Inner {
    share: f64,
    #[serde(default)]
    name: Option<String>,
}

#[derive(Debug, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Outer {
    segments: Vec<Inner>,
    #[serde(default)]
    horizon: u32,
}

fn set(assignment: &str) -> Override {
    Override::parse_set("s.yaml", assignment).unwrap()
}

#[test]
fn set_reaches_written_and_default_fields() {
    let doc = ScenarioDocument::parse("s.yaml", "segments:\n  - share: 0.5\n").unwrap();
    let loaded: Outer = doc
        .load(&[
            set("segments[0].share=0.25"),
            set("horizon=7"),
            set("segments[0].name=x"),
        ])
        .unwrap();
    assert_eq!(
        loaded,
        Outer {
            segments: vec![Inner {
                share: 0.25,
                name: Some("x".into())
            }],
            horizon: 7
        }
    );
}

#[test]
fn set_rejects_paths_the_scenario_does_not_have() {
    let doc = ScenarioDocument::parse("s.yaml", "segments:\n  - share: 0.5\n").unwrap();
    for (assignment, field) in [
        ("segmnts[0].share=1", "segmnts"),
        ("segments[3].share=1", "segments[3]"),
        ("segments[0].colour=red", "segments[0].colour"),
    ] {
        let err = doc.load::<Outer>(&[set(assignment)]).unwrap_err();
        assert!(
            matches!(err.kind, ScenarioErrorKind::BadOverride(_)),
            "{err}"
        );
        assert!(
            err.to_string().contains(&format!("`{field}`")),
            "{assignment}: {err}"
        );
        assert_eq!(
            err.flag.as_deref(),
            Some(format!("--set {assignment}").as_str())
        );
    }
    let past_end = doc
        .load::<Outer>(&[set("segments[3].share=1")])
        .unwrap_err()
        .to_string();
    assert!(
        past_end.contains("past the end of the list: it has 1 entry, index 0")
            && !past_end.contains("unknown field"),
        "an index past the end is not an unknown field: {past_end}"
    );
    assert!(Override::parse_set("s.yaml", "no-equals-sign").is_err());
    assert!(Override::parse_set("s.yaml", "a=[1, 2").is_err());
}

#[test]
fn typing_errors_name_field_and_line() {
    let text = "segments:\n  - share: 0.5\n  - share: lots\n";
    let doc = ScenarioDocument::parse("s.yaml", text).unwrap();
    let err = doc.load::<Outer>(&[]).unwrap_err();
    assert_eq!(err.field, path("segments[1].share"), "{err}");
    assert_eq!(err.line, Some(3), "{err}");

    let text = "segments:\n  - share: 0.5\n    colour: red\n";
    let doc = ScenarioDocument::parse("s.yaml", text).unwrap();
    let err = doc.load::<Outer>(&[]).unwrap_err();
    assert_eq!(err.kind, ScenarioErrorKind::UnknownField, "{err}");
    assert_eq!(err.field, path("segments[0].colour"), "{err}");
    assert_eq!(err.line, Some(3), "{err}");
}

#[test]
fn errors_in_overridden_fields_name_the_flag_and_the_line() {
    let text = "horizon: 3\nsegments:\n  - share: 0.5\n";
    let doc = ScenarioDocument::parse("s.yaml", text).unwrap();
    let err = doc
        .load::<Outer>(&[set("segments[0].share=plenty")])
        .unwrap_err();
    assert_eq!(err.line, Some(3), "{err}");
    assert_eq!(err.field, path("segments[0].share"), "{err}");
    assert_eq!(
        err.flag.as_deref(),
        Some("--set segments[0].share=plenty"),
        "{err}"
    );
    assert!(
        err.to_string()
            .starts_with("s.yaml:3: segments[0].share (from --set"),
        "{err}"
    );
}

/// The project's scenarios, embedded (the sim crate reads no files).
const PROJECT_SCENARIOS: [(&str, &str); 6] = [
    (
        "nemid-phaseout-2023.yaml",
        include_str!("../../../scenarios/nemid-phaseout-2023.yaml"),
    ),
    (
        "aalborg.yaml",
        include_str!("../../../scenarios/aalborg.yaml"),
    ),
    (
        "demo-100k.yaml",
        include_str!("../../../scenarios/demo-100k.yaml"),
    ),
    (
        "queue-erlang-c.yaml",
        include_str!("../../../scenarios/queue-erlang-c.yaml"),
    ),
    (
        "queue-erlang-a.yaml",
        include_str!("../../../scenarios/queue-erlang-a.yaml"),
    ),
    (
        "queue-deterministic.yaml",
        include_str!("../../../scenarios/queue-deterministic.yaml"),
    ),
];

#[test]
fn project_scenarios_load_and_survive_the_override_round_trip() {
    // Overrides go through "type, serialize with defaults, override, type again": that
    // round trip must not change a scenario.
    for (file, text) in PROJECT_SCENARIOS {
        let plain = load(file, text, &Overrides::default())
            .unwrap_or_else(|err| panic!("{file} does not load: {err}"));
        let same_seed = Overrides {
            seed: Some(plain.seed()),
            ..Overrides::default()
        };
        let round_tripped = load(file, text, &same_seed)
            .unwrap_or_else(|err| panic!("{file} fails the round trip: {err}"));
        assert_eq!(plain, round_tripped, "{file} changed in the round trip");
    }
}

#[test]
fn overrides_reach_the_typed_scenario() {
    let (file, text) = PROJECT_SCENARIOS[2];
    let overrides = Overrides {
        sets: vec!["calendar.nemid_shutdown=2023-12-31".to_owned()],
        population: Some(2000),
        seed: Some(9),
    };
    let Scenario::Policy(policy) = load(file, text, &overrides).unwrap() else {
        panic!("{file} is a policy scenario");
    };
    assert_eq!(policy.population.size, 2000);
    assert_eq!(policy.seed, 9);
    assert_eq!(policy.calendar.nemid_shutdown.to_string(), "2023-12-31");
}

#[test]
fn kind_defaults_to_policy_and_unknown_kinds_are_named() {
    let Scenario::Policy(policy) = load("p.yaml", "name: p\n", &Overrides::default()).unwrap()
    else {
        panic!("no kind means policy");
    };
    assert_eq!(policy.name, "p");
    let err = load("p.yaml", "name: p\nkind: queues\n", &Overrides::default()).unwrap_err();
    assert_eq!(err.line, Some(2), "{err}");
    assert!(err.to_string().contains("unknown kind `queues`"), "{err}");
    let overrides = Overrides {
        sets: vec!["kind=queue".to_owned()],
        ..Overrides::default()
    };
    assert!(load("p.yaml", "name: p\n", &overrides).is_err());
}

#[test]
fn refused_values_are_told_in_a_planners_words() {
    let (file, text) = PROJECT_SCENARIOS[2];
    let error = |assignment: &str| {
        let overrides = Overrides {
            sets: vec![assignment.to_owned()],
            ..Overrides::default()
        };
        load(file, text, &overrides).unwrap_err().to_string()
    };
    let err = error("calendar.nemid_shutdown=2023-02-30");
    assert!(
        err.contains("`2023-02-30` is not a day of the calendar")
            && err.contains("YYYY-MM-DD")
            && err.contains("--set calendar.nemid_shutdown=2023-02-30")
            && !err.contains("out of range"),
        "{err}"
    );
    let err = error("calendar.nemid_shutdown=31/10/2023");
    assert!(
        err.contains("`31/10/2023` is not a date; write it as YYYY-MM-DD"),
        "{err}"
    );
    let err = error("population.size=-5");
    assert!(
        err.contains("`-5` is not allowed: expected a whole number from 0 to 4 294 967 295")
            && !err.contains("u32"),
        "{err}"
    );
}
