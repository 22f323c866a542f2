//! The simulation clock and its pending events.
//!
//! A model owns one [`Scheduler<E>`] whose payload `E` is the model's own event type (usually a
//! small `enum`, ideally at most 8 bytes: the queue holds tens of millions of them). The model
//! runs the loop itself:
//!
//! ```
//! use mitid_sim::kernel::{Scheduler, SimDuration, SimTime};
//!
//! #[derive(Debug, PartialEq)]
//! enum Event { Open, Close }
//!
//! let mut scheduler = Scheduler::new();
//! scheduler.schedule_at(SimTime::from_day(0) + SimDuration::from_hours(8), Event::Open).unwrap();
//! scheduler.schedule_in(SimDuration::from_hours(16), Event::Close).unwrap();
//! let mut seen = Vec::new();
//! while let Some((now, event)) = scheduler.next_event() {
//!     seen.push((now.as_hours_f64(), event));
//! }
//! assert_eq!(seen, [(8.0, Event::Open), (16.0, Event::Close)]);
//! ```
//!
//! # Ordering guarantees
//!
//! * Events are delivered in non-decreasing time order, and the clock ([`Scheduler::now`]) is
//!   the time of the event last delivered; it never goes back.
//! * Events scheduled for the same instant are delivered in the order they were scheduled
//!   (FIFO), including events scheduled for `now` while handling an event at `now`: they run
//!   after everything already pending at `now`.
//! * Scheduling before `now` is refused with [`ScheduleError::InPast`]; a delay that overflows
//!   the clock is refused with [`ScheduleError::Overflow`]. A refused event is not queued.
//! * Nothing else influences the order: no hashing, no addresses, no wall clock. The same
//!   sequence of calls gives the same sequence of deliveries on every run and platform.
//!
//! # Cancelling
//!
//! There is no cancel: a model that may need to withdraw an event (a timeout that no longer
//! applies) keeps a generation counter in its own state, puts the generation in the payload,
//! and ignores a delivered event whose generation is stale. That costs nothing when events are
//! not cancelled, which is the common case.

use super::event_queue::{EventQueue, FutureEventSet};
use super::time::{SimDuration, SimTime};

/// Why an event could not be scheduled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ScheduleError {
    /// The requested time is before the current simulation time.
    #[error("cannot schedule an event at {at}: the clock is already at {now}")]
    InPast {
        /// The requested time.
        at: SimTime,
        /// The clock when the request was made.
        now: SimTime,
    },
    /// `now + delay` does not fit the clock.
    #[error("cannot schedule an event {delay} after {now}: past the end of representable time")]
    Overflow {
        /// The clock when the request was made.
        now: SimTime,
        /// The requested delay.
        delay: SimDuration,
    },
}

/// Clock plus future-event set. See the module docs for the guarantees.
///
/// `Q` is the future-event set; the default, [`EventQueue`], suits every model. A model with
/// only a handful of pending events may pick [`super::QuaternaryHeap`] instead (it measured
/// faster with few pending events; see `sim/benches/kernel.rs`). The ordering guarantees are
/// the same for every implementation.
#[derive(Debug)]
pub struct Scheduler<E, Q = EventQueue<E>> {
    now: SimTime,
    queue: Q,
    delivered: u64,
    _event: std::marker::PhantomData<fn(E) -> E>,
}

impl<E> Default for Scheduler<E> {
    fn default() -> Self {
        Self::new()
    }
}

impl<E> Scheduler<E> {
    /// A scheduler at the epoch with nothing pending, on the default future-event set.
    #[must_use]
    pub fn new() -> Self {
        Self::with_queue(EventQueue::new())
    }
}

impl<E, Q: FutureEventSet<E>> Scheduler<E, Q> {
    /// A scheduler at the epoch on the given future-event set, which must be empty.
    #[must_use]
    pub fn with_queue(queue: Q) -> Self {
        debug_assert!(queue.is_empty(), "a scheduler starts with nothing pending");
        Scheduler {
            now: SimTime::EPOCH,
            queue,
            delivered: 0,
            _event: std::marker::PhantomData,
        }
    }

    /// This scheduler with its clock moved to `start` (events before it are refused).
    /// Only for a fresh scheduler: it fails if an event is pending before `start`.
    pub fn starting_at(mut self, start: SimTime) -> Result<Self, ScheduleError> {
        self.advance_to(start)?;
        Ok(self)
    }

    /// The current simulation time: the time of the event last delivered (or the start).
    #[must_use]
    pub fn now(&self) -> SimTime {
        self.now
    }

    /// Schedules `event` at `at`, which must not be before [`Scheduler::now`].
    pub fn schedule_at(&mut self, at: SimTime, event: E) -> Result<(), ScheduleError> {
        if at < self.now {
            return Err(ScheduleError::InPast { at, now: self.now });
        }
        self.queue
            .push(at, event)
            .map_err(|_| ScheduleError::InPast { at, now: self.now })
    }

    /// Schedules `event` after `delay` from now.
    pub fn schedule_in(&mut self, delay: SimDuration, event: E) -> Result<(), ScheduleError> {
        let at = self.now.checked_add(delay).ok_or(ScheduleError::Overflow {
            now: self.now,
            delay,
        })?;
        self.schedule_at(at, event)
    }

    /// Delivers the next event and advances the clock to its time; `None` when nothing is pending.
    #[inline]
    pub fn next_event(&mut self) -> Option<(SimTime, E)> {
        let (at, event) = self.queue.pop()?;
        self.now = at;
        self.delivered += 1;
        Some((at, event))
    }

    /// Like [`Scheduler::next_event`], but only if the next event is at or before `horizon`;
    /// otherwise nothing is delivered and the clock stays where it is.
    #[inline]
    pub fn next_event_until(&mut self, horizon: SimTime) -> Option<(SimTime, E)> {
        match self.queue.peek_time() {
            Some(t) if t <= horizon => self.next_event(),
            _ => None,
        }
    }

    /// Moves the clock forward to `to` without delivering anything (e.g. to the end of a run
    /// after the last event). Refused if an event is pending before `to` or `to` is in the past.
    pub fn advance_to(&mut self, to: SimTime) -> Result<(), ScheduleError> {
        if to < self.now {
            return Err(ScheduleError::InPast {
                at: to,
                now: self.now,
            });
        }
        if let Some(next) = self.queue.peek_time()
            && next < to
        {
            return Err(ScheduleError::InPast { at: next, now: to });
        }
        self.now = to;
        Ok(())
    }

    /// The time of the next pending event (the clock does not move).
    pub fn peek_time(&mut self) -> Option<SimTime> {
        self.queue.peek_time()
    }

    /// Number of pending events.
    #[must_use]
    pub fn pending(&self) -> usize {
        self.queue.len()
    }

    /// Number of events delivered so far (the run's event count).
    #[must_use]
    pub fn delivered(&self) -> u64 {
        self.delivered
    }
}
