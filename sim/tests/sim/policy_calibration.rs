//! The default scenario is calibrated to `DOMAIN.md`'s "more than 4.5 million people had `MitID` on
//! 22 September 2022" out of 5.9 million. Shares scale, so a 1 % population must show 1 % of it.

use crate::policy_support::{PHASEOUT_YAML, date, run, scenario};

#[test]
fn mitid_users_on_2022_09_22_scale_to_4_5_million_within_5_percent() {
    let population = 59_000;
    let seed = 2023;
    let s = scenario(PHASEOUT_YAML, population);
    let outcome = run(&s, seed);
    let day = date("2022-09-22");
    let row = outcome
        .days
        .iter()
        .find(|d| d.date == day)
        .unwrap_or_else(|| {
            panic!(
                "no row for {day} in a run from {} to {}",
                outcome.start, outcome.end
            )
        });
    let scaled = f64::from(row.mitid_users) * 5_900_000.0 / f64::from(population);
    assert!(
        (4_275_000.0..=4_725_000.0).contains(&scaled),
        "population {population}, seed {seed}: {} MitID users on {day} scale to {scaled:.0}, outside 4.5 M ± 5 %; row: {row:?}",
        row.mitid_users
    );
}

#[test]
fn adoption_only_grows_while_nobody_loses_mitid_and_most_adults_end_with_it() {
    let s = scenario(PHASEOUT_YAML, 20_000);
    let outcome = run(&s, 5);
    for pair in outcome.days.windows(2) {
        assert!(
            pair[1].mitid_users >= pair[0].mitid_users,
            "MitID holders fell from {:?} to {:?}",
            pair[0],
            pair[1]
        );
    }
    let last = outcome.days.last().expect("a run has days");
    let share = f64::from(last.mitid_users_15plus) / f64::from(last.population_15plus);
    assert!(
        share > 0.85,
        "only {share:.3} of 15+ have MitID at the end: {last:?}"
    );
}
