//! Synthetic persons drawn from the fixtures: first names and surnames weighted by their counts,
//! ages by the 2023 age distribution, home municipality by population. Street names are
//! generated from surnames (Danish streets are very often named after people).
//!
//! Everything is drawn from one seeded `ChaCha8Rng`, so the same seed gives the same register.

// Domain names such as MitID, NemID, IdP and LoA are words here, not code to backtick.
#![allow(clippy::doc_markdown)]

use std::collections::HashSet;

use chrono::{Datelike, Days, NaiveDate};
use rand_chacha::ChaCha8Rng;
use rand_core::{RngCore, SeedableRng};
use serde::{Deserialize, Serialize};

use mitid_fixtures as fixtures;

use super::number::{CprNumber, Sex, seventh_digits_for_year};

/// The oldest age drawn for the open-ended top band (85+) of the age fixture.
const OLDEST_AGE: u32 = 99;

/// A Danish municipality from `fixtures/municipalities.csv`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Municipality {
    /// DST municipality code, e.g. 101 for København.
    pub code: u16,
    pub name: String,
    pub region: String,
    /// Residents on 1 January 2020.
    pub population: u64,
}

/// A registered address.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Address {
    pub street: String,
    pub house_number: u16,
    pub municipality_code: u16,
    pub municipality: String,
}

/// One person in the synthetic CPR register. Passport and driving licence numbers stand in for
/// the separate document registers that Citizen Service and support check a caller against.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Person {
    pub cpr: CprNumber,
    pub given_name: String,
    pub surname: String,
    pub sex: Sex,
    pub birth_date: NaiveDate,
    pub address: Address,
    /// The day the person moved to `address`.
    pub moved_in: NaiveDate,
    /// The municipality the person lived in before, if they have moved between municipalities.
    pub previous_municipality: Option<String>,
    pub passport_number: Option<String>,
    pub driving_licence_number: Option<String>,
    /// Mobile number (`+45XXXXXXXX`) registered as the person's contact for MitID messages.
    pub phone_number: Option<String>,
    /// When `phone_number` was last set (unix seconds); support refuses SMS PINs shortly after.
    pub phone_changed_at: Option<i64>,
}

impl Person {
    /// "Given Surname", as the IdP's `mitid.identity_name` would carry it.
    #[must_use]
    pub fn full_name(&self) -> String {
        format!("{} {}", self.given_name, self.surname)
    }

    /// Whole years of age on `today`.
    #[must_use]
    pub fn age_on(&self, today: NaiveDate) -> u32 {
        today.years_since(self.birth_date).unwrap_or(0)
    }
}

/// What a caller may fix when asking the register for a new synthetic person; the rest is drawn.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct PersonRequest {
    pub birth_date: Option<NaiveDate>,
    pub sex: Option<Sex>,
    pub given_name: Option<String>,
    pub surname: Option<String>,
    pub municipality_code: Option<u16>,
    /// `Some(false)` makes a person with no passport (to test the other identification routes).
    pub has_passport: Option<bool>,
    pub has_driving_licence: Option<bool>,
    /// `Some(false)` makes a person with no registered phone.
    pub has_phone: Option<bool>,
}

/// A fixture table failed to parse: the fixtures crate's error, naming file, line and column.
pub use mitid_fixtures::FixtureError;

#[derive(Debug, Clone)]
struct Weighted<T> {
    items: Vec<T>,
    cumulative: Vec<u64>,
}

impl<T> Weighted<T> {
    fn new(pairs: Vec<(T, u64)>) -> Self {
        let mut total = 0;
        let mut items = Vec::with_capacity(pairs.len());
        let mut cumulative = Vec::with_capacity(pairs.len());
        for (item, weight) in pairs {
            total += weight;
            items.push(item);
            cumulative.push(total);
        }
        Self { items, cumulative }
    }

    fn pick(&self, rng: &mut ChaCha8Rng) -> &T {
        let total = *self
            .cumulative
            .last()
            .expect("fixture tables are never empty");
        let ticket = rng.next_u64() % total;
        let index = self.cumulative.partition_point(|&c| c <= ticket);
        &self.items[index]
    }
}

/// The fixture tables the generator draws from, parsed once.
#[derive(Debug, Clone)]
pub struct Fixtures {
    male_names: Weighted<String>,
    female_names: Weighted<String>,
    surnames: Weighted<String>,
    municipalities: Weighted<Municipality>,
    /// (`age_from`, `age_to` inclusive, male weight, female weight)
    age_bands: Weighted<(u32, u32, Sex)>,
}

