//! The scheduler's ordering guarantees, as properties over random schedules.

use mitid_sim::kernel::{
    DayScheduler, MILLIS_PER_DAY, RandomStreams, ScheduleError, Scheduler, SimDuration, SimTime,
};
use proptest::prelude::*;

/// Delivers everything, returning (time, payload) in delivery order.
fn drain(scheduler: &mut Scheduler<u32>) -> Vec<(u64, u32)> {
    let mut out = Vec::new();
    while let Some((t, e)) = scheduler.next_event() {
        assert_eq!(
            scheduler.now(),
            t,
            "clock must equal the delivered event's time"
        );
        out.push((t.as_millis(), e));
    }
    out
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    /// Events come out in time order, and equal times in scheduling order.
    #[test]
    fn delivery_is_time_then_insertion_order(times in prop::collection::vec(0u64..50, 0..300)) {
        let mut scheduler = Scheduler::new();
        for (i, &t) in times.iter().enumerate() {
            scheduler.schedule_at(SimTime::from_millis(t), i as u32).unwrap();
        }
        let got = drain(&mut scheduler);
        let mut expected: Vec<(u64, u32)> =
            times.iter().enumerate().map(|(i, &t)| (t, i as u32)).collect();
        // A stable sort by time keeps insertion order among ties: exactly the guarantee.
        expected.sort_by_key(|&(t, _)| t);
        prop_assert_eq!(&got, &expected, "times scheduled: {:?}", times);
        prop_assert_eq!(scheduler.delivered(), times.len() as u64);
    }

    /// Interleaving deliveries and scheduling (the normal case in a model) keeps both rules,
    /// including events scheduled for "now" while handling an event at "now".
    #[test]
    fn interleaved_scheduling_keeps_order(
        seed in any::<u64>(),
        delays in prop::collection::vec(0u64..5, 1..200),
    ) {
        let mut scheduler: Scheduler<u32> = Scheduler::new();
        scheduler.schedule_at(SimTime::EPOCH, 0).unwrap();
        let mut next_id = 1u32;
        let mut scheduled_at: Vec<u64> = vec![0];
        let mut delays = delays.into_iter();
        let mut delivered = Vec::new();
        while let Some((now, id)) = scheduler.next_event() {
            delivered.push((now.as_millis(), id));
            // Each delivery schedules up to two follow-ups (possibly at `now`).
            for _ in 0..2 {
                if let Some(d) = delays.next() {
                    let at = now + SimDuration::from_millis(d);
                    scheduler.schedule_at(at, next_id).unwrap();
                    scheduled_at.push(at.as_millis());
                    next_id += 1;
                }
            }
        }
        for pair in delivered.windows(2) {
            let ((t0, id0), (t1, id1)) = (pair[0], pair[1]);
            prop_assert!(t0 < t1 || (t0 == t1 && id0 < id1),
                "seed {} out of order: {:?} then {:?} (all: {:?})", seed, pair[0], pair[1], delivered);
        }
        prop_assert_eq!(delivered.len(), scheduled_at.len());
    }

    /// Scheduling before the clock is refused with a typed error and queues nothing.
    #[test]
    fn scheduling_in_the_past_is_refused(now in 1u64..1_000_000, back in 1u64..1_000_000) {
        let mut scheduler: Scheduler<u32> = Scheduler::new();
        scheduler.schedule_at(SimTime::from_millis(now), 1).unwrap();
        scheduler.next_event().unwrap();
        let past = SimTime::from_millis(now.saturating_sub(back));
        let err = scheduler.schedule_at(past, 2).unwrap_err();
        prop_assert_eq!(err, ScheduleError::InPast { at: past, now: SimTime::from_millis(now) });
        prop_assert_eq!(scheduler.pending(), 0, "refused event must not be queued");
        // The present is fine.
        prop_assert!(scheduler.schedule_at(SimTime::from_millis(now), 3).is_ok());
    }

    /// Same seed, same calls: same trace (times and payloads), twice.
    #[test]
    fn same_seed_same_trace(seed in any::<u64>()) {
        let trace = |seed: u64| {
            let mut rng = RandomStreams::new(seed).stream("trace");
            let mut scheduler: Scheduler<u32> = Scheduler::new();
            for i in 0..50 {
                scheduler.schedule_in(rng.exponential_millis(1000.0), i).unwrap();
            }
            let mut out = Vec::new();
            while let Some((t, e)) = scheduler.next_event() {
                out.push((t.as_millis(), e));
                if out.len() < 500 {
                    scheduler.schedule_in(rng.exponential_millis(1000.0), e).unwrap();
                }
            }
            out
        };
        let a = trace(seed);
        let b = trace(seed);
        prop_assert_eq!(&a, &b, "seed {}", seed);
        prop_assert_ne!(a, trace(seed.wrapping_add(1)), "seed {} and {} gave the same trace", seed, seed.wrapping_add(1));
    }
}

#[test]
fn overflowing_delay_is_refused() {
    let mut scheduler: Scheduler<()> = Scheduler::new()
        .starting_at(SimTime::from_millis(10))
        .unwrap();
    let err = scheduler.schedule_in(SimDuration::MAX, ()).unwrap_err();
    assert_eq!(
        err,
        ScheduleError::Overflow {
            now: SimTime::from_millis(10),
            delay: SimDuration::MAX
        }
    );
    assert_eq!(scheduler.pending(), 0);
}

