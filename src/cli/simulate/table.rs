//! The per-day table behind `timeseries.csv`, the charts and the comparison of two runs.

use anyhow::{Context, Result, bail};
use mitid_sim::policy::DayRow;

/// One column of figures, one value per day.
pub struct Column {
    pub name: String,
    /// Counts print without a decimal point.
    pub integer: bool,
    pub values: Vec<f64>,
}

/// Days (ISO dates) and their figures.
pub struct DailyTable {
    pub dates: Vec<String>,
    pub columns: Vec<Column>,
}

/// `80+` → `80plus`, `15-29` → `15_29`: age band labels as column-name suffixes.
#[must_use]
pub fn band_suffix(band: &str) -> String {
    band.chars()
        .map(|c| match c {
            '+' => "plus".to_owned(),
            c if c.is_ascii_alphanumeric() => c.to_string(),
            _ => "_".to_owned(),
        })
        .collect()
}

/// A count column: its name and how to read it off a day.
type CountPick = (&'static str, fn(&DayRow) -> u32);

/// A per-age-band figure: its name and its values (one per band) on a day.
type BandPick = (&'static str, fn(&DayRow) -> &[u32]);

impl DailyTable {
    /// The policy model's days; the required columns come first, in the documented order.
    #[must_use]
    pub fn from_days(days: &[DayRow], age_bands: &[String]) -> Self {
        let counts: [CountPick; 6] = [
            ("mitid_users", |d| d.mitid_users),
            ("mitid_users_15plus", |d| d.mitid_users_15plus),
            ("nemid_only", |d| d.nemid_only),
            ("without_eid", |d| d.without_eid),
            ("population_15plus", |d| d.population_15plus),
            ("citizen_service_queue", |d| d.citizen_service_queue),
        ];
        let mut columns: Vec<Column> = counts
            .iter()
            .map(|(name, pick)| count_column(days, name, pick))
            .collect();
        columns.push(optional_column(
            days,
            "citizen_service_mean_wait_days",
            |d| d.citizen_service_mean_wait_days,
        ));
        columns.push(count_column(days, "support_calls", &|d| d.support_calls));
        columns.push(optional_column(days, "support_mean_wait_minutes", |d| {
            d.support_mean_wait_minutes
        }));
        let more_counts: [CountPick; 7] = [
            ("failed_logins", |d| d.failed_logins),
            ("new_mitid", |d| d.new_mitid),
            ("citizen_service_requests", |d| d.citizen_service_requests),
            ("citizen_service_served", |d| d.citizen_service_served),
            ("support_answered", |d| d.support_answered),
            ("support_abandoned", |d| d.support_abandoned),
            ("lockouts", |d| d.lockouts),
        ];
        columns.extend(
            more_counts
                .iter()
                .map(|(name, pick)| count_column(days, name, pick)),
        );
        columns.push(figure_column(days, "citizen_service_counter_hours", |d| {
            d.citizen_service_counter_hours
        }));
        columns.push(figure_column(
            days,
            "citizen_service_offered_wait_days",
            |d| d.citizen_service_offered_wait_days,
        ));
        columns.push(count_column(
            days,
            "citizen_service_oldest_request_days",
            &|d| d.citizen_service_oldest_request_days,
        ));
        // One column per age band of each per-band figure, named `<figure>_age_<band>`.
        let per_band: [BandPick; 4] = [
            ("lockouts", |d| &d.lockouts_by_age_band),
            ("without_eid", |d| &d.without_eid_by_age_band),
            ("mitid_users", |d| &d.mitid_users_by_age_band),
            ("population", |d| &d.population_by_age_band),
        ];
        for (figure, pick) in per_band {
            for (band, label) in age_bands.iter().enumerate() {
                let name = format!("{figure}_age_{}", band_suffix(label));
                columns.push(count_column(days, &name, &|d| {
                    pick(d).get(band).copied().unwrap_or(0)
                }));
            }
        }
        Self {
            dates: days.iter().map(|day| day.date.to_string()).collect(),
            columns,
        }
    }

    #[must_use]
    pub fn column(&self, name: &str) -> Option<&Column> {
        self.columns.iter().find(|column| column.name == name)
    }

    #[must_use]
    pub fn day_index(&self, date: &str) -> Option<usize> {
        self.dates.iter().position(|day| day == date)
    }

    /// CSV with a header line; numbers in a fixed, locale-free format.
    #[must_use]
    pub fn to_csv(&self) -> String {
        let mut csv = String::from("date");
        for column in &self.columns {
            csv.push(',');
            csv.push_str(&column.name);
        }
        csv.push('\n');
        for (day, date) in self.dates.iter().enumerate() {
            csv.push_str(date);
            for column in &self.columns {
                csv.push(',');
                csv.push_str(&format_value(column.values[day], column.integer));
            }
            csv.push('\n');
        }
        csv
    }

    /// Reads a `timeseries.csv` written by [`DailyTable::to_csv`].
    pub fn from_csv(file: &str, text: &str) -> Result<Self> {
        let mut lines = text.lines();
        let header = lines
            .next()
            .with_context(|| format!("{file}:1: the file is empty"))?;
        let mut names = header.split(',');
        if names.next() != Some("date") {
            bail!("{file}:1: date: the first column must be `date`");
        }
        let mut columns: Vec<Column> = names
            .map(|name| Column {
                name: name.to_owned(),
                integer: true,
                values: Vec::new(),
            })
            .collect();
        let mut dates = Vec::new();
        for (number, line) in lines.enumerate() {
            let line_number = number + 2;
            if line.is_empty() {
                continue;
            }
            let mut cells = line.split(',');
            dates.push(cells.next().unwrap_or_default().to_owned());
            for column in &mut columns {
                let cell = cells.next().with_context(|| {
                    format!(
                        "{file}:{line_number}: {}: the row has too few cells",
                        column.name
                    )
                })?;
                // An empty cell is a figure without a value that day (a mean over nobody).
                if cell.is_empty() {
                    column.values.push(f64::NAN);
                    continue;
                }
                let value: f64 = cell.parse().with_context(|| {
                    format!(
                        "{file}:{line_number}: {}: `{cell}` is not a number",
                        column.name
                    )
                })?;
                column.integer &= !cell.contains('.');
                column.values.push(value);
            }
            if cells.next().is_some() {
                bail!("{file}:{line_number}: the row has more cells than the header");
            }
        }
        Ok(Self { dates, columns })
    }
}

fn count_column(days: &[DayRow], name: &str, pick: &dyn Fn(&DayRow) -> u32) -> Column {
    Column {
        name: name.to_owned(),
        integer: true,
        values: days.iter().map(|day| f64::from(pick(day))).collect(),
    }
}

fn figure_column(days: &[DayRow], name: &str, pick: fn(&DayRow) -> f64) -> Column {
    Column {
        name: name.to_owned(),
        integer: false,
        values: days.iter().map(pick).collect(),
    }
}

/// A figure that has no value on some days; those days hold NaN (written as an empty cell).
fn optional_column(days: &[DayRow], name: &str, pick: fn(&DayRow) -> Option<f64>) -> Column {
    Column {
        name: name.to_owned(),
        integer: false,
        values: days.iter().map(|d| pick(d).unwrap_or(f64::NAN)).collect(),
    }
}

/// The first day `values` reaches its highest value (days without a value are skipped), so
/// ties resolve the same way every run; `None` when no day has a value.
#[must_use]
pub fn peak_day(values: &[f64]) -> Option<usize> {
    let mut best: Option<usize> = None;
    for (day, value) in values.iter().enumerate() {
        if value.is_finite() && best.is_none_or(|b| *value > values[b]) {
            best = Some(day);
        }
    }
    best
}

/// A figure for people to read in a report table: counts with thousands separators
/// (`1,234,567`), other figures to one decimal (two below 10), and "no value" for a day a mean
/// has none. Files for machines use [`format_value`].
#[must_use]
pub fn display_value(value: f64, integer: bool) -> String {
    if !value.is_finite() {
        return "no value".to_owned();
    }
    if !integer {
        return if value.abs() >= 10.0 {
            format!("{value:.1}")
        } else {
            format!("{value:.2}")
        };
    }
    let digits = format!("{:.0}", value.abs());
    let mut grouped = String::new();
    for (i, digit) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            grouped.push(',');
        }
        grouped.push(digit);
    }
    if value < 0.0 && digits != "0" {
        grouped.insert(0, '-');
    }
    grouped
}

