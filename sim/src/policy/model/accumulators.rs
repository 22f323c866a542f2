//! Accumulators: counts by age, today's tallies and each municipality's monthly Citizen Service
//! load, turned into the outcome's day rows and municipal loads.

use crate::policy::outcome::{DayRow, MonthLoad, MunicipalityLoad};

use super::{Model, poisson};

/// Citizens of one age by eID situation (one entry per age, kept up to date by the handlers).
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct AgeCounts {
    pub(super) mitid: u32,
    pub(super) mitid_down: u32,
    pub(super) no_mitid_nemid: u32,
    pub(super) no_mitid_none: u32,
}

/// What happened today; becomes a [`DayRow`] at the end of the day.
#[derive(Debug, Clone, Default)]
pub(super) struct DayAcc {
    pub(super) failed_logins: u32,
    pub(super) nemid_logins: u32,
    pub(super) via_nemid_started: u32,
    pub(super) new_mitid: u32,
    pub(super) lockouts_by_band: Vec<u32>,
    pub(super) cs_requests: u32,
    pub(super) cs_served: u32,
    pub(super) cs_wait_days: u64,
    pub(super) cs_minutes: f64,
    pub(super) calls: u32,
    pub(super) answered: u32,
    pub(super) abandoned: u32,
    pub(super) wait_minutes: f64,
}

/// One municipality's Citizen Service load in one month.
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct MonthAcc {
    pub(super) requests: u32,
    pub(super) served: u32,
    pub(super) used_minutes: f64,
    pub(super) needed_minutes: f64,
    pub(super) wait_days: u64,
    pub(super) served_from_elsewhere: u32,
    /// Sum over the month's days of the wait the own book offered.
    pub(super) offered_wait_days: u64,
    pub(super) days: u32,
}

impl Model<'_> {
    // ----- reporting -------------------------------------------------------------------------

    pub(super) fn close_day(&mut self, d: u32) {
        let bands = self.sc.outputs.age_bands.len();
        let nemid_works = self.cal.nemid_works(d);
        let mut mitid = 0;
        let mut mitid_15 = 0;
        let mut nemid_only = 0;
        let mut without = 0;
        let mut without_by_band = vec![0u32; bands];
        let mut mitid_by_band = vec![0u32; bands];
        let mut population_by_band = vec![0u32; bands];
        for (age, a) in self.by_age.iter().enumerate() {
            mitid += a.mitid;
            let band = self.band_of_age[age];
            mitid_by_band[band] += a.mitid;
            population_by_band[band] += a.mitid + a.no_mitid_nemid + a.no_mitid_none;
            let nemid_users = if nemid_works { a.no_mitid_nemid } else { 0 };
            nemid_only += nemid_users;
            if age >= usize::from(self.min_age) {
                let w = a.no_mitid_none + (a.no_mitid_nemid - nemid_users) + a.mitid_down;
                without_by_band[band] += w;
                if age >= 15 {
                    without += w;
                    mitid_15 += a.mitid;
                }
            } else if age >= 15 {
                mitid_15 += a.mitid;
            }
        }
        // Logins of holders whose MitID's LoA a sector refuses (e.g. P-code identities).
        let refused = poisson(&mut self.rng.needs, self.refused_need_rate);
        self.today.failed_logins += refused;
        self.totals.failed_logins += u64::from(refused);
        let t = std::mem::replace(
            &mut self.today,
            DayAcc {
                lockouts_by_band: vec![0; bands],
                ..DayAcc::default()
            },
        );
        // A mean over nobody has no value: it stays `None` rather than looking like no wait.
        let mean = |sum: f64, n: u32| (n > 0).then(|| sum / f64::from(n));
        let offered_wait = self.close_citizen_service_day(d);
        while self.cs_oldest_day < d && self.cs_first_asked[self.cs_oldest_day as usize] == 0 {
            self.cs_oldest_day += 1;
        }
        let oldest_request = if self.cs_queue == 0 {
            0
        } else {
            d - self.cs_oldest_day
        };
        self.rows.push(DayRow {
            date: self.cal.date(d),
            mitid_users: mitid,
            mitid_users_15plus: mitid_15,
            nemid_only,
            without_eid: without,
            population_15plus: self.population_15plus,
            citizen_service_queue: self.cs_queue,
            citizen_service_mean_wait_days: mean(t.cs_wait_days as f64, t.cs_served),
            citizen_service_offered_wait_days: offered_wait,
            citizen_service_oldest_request_days: oldest_request,
            citizen_service_requests: t.cs_requests,
            citizen_service_served: t.cs_served,
            citizen_service_counter_hours: t.cs_minutes / 60.0,
            support_calls: t.calls,
            support_answered: t.answered,
            support_abandoned: t.abandoned,
            support_mean_wait_minutes: mean(t.wait_minutes, t.answered),
            failed_logins: t.failed_logins,
            new_mitid: t.new_mitid,
            nemid_logins: t.nemid_logins,
            via_nemid_enrolments_started: t.via_nemid_started,
            lockouts: t.lockouts_by_band.iter().sum(),
            lockouts_by_age_band: t.lockouts_by_band,
            without_eid_by_age_band: without_by_band,
            mitid_users_by_age_band: mitid_by_band,
            population_by_age_band: population_by_band,
        });
    }

    /// Records the waits each municipality's book offers at the end of day `d` in its month,
    /// and returns the national figure (mean weighted by residents).
    fn close_citizen_service_day(&mut self, d: u32) -> f64 {
        let month = self.month_of_day[d as usize] as usize;
        let mut weighted = 0.0;
        let mut residents = 0.0;
        for (m, wait) in self.cs.offered_waits(d).into_iter().enumerate() {
            let acc = &mut self.months[m][month];
            acc.offered_wait_days += u64::from(wait.own);
            acc.days += 1;
            let weight = f64::from(self.residents[m]);
            weighted += weight * f64::from(wait.with_rule);
            residents += weight;
        }
        if residents > 0.0 {
            weighted / residents
        } else {
            0.0
        }
    }

    pub(crate) fn municipality_load(
        &self,
        i: usize,
        code: u16,
        name: &str,
        residents: u32,
    ) -> MunicipalityLoad {
        let mut open = vec![0.0f64; self.month_labels.len()];
        for d in 0..self.cal.days {
            open[self.month_of_day[d as usize] as usize] += self.cs.open_minutes(i, d);
        }
        let months = self.months[i]
            .iter()
            .zip(&self.month_labels)
            .zip(open)
            .map(|((m, label), open_minutes)| MonthLoad {
                month: label.clone(),
                requests: m.requests,
                served: m.served,
                served_from_elsewhere: m.served_from_elsewhere,
                counter_hours_used: m.used_minutes / 60.0,
                counter_hours_available: open_minutes / 60.0,
                counter_hours_needed: m.needed_minutes / 60.0,
                mean_wait_days: (m.served > 0).then(|| m.wait_days as f64 / f64::from(m.served)),
                mean_offered_wait_days: if m.days == 0 {
                    0.0
                } else {
                    m.offered_wait_days as f64 / f64::from(m.days)
                },
            })
            .collect();
        MunicipalityLoad {
            code,
            name: name.to_owned(),
            residents,
            counters: self.cs.counters[i].counters,
            months,
        }
    }
}
