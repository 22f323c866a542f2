//! Calendar milestones change what works from their day on.

use mitid_sim::policy::calendar::NemidCalendar;

use crate::policy_support::{PHASEOUT_YAML, date, run, scenario};

#[test]
fn after_the_shutdown_no_nemid_login_succeeds_and_after_june_5_nobody_moves_via_nemid() {
    let s = scenario(PHASEOUT_YAML, 20_000);
    let outcome = run(&s, 9);
    let shutdown = date("2023-10-31");
    let via_ends = date("2023-06-05");
    let mut before_via = 0;
    for row in &outcome.days {
        if row.date >= shutdown {
            assert_eq!(
                row.nemid_logins, 0,
                "a NemID login on {}: {row:?}",
                row.date
            );
            assert_eq!(
                row.nemid_only, 0,
                "NemID still counts as working on {}: {row:?}",
                row.date
            );
        }
        if row.date >= via_ends {
            assert_eq!(
                row.via_nemid_enrolments_started, 0,
                "migration via NemID on {}: {row:?}",
                row.date
            );
        } else {
            before_via += row.via_nemid_enrolments_started;
        }
    }
    assert!(
        before_via > 1000,
        "the via-NemID route was hardly used before {via_ends}: {before_via}"
    );
    let eve = outcome
        .days
        .iter()
        .find(|d| d.date == date("2023-10-30"))
        .expect("row for 2023-10-30");
    assert!(
        eve.nemid_only > 0,
        "nobody relied on NemID on the eve of the shutdown: {eve:?}"
    );
}

#[test]
fn the_bank_cutoff_forces_failed_logins_and_moving_it_moves_them() {
    let s = scenario(PHASEOUT_YAML, 20_000);
    let base = run(&s, 4);
    let mut later = s.clone();
    for cut in &mut later.calendar.sectors {
        if matches!(
            cut.sector,
            mitid_sim::policy::Sector::Bank | mitid_sim::policy::Sector::Shop
        ) {
            cut.nemid_cutoff = date("2023-01-01");
        }
    }
    let moved = run(&later, 4);
    let in_nov = |o: &mitid_sim::policy::PolicyOutcome| -> u32 {
        o.days
            .iter()
            .filter(|d| d.date >= date("2022-11-01") && d.date < date("2022-12-01"))
            .map(|d| d.failed_logins)
            .sum()
    };
    assert!(
        in_nov(&base) > in_nov(&moved) * 2,
        "failed logins in November 2022: {} with the bank cut-off on 2022-11-01, {} with it on 2023-01-01",
        in_nov(&base),
        in_nov(&moved)
    );
}

#[test]
fn calendar_days_follow_the_scenario_dates() {
    let s = scenario(PHASEOUT_YAML, 1_000);
    let cal = NemidCalendar::new(&s);
    assert_eq!(cal.date(0), date("2021-10-01"));
    assert_eq!(cal.date(cal.nemid_shutdown), date("2023-10-31"));
    assert_eq!(cal.date(cal.migration_via_nemid_ends), date("2023-06-05"));
    assert_eq!(cal.date(cal.qr_rollout), date("2023-06-06"));
    assert!(cal.nemid_works(cal.nemid_shutdown - 1) && !cal.nemid_works(cal.nemid_shutdown));
    assert_eq!(cal.days, 822, "2021-10-01..=2023-12-31 is 822 days");
}

#[test]
fn key_cards_and_nemid_support_only_break_nemid_after_their_milestones() {
    let mut s = scenario(PHASEOUT_YAML, 20_000);
    // Key cards Citizen-Service-only and support closed early: NemID-only holders lose NemID.
    s.calendar.key_cards_only_at_citizen_service = date("2022-01-01");
    s.calendar.nemid_support_closes = date("2022-01-01");
    let early = run(&s, 6);
    assert!(
        early.totals.nemid_lost_key_card > 50 && early.totals.nemid_lost_no_support > 20,
        "milestones on 2022-01-01 should break many NemIDs: {:?}",
        early.totals
    );
    // Both after the shutdown (clamped to it): nothing may break.
    s.calendar.key_cards_only_at_citizen_service = date("2023-12-01");
    s.calendar.nemid_support_closes = date("2023-12-01");
    s.calendar.nemid_shutdown = date("2023-12-01");
    let late = run(&s, 6);
    assert_eq!(
        (
            late.totals.nemid_lost_key_card,
            late.totals.nemid_lost_no_support
        ),
        (0, 0),
        "milestones at the shutdown must break nothing: {:?}",
        late.totals
    );
}

/// The calendar defaults come from `fixtures/nemid-calendar.yaml` (DOMAIN.md's table plus the
/// staggered public cut-offs); the literal dates here are what the fixture says today.
#[test]
fn calendar_defaults_are_the_fixture_dates() {
    use mitid_sim::policy::{CalendarConfig, Sector};
    let c = CalendarConfig::default();
    assert_eq!(c.mitid_default_public, date("2022-09-22"));
    assert_eq!(c.key_cards_only_at_citizen_service, date("2023-05-30"));
    assert_eq!(c.migration_via_nemid_ends, date("2023-06-05"));
    assert_eq!(c.nemid_support_closes, date("2023-06-30"));
    assert_eq!(c.nemid_shutdown, date("2023-10-31"));
    assert_eq!(c.qr_rollout, date("2023-06-06"));
    for (sector, cutoff) in [
        (Sector::Bank, "2022-11-01"),
        (Sector::Shop, "2022-11-01"),
        (Sector::Childcare, "2023-03-31"),
        (Sector::ChangeAddress, "2023-04-30"),
        (Sector::LeaveDenmark, "2023-04-30"),
        (Sector::Doctor, "2023-05-31"),
        (Sector::Tax, "2023-06-30"),
        (Sector::DigitalPost, "2023-10-31"),
    ] {
        assert_eq!(c.cutoff(sector), date(cutoff), "{sector:?}");
    }
    assert_eq!(c.sectors.len(), Sector::ALL.len());
}
