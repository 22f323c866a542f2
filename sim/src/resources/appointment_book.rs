//! A Citizen Service appointment book: fixed-length slots within weekly opening hours, a
//! number of desks (appointments per slot), a booking horizon, and no-shows.
//!
//! Booking gives the earliest free slot that starts at or after the request and lies within
//! the horizon (the request's day plus `booking_horizon_days` days); when every slot in that
//! window is taken the request is refused, and the model decides what the citizen does next
//! (try again later, walk in, give up). Days are materialised as the window moves forward
//! and forgotten once past, so memory stays proportional to the horizon.

use std::collections::VecDeque;

use serde::{Deserialize, Serialize};

use super::calendar::{Weekday, WeeklyHours};
use crate::kernel::{MILLIS_PER_DAY, MILLIS_PER_MINUTE, RandomStream, SimTime};

/// Parameters of an appointment book.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AppointmentBookConfig {
    /// Length of one appointment slot in minutes.
    pub slot_minutes: u16,
    /// Appointments that can run in parallel (desks staffed for appointments).
    pub desks: u16,
    /// Opening hours; slots fill `[open, close)` from the opening minute on.
    pub hours: WeeklyHours,
    /// How many days ahead a citizen can book (0: only the same day).
    pub booking_horizon_days: u32,
    /// Probability that a booked citizen does not show up.
    pub no_show_probability: f64,
    /// Weekday of simulated day 0.
    pub epoch_weekday: Weekday,
}

/// Why an appointment book cannot be built.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum AppointmentBookError {
    /// Slot length must be 1..=1440 minutes.
    #[error("slot_minutes must be between 1 and 1440, got {0}")]
    SlotMinutes(u16),
    /// The no-show probability must be within [0, 1].
    #[error("no_show_probability must be within [0, 1], got {0}")]
    NoShowProbability(f64),
}

/// A booked appointment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Appointment {
    /// When it starts.
    pub start: SimTime,
    /// Its simulated day.
    pub day: u32,
    /// Slot index within the day.
    pub slot: u16,
}

/// Why a booking failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum BookingRefused {
    /// Every slot from the request up to the horizon is taken (or the office is closed).
    #[error("no free appointment from {from} within {horizon_days} days")]
    NoSlotWithinHorizon {
        /// When the booking was attempted.
        from: SimTime,
        /// The booking horizon in days.
        horizon_days: u32,
    },
}

#[derive(Debug, Clone)]
struct Day {
    /// Start of the first slot, minutes after midnight.
    open_minute: u16,
    capacity_per_slot: u16,
    booked: Vec<u16>,
    free: u32,
}

/// The appointment book of one Citizen Service office. See the module docs.
#[derive(Debug, Clone)]
pub struct AppointmentBook {
    config: AppointmentBookConfig,
    /// `days[i]` is simulated day `first_day + i`.
    days: VecDeque<Day>,
    first_day: u32,
    booked_total: u64,
    refused_total: u64,
}

impl AppointmentBook {
    /// An empty book.
    pub fn new(config: AppointmentBookConfig) -> Result<Self, AppointmentBookError> {
        if config.slot_minutes == 0 || config.slot_minutes > 1440 {
            return Err(AppointmentBookError::SlotMinutes(config.slot_minutes));
        }
        if !(0.0..=1.0).contains(&config.no_show_probability) {
            return Err(AppointmentBookError::NoShowProbability(
                config.no_show_probability,
            ));
        }
        Ok(AppointmentBook {
            config,
            days: VecDeque::new(),
            first_day: 0,
            booked_total: 0,
            refused_total: 0,
        })
    }

    /// The configuration.
    #[must_use]
    pub fn config(&self) -> &AppointmentBookConfig {
        &self.config
    }

    fn make_day(&self, day: u32) -> Day {
        let weekday = Weekday::of_day(self.config.epoch_weekday, day);
        let (open, slots) = match self.config.hours.on(weekday) {
            Some((open, close)) => (open, (close - open) / self.config.slot_minutes),
            None => (0, 0),
        };
        Day {
            open_minute: open,
            capacity_per_slot: self.config.desks,
            booked: vec![0; usize::from(slots)],
            free: u32::from(slots) * u32::from(self.config.desks),
        }
    }