impl Fixtures {
    /// Parses the embedded fixtures with the fixtures crate's loader (one CSV reader for the
    /// whole lab).
    pub fn embedded() -> Result<Self, FixtureError> {
        let mut male = Vec::new();
        let mut female = Vec::new();
        for (line, row) in fixtures::load::<fixtures::FirstNameRow>(fixtures::FIRST_NAMES)? {
            match row.sex.as_str() {
                "M" => male.push((row.name, row.count)),
                "F" => female.push((row.name, row.count)),
                other => {
                    return Err(FixtureError {
                        file: fixtures::FIRST_NAMES.file,
                        line,
                        message: format!("column `sex`: expected M or F, got {other:?}"),
                    });
                }
            }
        }
        let surnames: Vec<(String, u64)> =
            fixtures::load::<fixtures::SurnameRow>(fixtures::SURNAMES)?
                .into_iter()
                .map(|(_, row)| (row.name, row.count_ku2005))
                .collect();
        let municipalities: Vec<(Municipality, u64)> =
            fixtures::load::<fixtures::MunicipalityRow>(fixtures::MUNICIPALITIES)?
                .into_iter()
                .map(|(_, row)| {
                    let population = u64::from(row.population);
                    let m = Municipality {
                        code: row.code,
                        name: row.name,
                        region: row.region,
                        population,
                    };
                    (m, population)
                })
                .collect();
        let mut bands = Vec::new();
        for (_, row) in fixtures::load::<fixtures::AgeBandRow>(fixtures::AGE_DISTRIBUTION)? {
            let from = u32::from(row.age_from);
            let to = row.age_to.map_or(OLDEST_AGE, u32::from);
            bands.push(((from, to, Sex::Male), u64::from(row.male)));
            bands.push(((from, to, Sex::Female), u64::from(row.female)));
        }
        for (fixture, empty) in [
            (fixtures::FIRST_NAMES, male.is_empty() || female.is_empty()),
            (fixtures::SURNAMES, surnames.is_empty()),
            (fixtures::MUNICIPALITIES, municipalities.is_empty()),
            (fixtures::AGE_DISTRIBUTION, bands.is_empty()),
        ] {
            if empty {
                return Err(FixtureError {
                    file: fixture.file,
                    line: 0,
                    message: "no data rows".into(),
                });
            }
        }
        Ok(Self {
            male_names: Weighted::new(male),
            female_names: Weighted::new(female),
            surnames: Weighted::new(surnames),
            municipalities: Weighted::new(municipalities),
            age_bands: Weighted::new(bands),
        })
    }

    /// Every municipality in the fixture, in file order.
    #[must_use]
    pub fn municipalities(&self) -> &[Municipality] {
        &self.municipalities.items
    }
}

/// Draws synthetic persons with unique CPR numbers.
#[derive(Debug)]
pub struct PersonGenerator {
    fixtures: Fixtures,
    rng: ChaCha8Rng,
    /// Ages are computed against this date (the register's "today" at generation time).
    reference_date: NaiveDate,
    issued: HashSet<CprNumber>,
    next_document: u64,
}

/// The generator could not honour a request.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GenerateError {
    #[error("unknown municipality code {0}")]
    UnknownMunicipality(u16),
    #[error("no free CPR number left for birth date {0}")]
    NumbersExhausted(NaiveDate),
    #[error("birth date {0} cannot be encoded in a CPR number (years 1858–2057 only)")]
    BirthDateOutOfRange(NaiveDate),
    #[error("field {field}: {reason}")]
    Field { field: &'static str, reason: String },
}

const STREET_SUFFIXES: [&str; 6] = ["vej", "gade", "s Allé", "stræde", "s Plads", "parken"];

impl PersonGenerator {
    #[must_use]
    pub fn new(fixtures: Fixtures, seed: u64, reference_date: NaiveDate) -> Self {
        Self {
            fixtures,
            rng: ChaCha8Rng::seed_from_u64(seed),
            reference_date,
            issued: HashSet::new(),
            next_document: 0,
        }
    }

    #[must_use]
    pub fn fixtures(&self) -> &Fixtures {
        &self.fixtures
    }

    fn below(&mut self, n: u64) -> u64 {
        self.rng.next_u64() % n.max(1)
    }

