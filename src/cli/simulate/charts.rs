//! Line charts over simulated days, drawn as SVG with plotters.
//!
//! plotters is built without its font stack: the SVG carries `<text>` elements and the viewer
//! (a browser, an image viewer) lays the text out. The x axis is the day index; ticks sit on
//! quarter (long runs) or month boundaries and show the calendar date of that day. Calendar
//! milestones are grey vertical lines numbered at the top, keyed beside the first panel. Each
//! panel's legend sits in a strip right of the plot, so it never covers a line.

use anyhow::{Result, anyhow};
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

/// One line: a label and one value per day (aligned with the chart's dates).
pub struct Series<'a> {
    pub label: String,
    pub values: &'a [f64],
    pub color: RGBColor,
}

/// One stacked panel of a chart.
pub struct Panel<'a> {
    pub title: String,
    pub y_label: String,
    pub series: Vec<Series<'a>>,
}

/// A calendar milestone drawn on every panel: the day index and what happens then.
pub struct Marker {
    pub day: usize,
    pub label: String,
}

/// Distinct colours for lines (colour-blind friendly, after Okabe and Ito).
pub const PALETTE: [RGBColor; 8] = [
    RGBColor(0, 114, 178),
    RGBColor(213, 94, 0),
    RGBColor(0, 158, 115),
    RGBColor(204, 121, 167),
    RGBColor(230, 159, 0),
    RGBColor(86, 180, 233),
    RGBColor(0, 0, 0),
    RGBColor(240, 228, 66),
];

const WIDTH: u32 = 1240;
/// The legend strip right of each panel.
const LEGEND_WIDTH: u32 = 310;
const PANEL_HEIGHT: u32 = 340;
const MARKER_GREY: RGBColor = RGBColor(150, 150, 150);