/// Counts as integers, other figures with up to four decimals; a figure without a value
/// (NaN) as an empty string.
#[must_use]
pub fn format_value(value: f64, integer: bool) -> String {
    if !value.is_finite() {
        String::new()
    } else if integer {
        format!("{value:.0}")
    } else {
        let text = format!("{value:.4}");
        let text = text.trim_end_matches('0').trim_end_matches('.');
        if text.is_empty() || text == "-" {
            "0".to_owned()
        } else {
            text.to_owned()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_round_trips() {
        let table = DailyTable {
            dates: vec!["2023-01-01".into(), "2023-01-02".into()],
            columns: vec![
                Column {
                    name: "a".into(),
                    integer: true,
                    values: vec![1.0, 2.0],
                },
                Column {
                    name: "b".into(),
                    integer: false,
                    values: vec![0.5, 1.25],
                },
            ],
        };
        let csv = table.to_csv();
        assert_eq!(csv, "date,a,b\n2023-01-01,1,0.5\n2023-01-02,2,1.25\n");
        let back = DailyTable::from_csv("t.csv", &csv).unwrap();
        assert_eq!(back.dates, table.dates);
        assert_eq!(back.column("b").unwrap().values, vec![0.5, 1.25]);
        assert!(DailyTable::from_csv("t.csv", "date,a\n2023-01-01,x\n").is_err());
    }

    #[test]
    fn days_without_a_value_are_empty_cells_and_skipped_by_peaks() {
        let table = DailyTable {
            dates: vec![
                "2023-01-01".into(),
                "2023-01-02".into(),
                "2023-01-03".into(),
            ],
            columns: vec![Column {
                name: "wait".into(),
                integer: false,
                values: vec![f64::NAN, 2.5, 1.0],
            }],
        };
        let csv = table.to_csv();
        assert_eq!(
            csv,
            "date,wait\n2023-01-01,\n2023-01-02,2.5\n2023-01-03,1\n"
        );
        let back = DailyTable::from_csv("t.csv", &csv).unwrap();
        assert!(back.column("wait").unwrap().values[0].is_nan());
        assert_eq!(peak_day(&table.columns[0].values), Some(1));
        assert_eq!(peak_day(&[f64::NAN, f64::NAN]), None);
    }

    #[test]
    fn report_figures_are_grouped_and_rounded_for_reading() {
        assert_eq!(display_value(5_900_000.0, true), "5,900,000");
        assert_eq!(display_value(999.0, true), "999");
        assert_eq!(display_value(-1234.0, true), "-1,234");
        assert_eq!(display_value(44.449, false), "44.4");
        assert_eq!(display_value(1.456, false), "1.46");
        assert_eq!(display_value(f64::NAN, false), "no value");
    }

    #[test]
    fn band_labels_become_column_suffixes() {
        assert_eq!(band_suffix("80+"), "80plus");
        assert_eq!(band_suffix("15-29"), "15_29");
    }
}
