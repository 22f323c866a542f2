//! The embedded fixtures the population is synthesized from: the 98 municipalities with their
//! populations (DST FOLK1A 2020) and the age distribution (DST, 1 January 2023). The CSV files are
//! compiled in with `include_str!`, so parsing them is not I/O; their source lines stay in the
//! files under `fixtures/`.

use super::PolicyError;

const MUNICIPALITIES_CSV: &str = include_str!("../../../fixtures/municipalities.csv");
const AGE_DISTRIBUTION_CSV: &str = include_str!("../../../fixtures/age_distribution.csv");

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

/// Data rows of a fixture: skips `#` comments, blank lines and the header; yields (line, fields).
fn rows(text: &str) -> impl Iterator<Item = (usize, Vec<&str>)> {
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty() && !l.starts_with('#'))
        .skip(1)
        .map(|(i, l)| (i + 1, l.split(',').map(str::trim).collect()))
}

fn field<T: std::str::FromStr>(
    fixture: &'static str,
    line: usize,
    fields: &[&str],
    index: usize,
    name: &str,
) -> Result<T, PolicyError> {
    let raw = fields.get(index).ok_or_else(|| PolicyError::Fixture {
        fixture,
        line,
        message: format!("missing column `{name}`"),
    })?;
    raw.parse().map_err(|_| PolicyError::Fixture {
        fixture,
        line,
        message: format!("column `{name}`: `{raw}` is not valid"),
    })
}

/// The 98 municipalities in file order.
pub fn municipalities() -> Result<Vec<Municipality>, PolicyError> {
    const F: &str = "fixtures/municipalities.csv";
    let mut out = Vec::new();
    for (line, f) in rows(MUNICIPALITIES_CSV) {
        if f.len() != 4 {
            return Err(PolicyError::Fixture {
                fixture: F,
                line,
                message: format!("expected 4 columns, got {}", f.len()),
            });
        }
        out.push(Municipality {
            code: field(F, line, &f, 0, "code")?,
            name: f[1].to_owned(),
            region: f[2].to_owned(),
            population: field(F, line, &f, 3, "population")?,
        });
    }
    if out.is_empty() {
        return Err(PolicyError::Fixture {
            fixture: F,
            line: 0,
            message: "no municipalities".into(),
        });
    }
    Ok(out)
}

/// The age bands, youngest first.
pub fn age_bands() -> Result<Vec<AgeBand>, PolicyError> {
    const F: &str = "fixtures/age_distribution.csv";
    let mut out: Vec<AgeBand> = Vec::new();
    for (line, f) in rows(AGE_DISTRIBUTION_CSV) {
        if f.len() != 5 {
            return Err(PolicyError::Fixture {
                fixture: F,
                line,
                message: format!("expected 5 columns, got {}", f.len()),
            });
        }
        let from: u8 = field(F, line, &f, 0, "age_from")?;
        let to = if f[1].is_empty() {
            None
        } else {
            Some(field::<u8>(F, line, &f, 1, "age_to")?)
        };
        if let Some(prev) = out.last()
            && prev.to.map(|t| t + 1) != Some(from)
        {
            return Err(PolicyError::Fixture {
                fixture: F,
                line,
                message: "bands must follow each other without gaps".into(),
            });
        }
        out.push(AgeBand {
            from,
            to,
            total: field(F, line, &f, 4, "total")?,
        });
    }
    if out.first().map(|b| b.from) != Some(0) {
        return Err(PolicyError::Fixture {
            fixture: F,
            line: 0,
            message: "the first band must start at age 0".into(),
        });
    }
    Ok(out)
}
