//! Passive resources: the multi-server queue (FCFS, abandonment, shifts).

use mitid_sim::kernel::{SimDuration, SimTime};
use mitid_sim::resources::{Abandoned, MultiServerQueue};

fn min(m: u64) -> SimTime {
    SimTime::EPOCH + SimDuration::from_minutes(m)
}

#[test]
fn customers_are_served_first_come_first_served() {
    let mut q = MultiServerQueue::new(min(0), 2);
    assert_eq!(q.arrive(min(0), 'a', None), Some('a'));
    assert_eq!(q.arrive(min(1), 'b', None), Some('b'));
    assert_eq!(q.arrive(min(2), 'c', None), None);
    assert_eq!(q.arrive(min(3), 'd', None), None);
    assert_eq!((q.busy(), q.waiting()), (2, 2));
    let next = q
        .release(min(5), |_| panic!("nobody is impatient"))
        .unwrap();
    assert_eq!(
        (next.customer, next.arrived, next.waited),
        ('c', min(2), SimDuration::from_minutes(3))
    );
    let next = q
        .release(min(6), |_| panic!("nobody is impatient"))
        .unwrap();
    assert_eq!(next.customer, 'd');
    assert!(q.release(min(7), |_| {}).is_none());
    assert_eq!((q.busy(), q.waiting()), (1, 0));
    // 1 busy for a minute, 2 from 1 to 7 (c and d took over as others left), then 1 until 8.
    let busy = q.busy_servers_stat().mean(min(8));
    assert!(
        (busy - (1.0 + 2.0 * 6.0 + 1.0) / 8.0).abs() < 1e-9,
        "busy mean {busy}"
    );
}

#[test]
fn impatient_customers_leave_at_their_deadline_without_delaying_others() {
    let mut q = MultiServerQueue::new(min(0), 1);
    assert!(q.arrive(min(0), 1, None).is_some());
    assert!(
        q.arrive(min(1), 2, Some(SimDuration::from_minutes(2)))
            .is_none()
    ); // gives up at 3
    assert!(
        q.arrive(min(2), 3, Some(SimDuration::from_minutes(30)))
            .is_none()
    );
    let mut gone: Vec<Abandoned<i32>> = Vec::new();
    let next = q.release(min(10), |a| gone.push(a)).unwrap();
    assert_eq!(next.customer, 3);
    assert_eq!(next.waited, SimDuration::from_minutes(8));
    assert_eq!(
        gone,
        [Abandoned {
            customer: 2,
            arrived: min(1),
            left: min(3)
        }]
    );
    // Queue length: 1 from 1 to 2 (customer 2), 2 from 2 to 3, 1 from 3 to 10 → ∫ = 1+2+7 = 10.
    let mean = q.queue_length_stat().mean(min(10));
    assert!(
        (mean - 1.0).abs() < 1e-9,
        "queue length mean {mean} (∫ should be 10 over 10 min)"
    );
}

#[test]
fn purge_removes_expired_customers_anywhere_in_the_queue() {
    let mut q = MultiServerQueue::new(min(0), 1);
    q.arrive(min(0), 0, None);
    q.arrive(min(0), 1, Some(SimDuration::from_minutes(60)));
    q.arrive(min(0), 2, Some(SimDuration::from_minutes(5)));
    q.arrive(min(0), 3, None);
    let mut gone = Vec::new();
    q.purge_expired(min(10), |a| gone.push(a.customer));
    assert_eq!(gone, [2]);
    assert_eq!(q.waiting(), 2);
}

#[test]
fn shift_changes_add_servers_at_once_and_remove_them_as_they_finish() {
    let mut q = MultiServerQueue::new(min(0), 1);
    q.arrive(min(0), 'a', None);
    q.arrive(min(1), 'b', None);
    q.arrive(min(2), 'c', None);
    let started = q.set_servers(min(3), 3, |_| {});
    let who: Vec<char> = started.iter().map(|s| s.customer).collect();
    assert_eq!(who, ['b', 'c']);
    assert_eq!(q.busy(), 3);
    // Down to one server: nobody is interrupted, and releases do not start new service
    // until only one is busy.
    assert!(q.set_servers(min(4), 1, |_| {}).is_empty());
    q.arrive(min(4), 'd', None);
    assert!(
        q.release(min(5), |_| {}).is_none(),
        "2 still busy on a 1-server shift"
    );
    assert!(
        q.release(min(6), |_| {}).is_none(),
        "1 busy on a 1-server shift"
    );
    assert_eq!(q.release(min(7), |_| {}).map(|s| s.customer), Some('d'));
}

mod appointment_book {
    use mitid_sim::kernel::{RandomStreams, SimDuration, SimTime};
    use mitid_sim::resources::{
        AppointmentBook, AppointmentBookConfig, AppointmentBookError, BookingRefused, Weekday,
        WeeklyHours,
    };

    fn at(day: u32, hour: u64, minute: u64) -> SimTime {
        SimTime::from_day(day) + SimDuration::from_hours(hour) + SimDuration::from_minutes(minute)
    }

