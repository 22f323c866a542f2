//! The run object: stepped, advanced and read in any way, it finishes into `run_policy`'s
//! outcome byte for byte; its port sees every action at the run's clock, and a port that
//! changes outcomes changes what the citizens do next.

use std::cell::RefCell;
use std::rc::Rc;

use mitid_sim::kernel::{SimDuration, SimTime};
use mitid_sim::policy::population::MitidKind;
use mitid_sim::policy::{
    Action, ActionPort, ActionRequest, CallReason, Credential, Failure, ModelRules, Outcome,
    PolicyOutcome, PolicyRun, PolicyScenario, RecoveryRoute, Stage, Step, Visit,
};

use crate::policy_support::{AALBORG_YAML, DEMO_YAML, PHASEOUT_YAML, run, scenario};

/// A test of one kind of action.
type IsKind = fn(&Action) -> bool;

fn bytes(outcome: &PolicyOutcome) -> Vec<u8> {
    serde_json::to_vec(outcome).expect("outcome serializes")
}

fn new_run(s: &PolicyScenario, seed: u64) -> PolicyRun<'_> {
    PolicyRun::new(s, seed).unwrap_or_else(|e| panic!("{} does not build: {e}", s.name))
}

fn finish(run: PolicyRun<'_>) -> PolicyOutcome {
    run.finish().unwrap_or_else(|e| panic!("run failed: {e}"))
}

/// Every step until the end, one event at a time.
fn by_events(s: &PolicyScenario, seed: u64) -> PolicyOutcome {
    let mut run = new_run(s, seed);
    while run.step().expect("step") != Step::Finished {}
    finish(run)
}

/// One day at a time.
fn by_days(s: &PolicyScenario, seed: u64) -> PolicyOutcome {
    let mut run = new_run(s, seed);
    let mut closed = 0;
    loop {
        match run.step_day().expect("step_day") {
            Step::DayClosed(row) => {
                assert_eq!(
                    Some(&row),
                    run.closed_days().last(),
                    "the step's row is the last closed"
                );
                closed += 1;
            }
            Step::Finished => break,
            Step::Event(e) => panic!("step_day reported a single event {e:?}"),
        }
    }
    assert_eq!(closed, run.calendar().days, "every day closes once");
    finish(run)
}

/// Instants that fall anywhere: mid-day, on a day's last millisecond, on midnight.
fn by_odd_instants(s: &PolicyScenario, seed: u64) -> PolicyOutcome {
    let mut run = new_run(s, seed);
    let stride =
        SimDuration::from_days(3) + SimDuration::from_hours(7) + SimDuration::from_millis(13);
    let mut t = SimTime::EPOCH;
    let mut k = 0u32;
    while !run.is_finished() {
        t = match k % 3 {
            0 => t + stride,
            1 => SimTime::from_day(t.day() + 1) - SimDuration::from_millis(1),
            _ => SimTime::from_day(t.day() + 2),
        };
        run.advance_to(t).expect("advance_to");
        assert_eq!(run.now(), t.min(SimTime::from_day(run.calendar().days)));
        k += 1;
    }
    finish(run)
}

/// A bit of everything, then `finish` long before the end.
fn mixed(s: &PolicyScenario, seed: u64) -> PolicyOutcome {
    let mut run = new_run(s, seed);
    for _ in 0..1_000 {
        run.step().expect("step");
    }
    for _ in 0..10 {
        run.step_day().expect("step_day");
    }
    run.advance_to(SimTime::from_day(40) + SimDuration::from_millis(86_399_999))
        .expect("advance_to");
    let at = run.now();
    let events = run.events_delivered();
    run.advance_to(SimTime::from_day(3))
        .expect("advancing to the past does nothing");
    assert_eq!(
        (run.now(), run.events_delivered()),
        (at, events),
        "advancing to the past"
    );
    for _ in 0..500 {
        run.step().expect("step");
    }
    finish(run)
}

#[test]
fn every_way_of_advancing_a_run_finishes_into_run_policys_outcome() {
    for (yaml, seed) in [(DEMO_YAML, 5), (AALBORG_YAML, 6), (PHASEOUT_YAML, 7)] {
        let s = scenario(yaml, 4_000);
        let reference = bytes(&run(&s, seed));
        for (how, outcome) in [
            ("step", by_events(&s, seed)),
            ("step_day", by_days(&s, seed)),
            ("advance_to at odd instants", by_odd_instants(&s, seed)),
            ("mixed, finished early", mixed(&s, seed)),
        ] {
            assert!(
                bytes(&outcome) == reference,
                "{} seed {seed}: advancing by {how} gives another outcome than run_policy",
                s.name
            );
        }
    }
}

