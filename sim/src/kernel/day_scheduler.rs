//! A scheduler that keeps far-future events out of the future-event set, one list per day.
//!
//! A population model schedules millions of events months ahead (the next authenticator
//! problem of every MitID holder, every citizen's next decision). Held in one future-event set
//! they push its working set out of cache, although only about one day of them is ever near the
//! front. [`DayScheduler`] is a second future-event set in front of [`Scheduler`]: an event for
//! a day that is not yet *open* waits in that day's list (a plain `Vec`, in scheduling order),
//! and enters the [`Scheduler`]'s queue when its day opens. Measured on the full-country policy
//! scenario this keeps the queue at about a day of events and the run about twice as fast.
//!
//! ```
//! use mitid_sim::kernel::{DayScheduler, SimDuration, SimTime};
//!
//! let mut scheduler = DayScheduler::new(3);
//! scheduler.schedule_at(SimTime::from_day(2), "day 2").unwrap();
//! scheduler.schedule_at(SimTime::from_day(0) + SimDuration::from_hours(1), "day 0").unwrap();
//! scheduler.schedule_at(SimTime::from_day(3), "past the horizon").unwrap();
//! assert_eq!(scheduler.waiting_for(2).len(), 1);
//! let mut seen = Vec::new();
//! while let Some((_, event)) = scheduler.next_event_until(SimTime::from_day(3)) {
//!     seen.push(event);
//! }
//! assert_eq!(seen, ["day 0", "day 2"]);
//! ```
//!
//! # Ordering guarantees
//!
//! Deliveries are exactly those of a plain [`Scheduler`] given the same calls (the module docs
//! of [`super::scheduler`] list its guarantees), for every event before the horizon:
//!
//! * Time order: an event waits in its day's list only while no event of that day can be
//!   delivered. Before the scheduler delivers anything at or after the start of a day that is
//!   not open, it opens that day (and any before it) by itself; a model may also open a day
//!   earlier with [`DayScheduler::open_through`] (e.g. at its own end-of-day event, after
//!   looking at [`DayScheduler::waiting_for`]).
//! * Equal times keep scheduling order: opening a day moves its list into the queue in the
//!   order the events were scheduled, and no event of that day can be in the queue before it
//!   opens. So every event of a day enters the queue after all events of that day scheduled
//!   earlier and before all scheduled later, which is FIFO at every instant.
//! * Scheduling before [`DayScheduler::now`] is refused with [`ScheduleError::InPast`], as by
//!   the plain scheduler.
//! * The horizon: events on day `days` or later are discarded when scheduled (a run of `days`
//!   days can never deliver them); [`DayScheduler::discarded`] counts them.

use super::scheduler::{ScheduleError, Scheduler};
use super::time::SimTime;

/// A [`Scheduler`] plus one waiting list per day not yet open. See the module docs.
#[derive(Debug)]
pub struct DayScheduler<E> {
    inner: Scheduler<E>,
    /// Events of days not yet open, by day, in scheduling order.
    waiting: Vec<Vec<(SimTime, E)>>,
    /// Days `0..=open_through` are open: their events go straight to the queue.
    open_through: u32,
    /// The start of the first day not yet open ([`SimTime::MAX`] when all are open).
    closed_from: SimTime,
    discarded: u64,
}

impl<E> DayScheduler<E> {
    /// A scheduler for a run of `days` days at the epoch, with day 0 open.
    #[must_use]
    pub fn new(days: u32) -> Self {
        let mut waiting = Vec::new();
        waiting.resize_with(days as usize, Vec::new);
        DayScheduler {
            inner: Scheduler::new(),
            waiting,
            open_through: 0,
            closed_from: day_start(1, days),
            discarded: 0,
        }
    }

    /// Number of days of the run (the horizon is the start of this day).
    #[must_use]
    pub fn days(&self) -> u32 {
        self.waiting.len() as u32
    }

    /// The current simulation time (see [`Scheduler::now`]).
    #[must_use]
    pub fn now(&self) -> SimTime {
        self.inner.now()
    }

    /// Number of events delivered so far.
    #[must_use]
    pub fn delivered(&self) -> u64 {
        self.inner.delivered()
    }

    /// Number of events discarded for falling on or after the horizon.
    #[must_use]
    pub fn discarded(&self) -> u64 {
        self.discarded
    }

    /// The last open day.
    #[must_use]
    pub fn open_through_day(&self) -> u32 {
        self.open_through
    }

    /// Schedules `event` at `at`: into the queue if its day is open, else into its day's list;
    /// discarded (and counted) on or after the horizon.
    #[inline]
    pub fn schedule_at(&mut self, at: SimTime, event: E) -> Result<(), ScheduleError> {
        let day = at.day();
        if day <= self.open_through {
            self.inner.schedule_at(at, event)
        } else {
            match self.waiting.get_mut(day as usize) {
                Some(list) => list.push((at, event)),
                None => self.discarded += 1,
            }
            Ok(())
        }
    }

    /// The events waiting for `day`, in scheduling order (empty once the day is open).
    #[must_use]
    pub fn waiting_for(&self, day: u32) -> &[(SimTime, E)] {
        self.waiting.get(day as usize).map_or(&[], Vec::as_slice)
    }

    /// Opens every day up to and including `day` (capped at the last day of the run), moving
    /// their waiting events into the queue in day order and, within a day, scheduling order.
    /// Opening an open day does nothing.
    pub fn open_through(&mut self, day: u32) -> Result<(), ScheduleError> {
        let last = day.min(self.days().saturating_sub(1));
        while self.open_through < last {
            let next = self.open_through + 1;
            let events = std::mem::take(&mut self.waiting[next as usize]);
            for (at, event) in events {
                self.inner.schedule_at(at, event)?;
            }
            self.open_through = next;
        }
        self.closed_from = day_start(self.open_through + 1, self.days());
        Ok(())
    }

    /// Delivers the next event at or before `horizon`, opening days as needed first; `None`
    /// (and the clock unmoved) when there is none.
    #[inline]
    pub fn next_event_until(&mut self, horizon: SimTime) -> Option<(SimTime, E)> {
        loop {
            match self.inner.peek_time() {
                Some(t) if t < self.closed_from => {
                    return if t <= horizon {
                        self.inner.next_event()
                    } else {
                        None
                    };
                }
                _ => {
                    if self.closed_from > horizon || self.open_through + 1 >= self.days() {
                        return self.inner.next_event_until(horizon);
                    }
                    // The next event (if any) is on a day not yet open: open one more day.
                    // Opening cannot fail: a closed day's events are all after the clock.
                    self.open_through(self.open_through + 1).ok()?;
                }
            }
        }
    }
}

/// The start of `day`, or the end of representable time if the run has no such day.
fn day_start(day: u32, days: u32) -> SimTime {
    if day < days {
        SimTime::from_day(day)
    } else {
        SimTime::MAX
    }
}