    /// 15-minute slots, 2 desks, weekdays 09:00–11:00 (8 slots), day 0 is a Monday.
    fn book(horizon_days: u32) -> AppointmentBook {
        AppointmentBook::new(AppointmentBookConfig {
            slot_minutes: 15,
            desks: 2,
            hours: WeeklyHours::weekdays(9 * 60, 11 * 60).unwrap(),
            booking_horizon_days: horizon_days,
            no_show_probability: 0.1,
            epoch_weekday: Weekday::Monday,
        })
        .unwrap()
    }

    #[test]
    fn books_the_earliest_free_slot_not_yet_started() {
        let mut b = book(2);
        let first = b.book(at(0, 10, 50)).unwrap();
        assert_eq!(
            first.start,
            at(1, 9, 0),
            "10:45 has started; next is Tuesday 09:00: {first:?}"
        );
        assert_eq!(
            b.next_free(at(0, 10, 50)),
            Some(at(1, 9, 0)),
            "second desk still free"
        );
        assert_eq!(b.book(at(0, 10, 50)).unwrap().start, at(1, 9, 0));
        assert_eq!(
            b.book(at(0, 10, 50)).unwrap().start,
            at(1, 9, 15),
            "both desks taken at 09:00"
        );
        assert_eq!(b.booked_total(), 3);
    }

    #[test]
    fn weekends_are_skipped_and_the_horizon_is_enforced() {
        // Friday (day 4) after closing, horizon 2 days: Saturday and Sunday are closed.
        let mut b = book(2);
        let err = b.book(at(4, 12, 0)).unwrap_err();
        assert_eq!(
            err,
            BookingRefused::NoSlotWithinHorizon {
                from: at(4, 12, 0),
                horizon_days: 2
            }
        );
        assert_eq!(b.refused_total(), 1);
        // With 3 days the Monday is in reach.
        let mut b = book(3);
        assert_eq!(b.book(at(4, 12, 0)).unwrap().start, at(7, 9, 0));
        // A full window refuses: 2 days × 16 appointments from Monday morning (days 0 and 1,
        // plus day 2 since the horizon counts days after the request's day).
        let mut b = book(1);
        let booked: Vec<_> = std::iter::from_fn(|| b.book(at(0, 8, 0)).ok()).collect();
        assert_eq!(booked.len(), 32, "{booked:?}");
        assert!(booked.windows(2).all(|w| w[0].start <= w[1].start));
        assert!(b.book(at(0, 8, 0)).is_err());
    }

    #[test]
    fn cancelling_and_adding_desks_free_capacity() {
        let mut b = book(0);
        let all: Vec<_> = std::iter::from_fn(|| b.book(at(0, 8, 0)).ok()).collect();
        assert_eq!(all.len(), 16);
        assert!(b.cancel(&all[5]));
        assert_eq!(b.booked_total(), 15);
        assert_eq!(b.book(at(0, 8, 0)).unwrap().start, all[5].start);
        b.set_desks(0, 3);
        assert_eq!(
            b.book(at(0, 8, 0)).unwrap().start,
            at(0, 9, 0),
            "third desk opens 09:00"
        );
    }

    #[test]
    fn no_shows_happen_at_the_configured_rate() {
        let b = book(5);
        let mut rng = RandomStreams::new(9).stream("no-show");
        let n = 100_000;
        let shows = (0..n).filter(|_| b.shows_up(&mut rng)).count() as f64 / f64::from(n);
        assert!(
            (shows - 0.9).abs() < 0.005,
            "show-up rate {shows}, expected 0.9 (seed 9)"
        );
    }

    #[test]
    fn bad_configuration_is_refused() {
        let mut config = book(1).config().clone();
        config.no_show_probability = 1.5;
        assert_eq!(
            AppointmentBook::new(config.clone()).unwrap_err(),
            AppointmentBookError::NoShowProbability(1.5)
        );
        config.no_show_probability = 0.0;
        config.slot_minutes = 0;
        assert_eq!(
            AppointmentBook::new(config).unwrap_err(),
            AppointmentBookError::SlotMinutes(0)
        );
        assert!(WeeklyHours::weekdays(600, 540).is_err());
    }
}

mod call_centre {
    use mitid_sim::kernel::{RandomStreams, Scheduler, SimDuration, SimTime};
    use mitid_sim::queueing_theory::erlang_a;
    use mitid_sim::resources::{CallCentre, ShiftPlan, Weekday};

    fn at(day: u32, hour: u64) -> SimTime {
        SimTime::from_day(day) + SimDuration::from_hours(hour)
    }