    /// Drops days before `today` and materialises days up to `last`.
    fn window(&mut self, today: u32, last: u32) {
        if today > self.first_day {
            let drop = ((today - self.first_day) as usize).min(self.days.len());
            self.days.drain(..drop);
            self.first_day = today;
        }
        if self.days.is_empty() {
            self.first_day = today;
        }
        while self.first_day + (self.days.len() as u32) <= last {
            let d = self.first_day + self.days.len() as u32;
            let day = self.make_day(d);
            self.days.push_back(day);
        }
    }

    fn slot_start(&self, day: u32, d: &Day, slot: usize) -> SimTime {
        SimTime::from_millis(
            u64::from(day) * MILLIS_PER_DAY
                + (u64::from(d.open_minute) + slot as u64 * u64::from(self.config.slot_minutes))
                    * MILLIS_PER_MINUTE,
        )
    }

    /// Books the earliest free slot starting at or after `now` within the horizon.
    pub fn book(&mut self, now: SimTime) -> Result<Appointment, BookingRefused> {
        let today = now.day();
        let last = today.saturating_add(self.config.booking_horizon_days);
        self.window(today, last);
        for offset in 0..self.days.len() {
            let day = self.first_day + offset as u32;
            if self.days[offset].free == 0 {
                continue;
            }
            let found = {
                let d = &self.days[offset];
                (0..d.booked.len()).find(|&s| {
                    d.booked[s] < d.capacity_per_slot && self.slot_start(day, d, s) >= now
                })
            };
            if let Some(slot) = found {
                let start = self.slot_start(day, &self.days[offset], slot);
                let d = &mut self.days[offset];
                d.booked[slot] += 1;
                d.free -= 1;
                self.booked_total += 1;
                return Ok(Appointment {
                    start,
                    day,
                    slot: slot as u16,
                });
            }
        }
        self.refused_total += 1;
        Err(BookingRefused::NoSlotWithinHorizon {
            from: now,
            horizon_days: self.config.booking_horizon_days,
        })
    }

    /// The start of the earliest free slot at or after `now` within the horizon, without
    /// booking it (the "next available appointment" a citizen would be shown).
    pub fn next_free(&mut self, now: SimTime) -> Option<SimTime> {
        let today = now.day();
        let last = today.saturating_add(self.config.booking_horizon_days);
        self.window(today, last);
        self.days.iter().enumerate().find_map(|(offset, d)| {
            let day = self.first_day + offset as u32;
            if d.free == 0 {
                return None;
            }
            (0..d.booked.len())
                .find(|&s| d.booked[s] < d.capacity_per_slot && self.slot_start(day, d, s) >= now)
                .map(|s| self.slot_start(day, d, s))
        })
    }

    /// Frees a booked slot (a cancellation). Returns `false` if the appointment's day has
    /// passed or the slot holds no booking.
    pub fn cancel(&mut self, appointment: &Appointment) -> bool {
        let Some(offset) = appointment.day.checked_sub(self.first_day) else {
            return false;
        };
        let Some(d) = self.days.get_mut(offset as usize) else {
            return false;
        };
        match d.booked.get_mut(usize::from(appointment.slot)) {
            Some(n) if *n > 0 => {
                *n -= 1;
                d.free += 1;
                self.booked_total -= 1;
                true
            }
            _ => false,
        }
    }

    /// Changes the number of desks for every day from `from_day` on. Bookings already made
    /// stand even if a slot is now over capacity.
    pub fn set_desks(&mut self, from_day: u32, desks: u16) {
        self.config.desks = desks;
        for (offset, d) in self.days.iter_mut().enumerate() {
            if self.first_day + offset as u32 >= from_day {
                d.capacity_per_slot = desks;
                d.free = d
                    .booked
                    .iter()
                    .map(|&b| u32::from(desks.saturating_sub(b)))
                    .sum();
            }
        }
    }

    /// Draws whether a booked citizen turns up (`false` = no-show).
    pub fn shows_up(&self, rng: &mut RandomStream) -> bool {
        !rng.bernoulli(self.config.no_show_probability)
    }

    /// Appointments booked (net of cancellations) since the book was made.
    #[must_use]
    pub fn booked_total(&self) -> u64 {
        self.booked_total
    }

    /// Booking attempts refused since the book was made.
    #[must_use]
    pub fn refused_total(&self) -> u64 {
        self.refused_total
    }
}
