//! The `capacities` section: Citizen Service counters and the support line.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use super::{check_hours, check_non_negative, check_positive, check_share};
use crate::policy::PolicyError;

/// Citizen Service counters and the support line.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CapacitiesConfig {
    /// The population the capacities below are written for. Capacities are multiplied by
    /// `population.size / reference_population` so a reduced run keeps the real load per
    /// counter. 0 means "do not scale". Default 5 900 000 (whole Denmark); for a one-municipality
    /// scenario, that municipality's population.
    pub reference_population: u32,
    /// Citizen Service (Borgerservice) counters.
    pub citizen_service: CitizenServiceCapacity,
    /// The MitID support line.
    pub support: SupportCapacity,
}

impl Default for CapacitiesConfig {
    fn default() -> Self {
        CapacitiesConfig {
            reference_population: 5_900_000,
            citizen_service: CitizenServiceCapacity::default(),
            support: SupportCapacity::default(),
        }
    }
}

/// Citizen Service capacity: a rule for all municipalities plus per-municipality overrides.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CitizenServiceCapacity {
    /// Staffed MitID counters per 10 000 residents (rule, rounded, at least `min_counters`).
    /// *Assumption* 0.25 (about 150 counters for 5.9 million).
    pub counters_per_10k_residents: f64,
    /// Fewest counters any municipality has. Default 1.
    pub min_counters: u32,
    /// Opening hours per weekday, Monday first (7 numbers). *Assumption* Mon–Wed 6 h, Thu 8 h,
    /// Fri 4 h, closed at weekends.
    pub opening_hours: Vec<f64>,
    /// Mean counter minutes per MitID case (identity check with documents and CPR questions,
    /// enrolment). *Assumption* 20.
    pub service_minutes: f64,
    /// How far ahead appointments can be booked, in days. *Assumption* 60. A citizen who finds no
    /// free slot within the horizon tries again `rebook_after_days` later.
    pub booking_horizon_days: u32,
    /// Days before a citizen who found no slot tries again. *Assumption* 7.
    pub rebook_after_days: u32,
    /// Share of booked appointments not kept (the citizen books again). *Assumption* 0.05.
    pub no_show: f64,
    /// Whether walk-ins are served (from slots left free on the day). Default false: DOMAIN.md,
    /// "most by appointment".
    pub walk_ins: bool,
    /// A citizen whose own municipality's earliest free appointment is more than this many days
    /// away books the earliest free appointment in any municipality of the same region instead
    /// (when that one is sooner). `null` keeps every citizen at their own municipality's counter.
    /// Citizens may choose the Citizen Service they visit: mitid.dk tells them to "find the
    /// location of the Citizen Service in the municipality you want to visit"
    /// (<https://mitid.dk/en-gb/help/help-universe/mitid-user/raise-ial>). *Assumption* 14 days
    /// as the wait at which they look further, and the region as how far they look.
    pub book_in_region_after_days: Option<u32>,
    /// Temporary staffing changes: counters are multiplied by `factor` from `from` to `to`
    /// (inclusive). E.g. the autumn 2022 extra staff.
    pub surges: Vec<CapacitySurge>,
    /// Per-municipality exceptions to the rule.
    pub overrides: Vec<MunicipalityCapacity>,
}

impl Default for CitizenServiceCapacity {
    fn default() -> Self {
        CitizenServiceCapacity {
            counters_per_10k_residents: 0.25,
            min_counters: 1,
            opening_hours: vec![6.0, 6.0, 6.0, 8.0, 4.0, 0.0, 0.0],
            service_minutes: 20.0,
            booking_horizon_days: 60,
            rebook_after_days: 7,
            no_show: 0.05,
            walk_ins: false,
            book_in_region_after_days: Some(14),
            surges: Vec::new(),
            overrides: Vec::new(),
        }
    }
}

/// A period with more (or fewer) counters.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CapacitySurge {
    /// First day of the period.
    pub from: NaiveDate,
    /// Last day of the period (inclusive).
    pub to: NaiveDate,
    /// Multiplier on every municipality's counters.
    pub factor: f64,
}

/// One municipality's own Citizen Service figures.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MunicipalityCapacity {
    /// DST name or code.
    pub municipality: String,
    /// Staffed MitID counters (replaces the rule), for the municipality's real population.
    #[serde(default)]
    pub counters: Option<f64>,
    /// Opening hours per weekday, Monday first (replaces the rule).
    #[serde(default)]
    pub opening_hours: Option<Vec<f64>>,
    /// Whether walk-ins are served (replaces the rule).
    #[serde(default)]
    pub walk_ins: Option<bool>,
    /// Counters added for a period, on top of the rule or `counters` (e.g. Aalborg's desks in
    /// its library in 2022).
    #[serde(default)]
    pub extra_counters: Vec<ExtraCounters>,
}

/// Counters a municipality added for a period.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExtraCounters {
    /// First day the counters are staffed.
    pub from: NaiveDate,
    /// Last day (inclusive).
    pub to: NaiveDate,
    /// Counters added, for the municipality's real population.
    pub counters: f64,
}

