//! The support line: when people phone, queueing, patience and redial, and what a finished
//! call achieves.

use crate::kernel::{MILLIS_PER_HOUR, SimDuration, SimTime};
use crate::policy::PolicyError;
use crate::policy::population::traits;
use crate::resources::Abandoned;

use super::state::{CitizenState as _, Problem, Reason, Status};
use super::{Caller, Ev, Model};

impl Model<'_> {
    /// A time people phone: `t` itself between 07:00 and 23:00, else the next morning.
    pub(super) fn waking_time(&mut self, t: SimTime) -> SimTime {
        let hour = t.millis_of_day() / MILLIS_PER_HOUR;
        if (7..23).contains(&hour) {
            t
        } else {
            let day = if hour >= 23 { t.day() + 1 } else { t.day() };
            SimTime::from_day(day)
                + SimDuration::from_hours(7)
                + SimDuration::from_millis(self.rng.support.below(3 * MILLIS_PER_HOUR))
        }
    }

    pub(super) fn call(&mut self, c: u32, r: Reason, at: SimTime) -> Result<(), PolicyError> {
        let zc = &mut self.citizens[c as usize];
        if zc.is(Status::InCall) || at >= self.end {
            return Ok(());
        }
        zc.set(Status::InCall);
        self.at(at, Ev::CallArrive(c, r))?;
        Ok(())
    }

    pub(super) fn on_call_arrive(
        &mut self,
        c: u32,
        r: Reason,
        now: SimTime,
    ) -> Result<(), PolicyError> {
        self.today.calls += 1;
        let sup = &self.sc.capacities.support;
        let patience =
            SimDuration::from_minutes_f64(self.rng.support.exponential(sup.patience_minutes));
        let caller = Caller {
            citizen: c,
            reason: r,
        };
        match self.support.call(now, caller, Some(patience)) {
            Some(caller) => self.start_call(caller, now, SimDuration::ZERO),
            None => Ok(()),
        }
    }

    pub(super) fn start_call(
        &mut self,
        Caller {
            citizen: c,
            reason: r,
        }: Caller,
        now: SimTime,
        waited: SimDuration,
    ) -> Result<(), PolicyError> {
        self.today.answered += 1;
        self.today.wait_minutes += waited.as_minutes_f64();
        let length = SimDuration::from_minutes_f64(
            self.rng
                .support
                .exponential(self.sc.capacities.support.call_minutes),
        );
        self.at(now + length, Ev::CallEnd(c, r))?;
        Ok(())
    }

    /// Callers the line found had hung up (at `left`, their patience's end; the line notices
    /// when an agent frees up, at a shift change or at the end of the day, see
    /// [`crate::resources::MultiServerQueue`]).
    pub(super) fn on_hang_ups(
        &mut self,
        hung_up: Vec<Abandoned<Caller>>,
        now: SimTime,
    ) -> Result<(), PolicyError> {
        for a in hung_up {
            self.on_hang_up(a.customer, a.left, now)?;
        }
        Ok(())
    }

    /// A caller who gave up waiting at `left`, noticed by the line at `now`.
    pub(super) fn on_hang_up(
        &mut self,
        Caller {
            citizen: c,
            reason: r,
        }: Caller,
        left: SimTime,
        now: SimTime,
    ) -> Result<(), PolicyError> {
        self.today.abandoned += 1;
        let sup = &self.sc.capacities.support;
        if self.rng.support.bernoulli(sup.redial) {
            // Redial counts from the hang-up; it is scheduled no earlier than when the line
            // noticed it, which is seldom more than a call's length later.
            let redial = (left + SimDuration::from_hours_f64(sup.redial_after_hours)).max(now);
            let at = self.waking_time(redial);
            if at < self.end {
                self.at(at, Ev::CallArrive(c, r))?;
                return Ok(());
            }
        }
        self.citizens[c as usize].clear(Status::InCall);
        let z = self.citizens[c as usize];
        if r == Reason::Recovery && z.is(Status::MitidDown) && !z.has(traits::ABROAD) {
            self.citizen_service_request(c, now, true)?;
        }
        Ok(())
    }

    pub(super) fn on_call_end(
        &mut self,
        c: u32,
        r: Reason,
        now: SimTime,
    ) -> Result<(), PolicyError> {
        let mut hung_up = Vec::new();
        let next = self.support.call_ended(now, |a| hung_up.push(a));
        self.on_hang_ups(hung_up, now)?;
        if let Some(s) = next {
            self.start_call(s.customer, now, s.waited)?;
        }
        self.citizens[c as usize].clear(Status::InCall);
        let z = self.citizens[c as usize];
        if r == Reason::Recovery && z.is(Status::MitidDown) {
            let refused = matches!(z.problem(), Some(Problem::ForgotPin | Problem::Blocked))
                && self.rng.support.bernoulli(
                    self.sc
                        .behaviour
                        .authenticator_events
                        .phone_number_changed_recently,
                );
            // Support cannot replace a lost phone, nor send a PIN to a changed number.
            let helps = z.problem() != Some(Problem::LostPhone) && !refused;
            if self.support_call_done(c, r, helps, now) {
                self.totals.recovered_support += 1;
                self.recover(c, now)?;
            } else {
                if refused {
                    self.totals.support_refused_number_changed += 1;
                }
                if !z.has(traits::ABROAD) {
                    self.citizen_service_request(c, now, true)?;
                }
            }
        } else {
            // What advice on a call achieves is not modelled: its outcome changes nothing.
            self.support_call_done(c, r, true, now);
        }
        Ok(())
    }
}