    #[test]
    fn agents_follow_the_shift_plan() {
        // 08:00 two agents, 16:00 one, 20:00 closed; weekends closed.
        let weekday = vec![(480, 2), (960, 1), (1200, 0)];
        let plan = ShiftPlan::new([
            weekday.clone(),
            weekday.clone(),
            weekday.clone(),
            weekday.clone(),
            weekday,
            vec![],
            vec![],
        ])
        .unwrap();
        assert_eq!(plan.agents_at(Weekday::Monday, at(0, 7)), 0);
        assert_eq!(plan.agents_at(Weekday::Monday, at(0, 8)), 2);
        assert_eq!(plan.agents_at(Weekday::Monday, at(0, 17)), 1);
        assert_eq!(plan.agents_at(Weekday::Monday, at(5, 12)), 0, "Saturday");
        assert_eq!(
            plan.next_change_after(Weekday::Monday, at(0, 8)),
            Some(at(0, 16))
        );
        assert_eq!(
            plan.next_change_after(Weekday::Monday, at(0, 21)),
            Some(at(1, 0))
        );
        assert!(
            ShiftPlan::daily(&[(600, 1), (500, 2)]).is_err(),
            "decreasing starts"
        );

        let mut centre: CallCentre<u32> = CallCentre::new(at(0, 7), plan, Weekday::Monday);
        assert_eq!(centre.agents(), 0);
        assert_eq!(
            centre.call(at(0, 7), 1, None),
            None,
            "closed: the caller waits"
        );
        assert_eq!(
            centre.call(at(0, 7), 2, Some(SimDuration::from_minutes(10))),
            None
        );
        let answered = centre.shift_change(at(0, 8), |gone| assert_eq!(gone.customer, 2));
        assert_eq!(answered.iter().map(|s| s.customer).collect::<Vec<_>>(), [1]);
        assert_eq!(answered[0].waited, SimDuration::from_hours(1));
        assert_eq!(centre.agents(), 2);
        assert_eq!(centre.busy_agents(), 1);
    }

    #[derive(Debug, Clone, Copy)]
    enum Ev {
        Call,
        CallEnd,
        Shift,
    }

    /// With a constant staffing (shift boundaries every midnight that keep 10 agents), the
    /// call centre is an M/M/10+M queue: its abandoned fraction and mean wait match Erlang A
    /// within an absolute 0.02 and a relative 10 % (a 2 000-hour run).
    #[test]
    fn a_constant_plan_behaves_like_erlang_a() {
        let plan = ShiftPlan::daily(&[(0, 10)]).unwrap();
        let mut centre: CallCentre<SimTime> =
            CallCentre::new(SimTime::EPOCH, plan, Weekday::Monday);
        let streams = RandomStreams::new(4);
        let (mut arrivals, mut service, mut patience) = (
            streams.stream("calls"),
            streams.stream("talk"),
            streams.stream("patience"),
        );
        let horizon = at(0, 2_000);
        let mut s: Scheduler<Ev> = Scheduler::new();
        s.schedule_at(SimTime::EPOCH, Ev::Call).unwrap();
        s.schedule_at(centre.next_shift_change(SimTime::EPOCH).unwrap(), Ev::Shift)
            .unwrap();
        let (mut calls, mut abandoned, mut total_wait_ms) = (0u64, 0u64, 0u64);
        while let Some((now, ev)) = s.next_event() {
            let mut on_abandon = |gone: mitid_sim::resources::Abandoned<SimTime>| {
                abandoned += 1;
                total_wait_ms += (gone.left - gone.arrived).as_millis();
            };
            match ev {
                Ev::Call if now < horizon => {
                    calls += 1;
                    let p = patience.exponential_millis(4.0 * 60_000.0);
                    if centre.call(now, now, Some(p)).is_some() {
                        s.schedule_in(service.exponential_millis(6.0 * 60_000.0), Ev::CallEnd)
                            .unwrap();
                    }
                    s.schedule_in(
                        arrivals.exponential_millis(60_000.0 * 60.0 / 110.0),
                        Ev::Call,
                    )
                    .unwrap();
                }
                Ev::Call => {}
                Ev::CallEnd => {
                    if let Some(next) = centre.call_ended(now, &mut on_abandon) {
                        total_wait_ms += next.waited.as_millis();
                        s.schedule_in(service.exponential_millis(6.0 * 60_000.0), Ev::CallEnd)
                            .unwrap();
                    }
                }
                Ev::Shift => {
                    for started in centre.shift_change(now, &mut on_abandon) {
                        total_wait_ms += started.waited.as_millis();
                        s.schedule_in(service.exponential_millis(6.0 * 60_000.0), Ev::CallEnd)
                            .unwrap();
                    }
                    if now < horizon {
                        s.schedule_at(centre.next_shift_change(now).unwrap(), Ev::Shift)
                            .unwrap();
                    }
                }
            }
        }
        let theory = erlang_a(10, 110.0 / 60.0, 1.0 / 6.0, 1.0 / 4.0).unwrap();
        let fraction = abandoned as f64 / calls as f64;
        let mean_wait = total_wait_ms as f64 / calls as f64 / 60_000.0;
        let why = format!(
            "seed 4, {calls} calls, abandoned {fraction}, mean wait {mean_wait}, theory {theory:?}"
        );
        assert!((fraction - theory.abandoned_fraction).abs() < 0.02, "{why}");
        assert!(
            (mean_wait - theory.mean_wait_minutes).abs() / theory.mean_wait_minutes < 0.10,
            "{why}"
        );
    }
}
