//! Citizen Service: citizens book in their region when their own counter is months away, the wait
//! measures say what they are (no value on a day nobody is served), and the national run is held
//! to the published figures of `fixtures/citizen-service-load.md` (the CHECK entries), with the
//! tolerances written there.

use std::sync::OnceLock;

use mitid_sim::policy::{MunicipalityCapacity, PolicyOutcome, PolicyScenario};

use crate::policy_support::{PHASEOUT_YAML, date, run, scenario};

/// Aalborg and Læsø share Region Nordjylland; Læsø gets many counters, Aalborg the rule's few.
fn two_municipalities(book_in_region_after_days: Option<u32>) -> PolicyScenario {
    let mut s = scenario(PHASEOUT_YAML, 6_000);
    s.population.municipalities = vec!["Aalborg".into(), "Læsø".into()];
    s.population.end = date("2022-12-31");
    s.capacities.reference_population = 219_000;
    let cs = &mut s.capacities.citizen_service;
    cs.book_in_region_after_days = book_in_region_after_days;
    cs.overrides = vec![MunicipalityCapacity {
        municipality: "Læsø".into(),
        counters: Some(6.0),
        opening_hours: None,
        walk_ins: None,
        extra_counters: Vec::new(),
    }];
    s
}

/// Mean days from first request to being served, over everyone served in the run.
fn mean_wait_of_served(o: &PolicyOutcome) -> f64 {
    let (mut served, mut waited) = (0u64, 0.0);
    for d in &o.days {
        served += u64::from(d.citizen_service_served);
        waited +=
            d.citizen_service_mean_wait_days.unwrap_or(0.0) * f64::from(d.citizen_service_served);
    }
    waited / served.max(1) as f64
}

fn served_from_elsewhere(o: &PolicyOutcome) -> u32 {
    o.municipalities
        .iter()
        .flat_map(|m| &m.months)
        .map(|month| month.served_from_elsewhere)
        .sum()
}

#[test]
fn citizens_facing_a_long_wait_book_at_an_idle_counter_in_their_region() {
    let own_only = run(&two_municipalities(None), 3);
    let pooled = run(&two_municipalities(Some(14)), 3);
    assert_eq!(
        served_from_elsewhere(&own_only),
        0,
        "with book_in_region_after_days null nobody is served outside their municipality"
    );
    let moved = served_from_elsewhere(&pooled);
    assert!(moved > 0, "nobody booked at Læsø's idle counters");
    let laeso = pooled
        .municipalities
        .iter()
        .find(|m| m.name == "Læsø")
        .expect("Læsø is in the run");
    assert!(
        laeso
            .months
            .iter()
            .map(|m| m.served_from_elsewhere)
            .sum::<u32>()
            == moved,
        "only Læsø has spare counters, so every case served away is served there"
    );
    let (before, after) = (mean_wait_of_served(&own_only), mean_wait_of_served(&pooled));
    assert!(
        after < before,
        "pooling the region's counters should shorten the mean wait: {before:.1} d own-only, {after:.1} d pooled"
    );
}

#[test]
fn a_mean_over_nobody_has_no_value_and_the_offered_wait_exists_every_day() {
    let mut s = two_municipalities(Some(14));
    let sup = &mut s.capacities.support;
    sup.agents_day = 0;
    sup.agents_evening = 0;
    sup.agents_night = 0;
    let o = run(&s, 4);
    let mut closed_days = 0;
    for d in &o.days {
        assert_eq!(
            d.citizen_service_mean_wait_days.is_none(),
            d.citizen_service_served == 0,
            "the served-that-day mean exists exactly when someone was served: {d:?}"
        );
        assert!(
            d.citizen_service_offered_wait_days.is_finite()
                && d.citizen_service_offered_wait_days >= 1.0,
            "the offered wait is defined every day and at least tomorrow: {d:?}"
        );
        assert_eq!(d.support_answered, 0, "no agents answer no calls: {d:?}");
        assert_eq!(
            d.support_mean_wait_minutes, None,
            "with no agents the support wait has no value, not 0 minutes: {d:?}"
        );
        if d.citizen_service_queue == 0 {
            assert_eq!(d.citizen_service_oldest_request_days, 0, "{d:?}");
        }
        if d.citizen_service_served == 0 && d.citizen_service_queue > 0 {
            closed_days += 1;
        }
    }
    assert!(
        closed_days > 50,
        "weekends with people waiting should show up as days without a served mean ({closed_days})"
    );
    let longest_served = o
        .days
        .iter()
        .filter_map(|d| d.citizen_service_mean_wait_days)
        .fold(0.0, f64::max);
    let oldest = o
        .days
        .iter()
        .map(|d| d.citizen_service_oldest_request_days)
        .max()
        .unwrap_or(0);
    assert!(
        f64::from(oldest) >= longest_served.floor(),
        "no case served can have waited longer than the oldest waiting case ever was: {oldest} < {longest_served}"
    );
}

