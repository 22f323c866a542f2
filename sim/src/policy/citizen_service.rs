//! Citizen Service (Borgerservice): one appointment book per municipality.
//!
//! Each municipality's daily capacity in appointments is its counters x that weekday's opening
//! hours x any surge factor, divided by the minutes a MitID case takes. Fractional capacity (a
//! reduced-population run has fractions of a counter) is carried from day to day, so the total
//! over a month is exact. A citizen books the earliest free day from tomorrow within the booking
//! horizon; where walk-ins are allowed, a free slot today is taken first.
//!
//! This is a day-granular book, deliberately distinct from the kernel's slot-level
//! [`crate::resources::AppointmentBook`]. That book lays out fixed-length slots within weekly
//! opening hours for a whole number of desks, which is right for one real office. The policy
//! model runs scaled-down populations, where a municipality has a *fraction* of a counter (a
//! 590 000-citizen run gives a one-counter municipality 0.1 counter): its capacity only exists
//! as appointments carried over from day to day, and per-date surge factors multiply it. Whole
//! desks cannot express either, and the model needs no slot times (only the day of the
//! appointment and an instant within it), so capacity is counted per day here: one `u32` per
//! day for slots and one for bookings, with a "known full up to" cursor that keeps booking
//! amortised O(1) under the long queues of the phase-out peaks.

use crate::kernel::{SimDuration, SimTime};

use super::calendar::NemidCalendar;
use super::population::Population;
use super::scenario::{CitizenServiceCapacity, weekday_index};

/// One municipality's counter and its book.
#[derive(Debug, Clone)]
pub struct CitizenServiceCounter {
    /// Staffed counters for the synthetic population (before surges).
    pub counters: f64,
    /// Walk-ins served from free slots of the day.
    pub walk_ins: bool,
    /// Appointment slots per day (index = day, runs past the end by the booking horizon).
    slots: Vec<u32>,
    /// Counter minutes open per day.
    open_minutes: Vec<f32>,
    /// Slots taken per day.
    booked: Vec<u32>,
    /// Every day from tomorrow up to (not including) this one is known to be full.
    first_maybe_free: u32,
}

/// The appointment books of every populated municipality.
#[derive(Debug, Clone)]
pub struct CitizenService {
    /// One counter per municipality, in population order.
    pub counters: Vec<CitizenServiceCounter>,
    horizon: u32,
    service: SimDuration,
    service_minutes: f64,
}

/// Opening time of the counters (appointments are laid out from here).
const OPENS_AT_MINUTE: u64 = 8 * 60;

impl CitizenService {
    /// Books for `population`; `scale` converts real-population counters to synthetic ones.
    #[must_use]
    pub fn new(
        cfg: &CitizenServiceCapacity,
        population: &Population,
        scale: f64,
        calendar: &NemidCalendar,
    ) -> Self {
        let span = calendar.days + cfg.booking_horizon_days + 1;
        let counters = population
            .municipalities
            .iter()
            .map(|m| {
                let over = cfg.overrides.iter().find(|o| {
                    o.municipality.eq_ignore_ascii_case(&m.name)
                        || o.municipality.parse::<u16>().is_ok_and(|c| c == m.code)
                });
                let real = over.and_then(|o| o.counters).unwrap_or_else(|| {
                    (cfg.counters_per_10k_residents * f64::from(m.population) / 10_000.0)
                        .round()
                        .max(f64::from(cfg.min_counters))
                });
                let hours = over
                    .and_then(|o| o.opening_hours.clone())
                    .unwrap_or_else(|| cfg.opening_hours.clone());
                let walk_ins = over.and_then(|o| o.walk_ins).unwrap_or(cfg.walk_ins);
                let counters = real * scale;
                let mut carried = 0.0f64;
                let mut slots = Vec::with_capacity(span as usize);
                let mut open_minutes = Vec::with_capacity(span as usize);
                for d in 0..span {
                    let date = calendar.date(d);
                    let surge: f64 = cfg
                        .surges
                        .iter()
                        .filter(|s| s.from <= date && date <= s.to)
                        .map(|s| s.factor)
                        .product();
                    let minutes = counters * surge * hours[weekday_index(date)] * 60.0;
                    let before = carried.floor();
                    carried += minutes / cfg.service_minutes;
                    slots.push((carried.floor() - before) as u32);
                    open_minutes.push(minutes as f32);
                }
                CitizenServiceCounter {
                    counters,
                    walk_ins,
                    slots,
                    open_minutes,
                    booked: vec![0; span as usize],
                    first_maybe_free: 0,
                }
            })
            .collect();
        CitizenService {
            counters,
            horizon: cfg.booking_horizon_days,
            service: SimDuration::from_minutes_f64(cfg.service_minutes),
            service_minutes: cfg.service_minutes,
        }
    }

    /// Minutes per case.
    #[must_use]
    pub fn service_minutes(&self) -> f64 {
        self.service_minutes
    }

    /// Counter minutes open at `municipality` on `day`.
    #[must_use]
    pub fn open_minutes(&self, municipality: usize, day: u32) -> f64 {
        f64::from(
            self.counters[municipality]
                .open_minutes
                .get(day as usize)
                .copied()
                .unwrap_or(0.0),
        )
    }

    /// Books the earliest free slot for a request made on `today`; `None` if the book is full
    /// up to the horizon. Returns the instant of the appointment.
    pub fn book(&mut self, municipality: usize, today: u32) -> Option<SimTime> {
        let horizon = self.horizon;
        let service = self.service;
        let c = &mut self.counters[municipality];
        if c.walk_ins && c.booked[today as usize] < c.slots[today as usize] {
            return Some(take(c, today, service));
        }
        let tomorrow = today + 1;
        let last = (today + horizon).min(c.slots.len() as u32 - 1);
        let from = tomorrow.max(c.first_maybe_free);
        for day in from..=last {
            if c.booked[day as usize] < c.slots[day as usize] {
                // Days from tomorrow up to `from` were full already, and so were those scanned.
                c.first_maybe_free = day;
                return Some(take(c, day, service));
            }
        }
        c.first_maybe_free = last + 1;
        None
    }
}

/// Takes the next slot of `day`; parallel counters share the day's timeline.
fn take(c: &mut CitizenServiceCounter, day: u32, service: SimDuration) -> SimTime {
    let index = u64::from(c.booked[day as usize]);
    c.booked[day as usize] += 1;
    let lanes = (f64::from(c.slots[day as usize].max(1)) * service.as_minutes_f64() / 480.0)
        .ceil()
        .max(1.0) as u64;
    let offset = (index / lanes) * service.as_millis();
    let latest = SimDuration::from_hours(15).as_millis();
    SimTime::from_day(day)
        + SimDuration::from_minutes(OPENS_AT_MINUTE)
        + SimDuration::from_millis(offset.min(latest))
}
