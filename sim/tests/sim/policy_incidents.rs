//! Incidents in the pure model: the window's actions fail and the model reacts; outside the
//! window nothing changes; every kind validates its own fields; the shipped replays parse.

use mitid_sim::policy::incidents::served_by;
use mitid_sim::policy::{
    Action, Credential, Incident, IncidentKind, IncidentTarget, OutageMode, PolicyScenario,
};

use crate::policy_support::{date, run, scenario};

const NEMID_OUTAGE: &str = include_str!("../../../scenarios/incident-nemid-outage-2022.yaml");
const CPR_LOCKOUT: &str = include_str!("../../../scenarios/incident-cpr-lockout-2022.yaml");
const DDOS_ABROAD: &str = include_str!("../../../scenarios/incident-ddos-abroad.yaml");

fn outage(target: IncidentTarget, from: &str, until: &str) -> Incident {
    Incident {
        name: "test-outage".to_owned(),
        source: String::new(),
        kind: IncidentKind::Outage,
        from: date(from),
        until: date(until),
        component: Some(target),
        mode: Some(OutageMode::Down),
        restart: None,
        latency_ms: None,
        error_rate: None,
        victims_share: None,
    }
}

#[test]
fn the_replays_parse_and_validate() {
    for yaml in [NEMID_OUTAGE, CPR_LOCKOUT, DDOS_ABROAD] {
        let s = scenario(yaml, 2_000);
        s.validate()
            .unwrap_or_else(|e| panic!("{} does not validate: {e}", s.name));
        assert_eq!(s.incidents.len(), 1, "{}", s.name);
        assert!(!s.incidents[0].source.is_empty(), "{}: no source", s.name);
    }
}

#[test]
fn an_outage_fails_the_windows_actions_and_leaves_the_days_before_it_alone() {
    let base = scenario(NEMID_OUTAGE, 5_000);
    let mut without = base.clone();
    without.incidents.clear();
    let with = run(&base, 4);
    let pure = run(&without, 4);
    assert!(pure.incidents.is_empty());
    let figures = &with.incidents[0];
    assert!(figures.actions_failed > 0, "{figures:?}");
    assert!(figures.citizens_affected > 0 && figures.citizens_affected <= figures.actions_failed);
    // Up to the window the runs are the same day by day: the incident draws nothing.
    let first = with
        .days
        .iter()
        .position(|d| d.date == base.incidents[0].from)
        .expect("the window is in the run");
    assert_eq!(with.days[..first], pure.days[..first]);
    let failed = |o: &mitid_sim::policy::PolicyOutcome| -> u32 {
        o.days[first..first + 5]
            .iter()
            .map(|d| d.failed_logins)
            .sum()
    };
    assert!(
        failed(&with) > failed(&pure),
        "the outage added no failed login in its window"
    );
    // Deterministic: the same seed gives the same outcome.
    assert_eq!(run(&base, 4), with);
}

#[test]
fn an_outage_of_a_component_only_fails_what_that_component_serves() {
    let nemid_login = Action::NemidMigrationLogin;
    let mitid_login = Action::SectorLogin {
        sector: mitid_sim::policy::Sector::Bank,
        credential: Credential::Mitid(mitid_sim::policy::population::MitidKind::App),
    };
    assert!(served_by(nemid_login).contains(&IncidentTarget::Nemid));
    assert!(served_by(nemid_login).contains(&IncidentTarget::Idp));
    assert!(!served_by(mitid_login).contains(&IncidentTarget::Nemid));

    // The support line down for the whole run: every support action fails, nothing else does.
    let mut s = scenario(NEMID_OUTAGE, 3_000);
    s.incidents = vec![outage(IncidentTarget::Support, "2022-06-01", "2022-08-01")];
    let with = run(&s, 9);
    s.incidents.clear();
    let pure = run(&s, 9);
    // With no recovery through support, fewer are recovered by support.
    assert!(with.totals.recovered_support <= pure.totals.recovered_support);
    assert_eq!(with.totals.recovered_support, 0, "{:?}", with.totals);
}

#[test]
fn every_kind_checks_its_own_fields_and_names_the_field() {
    let base = scenario(NEMID_OUTAGE, 1_000);
    let check = |edit: &dyn Fn(&mut Incident), path: &str| {
        let mut s: PolicyScenario = base.clone();
        edit(&mut s.incidents[0]);
        let err = s.validate().expect_err("an invalid incident");
        assert_eq!(err.field_path(), Some(path), "{err}");
    };
    check(&|i| i.until = i.from, "incidents[0].until");
    check(&|i| i.component = None, "incidents[0].component");
    check(&|i| i.latency_ms = Some(10), "incidents[0].latency_ms");
    check(
        &|i| {
            i.kind = IncidentKind::ErrorRate;
            i.mode = None;
            i.restart = None;
        },
        "incidents[0].error_rate",
    );
    check(
        &|i| {
            i.kind = IncidentKind::ErrorRate;
            i.mode = None;
            i.restart = None;
            i.error_rate = Some(1.5);
        },
        "incidents[0].error_rate",
    );
    check(
        &|i| {
            i.kind = IncidentKind::GeoBlock;
            i.mode = None;
            i.restart = None;
        },
        "incidents[0].component",
    );
    check(&|i| i.name = " ".to_owned(), "incidents[0].name");
}