// ----- the national run against published figures (fixtures/citizen-service-load.md) --------

/// 2 % of Denmark: Aalborg's counters and queue scale with it, so per-resident figures and
/// waits compare directly and counts are scaled back by 50.
const NATIONAL_POPULATION: u32 = 118_000;
const NATIONAL_SEED: u64 = 2023;

fn national() -> &'static PolicyOutcome {
    static OUTCOME: OnceLock<PolicyOutcome> = OnceLock::new();
    OUTCOME.get_or_init(|| run(&scenario(PHASEOUT_YAML, NATIONAL_POPULATION), NATIONAL_SEED))
}

fn to_denmark(count: f64) -> f64 {
    count * 5_900_000.0 / f64::from(NATIONAL_POPULATION)
}

#[test]
fn queue_on_30_april_2022_is_near_the_published_120_000() {
    let o = national();
    let day = date("2022-04-30");
    let row = o
        .days
        .iter()
        .find(|d| d.date == day)
        .expect("the run covers 2022-04-30");
    let queue = to_denmark(f64::from(row.citizen_service_queue));
    assert!(
        (60_000.0..=144_000.0).contains(&queue),
        "published: up to 120,000 in the queue (Ekstra Bladet via Nordjyske, April 2022); \
         tolerance 60,000..=144,000; model {queue:.0} (population {NATIONAL_POPULATION}, seed {NATIONAL_SEED})"
    );
}

#[test]
fn aalborg_offers_about_six_weeks_in_april_2022_as_calibrated() {
    let o = national();
    let aalborg = o
        .municipalities
        .iter()
        .find(|m| m.name == "Aalborg")
        .expect("Aalborg is in the national run");
    let april = aalborg
        .months
        .iter()
        .find(|m| m.month == "2022-04")
        .expect("the run covers April 2022");
    assert!(
        (21.0..=63.0).contains(&april.mean_offered_wait_days),
        "calibrated to: next free appointment six weeks (42 days) ahead in Aalborg (Nordjyske, April \
         2022); tolerance 21..=63 days; model {:.1} days (population {NATIONAL_POPULATION}, seed {NATIONAL_SEED})",
        april.mean_offered_wait_days
    );
}

#[test]
fn the_national_wait_peaks_in_the_first_half_of_2022_not_after_the_bank_cutoff() {
    let o = national();
    let mut by_month: Vec<(String, u64, f64)> = Vec::new();
    for d in &o.days {
        let month = d.date.format("%Y-%m").to_string();
        let waited =
            d.citizen_service_mean_wait_days.unwrap_or(0.0) * f64::from(d.citizen_service_served);
        match by_month.last_mut() {
            Some((m, served, sum)) if *m == month => {
                *served += u64::from(d.citizen_service_served);
                *sum += waited;
            }
            _ => by_month.push((month, u64::from(d.citizen_service_served), waited)),
        }
    }
    let means: Vec<(String, f64)> = by_month
        .into_iter()
        .filter(|(_, served, _)| *served > 0)
        .map(|(m, served, sum)| (m, sum / served as f64))
        .collect();
    let (peak_month, peak) = means
        .iter()
        .fold((String::new(), f64::MIN), |best, (m, w)| {
            if *w > best.1 { (m.clone(), *w) } else { best }
        });
    assert!(
        ("2021-10".to_owned()..="2022-06".to_owned()).contains(&peak_month),
        "published: Citizen Service overloaded in the first half of 2022, deadline moved (B.T., May 2022); \
         model peak {peak:.1} d in {peak_month}; monthly means {means:?}"
    );
}

#[test]
fn cases_served_over_the_run_fall_between_the_published_bounds() {
    let o = national();
    let served: u64 = o
        .days
        .iter()
        .map(|d| u64::from(d.citizen_service_served))
        .sum();
    let served = to_denmark(served as f64);
    assert!(
        (450_000.0..=1_000_000.0).contains(&served),
        "published: more than 900,000 need Citizen Service (Ekstra Bladet, May 2022), up to a million \
         (B.T., Feb 2022); tolerance 450,000..=1,000,000; model {served:.0} cases served \
         (population {NATIONAL_POPULATION}, seed {NATIONAL_SEED})"
    );
}
