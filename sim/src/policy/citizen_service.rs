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
//!
//! Counters are sized per municipality, so a municipality's book can be full for months while
//! its neighbours' counters stand idle. Where the scenario says so
//! (`book_in_region_after_days`), a citizen whose own book offers nothing soon enough takes the
//! earliest free appointment in their region instead, which pools the region's counters.

use crate::kernel::{SimDuration, SimTime};

use super::calendar::NemidCalendar;
use super::population::Population;
use super::scenario::{CitizenServiceCapacity, MunicipalityCapacity, weekday_index};

/// One municipality's counter and its book.
#[derive(Debug, Clone)]
pub struct CitizenServiceCounter {
    /// Staffed counters for the synthetic population (before surges and extra counters).
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
    /// The municipalities of each municipality's region (itself included), in population order.
    region_members: Vec<Vec<usize>>,
    /// Index into `region_members` per municipality.
    region_of: Vec<usize>,
    book_in_region_after: Option<u32>,
    horizon: u32,
    service: SimDuration,
    service_minutes: f64,
}

/// A booked appointment: when, and at which municipality's counter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Booking {
    /// Start of the appointment.
    pub at: SimTime,
    /// Index of the municipality whose counter serves it.
    pub municipality: usize,
}

/// The wait a citizen asking on a given day is offered, in days (tomorrow = 1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OfferedWait {
    /// At the municipality's own counter.
    pub own: u32,
    /// Under the scenario's booking rule (own counter, or the region's earliest when the own
    /// wait is too long).
    pub with_rule: u32,
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
                    let staffed = (real + extra_counters(over, date)) * scale * surge;
                    let minutes = staffed * hours[weekday_index(date)] * 60.0;
                    let before = carried.floor();
                    carried += minutes / cfg.service_minutes;
                    slots.push((carried.floor() - before) as u32);
                    open_minutes.push(minutes as f32);
                }
                CitizenServiceCounter {
                    counters: real * scale,
                    walk_ins,
                    slots,
                    open_minutes,
                    booked: vec![0; span as usize],
                    first_maybe_free: 0,
                }
            })
            .collect();
        let mut region_names: Vec<&str> = Vec::new();
        let mut region_members: Vec<Vec<usize>> = Vec::new();
        let region_of = population
            .municipalities
            .iter()
            .enumerate()
            .map(|(i, m)| {
                let r = region_names
                    .iter()
                    .position(|name| *name == m.region)
                    .unwrap_or_else(|| {
                        region_names.push(&m.region);
                        region_members.push(Vec::new());
                        region_names.len() - 1
                    });
                region_members[r].push(i);
                r
            })
            .collect();
        CitizenService {
            counters,
            region_members,
            region_of,
            book_in_region_after: cfg.book_in_region_after_days,
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

    /// Books the earliest free slot for a resident of `municipality` asking on `today`: a free
    /// slot today for a walk-in, else the earliest day from tomorrow within the booking horizon
    /// at their own counter, or, when that is more than `book_in_region_after_days` away (or
    /// there is none), at the region's counter with the earliest free day if it is sooner (ties
    /// keep the own counter, then the first in population order). `None` if every book it may
    /// use is full up to the horizon.
    pub fn book(&mut self, municipality: usize, today: u32) -> Option<Booking> {
        let service = self.service;
        let c = &mut self.counters[municipality];
        if c.walk_ins && c.booked[today as usize] < c.slots[today as usize] {
            return Some(Booking {
                at: take(c, today, service),
                municipality,
            });
        }
        let last = today + self.horizon;
        let own = self.earliest_free(municipality, today, last);
        let (day, chosen) = match (self.book_in_region_after, own) {
            (Some(limit), own) if own.is_none_or(|d| d - today > limit) => {
                self.earliest_in_region(municipality, today, last, own)?
            }
            (_, own) => (own?, municipality),
        };
        Some(Booking {
            at: take(&mut self.counters[chosen], day, service),
            municipality: chosen,
        })
    }

    /// The wait (days from `today`) each municipality's residents are offered when asking on
    /// `today`, in population order. Looks past the booking horizon to the end of the book: a
    /// wait beyond the horizon means the citizen cannot book yet and must ask again, so it is
    /// the least they will wait. A book full to its end counts as waiting to its end.
    pub fn offered_waits(&mut self, today: u32) -> Vec<OfferedWait> {
        let n = self.counters.len();
        let own: Vec<u32> = (0..n)
            .map(|m| {
                let end = self.counters[m].slots.len() as u32;
                self.earliest_free(m, today, end - 1).unwrap_or(end) - today
            })
            .collect();
        (0..n)
            .map(|m| {
                let with_rule = match self.book_in_region_after {
                    Some(limit) if own[m] > limit => self.region_members[self.region_of[m]]
                        .iter()
                        .map(|&other| own[other])
                        .min()
                        .unwrap_or(own[m]),
                    _ => own[m],
                };
                OfferedWait {
                    own: own[m],
                    with_rule,
                }
            })
            .collect()
    }

    /// The earliest free day in `municipality`'s book from tomorrow up to `last`.
    fn earliest_free(&mut self, municipality: usize, today: u32, last: u32) -> Option<u32> {
        let c = &mut self.counters[municipality];
        let last = last.min(c.slots.len() as u32 - 1);
        let from = (today + 1).max(c.first_maybe_free);
        for day in from..=last {
            if c.booked[day as usize] < c.slots[day as usize] {
                // Days from tomorrow up to `from` were full already, and so were those scanned.
                c.first_maybe_free = day;
                return Some(day);
            }
        }
        c.first_maybe_free = c.first_maybe_free.max(last + 1);
        None
    }

    /// The earliest free day in `home`'s region up to `last`, and where; `home_day` is what
    /// `home`'s own book offers (kept on ties).
    fn earliest_in_region(
        &mut self,
        home: usize,
        today: u32,
        last: u32,
        home_day: Option<u32>,
    ) -> Option<(u32, usize)> {
        let mut best = home_day.map(|d| (d, home));
        let region = self.region_of[home];
        for k in 0..self.region_members[region].len() {
            let other = self.region_members[region][k];
            if other == home {
                continue;
            }
            if let Some(d) = self.earliest_free(other, today, last)
                && best.is_none_or(|(b, _)| d < b)
            {
                best = Some((d, other));
            }
        }
        best
    }
}

/// Counters `over` adds on `date` (for the real population).
fn extra_counters(over: Option<&MunicipalityCapacity>, date: chrono::NaiveDate) -> f64 {
    over.map_or(0.0, |o| {
        o.extra_counters
            .iter()
            .filter(|e| e.from <= date && date <= e.to)
            .map(|e| e.counters)
            .sum()
    })
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
