//! NemID wearing out: from each calendar rule on, NemID-only citizens lose their NemID
//! without repair, and a lost NemID fails a login.

use crate::kernel::SimTime;
use crate::policy::PolicyError;
use crate::policy::population::{Citizen, traits};

use super::state::{CitizenState as _, NemidRule, Status};
use super::{Ev, Model, days, need_key};

impl Model<'_> {
    /// Whether the citizen's NemID logs in on `day`.
    pub(super) fn nemid_usable(&self, z: &Citizen, day: u32) -> bool {
        z.has(traits::NEMID_HOLDER) && !z.is(Status::NemidLost) && self.cal.nemid_works(day)
    }

    /// From the rule's day on, NemID-only citizens' NemID wears out without repair: a key card
    /// runs out after `key_card_codes_before_reorder` logins (key-app users are not affected),
    /// a credential problem cannot be fixed once support has closed.
    pub(super) fn on_nemid_rule(
        &mut self,
        rule: NemidRule,
        now: SimTime,
    ) -> Result<(), PolicyError> {
        let n = &self.sc.behaviour.nemid;
        let codes = f64::from(n.key_card_codes_before_reorder);
        let problems_per_day = n.credential_problems_per_year / 365.25;
        let shutdown = SimTime::from_day(self.cal.nemid_shutdown);
        for i in 0..self.citizens.len() {
            let z = self.citizens[i];
            if z.mitid != 0
                || z.is_any(&[Status::Pending, Status::NemidLost])
                || !z.has(traits::NEMID_HOLDER)
            {
                continue;
            }
            let rate = if rule == NemidRule::KeyCardsOnlyAtCitizenService {
                if z.has(traits::NEMID_KEY_APP) {
                    continue;
                }
                self.need_rates[need_key(&z)].iter().sum::<f64>() / codes
            } else {
                problems_per_day
            };
            if rate <= 0.0 {
                continue;
            }
            let at = now + days(self.rng.nemid.exponential(1.0 / rate));
            if at < shutdown {
                self.at(at, Ev::NemidBroken(i as u32, rule))?;
            }
        }
        Ok(())
    }

    pub(super) fn on_nemid_broken(
        &mut self,
        c: u32,
        cause: NemidRule,
        now: SimTime,
    ) -> Result<(), PolicyError> {
        let z = self.citizens[c as usize];
        if z.mitid != 0 || z.is(Status::NemidLost) || !z.has(traits::NEMID_HOLDER) {
            return Ok(());
        }
        self.citizens[c as usize].set(Status::NemidLost);
        let counts = &mut self.by_age[z.age as usize];
        counts.no_mitid_nemid -= 1;
        counts.no_mitid_none += 1;
        if cause == NemidRule::KeyCardsOnlyAtCitizenService {
            self.totals.nemid_lost_key_card += 1;
        } else {
            self.totals.nemid_lost_no_support += 1;
        }
        if z.is(Status::Pending) {
            return Ok(());
        }
        // The login that found NemID broken failed; the citizen's pending decision (if any)
        // stays scheduled for those who do not act now.
        self.today.failed_logins += 1;
        self.totals.failed_logins += 1;
        if self
            .rng
            .nemid
            .bernoulli(self.sc.behaviour.migration.act_on_failure)
        {
            self.start_migration(c, now)?;
        }
        Ok(())
    }
}