    /// Draws one person, honouring whatever `request` fixes.
    // One draw per attribute, in a fixed order (the order is part of the seed's meaning).
    #[allow(clippy::too_many_lines)]
    pub fn generate(&mut self, request: &PersonRequest) -> Result<Person, GenerateError> {
        for (field, value) in [
            ("given_name", &request.given_name),
            ("surname", &request.surname),
        ] {
            if let Some(v) = value
                && (v.trim().is_empty() || v.len() > 60 || v.chars().any(char::is_control))
            {
                return Err(GenerateError::Field {
                    field,
                    reason: "must be 1–60 printable characters".into(),
                });
            }
        }
        let (sex, birth_date) = match (request.sex, request.birth_date) {
            (sex, Some(date)) => {
                let sex = sex.unwrap_or(if self.below(2) == 0 {
                    Sex::Male
                } else {
                    Sex::Female
                });
                (sex, date)
            }
            (sex, None) => {
                let (from, to, band_sex) = *self.fixtures.age_bands.pick(&mut self.rng);
                let sex = sex.unwrap_or(band_sex);
                let age = from + self.below(u64::from(to - from + 1)) as u32;
                let days_back = u64::from(age) * 365 + self.below(365);
                let date = self
                    .reference_date
                    .checked_sub_days(Days::new(days_back))
                    .unwrap_or(self.reference_date);
                (sex, date)
            }
        };
        let cpr = self.allocate(birth_date, sex)?;
        let given_name = match &request.given_name {
            Some(n) => n.trim().to_owned(),
            None => match sex {
                Sex::Male => self.fixtures.male_names.pick(&mut self.rng).clone(),
                Sex::Female => self.fixtures.female_names.pick(&mut self.rng).clone(),
            },
        };
        let surname = match &request.surname {
            Some(n) => n.trim().to_owned(),
            None => self.fixtures.surnames.pick(&mut self.rng).clone(),
        };
        let municipality = match request.municipality_code {
            Some(code) => self
                .fixtures
                .municipalities
                .items
                .iter()
                .find(|m| m.code == code)
                .cloned()
                .ok_or(GenerateError::UnknownMunicipality(code))?,
            None => self.fixtures.municipalities.pick(&mut self.rng).clone(),
        };
        let address = self.street_address(&municipality);
        let previous_municipality = if self.below(3) == 0 {
            None
        } else {
            let mut other = self.fixtures.municipalities.pick(&mut self.rng).clone();
            if other.code == municipality.code {
                let count = self.fixtures.municipalities.items.len();
                let index = self.below(count as u64) as usize;
                other = self.fixtures.municipalities.items[index].clone();
            }
            (other.code != municipality.code).then_some(other.name)
        };
        let span_days = (self.reference_date - birth_date).num_days().max(1) as u64;
        let moved_in = self
            .reference_date
            .checked_sub_days(Days::new(self.below(span_days.min(40 * 365))))
            .unwrap_or(self.reference_date)
            .max(birth_date);
        let age = self.reference_date.years_since(birth_date).unwrap_or(0);
        let has_passport = request.has_passport.unwrap_or(self.below(10) < 8);
        let has_licence = request
            .has_driving_licence
            .unwrap_or(age >= 18 && self.below(10) < 7);
        let passport_number = has_passport.then(|| self.document_number(9));
        let driving_licence_number = has_licence.then(|| self.document_number(8));
        let has_phone = request
            .has_phone
            .unwrap_or(age >= 13 && self.below(20) != 0);
        // A sequence number in the last seven digits keeps numbers unique within a register.
        let phone_number = has_phone.then(|| {
            self.next_document += 1;
            format!(
                "+45{}{:07}",
                2 + self.below(8),
                self.next_document % 10_000_000
            )
        });
        let reference_midnight = self
            .reference_date
            .and_hms_opt(0, 0, 0)
            .map_or(0, |t| t.and_utc().timestamp());
        let phone_changed_at =
            has_phone.then(|| reference_midnight - 86_400 * (30 + self.below(3000)) as i64);
        Ok(Person {
            cpr,
            given_name,
            surname,
            sex,
            birth_date,
            address,
            moved_in,
            previous_municipality,
            passport_number,
            driving_licence_number,
            phone_number,
            phone_changed_at,
        })
    }