/// Draws `panels` stacked over the days in `dates` (ISO dates, consecutive days), with
/// `markers` as numbered grey vertical lines. Returns the SVG text.
pub fn line_chart(dates: &[String], panels: &[Panel<'_>], markers: &[Marker]) -> Result<String> {
    if dates.is_empty() || panels.is_empty() {
        return Err(anyhow!("nothing to chart: no days or no panels"));
    }
    let (major, minor) = calendar_ticks(dates);
    let keyed = marker_key(markers);
    let mut svg = String::new();
    {
        let height = PANEL_HEIGHT * panels.len() as u32;
        let root = SVGBackend::with_string(&mut svg, (WIDTH, height)).into_drawing_area();
        root.fill(&WHITE).map_err(plot_error)?;
        let areas = root.split_evenly((panels.len(), 1));
        let last_day = (dates.len().max(2) - 1) as f64;
        let date_label = |x: &f64| {
            let index = x.round().max(0.0) as usize;
            dates.get(index).cloned().unwrap_or_default()
        };
        for (index, (area, panel)) in areas.iter().zip(panels).enumerate() {
            let (plot_area, legend_area) = area.split_horizontally(WIDTH - LEGEND_WIDTH);
            let finite = || {
                panel
                    .series
                    .iter()
                    .flat_map(|series| series.values.iter().copied())
                    .filter(|value| value.is_finite())
            };
            let top = finite().fold(0.0_f64, f64::max);
            // Head room above the data for the milestone numbers; room below for differences.
            let top = if top > 0.0 { top * 1.15 } else { 1.0 };
            let bottom = finite().fold(0.0_f64, f64::min) * 1.08;
            let mut chart = ChartBuilder::on(&plot_area)
                .caption(&panel.title, ("sans-serif", 17))
                .margin(12)
                .x_label_area_size(34)
                .y_label_area_size(78)
                .build_cartesian_2d(0.0..last_day, bottom..top)
                .map_err(plot_error)?;
            // plotters places x ticks evenly; the calendar's boundaries are drawn here instead.
            chart
                .configure_mesh()
                .disable_x_mesh()
                .x_labels(0)
                .y_labels(6)
                .y_label_formatter(&|y| human(*y))
                .y_desc(panel.y_label.as_str())
                .light_line_style(RGBColor(235, 235, 235))
                .draw()
                .map_err(plot_error)?;
            for (ticks, shade) in [(&minor, 243), (&major, 222)] {
                chart
                    .draw_series(ticks.iter().map(|&x| {
                        PathElement::new(vec![(x, bottom), (x, top)], RGBColor(shade, shade, shade))
                    }))
                    .map_err(plot_error)?;
            }
            for &x in &major {
                let (px, py) = chart.backend_coord(&(x, bottom));
                root.draw(&Text::new(
                    date_label(&x),
                    (px - 30, py + 8),
                    ("sans-serif", 12).into_font(),
                ))
                .map_err(plot_error)?;
            }
            for (number, (day, _)) in keyed.iter().enumerate() {
                let x = *day as f64;
                chart
                    .draw_series(std::iter::once(PathElement::new(
                        vec![(x, bottom), (x, top)],
                        MARKER_GREY.stroke_width(1),
                    )))
                    .map_err(plot_error)?;
                // Close milestones would print on top of each other: three heights in turn.
                let level = [0.99, 0.94, 0.89][number % 3];
                chart
                    .draw_series(std::iter::once(Text::new(
                        (number + 1).to_string(),
                        (x, top * level),
                        ("sans-serif", 11).into_font().color(&RGBColor(90, 90, 90)),
                    )))
                    .map_err(plot_error)?;
            }
            for series in &panel.series {
                chart
                    .draw_series(LineSeries::new(
                        series
                            .values
                            .iter()
                            .enumerate()
                            .filter(|(_, value)| value.is_finite())
                            .map(|(day, value)| (day as f64, *value)),
                        series.color.stroke_width(2),
                    ))
                    .map_err(plot_error)?;
            }
            let key = if index == 0 { keyed.as_slice() } else { &[] };
            draw_legend(&legend_area, &panel.series, key, dates)?;
        }
        root.present().map_err(plot_error)?;
    }
    Ok(svg)
}

/// Horizontal grouped bars: one group per category (top to bottom), one bar per series, the
/// legend in the strip on the right. Returns the SVG text.
pub fn bar_chart(
    title: &str,
    x_label: &str,
    categories: &[String],
    series: &[Series<'_>],
) -> Result<String> {
    if categories.is_empty() || series.is_empty() {
        return Err(anyhow!("nothing to chart: no categories or no series"));
    }
    let rows = categories.len() as f64;
    let height = 90 + 34 * categories.len() as u32;
    let right = series
        .iter()
        .flat_map(|s| s.values.iter().copied())
        .filter(|v| v.is_finite())
        .fold(0.0_f64, f64::max);
    let right = if right > 0.0 { right * 1.08 } else { 1.0 };
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (WIDTH, height)).into_drawing_area();
        root.fill(&WHITE).map_err(plot_error)?;
        let (plot_area, legend_area) = root.split_horizontally(WIDTH - LEGEND_WIDTH);
        let mut chart = ChartBuilder::on(&plot_area)
            .caption(title, ("sans-serif", 17))
            .margin(12)
            .x_label_area_size(34)
            .y_label_area_size(150)
            .build_cartesian_2d(0.0..right, 0.0..rows)
            .map_err(plot_error)?;
        // plotters would space the y labels evenly; each name is drawn beside its group instead.
        chart
            .configure_mesh()
            .disable_y_mesh()
            .y_labels(0)
            .x_labels(6)
            .x_label_formatter(&|x| human(*x))
            .x_desc(x_label)
            .light_line_style(RGBColor(235, 235, 235))
            .draw()
            .map_err(plot_error)?;
        let right_aligned = ("sans-serif", 12)
            .into_font()
            .into_text_style(&root)
            .pos(Pos::new(HPos::Right, VPos::Center));
        for (i, name) in categories.iter().enumerate() {
            let (px, py) = chart.backend_coord(&(0.0, rows - i as f64 - 0.5));
            root.draw(&Text::new(
                name.clone(),
                (px - 6, py),
                right_aligned.clone(),
            ))
            .map_err(plot_error)?;
        }
        let band = 0.8 / series.len() as f64;
        for (k, s) in series.iter().enumerate() {
            chart
                .draw_series(
                    s.values
                        .iter()
                        .enumerate()
                        .filter(|(_, v)| v.is_finite())
                        .map(|(i, value)| {
                            let top = rows - i as f64 - 0.1 - band * k as f64;
                            Rectangle::new([(0.0, top - band), (*value, top)], s.color.filled())
                        }),
                )
                .map_err(plot_error)?;
        }
        draw_legend(&legend_area, series, &[], &[])?;
        root.present().map_err(plot_error)?;
    }
    Ok(svg)
}

