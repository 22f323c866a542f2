//! A live run's sample and its citizens' routine logins: chosen from the seed, the right size,
//! representative, without effect on the run; the need rates are the scenario's.

use mitid_sim::kernel::{SimDuration, SimTime};
use mitid_sim::policy::population::traits;
use mitid_sim::policy::{PolicyRun, PolicyScenario, SampleSize, Sector};

use crate::policy_support::{PHASEOUT_YAML, run, scenario};

fn new_run(s: &PolicyScenario, seed: u64) -> PolicyRun<'_> {
    PolicyRun::new(s, seed).unwrap_or_else(|e| panic!("{} does not build: {e}", s.name))
}

#[test]
fn the_live_sample_comes_from_the_seed_in_the_size_asked_for() {
    let s = scenario(PHASEOUT_YAML, 20_000);
    let a = new_run(&s, 3);
    let b = new_run(&s, 3);
    let other = new_run(&s, 4);
    for (size, expected) in [
        (SampleSize::Fraction(0.01), 200),
        (SampleSize::Fraction(1.0), 20_000),
        (SampleSize::Fraction(1e-9), 1),
        (SampleSize::Citizens(37), 37),
        (SampleSize::Citizens(20_000), 20_000),
    ] {
        let sample = a.live_sample(size).expect("a valid size");
        assert_eq!(sample.len(), expected, "{size:?}");
        assert!(
            sample.indices().windows(2).all(|w| w[0] < w[1]),
            "{size:?}: indices not ascending and distinct"
        );
        assert!(sample.indices().iter().all(|&i| a.citizen(i).is_some()));
        assert_eq!(
            sample,
            b.live_sample(size).expect("valid"),
            "same seed, {size:?}"
        );
        if expected < 20_000 {
            assert_ne!(
                sample,
                other.live_sample(size).expect("valid"),
                "seed 4, {size:?}"
            );
            let outside = (0..20_000)
                .find(|&i| !sample.contains(i))
                .expect("someone is out");
            assert!(!sample.indices().contains(&outside));
        }
        assert!(sample.indices().iter().all(|&i| sample.contains(i)));
    }
}

#[test]
fn a_bad_sample_size_names_its_flag() {
    let s = scenario(PHASEOUT_YAML, 1_000);
    let run = new_run(&s, 1);
    for (size, flag) in [
        (SampleSize::Fraction(0.0), "--live-sample"),
        (SampleSize::Fraction(-0.5), "--live-sample"),
        (SampleSize::Fraction(1.5), "--live-sample"),
        (SampleSize::Fraction(f64::NAN), "--live-sample"),
        (SampleSize::Citizens(0), "--live-citizens"),
        (SampleSize::Citizens(1_001), "--live-citizens"),
    ] {
        let err = run.live_sample(size).expect_err("an invalid size");
        assert_eq!(err.field_path(), Some(flag), "{size:?}: {err}");
    }
}

#[test]
fn the_live_sample_looks_like_the_population() {
    let s = scenario(PHASEOUT_YAML, 30_000);
    let run = new_run(&s, 8);
    let sample = run.live_sample(SampleSize::Fraction(0.1)).expect("valid");
    let everyone: Vec<u32> = (0..30_000).collect();
    let share = |who: &[u32], bit: u16| {
        let n = who
            .iter()
            .filter(|&&i| run.citizen(i).is_some_and(|v| v.record.has(bit)))
            .count();
        n as f64 / who.len() as f64
    };
    let mean_age = |who: &[u32]| {
        let sum: u64 = who
            .iter()
            .filter_map(|&i| run.citizen(i))
            .map(|v| u64::from(v.record.age))
            .sum();
        sum as f64 / who.len() as f64
    };
    // 3 000 of 30 000: a share's standard error is at most 0.9 points, an age mean's about
    // 0.4 years; the bounds are over four times that.
    for (name, bit) in [
        ("smartphone", traits::SMARTPHONE),
        ("NemID", traits::NEMID_HOLDER),
        ("bank", traits::BANK_CUSTOMER),
        ("digitally challenged", traits::CHALLENGED),
    ] {
        let (in_sample, overall) = (share(sample.indices(), bit), share(&everyone, bit));
        assert!(
            (in_sample - overall).abs() < 0.04,
            "{name}: {in_sample:.3} in the sample vs {overall:.3} overall"
        );
    }
    let (in_sample, overall) = (mean_age(sample.indices()), mean_age(&everyone));
    assert!(
        (in_sample - overall).abs() < 2.0,
        "mean age {in_sample:.1} in the sample vs {overall:.1} overall"
    );
}

