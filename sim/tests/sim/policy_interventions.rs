//! What-ifs act on what they name: more support agents shorten the support wait, more Citizen
//! Service counters shorten the counter queue, and neither touches the other's figures' source.

use mitid_sim::policy::PolicyOutcome;

use crate::policy_support::{PHASEOUT_YAML, run, scenario};

const POPULATION: u32 = 50_000;
const SEED: u64 = 21;

/// Mean support wait over every answered call of the run, in minutes.
fn support_wait(o: &PolicyOutcome) -> f64 {
    let answered: u64 = o.days.iter().map(|d| u64::from(d.support_answered)).sum();
    let waited: f64 = o
        .days
        .iter()
        .map(|d| d.support_mean_wait_minutes.unwrap_or(0.0) * f64::from(d.support_answered))
        .sum();
    waited / answered.max(1) as f64
}

fn support_abandoned(o: &PolicyOutcome) -> u64 {
    o.days.iter().map(|d| u64::from(d.support_abandoned)).sum()
}

/// Mean Citizen Service queue over the days of the run (people waiting for an appointment).
fn counter_queue(o: &PolicyOutcome) -> f64 {
    o.days
        .iter()
        .map(|d| f64::from(d.citizen_service_queue))
        .sum::<f64>()
        / o.days.len().max(1) as f64
}

/// Mean days from asking Citizen Service to being served, over everyone served.
fn counter_wait(o: &PolicyOutcome) -> f64 {
    let served: u64 = o
        .days
        .iter()
        .map(|d| u64::from(d.citizen_service_served))
        .sum();
    let waited: f64 = o
        .days
        .iter()
        .map(|d| {
            d.citizen_service_mean_wait_days.unwrap_or(0.0) * f64::from(d.citizen_service_served)
        })
        .sum();
    waited / served.max(1) as f64
}

#[test]
fn tripling_support_staff_shortens_the_support_wait() {
    let base_scenario = scenario(PHASEOUT_YAML, POPULATION);
    let mut tripled = base_scenario.clone();
    let sup = &mut tripled.capacities.support;
    sup.agents_day *= 3;
    sup.agents_evening *= 3;
    sup.agents_night *= 3;
    let base = run(&base_scenario, SEED);
    let more = run(&tripled, SEED);
    let (before, after) = (support_wait(&base), support_wait(&more));
    assert!(
        after < 0.5 * before,
        "tripling support agents took the mean wait from {before:.1} to {after:.1} minutes \
         ({POPULATION} citizens, seed {SEED})"
    );
    assert!(
        support_abandoned(&more) < support_abandoned(&base),
        "abandoned calls {} -> {} with three times the agents (seed {SEED})",
        support_abandoned(&base),
        support_abandoned(&more)
    );
}

#[test]
fn adding_citizen_service_counters_shortens_the_counter_queue() {
    let base_scenario = scenario(PHASEOUT_YAML, POPULATION);
    let mut more_counters = base_scenario.clone();
    more_counters
        .capacities
        .citizen_service
        .counters_per_10k_residents *= 3.0;
    let base = run(&base_scenario, SEED);
    let more = run(&more_counters, SEED);
    let (queue_before, queue_after) = (counter_queue(&base), counter_queue(&more));
    assert!(
        queue_after < 0.7 * queue_before,
        "three times the counters took the mean Citizen Service queue from {queue_before:.0} \
         to {queue_after:.0} people ({POPULATION} citizens, seed {SEED})"
    );
    let (wait_before, wait_after) = (counter_wait(&base), counter_wait(&more));
    assert!(
        wait_after < wait_before,
        "three times the counters took the mean counter wait from {wait_before:.1} to \
         {wait_after:.1} days (seed {SEED})"
    );
    // The citizens' own decisions come from their own streams: the number deciding to go to
    // the counter barely moves (only through second-order effects such as fewer redials).
    let asked = |o: &PolicyOutcome| o.totals.citizen_service + o.totals.citizen_service_p_code;
    let (a, b) = (f64::from(asked(&base)), f64::from(asked(&more)));
    assert!(
        b >= 0.9 * a,
        "fewer people got MitID at the counter with more counters: {a} -> {b} (seed {SEED})"
    );
}
