//! MitID authenticators: lost phones, forgotten PINs, passwords and user IDs, lock-outs, the
//! recovery route each takes, and the QR login roll-out.

use crate::kernel::{SimDuration, SimTime};
use crate::policy::PolicyError;
use crate::policy::population::{Citizen, MitidKind, traits};
use crate::policy::port::RecoveryRoute;

use super::state::{CitizenState as _, Problem, Reason, Status};
use super::{Ev, Model, days, need_key, poisson};

/// Where a broken authenticator goes next.
enum Next {
    /// Recovered by self-service at this instant.
    At(SimTime),
    /// A call to the support line.
    Support,
    /// An appointment at Citizen Service.
    CitizenService,
    /// No route (abroad without passport or second device).
    Stuck,
}

impl Model<'_> {
    /// Rates per day of: lost phone, forgotten PIN, forgotten password, forgotten user ID,
    /// lock-out. A new phone while the old one works is no event: the app moves by activation
    /// code or QR from the old phone and nothing fails.
    pub(super) fn event_rates(&self, z: &Citizen) -> [f64; 5] {
        let a = &self.sc.behaviour.authenticator_events;
        let f = if z.has(traits::CHALLENGED) {
            a.challenged_factor
        } else {
            1.0
        };
        let per_day = |r: f64| r * f / 365.25;
        if z.mitid == MitidKind::App as u8 {
            [
                per_day(a.lost_phone_per_year),
                per_day(a.forgot_pin_per_year),
                0.0,
                per_day(a.forgot_user_id_per_year),
                per_day(a.lockout_per_year),
            ]
        } else {
            [
                0.0,
                0.0,
                per_day(a.forgot_password_per_year),
                per_day(a.forgot_user_id_per_year),
                per_day(a.lockout_per_year),
            ]
        }
    }

    pub(super) fn schedule_authenticator(
        &mut self,
        c: u32,
        now: SimTime,
    ) -> Result<(), PolicyError> {
        let z = self.citizens[c as usize];
        let total: f64 = self.event_rates(&z).iter().sum();
        if total <= 0.0 {
            return Ok(());
        }
        let at = now + days(self.rng.auth.exponential(1.0 / total));
        if at < self.end {
            self.at(at, Ev::Authenticator(c))?;
        }
        Ok(())
    }

    pub(super) fn on_authenticator(&mut self, c: u32, now: SimTime) -> Result<(), PolicyError> {
        let z = self.citizens[c as usize];
        if z.mitid == 0 || z.is(Status::MitidDown) {
            return Ok(());
        }
        let rates = self.event_rates(&z);
        let Some(kind) = self.rng.auth.weighted_index(&rates) else {
            return Ok(());
        };
        match kind {
            4 => {
                let a = &self.sc.behaviour.authenticator_events;
                let band = self.band_of_age[z.age as usize];
                self.today.lockouts_by_band[band] += 1;
                self.totals.lockouts += 1;
                if self.rng.auth.bernoulli(a.permanent_block_share) {
                    self.outage(c, Problem::Blocked, now)
                } else {
                    self.today.failed_logins += 1;
                    self.totals.failed_logins += 1;
                    self.mark_down(c, Problem::Suspended, now);
                    let at = now + SimDuration::from_hours_f64(a.suspension_hours);
                    self.at(at, Ev::Recovered(c))?;
                    Ok(())
                }
            }
            0 => self.outage(c, Problem::LostPhone, now),
            1 => self.outage(c, Problem::ForgotPin, now),
            2 => self.outage(c, Problem::ForgotPassword, now),
            _ => self.outage(c, Problem::ForgotUserId, now),
        }
    }

    pub(super) fn mark_down(&mut self, c: u32, p: Problem, now: SimTime) {
        let zc = &mut self.citizens[c as usize];
        zc.set(Status::MitidDown);
        zc.set_problem(p);
        zc.episode_day = now.day() as u16;
        self.by_age[zc.age as usize].mitid_down += 1;
    }

    /// A MitID user's authenticator stops working: pick the recovery route DOMAIN.md offers.
    pub(super) fn outage(&mut self, c: u32, p: Problem, now: SimTime) -> Result<(), PolicyError> {
        self.today.failed_logins += 1;
        self.totals.failed_logins += 1;
        self.mark_down(c, p, now);
        let z = self.citizens[c as usize];
        let m = &self.sc.behaviour.migration;
        let ready = !z.has(traits::CHALLENGED);
        let self_ok = ready || self.rng.auth.bernoulli(m.via_nemid_challenged);
        let all = traits::SMARTPHONE | traits::NFC | traits::PASSPORT_CHIP;
        let passport = self_ok && z.traits & all == all;
        let backup = z.has(traits::BACKUP_AUTHENTICATOR);
        let quick = now + days(m.self_service_days);
        // The self-service routes DOMAIN.md offers for the problem, in the order the citizen
        // tries them, and where they turn when none works. Each route tried goes to the port;
        // one that fails there is passed over for the next.
        let open = |ok: bool, r: RecoveryRoute| ok.then_some(r);
        let (routes, fallback, done_at) = match p {
            Problem::LostPhone => (
                [
                    open(passport, RecoveryRoute::Passport),
                    open(backup, RecoveryRoute::BackupDevice),
                ],
                if z.has(traits::ABROAD) {
                    Next::Stuck
                } else {
                    Next::CitizenService
                },
                // A replacement phone first: a day before the reactivation can start.
                quick + SimDuration::from_days(1),
            ),
            Problem::ForgotPin | Problem::Blocked => (
                [
                    open(passport, RecoveryRoute::Passport),
                    open(backup, RecoveryRoute::BackupDevice),
                ],
                Next::Support,
                quick,
            ),
            Problem::ForgotPassword => (
                [open(backup && self_ok, RecoveryRoute::BackupDevice), None],
                Next::Support,
                quick,
            ),
            Problem::ForgotUserId | Problem::Suspended => (
                [
                    open(
                        self.nemid_usable(&z, now.day()) && self_ok,
                        RecoveryRoute::Nemid,
                    ),
                    open(passport, RecoveryRoute::Passport),
                ],
                Next::Support,
                quick,
            ),
        };
        let mut next = fallback;
        for route in routes.into_iter().flatten() {
            if self.recovery_done(c, route, p, now) {
                match route {
                    RecoveryRoute::Passport => self.totals.recovered_passport += 1,
                    RecoveryRoute::BackupDevice => self.totals.recovered_backup_device += 1,
                    RecoveryRoute::Nemid => {
                        self.totals.recovered_nemid += 1;
                        self.today.nemid_logins += 1;
                    }
                }
                next = Next::At(done_at);
                break;
            }
        }
        match next {
            Next::At(at) => {
                if at < self.end {
                    self.at(at, Ev::Recovered(c))?;
                }
                Ok(())
            }
            Next::Support => {
                let at = self.waking_time(now);
                if z.is(Status::InCall) {
                    // Already on the phone about something else: this problem goes to the counter.
                    self.citizen_service_request(c, now, true)
                } else {
                    self.call(c, Reason::Recovery, at)
                }
            }
            Next::CitizenService => self.citizen_service_request(c, now, true),
            Next::Stuck => Ok(()),
        }
    }

    pub(super) fn recover(&mut self, c: u32, now: SimTime) -> Result<(), PolicyError> {
        let z = self.citizens[c as usize];
        if !z.is(Status::MitidDown) {
            return Ok(());
        }
        if z.problem() == Some(Problem::Suspended) {
            self.totals.suspensions_lifted += 1;
        } else {
            let rates = self.need_rates[need_key(&z)];
            let outage_days = now.as_days_f64() - f64::from(z.episode_day);
            let n = poisson(
                &mut self.rng.needs,
                rates.iter().sum::<f64>() * outage_days.max(0.0),
            );
            self.today.failed_logins += n;
            self.totals.failed_logins += u64::from(n);
        }
        self.by_age[z.age as usize].mitid_down -= 1;
        let zc = &mut self.citizens[c as usize];
        zc.clear(Status::MitidDown);
        zc.clear_episode();
        self.schedule_authenticator(c, now)
    }

    pub(super) fn on_qr_rollout(&mut self, now: SimTime) -> Result<(), PolicyError> {
        let a = &self.sc.behaviour.authenticator_events;
        for i in 0..self.citizens.len() {
            let z = self.citizens[i];
            if z.mitid != MitidKind::App as u8 {
                continue;
            }
            let p = if z.has(traits::CHALLENGED) {
                a.qr_confusion * a.challenged_factor
            } else {
                a.qr_confusion
            };
            if self.rng.qr.bernoulli(p) {
                let at = now + days(self.rng.qr.uniform() * 30.0);
                let at = self.waking_time(at);
                if at < self.end {
                    self.at(at, Ev::QrConfusion(i as u32))?;
                }
            }
        }
        Ok(())
    }
}