    fn allocate(&mut self, birth_date: NaiveDate, sex: Sex) -> Result<CprNumber, GenerateError> {
        let sevenths = seventh_digits_for_year(birth_date.year());
        if sevenths.is_empty() || !(1858..=2057).contains(&birth_date.year()) {
            return Err(GenerateError::BirthDateOutOfRange(birth_date));
        }
        // Random tries first; when a date gets crowded, a sweep finds any free serial.
        for _ in 0..64 {
            let seventh = sevenths[self.below(sevenths.len() as u64) as usize];
            let middle = self.below(100) as u16;
            let last = self.below(5) as u16 * 2 + u16::from(sex == Sex::Male);
            let serial = u16::from(seventh) * 1000 + middle * 10 + last;
            let cpr = CprNumber::from_parts(birth_date, serial)
                .map_err(|_| GenerateError::BirthDateOutOfRange(birth_date))?;
            if self.issued.insert(cpr) {
                return Ok(cpr);
            }
        }
        for &seventh in &sevenths {
            for rest in 0..1000u16 {
                if (rest % 2 == 1) != (sex == Sex::Male) {
                    continue;
                }
                let serial = u16::from(seventh) * 1000 + rest;
                if let Ok(cpr) = CprNumber::from_parts(birth_date, serial)
                    && self.issued.insert(cpr)
                {
                    return Ok(cpr);
                }
            }
        }
        Err(GenerateError::NumbersExhausted(birth_date))
    }

    fn street_address(&mut self, municipality: &Municipality) -> Address {
        let namesake = self.fixtures.surnames.pick(&mut self.rng).clone();
        let suffix = STREET_SUFFIXES[self.below(STREET_SUFFIXES.len() as u64) as usize];
        Address {
            street: street_name(&namesake, suffix),
            house_number: 1 + self.below(120) as u16,
            municipality_code: municipality.code,
            municipality: municipality.name.clone(),
        }
    }

    /// Document numbers are sequential per register with a random prefix, so they are unique.
    fn document_number(&mut self, width: usize) -> String {
        self.next_document += 1;
        let prefix = 1 + self.below(8);
        format!("{prefix}{:0width$}", self.next_document, width = width - 1)
    }

    /// Draws a plausible wrong answer: another street name.
    pub fn decoy_street(&mut self) -> String {
        let namesake = self.fixtures.surnames.pick(&mut self.rng).clone();
        let suffix = STREET_SUFFIXES[self.below(STREET_SUFFIXES.len() as u64) as usize];
        street_name(&namesake, suffix)
    }
}

fn street_name(namesake: &str, suffix: &str) -> String {
    if suffix.starts_with("s ") {
        format!("{namesake}{suffix}")
    } else {
        format!("{namesake}s{suffix}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn generator(seed: u64) -> PersonGenerator {
        PersonGenerator::new(
            Fixtures::embedded().unwrap(),
            seed,
            NaiveDate::from_ymd_opt(2023, 1, 1).unwrap(),
        )
    }

    #[test]
    fn fixtures_parse_with_all_municipalities() {
        let f = Fixtures::embedded().unwrap();
        assert_eq!(f.municipalities().len(), 98);
    }

    #[test]
    fn same_seed_same_people() {
        let a: Vec<Person> = {
            let mut g = generator(7);
            (0..50)
                .map(|_| g.generate(&PersonRequest::default()).unwrap())
                .collect()
        };
        let b: Vec<Person> = {
            let mut g = generator(7);
            (0..50)
                .map(|_| g.generate(&PersonRequest::default()).unwrap())
                .collect()
        };
        assert_eq!(a, b);
    }

    #[test]
    fn generated_numbers_agree_with_birth_date_and_sex() {
        let mut g = generator(1);
        for _ in 0..2000 {
            let p = g.generate(&PersonRequest::default()).unwrap();
            assert_eq!(p.cpr.birth_date(), p.birth_date, "{p:?}");
            assert_eq!(p.cpr.sex(), p.sex, "{p:?}");
        }
    }

    #[test]
    fn a_crowded_birth_date_still_gets_unique_numbers() {
        let mut g = generator(3);
        let date = NaiveDate::from_ymd_opt(1980, 6, 1).unwrap();
        let req = PersonRequest {
            birth_date: Some(date),
            sex: Some(Sex::Female),
            ..PersonRequest::default()
        };
        let mut seen = HashSet::new();
        // 1980 allows 7th digits 0–3, 4, 9: 6 × 100 × 5 = 3000 female serials.
        for i in 0..3000 {
            let p = g
                .generate(&req)
                .unwrap_or_else(|e| panic!("person {i}: {e}"));
            assert!(seen.insert(p.cpr));
        }
        assert_eq!(g.generate(&req), Err(GenerateError::NumbersExhausted(date)));
    }
}
