//! A support line: callers queue FCFS for agents whose number follows a weekly shift plan,
//! and hang up when their patience runs out.
//!
//! The call centre is a [`MultiServerQueue`] whose server count is set from the
//! [`ShiftPlan`] at every shift boundary. The model schedules one event per boundary
//! ([`CallCentre::next_shift_change`]) and calls [`CallCentre::shift_change`] when it fires;
//! the callers who reach an agent then are returned so the model can schedule their calls'
//! ends. Agents going off shift finish their current call first.

use super::calendar::{ShiftPlan, Weekday};
use super::multi_server::{Abandoned, MultiServerQueue, Started};
use crate::kernel::{SimDuration, SimTime};
use crate::stats::TimeWeighted;

/// A call centre with shifts and abandonment. See the module docs.
#[derive(Debug, Clone)]
pub struct CallCentre<C> {
    plan: ShiftPlan,
    epoch_weekday: Weekday,
    queue: MultiServerQueue<C>,
    agents_on_shift: TimeWeighted,
}

impl<C> CallCentre<C> {
    /// A call centre observed from `start`, staffed per `plan` (day 0 is `epoch_weekday`).
    #[must_use]
    pub fn new(start: SimTime, plan: ShiftPlan, epoch_weekday: Weekday) -> Self {
        let agents = plan.agents_at(epoch_weekday, start);
        CallCentre {
            queue: MultiServerQueue::new(start, agents),
            plan,
            epoch_weekday,
            agents_on_shift: TimeWeighted::new(start, f64::from(agents)),
        }
    }

    /// When the model should next call [`CallCentre::shift_change`] (strictly after `now`).
    #[must_use]
    pub fn next_shift_change(&self, now: SimTime) -> Option<SimTime> {
        self.plan.next_change_after(self.epoch_weekday, now)
    }

    /// Applies the shift plan at `now`. Callers who reach an agent because more agents came
    /// on shift are returned in queue order; callers found to have hung up go to `on_abandon`.
    pub fn shift_change(
        &mut self,
        now: SimTime,
        on_abandon: impl FnMut(Abandoned<C>),
    ) -> Vec<Started<C>> {
        let agents = self.plan.agents_at(self.epoch_weekday, now);
        self.agents_on_shift.set(now, f64::from(agents));
        self.queue.set_servers(now, agents, on_abandon)
    }

    /// A call arrives. Returns the caller if an agent answers at once (schedule the call's
    /// end); otherwise the caller waits, for at most `patience`.
    #[inline]
    pub fn call(&mut self, now: SimTime, caller: C, patience: Option<SimDuration>) -> Option<C> {
        self.queue.arrive(now, caller, patience)
    }

    /// An agent finishes a call at `now`; the next caller still on the line, if any, is
    /// answered and returned.
    #[inline]
    pub fn call_ended(
        &mut self,
        now: SimTime,
        on_abandon: impl FnMut(Abandoned<C>),
    ) -> Option<Started<C>> {
        self.queue.release(now, on_abandon)
    }

    /// Reports every waiting caller whose patience has run out by `now` (e.g. at the end of a
    /// day, so abandonment counts are complete even when no agent frees up).
    pub fn hang_up_expired(&mut self, now: SimTime, on_abandon: impl FnMut(Abandoned<C>)) {
        self.queue.purge_expired(now, on_abandon);
    }

    /// Agents on shift now.
    #[must_use]
    pub fn agents(&self) -> u32 {
        self.queue.servers()
    }

    /// Agents busy on a call now.
    #[must_use]
    pub fn busy_agents(&self) -> u32 {
        self.queue.busy()
    }

    /// Callers waiting (see [`MultiServerQueue::waiting`] about undiscovered hang-ups).
    #[must_use]
    pub fn waiting(&self) -> usize {
        self.queue.waiting()
    }

    /// Time-weighted agents on shift.
    #[must_use]
    pub fn agents_on_shift_stat(&self) -> &TimeWeighted {
        &self.agents_on_shift
    }

    /// The underlying queue (busy-agent and queue-length statistics).
    #[must_use]
    pub fn queue(&self) -> &MultiServerQueue<C> {
        &self.queue
    }
}
