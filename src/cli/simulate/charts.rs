//! Line charts over simulated days, drawn as SVG with plotters.
//!
//! plotters is built without its font stack: the SVG carries `<text>` elements and the viewer
//! (a browser, an image viewer) lays the text out. The x axis is the day index; labels show the
//! calendar date of that day.

use anyhow::{Result, anyhow};
use plotters::prelude::*;

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

const WIDTH: u32 = 960;
const PANEL_HEIGHT: u32 = 340;

/// Draws `panels` stacked over the days in `dates`; `markers` are day indices drawn as grey
/// vertical lines (calendar milestones). Returns the SVG text.
pub fn line_chart(dates: &[String], panels: &[Panel<'_>], markers: &[usize]) -> Result<String> {
    if dates.is_empty() || panels.is_empty() {
        return Err(anyhow!("nothing to chart: no days or no panels"));
    }
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
        for (area, panel) in areas.iter().zip(panels) {
            let top = panel
                .series
                .iter()
                .flat_map(|series| series.values.iter().copied())
                .filter(|value| value.is_finite())
                .fold(0.0_f64, f64::max);
            let top = if top > 0.0 { top * 1.08 } else { 1.0 };
            let mut chart = ChartBuilder::on(area)
                .caption(&panel.title, ("sans-serif", 18))
                .margin(12)
                .x_label_area_size(34)
                .y_label_area_size(78)
                .build_cartesian_2d(0.0..last_day, 0.0..top)
                .map_err(plot_error)?;
            chart
                .configure_mesh()
                .x_labels(7)
                .x_label_formatter(&date_label)
                .y_labels(6)
                .y_label_formatter(&|y| human(*y))
                .y_desc(panel.y_label.as_str())
                .light_line_style(RGBColor(235, 235, 235))
                .draw()
                .map_err(plot_error)?;
            chart
                .draw_series(markers.iter().map(|&day| {
                    PathElement::new(
                        vec![(day as f64, 0.0), (day as f64, top)],
                        RGBColor(150, 150, 150).stroke_width(1),
                    )
                }))
                .map_err(plot_error)?;
            for series in &panel.series {
                let color = series.color;
                chart
                    .draw_series(LineSeries::new(
                        series
                            .values
                            .iter()
                            .enumerate()
                            .filter(|(_, value)| value.is_finite())
                            .map(|(day, value)| (day as f64, *value)),
                        color.stroke_width(2),
                    ))
                    .map_err(plot_error)?
                    .label(series.label.as_str())
                    .legend(move |(x, y)| {
                        PathElement::new(vec![(x, y), (x + 18, y)], color.stroke_width(2))
                    });
            }
            chart
                .configure_series_labels()
                .position(SeriesLabelPosition::UpperLeft)
                .background_style(WHITE.mix(0.85))
                .border_style(RGBColor(180, 180, 180))
                .label_font(("sans-serif", 13))
                .draw()
                .map_err(plot_error)?;
        }
        root.present().map_err(plot_error)?;
    }
    Ok(svg)
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
            &[10],
        )
        .unwrap();
        assert!(svg.starts_with("<svg"), "{svg}");
        for text in ["Adoption", "MitID users", "citizens", "2023-06-01"] {
            assert!(svg.contains(text), "the SVG lacks {text:?}");
        }
    }
}
