//! Parsing and validating `kind: queue` scenarios, and determinism of their summaries.

use mitid_sim::queue_model::{QueueScenario, ServiceDistribution, run_queue_scenario};

const SPEC_EXAMPLE: &str = "\
kind: queue
name: counter-check
seed: 1
queue:
  servers: 5
  arrival_rate_per_hour: 40
  service_minutes_mean: 6
  service_distribution: exponential   # also: deterministic
  patience_minutes_mean: null         # a number turns on abandonment (Erlang-A)
horizon_hours: 100000
warmup_hours: 1000
";

fn parse(text: &str) -> Result<QueueScenario, serde_yaml::Error> {
    serde_yaml::from_str(text)
}

#[test]
fn the_issue_example_parses() {
    let s = parse(SPEC_EXAMPLE).unwrap();
    assert_eq!(s.name, "counter-check");
    assert_eq!(s.queue.servers, 5);
    assert_eq!(
        s.queue.service_distribution,
        ServiceDistribution::Exponential
    );
    assert_eq!(s.queue.patience_minutes_mean, None);
    assert!((s.horizon_hours - 100_000.0).abs() < f64::EPSILON, "{s:?}");
    s.validate().unwrap();
}

#[test]
fn every_queue_scenario_file_parses_and_validates() {
    let dir = format!("{}/../scenarios", env!("CARGO_MANIFEST_DIR"));
    let mut seen = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        if name.starts_with("queue-")
            && std::path::Path::new(&name)
                .extension()
                .is_some_and(|e| e.eq_ignore_ascii_case("yaml"))
        {
            let text = std::fs::read_to_string(&path).unwrap();
            let s = parse(&text).unwrap_or_else(|e| panic!("{name}: {e}"));
            s.validate().unwrap_or_else(|e| panic!("{name}: {e}"));
            seen += 1;
        }
    }
    assert!(
        seen >= 3,
        "expected the three validation scenarios in {dir}, found {seen}"
    );
}

#[test]
fn unknown_fields_are_refused_with_their_name() {
    let top = SPEC_EXAMPLE.replace("seed: 1", "seed: 1\nsede: 2");
    let err = parse(&top).unwrap_err().to_string();
    assert!(err.contains("sede"), "{err}");
    let nested = SPEC_EXAMPLE.replace("  servers: 5", "  servers: 5\n  serverz: 6");
    let err = parse(&nested).unwrap_err().to_string();
    assert!(err.contains("serverz"), "{err}");
    let bad_kind = SPEC_EXAMPLE.replace("kind: queue", "kind: queueing");
    assert!(parse(&bad_kind).is_err());
    let bad_dist = SPEC_EXAMPLE.replace("exponential   #", "gamma   #");
    let err = parse(&bad_dist).unwrap_err().to_string();
    assert!(err.contains("gamma"), "{err}");
}

#[test]
fn invalid_values_name_the_field() {
    let cases: &[(&str, &str, &str)] = &[
        ("  servers: 5", "  servers: 0", "queue.servers"),
        (
            "arrival_rate_per_hour: 40",
            "arrival_rate_per_hour: -1",
            "queue.arrival_rate_per_hour",
        ),
        (
            "service_minutes_mean: 6",
            "service_minutes_mean: 0",
            "queue.service_minutes_mean",
        ),
        (
            "patience_minutes_mean: null",
            "patience_minutes_mean: -3",
            "queue.patience_minutes_mean",
        ),
        (
            "horizon_hours: 100000",
            "horizon_hours: .nan",
            "horizon_hours",
        ),
        (
            "horizon_hours: 100000",
            "horizon_hours: 1e12",
            "horizon_hours",
        ),
        ("warmup_hours: 1000", "warmup_hours: 200000", "warmup_hours"),
        ("warmup_hours: 1000", "warmup_hours: -1", "warmup_hours"),
        ("name: counter-check", "name: ' '", "name"),
        // 60 per hour × 6 minutes = 6 Erlang on 5 servers without abandonment.
        (
            "arrival_rate_per_hour: 40",
            "arrival_rate_per_hour: 60",
            "queue.arrival_rate_per_hour",
        ),
    ];
    for (from, to, field) in cases {
        let text = SPEC_EXAMPLE.replace(from, to);
        assert_ne!(text, SPEC_EXAMPLE, "test case {from} did not apply");
        let s = parse(&text).unwrap_or_else(|e| panic!("{to}: {e}"));
        let err = s.validate().unwrap_err();
        assert_eq!(err.field, *field, "{to}: {err}");
        assert!(err.to_string().starts_with(field), "{to}: {err}");
        assert_eq!(
            run_queue_scenario(&s).unwrap_err(),
            err,
            "run must validate first"
        );
    }
    // Overload is fine once callers abandon.
    let text = SPEC_EXAMPLE
        .replace("arrival_rate_per_hour: 40", "arrival_rate_per_hour: 60")
        .replace("patience_minutes_mean: null", "patience_minutes_mean: 3");
    parse(&text).unwrap().validate().unwrap();
}

#[test]
fn same_scenario_and_seed_give_byte_identical_summaries() {
    let mut s = parse(SPEC_EXAMPLE).unwrap();
    s.horizon_hours = 3_000.0;
    s.queue.patience_minutes_mean = Some(4.0);
    let a = serde_json::to_vec(&run_queue_scenario(&s).unwrap()).unwrap();
    let b = serde_json::to_vec(&run_queue_scenario(&s).unwrap()).unwrap();
    assert_eq!(a, b, "two runs of {s:?} differ");
    s.seed = 2;
    let c = serde_json::to_vec(&run_queue_scenario(&s).unwrap()).unwrap();
    assert_ne!(a, c, "seed must change the run");
}

#[test]
fn summary_has_the_documented_fields() {
    let mut s = parse(SPEC_EXAMPLE).unwrap();
    s.horizon_hours = 2_000.0;
    let summary = run_queue_scenario(&s).unwrap();
    let json = serde_json::to_value(&summary).unwrap();
    for field in [
        "mean_wait_minutes",
        "p_wait",
        "utilization",
        "abandoned_fraction",
        "served",
        "mean_wait_ci95",
        "theory",
        "event_count",
        "name",
        "seed",
    ] {
        assert!(json.get(field).is_some(), "summary lacks {field}: {json}");
    }
    assert!(summary.event_count > 2 * summary.served, "{json}");
}