/// Remembers every request and answers by the model's rules, or fails every NemID login.
#[derive(Default)]
struct Recorder {
    requests: Rc<RefCell<Vec<ActionRequest>>>,
    fail_nemid: bool,
}

fn is_nemid_login(action: Action) -> bool {
    matches!(
        action,
        Action::SectorLogin {
            credential: Credential::Nemid,
            ..
        } | Action::NemidMigrationLogin
            | Action::Recovery {
                route: RecoveryRoute::Nemid,
                ..
            }
    )
}

impl ActionPort for Recorder {
    fn resolve(&mut self, request: &ActionRequest) -> Outcome {
        self.requests.borrow_mut().push(*request);
        if self.fail_nemid && is_nemid_login(request.action) {
            Outcome::Failed(Failure::Unavailable)
        } else {
            ModelRules.resolve(request)
        }
    }
}

#[test]
fn the_port_sees_every_kind_of_action_at_the_runs_clock() {
    let s = scenario(PHASEOUT_YAML, 6_000);
    let requests = Rc::new(RefCell::new(Vec::new()));
    let recorder = Recorder {
        requests: Rc::clone(&requests),
        fail_nemid: false,
    };
    let mut live = PolicyRun::with_port(&s, 9, recorder).expect("builds");
    let mut seen = 0;
    loop {
        let step = live.step().expect("step");
        let all = requests.borrow();
        for r in &all[seen..] {
            assert_eq!(
                r.at,
                live.now(),
                "{r:?} was put to the port outside its event"
            );
            assert!(
                r.citizen < live.citizen_count() as u32,
                "{r:?} names no citizen"
            );
        }
        if all.len() > seen {
            assert!(
                matches!(step, Step::Event(e) if e.citizen.is_some()),
                "actions came out of {step:?}"
            );
        }
        seen = all.len();
        if step == Step::Finished {
            break;
        }
    }
    let tally = live.actions();
    assert_eq!(tally.resolved, seen as u64);
    assert_eq!(
        tally.diverged, 0,
        "the model's rules never diverge from themselves"
    );
    let all = requests.borrow();
    let kinds: [(&str, IsKind); 6] = [
        ("NemID login at a sector", |a| {
            matches!(
                a,
                Action::SectorLogin {
                    credential: Credential::Nemid,
                    ..
                }
            )
        }),
        ("NemID login to move to MitID", |a| {
            matches!(a, Action::NemidMigrationLogin)
        }),
        ("enrolment", |a| matches!(a, Action::Enrolment { .. })),
        ("Citizen Service appointment", |a| {
            matches!(a, Action::CitizenServiceAppointment { .. })
        }),
        ("support call", |a| matches!(a, Action::SupportCall { .. })),
        ("recovery", |a| matches!(a, Action::Recovery { .. })),
    ];
    for (name, is) in kinds {
        let n = all.iter().filter(|r| is(&r.action)).count();
        assert!(n > 0, "no {name} in {} actions of {}", all.len(), s.name);
    }
    let pure = bytes(&run(&s, 9));
    drop(all);
    assert!(
        bytes(&finish(live)) == pure,
        "recording the actions changed the run"
    );
}