#[test]
fn sampling_and_listing_logins_mid_run_leave_the_outcome_alone() {
    let s = scenario(PHASEOUT_YAML, 4_000);
    let reference = serde_json::to_vec(&run(&s, 12)).expect("serializes");
    let mut live = new_run(&s, 12);
    let before = live.live_sample(SampleSize::Citizens(50)).expect("valid");
    live.advance_to(SimTime::from_day(200)).expect("advance");
    let during = live.live_sample(SampleSize::Citizens(50)).expect("valid");
    assert_eq!(
        before, during,
        "the sample does not depend on how far the run is"
    );
    for &i in during.indices() {
        let logins: Vec<_> = live
            .routine_logins(i, live.now())
            .expect("a citizen")
            .take(20)
            .collect();
        assert!(logins.iter().all(|&(t, _)| t > live.now()));
    }
    let outcome = live.finish().expect("finishes");
    assert!(
        serde_json::to_vec(&outcome).expect("serializes") == reference,
        "the live sample or the routine logins changed the run"
    );
}

/// The scenario's rule, restated: a need applies in its age range, to bank customers only if
/// it says so, at the challenged rate for the digitally challenged.
fn expected_rate(s: &PolicyScenario, age: u8, bank: bool, challenged: bool, sector: Sector) -> f64 {
    s.behaviour
        .login_needs
        .iter()
        .filter(|n| n.sector == sector)
        .filter(|n| age >= n.min_age && age <= n.max_age && (bank || !n.bank_customers_only))
        .map(|n| {
            if challenged {
                n.per_year_challenged
            } else {
                n.per_year
            }
        })
        .next_back()
        .unwrap_or(0.0)
        / 365.25
}

#[test]
fn need_rates_are_the_scenarios_and_routine_logins_follow_them() {
    let s = scenario(PHASEOUT_YAML, 5_000);
    let run = new_run(&s, 5);
    let sample = run.live_sample(SampleSize::Citizens(400)).expect("valid");
    let from = SimTime::from_day(10);
    let window = SimDuration::from_days(365);
    let (mut expected, mut counted) = (0.0, 0u32);
    let mut by_sector_expected = [0.0; 8];
    let mut by_sector_counted = [0u32; 8];
    for &i in sample.indices() {
        let z = run.citizen(i).expect("a sampled citizen").record;
        let rates = run.need_rates(i).expect("rates");
        for sector in Sector::ALL {
            let want = expected_rate(
                &s,
                z.age,
                z.has(traits::BANK_CUSTOMER),
                z.has(traits::CHALLENGED),
                sector,
            );
            assert!(
                (rates.per_day(sector) - want).abs() < 1e-12,
                "citizen {i} ({z:?}) at {sector:?}: {} vs {want}",
                rates.per_day(sector)
            );
            by_sector_expected[sector.index()] += want * 365.0;
        }
        let listed: Vec<Sector> = rates.iter().map(|(sector, _)| sector).collect();
        let positive: Vec<Sector> = Sector::ALL
            .into_iter()
            .filter(|&sector| rates.per_day(sector) > 0.0)
            .collect();
        assert_eq!(listed, positive, "iter lists the sectors with a need");
        expected += rates.total_per_day() * 365.0;
        let logins: Vec<_> = run
            .routine_logins(i, from)
            .expect("a citizen")
            .take_while(|&(t, _)| t < from + window)
            .collect();
        assert!(
            logins.windows(2).all(|w| w[0].0 <= w[1].0),
            "logins out of order"
        );
        assert!(
            logins
                .iter()
                .all(|&(_, sector)| rates.per_day(sector) > 0.0)
        );
        let again: Vec<_> = run
            .routine_logins(i, from)
            .expect("a citizen")
            .take(logins.len())
            .collect();
        assert_eq!(logins, again, "citizen {i}: the same logins twice");
        counted += logins.len() as u32;
        for (_, sector) in logins {
            by_sector_counted[sector.index()] += 1;
        }
    }
    assert!(
        expected > 10_000.0,
        "too few expected logins to judge: {expected}"
    );
    let ratio = f64::from(counted) / expected;
    assert!(
        (ratio - 1.0).abs() < 0.05,
        "{counted} logins in a year vs {expected:.0} expected"
    );
    for sector in Sector::ALL {
        let (want, got) = (
            by_sector_expected[sector.index()],
            by_sector_counted[sector.index()],
        );
        if want > 500.0 {
            let r = f64::from(got) / want;
            assert!(
                (r - 1.0).abs() < 0.15,
                "{sector:?}: {got} logins vs {want:.0} expected"
            );
        }
    }
    assert!(run.need_rates(5_000).is_none());
    assert!(run.routine_logins(5_000, from).is_none());
}
