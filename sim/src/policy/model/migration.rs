//! Migration to MitID: when a citizen without MitID decides to get it (spontaneously or after
//! a failed login), which route they take, and the grant at the end of it.

use mitid_devices::assurance::loa;

use crate::kernel::SimTime;
use crate::policy::PolicyError;
use crate::policy::population::{Citizen, MitidKind, traits};
use crate::policy::scenario::Sector;

use super::state::{CitizenState as _, Reason, Route, Status};
use super::{Ev, Model, days, kind_aal, need_key, poisson, route_ial};

impl Model<'_> {
    /// Schedules the next time a citizen without MitID decides to get it: the earlier of a
    /// spontaneous decision and the first login that fails after a cut-off.
    pub(super) fn schedule_decision(&mut self, c: u32, now: SimTime) -> Result<(), PolicyError> {
        let z = self.citizens[c as usize];
        if z.age < self.min_age || z.mitid != 0 {
            return Ok(());
        }
        let m = &self.sc.behaviour.migration;
        let mut factor = 1.0;
        if z.has(traits::CHALLENGED) {
            factor *= m.challenged_factor;
        }
        if !z.has(traits::NEMID_HOLDER) {
            factor *= m.without_nemid_factor;
        }
        let spontaneous = if factor > 0.0 {
            let e = self.rng.decisions.exponential(1.0);
            self.hazard.instant_after(now, e / factor)
        } else {
            None
        };
        let forced = if z.has(traits::NEMID_HOLDER) && !z.is(Status::NemidLost) {
            self.first_failure(&z, now)
        } else {
            None
        };
        let (at, failed_at) = match (spontaneous, forced) {
            (Some(s), Some((f, sector))) if f < s => (f, Some(sector)),
            (Some(s), _) => (s, None),
            (None, Some((f, sector))) => (f, Some(sector)),
            (None, None) => return Ok(()),
        };
        if at >= self.end {
            return Ok(());
        }
        let zc = &mut self.citizens[c as usize];
        if failed_at.is_some() {
            zc.set(Status::Forced);
        } else {
            zc.clear(Status::Forced);
        }
        self.at(at, Ev::Decide(c, failed_at))?;
        Ok(())
    }

    /// The first login need after `now` that NemID can no longer serve, and its sector.
    pub(super) fn first_failure(&mut self, z: &Citizen, now: SimTime) -> Option<(SimTime, Sector)> {
        let rates = self.need_rates[need_key(z)];
        let mut best: Option<SimTime> = None;
        let mut sector = 0;
        for (s, &rate) in rates.iter().enumerate() {
            if rate <= 0.0 {
                continue;
            }
            let start = now.max(SimTime::from_day(self.cal.sector_cutoff[s]));
            if start >= self.end {
                continue;
            }
            let t = start + days(self.rng.needs.exponential(1.0 / rate));
            if best.is_none_or(|b| t < b) {
                best = Some(t);
                sector = s;
            }
        }
        best.map(|t| (t, Sector::ALL[sector]))
    }

    /// A decision comes; `sector` is the failed login it was scheduled as, if any.
    pub(super) fn on_decide(
        &mut self,
        c: u32,
        sector: Option<Sector>,
        now: SimTime,
    ) -> Result<(), PolicyError> {
        let z = self.citizens[c as usize];
        if z.mitid != 0 || z.is(Status::Pending) {
            return Ok(());
        }
        if z.is(Status::Forced) {
            self.citizens[c as usize].clear(Status::Forced);
            if !self.nemid_sector_login_failed(c, sector, now) {
                // The service let the citizen in after all: no reason to act now.
                return self.schedule_decision(c, now);
            }
            if !self
                .rng
                .decisions
                .bernoulli(self.sc.behaviour.migration.act_on_failure)
            {
                return self.schedule_decision(c, now);
            }
        }
        self.start_migration(c, now)
    }

    pub(super) fn start_migration(&mut self, c: u32, now: SimTime) -> Result<(), PolicyError> {
        let day = now.day();
        let z = self.citizens[c as usize];
        let m = &self.sc.behaviour.migration;
        let a = &self.sc.behaviour.authenticator_events;
        let ready = !z.has(traits::CHALLENGED);
        let nemid_ok = self.nemid_usable(&z, day);
        let has_cpr = !z.has(traits::NO_CPR);
        let kind = MitidKind::issued_for(z.traits);
        let self_service_days = if kind == MitidKind::App {
            m.self_service_days
        } else {
            a.device_delivery_days
        };
        let wants_nemid = nemid_ok
            && day < self.cal.migration_via_nemid_ends
            && self.rng.decisions.bernoulli(if ready {
                m.via_nemid
            } else {
                m.via_nemid_challenged
            });
        // A NemID login that fails sends the citizen down the other routes, as if they had not
        // chosen NemID (those draws only happen then, so a run where it works is unchanged).
        let chosen = if wants_nemid && self.nemid_migration_login(c, now) {
            Some((Route::ViaNemid, self_service_days))
        } else if has_cpr
            && z.has(traits::SMARTPHONE | traits::NFC | traits::PASSPORT_CHIP)
            && z.traits & (traits::SMARTPHONE | traits::NFC | traits::PASSPORT_CHIP)
                == traits::SMARTPHONE | traits::NFC | traits::PASSPORT_CHIP
            && (ready || self.rng.decisions.bernoulli(m.via_nemid_challenged))
        {
            Some((Route::AppPassport, m.self_service_days))
        } else if z.has(traits::ABROAD) {
            None
        } else if has_cpr
            && z.has(traits::BANK_CUSTOMER)
            && day < self.cal.bank_assisted_ends
            && self.rng.decisions.bernoulli(m.bank_assisted)
        {
            Some((Route::Bank, m.bank_assisted_days))
        } else if has_cpr && z.has(traits::SMARTPHONE) && self.rng.decisions.bernoulli(m.witness) {
            Some((Route::Witness, m.witness_days))
        } else {
            Some((
                if has_cpr {
                    Route::CitizenService
                } else {
                    Route::PCode
                },
                0.0,
            ))
        };
        let Some((r, delay)) = chosen else {
            // Abroad with no self-service route: try again later (representations are not modelled).
            self.totals.no_route_attempts += 1;
            let at = now + days(m.reconsider_days);
            if at < self.end {
                self.at(at, Ev::Decide(c, None))?;
            }
            return Ok(());
        };
        if r == Route::ViaNemid {
            self.today.nemid_logins += 1;
            self.today.via_nemid_started += 1;
        }
        let support_call = self.rng.decisions.bernoulli(m.support_call_share);
        let zc = &mut self.citizens[c as usize];
        zc.set(Status::Pending);
        zc.set_route(r);
        zc.episode_day = day as u16;
        if r == Route::CitizenService || r == Route::PCode {
            self.citizen_service_request(c, now, true)?;
        } else {
            let at = now + days(delay);
            if at < self.end {
                self.at(at, Ev::Enrolled(c))?;
            }
        }
        if support_call {
            let at = self.waking_time(now);
            self.call(c, Reason::MigrationHelp, at)?;
        }
        Ok(())
    }

    pub(super) fn grant_mitid(&mut self, c: u32, now: SimTime) -> Result<(), PolicyError> {
        let day = now.day();
        let z = self.citizens[c as usize];
        let kept_nemid = z.has(traits::NEMID_HOLDER) && !z.is(Status::NemidLost);
        // Logins that failed while waiting: needs to sectors already refusing NemID.
        if kept_nemid {
            let rates = self.need_rates[need_key(&z)];
            let from = u32::from(z.episode_day);
            let mut expected = 0.0;
            for (s, &rate) in rates.iter().enumerate() {
                let cut = self.cal.sector_cutoff[s].max(from);
                if day > cut {
                    expected += rate * f64::from(day - cut);
                }
            }
            let n = poisson(&mut self.rng.needs, expected);
            self.today.failed_logins += n;
            self.totals.failed_logins += u64::from(n);
        }
        let kind = MitidKind::issued_for(z.traits);
        let level = loa(route_ial(z.route()), kind_aal(kind));
        let rates = self.need_rates[need_key(&z)];
        let mut refused = false;
        for (s, &rate) in rates.iter().enumerate() {
            if rate > 0.0 && !level.satisfies(self.required_loa[s]) {
                self.refused_need_rate += rate;
                refused = true;
            }
        }
        if refused {
            self.totals.mitid_refused_by_loa += 1;
        }
        match z.route() {
            Some(Route::ViaNemid) => self.totals.via_nemid += 1,
            Some(Route::AppPassport) => self.totals.app_passport += 1,
            Some(Route::Bank) => self.totals.bank_assisted += 1,
            Some(Route::Witness) => self.totals.witness += 1,
            Some(Route::PCode) => self.totals.citizen_service_p_code += 1,
            _ => self.totals.citizen_service += 1,
        }
        let counts = &mut self.by_age[z.age as usize];
        if kept_nemid {
            counts.no_mitid_nemid -= 1;
        } else {
            counts.no_mitid_none -= 1;
        }
        counts.mitid += 1;
        self.today.new_mitid += 1;
        let zc = &mut self.citizens[c as usize];
        zc.mitid = kind as u8;
        zc.clear(Status::Pending);
        zc.clear(Status::Forced);
        zc.clear_episode();
        self.schedule_authenticator(c, now)
    }
}
