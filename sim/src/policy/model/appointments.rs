//! Citizen Service: requests, bookings, no-shows and the appointment that grants MitID or
//! recovers a broken authenticator.

use crate::kernel::{SimDuration, SimTime};
use crate::policy::PolicyError;

use super::state::{CitizenState as _, Status};
use super::{Ev, Model};

impl Model<'_> {
    pub(super) fn citizen_service_request(
        &mut self,
        c: u32,
        now: SimTime,
        first: bool,
    ) -> Result<(), PolicyError> {
        let day = now.day();
        if day >= self.cal.days {
            return Ok(());
        }
        let muni = self.citizens[c as usize].municipality as usize;
        let month = self.month_of_day[day as usize] as usize;
        if first {
            self.citizens[c as usize].citizen_service_day = day as u16;
            self.cs_queue += 1;
            self.cs_first_asked[day as usize] += 1;
            self.months[muni][month].needed_minutes += self.cs.service_minutes();
        }
        self.months[muni][month].requests += 1;
        self.today.cs_requests += 1;
        if let Some(booking) = self.cs.book(muni, day) {
            self.citizens[c as usize].counter_municipality = booking.municipality as u8;
            self.at(booking.at.max(now), Ev::Appointment(c))?;
        } else {
            let at = now
                + SimDuration::from_days(u64::from(
                    self.sc.capacities.citizen_service.rebook_after_days,
                ));
            if at < self.end {
                self.at(at, Ev::CitizenServiceRetry(c))?;
            }
        }
        Ok(())
    }

    pub(super) fn on_appointment(&mut self, c: u32, now: SimTime) -> Result<(), PolicyError> {
        if self
            .rng
            .cs
            .bernoulli(self.sc.capacities.citizen_service.no_show)
        {
            return self.citizen_service_request(c, now, false);
        }
        if !self.appointment_held(c, now) {
            return self.citizen_service_request(c, now, false);
        }
        let day = now.day();
        let z = self.citizens[c as usize];
        // The case counts where it is served: at the counter it was booked at.
        let counter = z.counter_municipality as usize;
        let month = self.month_of_day[day as usize] as usize;
        let wait = u64::from(day.saturating_sub(u32::from(z.citizen_service_day)));
        let minutes = self.cs.service_minutes();
        self.cs_queue -= 1;
        self.cs_first_asked[usize::from(z.citizen_service_day)] -= 1;
        self.today.cs_served += 1;
        self.today.cs_wait_days += wait;
        self.today.cs_minutes += minutes;
        let acc = &mut self.months[counter][month];
        acc.served += 1;
        acc.used_minutes += minutes;
        acc.wait_days += wait;
        if counter != usize::from(z.municipality) {
            acc.served_from_elsewhere += 1;
        }
        if z.is(Status::Pending) {
            self.grant_mitid(c, now)
        } else if z.is(Status::MitidDown) {
            self.totals.recovered_citizen_service += 1;
            self.recover(c, now)
        } else {
            Ok(())
        }
    }
}