/// The legend strip: one line per series, then (on the first panel) the milestone key.
fn draw_legend(
    area: &DrawingArea<SVGBackend<'_>, plotters::coord::Shift>,
    series: &[Series<'_>],
    key: &[(usize, String)],
    dates: &[String],
) -> Result<()> {
    let font = ("sans-serif", 13).into_font();
    let mut y = 40;
    for line in series {
        area.draw(&PathElement::new(
            vec![(4, y), (26, y)],
            line.color.stroke_width(3),
        ))
        .map_err(plot_error)?;
        area.draw(&Text::new(line.label.clone(), (32, y - 7), font.clone()))
            .map_err(plot_error)?;
        y += 18;
    }
    if !key.is_empty() {
        y += 8;
        let small = ("sans-serif", 11).into_font().color(&RGBColor(70, 70, 70));
        area.draw(&Text::new("Milestones:", (4, y - 6), small.clone()))
            .map_err(plot_error)?;
        y += 14;
        for (number, (day, label)) in key.iter().enumerate() {
            let date = dates.get(*day).map_or("", String::as_str);
            area.draw(&Text::new(
                format!("{} {date} {label}", number + 1),
                (4, y - 6),
                small.clone(),
            ))
            .map_err(plot_error)?;
            y += 14;
        }
    }
    Ok(())
}

/// Milestones by day, one entry per day (names of the same day joined), in date order.
fn marker_key(markers: &[Marker]) -> Vec<(usize, String)> {
    let mut days: Vec<(usize, String)> = Vec::new();
    let mut sorted: Vec<&Marker> = markers.iter().collect();
    sorted.sort_by_key(|m| m.day);
    for marker in sorted {
        match days.last_mut() {
            Some((day, label)) if *day == marker.day => {
                if !label.contains(marker.label.as_str()) {
                    label.push_str(", ");
                    label.push_str(&marker.label);
                }
            }
            _ => days.push((marker.day, marker.label.clone())),
        }
    }
    days
}

/// Tick positions (day indices) on calendar boundaries: quarters labelled and months as light
/// lines for runs over 18 months, otherwise months labelled. Dates that do not parse as
/// `YYYY-MM-DD` give evenly spaced ticks instead.
fn calendar_ticks(dates: &[String]) -> (Vec<f64>, Vec<f64>) {
    let month_starts: Vec<(usize, u32)> = dates
        .iter()
        .enumerate()
        .filter_map(|(day, date)| {
            let month: u32 = date.get(5..7)?.parse().ok()?;
            (date.get(8..10) == Some("01")).then_some((day, month))
        })
        .collect();
    if month_starts.len() < 2 {
        let step = (dates.len() / 6).max(1);
        let even = (0..dates.len()).step_by(step).map(|d| d as f64).collect();
        return (even, Vec::new());
    }
    let months: Vec<f64> = month_starts.iter().map(|(day, _)| *day as f64).collect();
    if month_starts.len() > 18 {
        let quarters = month_starts
            .iter()
            .filter(|(_, month)| (month - 1) % 3 == 0)
            .map(|(day, _)| *day as f64)
            .collect();
        (quarters, months)
    } else {
        (months, Vec::new())
    }
}

/// `nemid_shutdown` → `NemID shutdown`, `cutoff_bank` → `cut-off bank`: a milestone's machine
/// name as a reader would write it.
#[must_use]
pub fn readable_milestone(name: &str) -> String {
    name.split('_')
        .map(|word| match word {
            "nemid" => "NemID",
            "mitid" => "MitID",
            "qr" => "QR",
            "cutoff" => "cut-off",
            other => other,
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// A `window`-day centred mean of `values` weighted by `weights` (all 1 when `None`): smooths
/// the weekly comb that closed weekends put into daily figures. Days without a value, or with
/// zero weight, do not count; a window with nothing in it has no value (NaN).
#[must_use]
pub fn centred_mean(values: &[f64], weights: Option<&[f64]>, window: usize) -> Vec<f64> {
    let half = window / 2;
    (0..values.len())
        .map(|day| {
            let from = day.saturating_sub(half);
            let to = (day + half).min(values.len() - 1);
            let (mut sum, mut total) = (0.0, 0.0);
            for d in from..=to {
                let w = weights.map_or(1.0, |w| w[d]);
                if values[d].is_finite() && w > 0.0 {
                    sum += values[d] * w;
                    total += w;
                }
            }
            if total > 0.0 { sum / total } else { f64::NAN }
        })
        .collect()
}

fn plot_error(err: impl std::fmt::Display) -> anyhow::Error {
    anyhow!("cannot draw the chart: {err}")
}

/// 4 500 000 → `4.5M`, 12 300 → `12.3k`, 0.25 → `0.25`.
#[must_use]
pub fn human(value: f64) -> String {
    let magnitude = value.abs();
    let (scaled, suffix) = if magnitude >= 1e6 {
        (value / 1e6, "M")
    } else if magnitude >= 1e3 {
        (value / 1e3, "k")
    } else {
        (value, "")
    };
    let text = if scaled.fract().abs() < 1e-9 || scaled.abs() >= 100.0 {
        format!("{scaled:.0}")
    } else if scaled.abs() >= 10.0 {
        format!("{scaled:.1}")
    } else {
        format!("{scaled:.2}")
    };
    format!("{text}{suffix}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn human_numbers_are_short() {
        assert_eq!(human(4_500_000.0), "4.50M");
        assert_eq!(human(12_300.0), "12.3k");
        assert_eq!(human(250.0), "250");
        assert_eq!(human(0.25), "0.25");
        assert_eq!(human(0.0), "0");
    }

    #[test]
    fn charts_carry_their_text() {
        let dates: Vec<String> = (1..=30).map(|d| format!("2023-06-{d:02}")).collect();
        let values: Vec<f64> = (0..30).map(f64::from).collect();
        let svg = line_chart(
            &dates,
            &[Panel {
                title: "Adoption".into(),
                y_label: "citizens".into(),
                series: vec![Series {
                    label: "MitID users".into(),
                    values: &values,
                    color: PALETTE[0],
                }],
            }],
            &[Marker {
                day: 10,
                label: readable_milestone("nemid_shutdown"),
            }],
        )
        .unwrap();
        assert!(svg.starts_with("<svg"), "{svg}");
        for text in [
            "Adoption",
            "MitID users",
            "citizens",
            "2023-06-01",
            "1 NemID shutdown",
        ] {
            assert!(svg.contains(text), "the SVG lacks {text:?}");
        }
    }

    #[test]
    fn bar_charts_name_every_category_and_series() {
        let needed = [30.0, 12.5];
        let available = [14.0, 26.0];
        let svg = bar_chart(
            "Counter hours",
            "hours",
            &["Randers".to_owned(), "Læsø".to_owned()],
            &[
                Series {
                    label: "needed".into(),
                    values: &needed,
                    color: PALETTE[1],
                },
                Series {
                    label: "available".into(),
                    values: &available,
                    color: PALETTE[0],
                },
            ],
        )
        .unwrap();
        for text in [
            "Counter hours",
            "Randers",
            "Læsø",
            "needed",
            "available",
            "hours",
        ] {
            assert!(svg.contains(text), "the SVG lacks {text:?}");
        }
        assert_eq!(
            svg.matches("<rect").count(),
            1 + 4,
            "background plus four bars"
        );
    }

    #[test]
    fn ticks_fall_on_month_and_quarter_boundaries() {
        let dates: Vec<String> = (0..800)
            .map(|d| {
                (chrono::NaiveDate::from_ymd_opt(2021, 10, 1).unwrap() + chrono::Days::new(d))
                    .to_string()
            })
            .collect();
        let (quarters, months) = calendar_ticks(&dates);
        for &q in &quarters {
            let date = &dates[q as usize];
            assert!(
                date.ends_with("-01") && ["01", "04", "07", "10"].contains(&&date[5..7]),
                "{date} is not a quarter start"
            );
        }
        assert_eq!(quarters.len(), 9, "{quarters:?}");
        assert_eq!(months.len(), 27);
        let short: Vec<String> = dates[..90].to_vec();
        let (major, minor) = calendar_ticks(&short);
        assert_eq!(
            major.len(),
            3,
            "three month starts in 90 days from 1 October"
        );
        assert!(minor.is_empty());
    }

    #[test]
    fn the_centred_mean_removes_the_weekend_comb() {
        // Served on weekdays only, the same wait each weekday: the comb of no-value days goes.
        let values: Vec<f64> = (0..28)
            .map(|d| if d % 7 < 5 { 10.0 } else { f64::NAN })
            .collect();
        let weights: Vec<f64> = (0..28)
            .map(|d| if d % 7 < 5 { 50.0 } else { 0.0 })
            .collect();
        let smooth = centred_mean(&values, Some(&weights), 7);
        assert!(
            smooth.iter().all(|v| (*v - 10.0).abs() < 1e-9),
            "{smooth:?}"
        );
        assert!(
            centred_mean(&[f64::NAN; 3], None, 7)
                .iter()
                .all(|v| v.is_nan())
        );
    }
}