#[test]
fn next_event_until_stops_at_the_horizon() {
    let mut scheduler = Scheduler::new();
    for h in [1u64, 2, 3] {
        scheduler
            .schedule_at(SimTime::EPOCH + SimDuration::from_hours(h), h)
            .unwrap();
    }
    let horizon = SimTime::EPOCH + SimDuration::from_hours(2);
    let mut got = Vec::new();
    while let Some((_, h)) = scheduler.next_event_until(horizon) {
        got.push(h);
    }
    assert_eq!(got, [1, 2], "events up to and including the horizon");
    assert_eq!(scheduler.now(), horizon);
    assert_eq!(scheduler.pending(), 1);
    assert!(
        scheduler
            .advance_to(SimTime::EPOCH + SimDuration::from_hours(4))
            .is_err(),
        "advancing past a pending event must be refused"
    );
}

#[test]
fn time_conversions_round_trip() {
    let t = SimTime::from_day(3) + SimDuration::from_hours(9) + SimDuration::from_minutes(30);
    assert_eq!(t.day(), 3);
    assert_eq!(t.minute_of_day(), 9 * 60 + 30);
    assert!((t.as_days_f64() - (3.0 + 9.5 / 24.0)).abs() < 1e-12, "{t}");
    assert_eq!(t.to_string(), "day 3 09:30:00.000");
    assert_eq!(SimDuration::from_minutes_f64(1.5).as_millis(), 90_000);
    assert_eq!(SimDuration::from_minutes_f64(-1.0), SimDuration::ZERO);
    assert_eq!(SimDuration::from_hours_f64(f64::NAN), SimDuration::ZERO);
    assert_eq!(SimTime::from_hours_f64(0.5).as_millis(), 1_800_000);
}

/// Deliveries as (time in milliseconds, payload).
type Trace = Vec<(u64, u32)>;

/// A model step for the day-scheduler comparison: on delivering an event, schedule `spawn`
/// new ones at these offsets (milliseconds, up to several days ahead).
fn replay_with_plain(
    days: u32,
    initial: &[u64],
    spawn: &[(u64, u64)],
    open_early: bool,
) -> (Trace, Trace) {
    let horizon = SimTime::from_day(days);
    let mut plain: Scheduler<u32> = Scheduler::new();
    let mut by_day = DayScheduler::new(days);
    let mut next_id = 0u32;
    for &t in initial {
        let at = SimTime::from_millis(t);
        if at < horizon {
            plain.schedule_at(at, next_id).unwrap();
        }
        by_day.schedule_at(at, next_id).unwrap();
        next_id += 1;
    }
    let mut run = |plain_side: bool| {
        let mut out = Vec::new();
        let mut id = next_id;
        loop {
            let delivered = if plain_side {
                plain.next_event_until(horizon)
            } else {
                if open_early {
                    // A model opening the next day as soon as the clock enters a day.
                    by_day.open_through(by_day.now().day() + 1).unwrap();
                }
                by_day.next_event_until(horizon)
            };
            let Some((now, e)) = delivered else { break };
            out.push((now.as_millis(), e));
            let (a, b) = spawn[e as usize % spawn.len()];
            for offset in [a, b] {
                let at = SimTime::from_millis(now.as_millis() + offset);
                if plain_side {
                    if at < horizon {
                        plain.schedule_at(at, id).unwrap();
                    }
                } else {
                    by_day.schedule_at(at, id).unwrap();
                }
                id += 1;
            }
            if out.len() > 2_000 {
                break;
            }
        }
        out
    };
    let plain_trace = run(true);
    let day_trace = run(false);
    (plain_trace, day_trace)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(100))]

    /// The day scheduler delivers exactly what a plain scheduler delivers (same times, same
    /// order at equal times), whether days open by themselves or early, by the model.
    #[test]
    fn day_scheduler_delivers_like_a_plain_scheduler(
        days in 1u32..6,
        initial in prop::collection::vec(0u64..6 * MILLIS_PER_DAY, 0..40),
        spawn in prop::collection::vec(
            (0u64..2 * MILLIS_PER_DAY, prop_oneof![Just(0u64), 0u64..3 * MILLIS_PER_DAY]),
            1..8,
        ),
        open_early in any::<bool>(),
    ) {
        let (plain, by_day) = replay_with_plain(days, &initial, &spawn, open_early);
        prop_assert_eq!(plain, by_day);
    }
}

#[test]
fn day_scheduler_discards_past_the_horizon_and_refuses_the_past() {
    let mut s = DayScheduler::new(2);
    s.schedule_at(SimTime::from_day(2), 1u32).unwrap();
    s.schedule_at(SimTime::from_day(9), 2).unwrap();
    assert_eq!(s.discarded(), 2);
    s.schedule_at(SimTime::from_day(1) + SimDuration::from_hours(1), 3)
        .unwrap();
    assert_eq!(s.waiting_for(1).len(), 1, "day 1 is not open yet");
    assert_eq!(
        s.next_event_until(SimTime::from_day(2)),
        Some((SimTime::from_day(1) + SimDuration::from_hours(1), 3))
    );
    assert_eq!(s.open_through_day(), 1, "delivering on day 1 opened it");
    assert!(matches!(
        s.schedule_at(SimTime::from_day(1), 4),
        Err(ScheduleError::InPast { .. })
    ));
    assert_eq!(s.next_event_until(SimTime::from_day(2)), None);
}
