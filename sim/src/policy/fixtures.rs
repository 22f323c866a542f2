//! The embedded fixtures the population is synthesized from: the 98 municipalities with their
//! populations (DST FOLK1A 2020) and the age distribution (DST, 1 January 2023), read by the
//! lab's one fixtures loader ([`mitid_fixtures`]: compiled in, so not I/O); their source lines
//! stay in the files under `fixtures/`.

use mitid_fixtures::{AGE_DISTRIBUTION, AgeBandRow, FixtureError, MUNICIPALITIES, MunicipalityRow};

use super::PolicyError;

/// One municipality (kommune) from `fixtures/municipalities.csv`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Municipality {
    /// DST municipality code, e.g. 851 for Aalborg.
    pub code: u16,
    /// DST short name, e.g. `Aalborg`.
    pub name: String,
    /// Region, e.g. `Region Nordjylland`.
    pub region: String,
    /// Residents on 1 January 2020.
    pub population: u32,
}

/// One 5-year age band from `fixtures/age_distribution.csv`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AgeBand {
    /// First age in the band.
    pub from: u8,
    /// Last age in the band; `None` for the open top band (85+).
    pub to: Option<u8>,
    /// Residents in the band on 1 January 2023.
    pub total: u32,
}

fn fixture_error(err: FixtureError) -> PolicyError {
    PolicyError::Fixture {
        fixture: err.file,
        line: err.line,
        message: err.message,
    }
}

/// The 98 municipalities in file order.
pub fn municipalities() -> Result<Vec<Municipality>, PolicyError> {
    let rows = mitid_fixtures::load::<MunicipalityRow>(MUNICIPALITIES).map_err(fixture_error)?;
    Ok(rows
        .into_iter()
        .map(|(_, r)| Municipality {
            code: r.code,
            name: r.name,
            region: r.region,
            population: r.population,
        })
        .collect())
}

/// The age bands, youngest first.
pub fn age_bands() -> Result<Vec<AgeBand>, PolicyError> {
    let file = AGE_DISTRIBUTION.file;
    let mut out: Vec<AgeBand> = Vec::new();
    for (line, r) in mitid_fixtures::load::<AgeBandRow>(AGE_DISTRIBUTION).map_err(fixture_error)? {
        if let Some(prev) = out.last()
            && prev.to.map(|t| t + 1) != Some(r.age_from)
        {
            return Err(PolicyError::Fixture {
                fixture: file,
                line,
                message: "bands must follow each other without gaps".into(),
            });
        }
        out.push(AgeBand {
            from: r.age_from,
            to: r.age_to,
            total: r.total,
        });
    }
    if out.first().map(|b| b.from) != Some(0) {
        return Err(PolicyError::Fixture {
            fixture: file,
            line: 0,
            message: "the first band must start at age 0".into(),
        });
    }
    Ok(out)
}