/// The MitID support line: three shifts a day, every day.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SupportCapacity {
    /// Agents on the day shift (`day_shift_starts`..`evening_shift_starts`). *Assumption* 120.
    pub agents_day: u32,
    /// Agents on the evening shift (`evening_shift_starts`..`night_shift_starts`). *Assumption* 40.
    pub agents_evening: u32,
    /// Agents on the night shift (`night_shift_starts`..`day_shift_starts`). *Assumption* 8.
    pub agents_night: u32,
    /// Hour the day shift starts. Default 8.
    pub day_shift_starts: u8,
    /// Hour the evening shift starts. Default 16.
    pub evening_shift_starts: u8,
    /// Hour the night shift starts. Default 22.
    pub night_shift_starts: u8,
    /// Mean minutes an agent spends on a call (exponential). *Assumption* 8.
    pub call_minutes: f64,
    /// Mean minutes a caller waits before hanging up (exponential). *Assumption* 15.
    pub patience_minutes: f64,
    /// Share of callers who hung up that call again (the rest go to Citizen Service or give up
    /// until their next need). *Assumption* 0.7.
    pub redial: f64,
    /// Hours before a redial. *Assumption* 3.
    pub redial_after_hours: f64,
}

impl Default for SupportCapacity {
    fn default() -> Self {
        SupportCapacity {
            agents_day: 120,
            agents_evening: 40,
            agents_night: 8,
            day_shift_starts: 8,
            evening_shift_starts: 16,
            night_shift_starts: 22,
            call_minutes: 8.0,
            patience_minutes: 15.0,
            redial: 0.7,
            redial_after_hours: 3.0,
        }
    }
}

impl CapacitiesConfig {
    /// Checks the section; errors name the field under `capacities`.
    pub(super) fn validate(&self) -> Result<(), PolicyError> {
        self.citizen_service.validate()?;
        self.support.validate()
    }
}

impl CitizenServiceCapacity {
    /// Checks `capacities.citizen_service`.
    fn validate(&self) -> Result<(), PolicyError> {
        let cs = self;
        let cp = "capacities.citizen_service";
        check_non_negative(
            &format!("{cp}.counters_per_10k_residents"),
            cs.counters_per_10k_residents,
        )?;
        check_hours(&format!("{cp}.opening_hours"), &cs.opening_hours)?;
        check_positive(&format!("{cp}.service_minutes"), cs.service_minutes)?;
        if cs.booking_horizon_days == 0 {
            return Err(PolicyError::invalid(
                &format!("{cp}.booking_horizon_days"),
                "must be at least 1",
            ));
        }
        if cs.rebook_after_days == 0 {
            return Err(PolicyError::invalid(
                &format!("{cp}.rebook_after_days"),
                "must be at least 1",
            ));
        }
        check_share(&format!("{cp}.no_show"), cs.no_show)?;
        if cs.no_show >= 1.0 {
            return Err(PolicyError::invalid(
                &format!("{cp}.no_show"),
                "must be below 1",
            ));
        }
        for (i, surge) in cs.surges.iter().enumerate() {
            check_non_negative(&format!("{cp}.surges[{i}].factor"), surge.factor)?;
            if surge.to < surge.from {
                return Err(PolicyError::invalid(
                    &format!("{cp}.surges[{i}].to"),
                    "must not be before `from`",
                ));
            }
        }
        for (i, o) in cs.overrides.iter().enumerate() {
            if let Some(n) = o.counters {
                check_non_negative(&format!("{cp}.overrides[{i}].counters"), n)?;
            }
            if let Some(h) = &o.opening_hours {
                check_hours(&format!("{cp}.overrides[{i}].opening_hours"), h)?;
            }
            for (j, extra) in o.extra_counters.iter().enumerate() {
                let at = format!("{cp}.overrides[{i}].extra_counters[{j}]");
                check_non_negative(&format!("{at}.counters"), extra.counters)?;
                if extra.to < extra.from {
                    return Err(PolicyError::invalid(
                        &format!("{at}.to"),
                        "must not be before `from`",
                    ));
                }
            }
        }
        Ok(())
    }
}

impl SupportCapacity {
    /// Checks `capacities.support`.
    fn validate(&self) -> Result<(), PolicyError> {
        let sup = self;
        let su = "capacities.support";
        for (field, hour) in [
            ("day_shift_starts", sup.day_shift_starts),
            ("evening_shift_starts", sup.evening_shift_starts),
            ("night_shift_starts", sup.night_shift_starts),
        ] {
            if hour > 23 {
                return Err(PolicyError::invalid(
                    &format!("{su}.{field}"),
                    "must be an hour 0..=23",
                ));
            }
        }
        if !(sup.day_shift_starts < sup.evening_shift_starts
            && sup.evening_shift_starts < sup.night_shift_starts)
        {
            return Err(PolicyError::invalid(
                &format!("{su}.evening_shift_starts"),
                "shifts must start in the order day < evening < night within one day",
            ));
        }
        check_positive(&format!("{su}.call_minutes"), sup.call_minutes)?;
        check_positive(&format!("{su}.patience_minutes"), sup.patience_minutes)?;
        check_share(&format!("{su}.redial"), sup.redial)?;
        check_positive(&format!("{su}.redial_after_hours"), sup.redial_after_hours)?;
        Ok(())
    }
}