#[test]
fn failing_every_nemid_login_sends_citizens_to_other_routes_support_and_citizen_service() {
    let s = scenario(PHASEOUT_YAML, 20_000);
    let seed = 4;
    let pure = run(&s, seed);
    let mut port = Recorder {
        fail_nemid: true,
        ..Recorder::default()
    };
    let mut live = PolicyRun::with_port(&s, seed, &mut port).expect("builds");
    while live.step_day().expect("step_day") != Step::Finished {}
    let tally = live.actions();
    let failed = finish(live);
    let requests = port.requests.borrow();
    let nemid = |expected: Outcome| {
        requests
            .iter()
            .filter(|r| is_nemid_login(r.action) && r.expected == expected)
            .count() as u64
    };
    let expected_to_work = nemid(Outcome::Succeeded);
    let refused = nemid(Outcome::Failed(Failure::Refused));
    assert!(
        expected_to_work > 0,
        "no NemID login the model expected to work"
    );
    assert!(refused > 0, "no NemID login the model expected refused");
    // Refused by the model's rules, unavailable by the port's: a divergence too.
    assert_eq!(
        tally.diverged,
        expected_to_work + refused,
        "only NemID logins diverged, every one of them"
    );

    let sum = |o: &PolicyOutcome, f: fn(&mitid_sim::policy::DayRow) -> u32| -> u64 {
        o.days.iter().map(|d| u64::from(f(d))).sum()
    };
    let (p, f) = (&pure.totals, &failed.totals);
    assert!(
        p.via_nemid > 0 && p.recovered_nemid > 0,
        "the pure run uses NemID: {p:?}"
    );
    assert_eq!(
        (f.via_nemid, f.recovered_nemid),
        (0, 0),
        "NemID still worked: {f:?}"
    );
    let cs = |o: &PolicyOutcome| sum(o, |d| d.citizen_service_requests);
    assert!(
        cs(&failed) > cs(&pure),
        "Citizen Service requests {} with NemID failing vs {} pure",
        cs(&failed),
        cs(&pure)
    );
    // Fewer citizens get MitID early without NemID, so fewer break it: the support line's
    // total is no measure. Instead, follow each citizen whose NemID recovery failed: their
    // next action is the passport at once, or support, or the counter.
    let mut to_support = 0;
    for (i, r) in requests.iter().enumerate() {
        if !matches!(
            r.action,
            Action::Recovery {
                route: RecoveryRoute::Nemid,
                ..
            }
        ) {
            continue;
        }
        let Some(next) = requests[i + 1..].iter().find(|n| n.citizen == r.citizen) else {
            continue;
        };
        match next.action {
            Action::Recovery {
                route: RecoveryRoute::Passport,
                ..
            } => {
                assert_eq!(next.at, r.at, "the passport is tried at once: {next:?}");
            }
            Action::SupportCall {
                reason: CallReason::Recovery,
            } => to_support += 1,
            Action::CitizenServiceAppointment {
                visit: Visit::Recovery(_),
            } => {}
            other => panic!("after a failed NemID recovery {r:?} came {other:?}"),
        }
    }
    assert!(to_support > 0, "no failed NemID recovery went to support");
    assert!(
        f.citizen_service + f.app_passport > p.citizen_service + p.app_passport,
        "the citizens who could not use NemID took no other route: {f:?} vs {p:?}"
    );
    assert!(
        f.failed_logins > p.failed_logins,
        "failed logins did not rise: {f:?} vs {p:?}"
    );
}

#[test]
fn a_run_reads_the_same_between_steps_as_its_outcome() {
    let s = scenario(DEMO_YAML, 5_000);
    let outcome = run(&s, 2);
    let mut run = new_run(&s, 2);
    assert_eq!(run.calendar().days as usize, outcome.days.len());
    assert_eq!(run.milestones(), outcome.milestones.as_slice());
    assert_eq!(run.citizen_count(), s.population.size as usize);
    assert_eq!(run.today_date(), Some(s.population.start));
    for day in 1..=30u32 {
        let Step::DayClosed(row) = run.step_day().expect("step_day") else {
            panic!("day {day} did not close");
        };
        assert_eq!(row, outcome.days[day as usize - 1], "day {day}'s figures");
        assert_eq!(run.today(), day);
        assert_eq!(run.closed_days(), &outcome.days[..day as usize]);
        let holders = (0..run.citizen_count() as u32)
            .filter_map(|i| run.citizen(i))
            .filter(|v| v.mitid != MitidKind::None)
            .count();
        assert_eq!(
            holders as u32, row.mitid_users,
            "MitID holders at the end of day {day}"
        );
        let down = (0..run.citizen_count() as u32)
            .filter_map(|i| run.citizen(i))
            .filter(|v| matches!(v.stage, Stage::MitidDown(_)))
            .count();
        assert!(down as u32 <= row.mitid_users);
    }
    assert_eq!(run.citizen(run.citizen_count() as u32), None);
    let t = SimTime::from_day(45) + SimDuration::from_hours(13) + SimDuration::from_millis(7);
    run.advance_to(t).expect("advance_to");
    assert_eq!(run.now(), t);
    assert_eq!(run.today(), 45, "days 0 to 44 closed");
    match run.step().expect("step") {
        Step::Event(e) => assert!(e.at > t, "{e:?} was due by {t}"),
        other => panic!("expected an event after {t}, got {other:?}"),
    }
    assert_eq!(bytes(&finish(run)), bytes(&outcome));
}
