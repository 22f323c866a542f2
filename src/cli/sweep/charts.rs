//! A figure against the swept parameter (or against the date), each line with its interval
//! drawn as a shaded band.

use anyhow::{Result, anyhow};
use plotters::prelude::*;

use crate::cli::simulate::charts::{PALETTE, human};

/// One line: a mean per x position and its interval (`None` where there is no value).
pub struct BandLine {
    pub label: String,
    pub mean: Vec<Option<f64>>,
    pub low: Vec<Option<f64>>,
    pub high: Vec<Option<f64>>,
}

impl BandLine {
    /// The band's polygon: the upper edge left to right, then the lower edge back.
    fn band_outline(&self) -> Vec<(f64, f64)> {
        let upper = self.high.iter().enumerate();
        let lower = self.low.iter().enumerate().rev();
        upper
            .chain(lower)
            .filter_map(|(x, value)| value.map(|value| (x as f64, value)))
            .collect()
    }

    fn mean_points(&self) -> Vec<(f64, f64)> {
        self.mean
            .iter()
            .enumerate()
            .filter_map(|(x, value)| value.map(|value| (x as f64, value)))
            .collect()
    }
}

const WIDTH: u32 = 960;
const HEIGHT: u32 = 400;

/// Draws `lines` over the labelled x positions `x_labels` (evenly spaced, in order).
pub fn band_chart(
    title: &str,
    x_name: &str,
    x_labels: &[String],
    lines: &[BandLine],
) -> Result<String> {
    if x_labels.is_empty() || lines.is_empty() {
        return Err(anyhow!("nothing to chart for {title}"));
    }
    let top = lines
        .iter()
        .flat_map(|line| line.high.iter().chain(&line.mean))
        .filter_map(|value| *value)
        .filter(|value| value.is_finite())
        .fold(0.0_f64, f64::max);
    let bottom = lines
        .iter()
        .flat_map(|line| line.low.iter().chain(&line.mean))
        .filter_map(|value| *value)
        .filter(|value| value.is_finite())
        .fold(0.0_f64, f64::min);
    let span = (top - bottom).max(f64::EPSILON);
    let (bottom, top) = (
        bottom - span * 0.04 * f64::from(u8::from(bottom < 0.0)),
        top + span * 0.08,
    );
    let last = (x_labels.len().max(2) - 1) as f64;
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (WIDTH, HEIGHT)).into_drawing_area();
        root.fill(&WHITE).map_err(plot_error)?;
        let mut chart = ChartBuilder::on(&root)
            .caption(title, ("sans-serif", 18))
            .margin(12)
            .x_label_area_size(40)
            .y_label_area_size(78)
            .build_cartesian_2d(-0.02 * last..last * 1.02, bottom..top)
            .map_err(plot_error)?;
        let x_label = |x: &f64| {
            let index = x.round();
            if (x - index).abs() > 1e-6 || index < 0.0 {
                return String::new();
            }
            x_labels.get(index as usize).cloned().unwrap_or_default()
        };
        chart
            .configure_mesh()
            .x_labels(x_labels.len().min(8))
            .x_label_formatter(&x_label)
            .x_desc(x_name)
            .y_labels(6)
            .y_label_formatter(&|y| human(*y))
            .light_line_style(RGBColor(235, 235, 235))
            .draw()
            .map_err(plot_error)?;
        for (index, line) in lines.iter().enumerate() {
            let color = PALETTE[index % PALETTE.len()];
            let outline = line.band_outline();
            if outline.len() > 2 {
                chart
                    .draw_series(std::iter::once(Polygon::new(
                        outline,
                        color.mix(0.18).filled(),
                    )))
                    .map_err(plot_error)?;
            }
            let points = line.mean_points();
            chart
                .draw_series(LineSeries::new(points.clone(), color.stroke_width(2)))
                .map_err(plot_error)?
                .label(line.label.as_str())
                .legend(move |(x, y)| {
                    PathElement::new(vec![(x, y), (x + 18, y)], color.stroke_width(2))
                });
            if x_labels.len() <= 60 {
                chart
                    .draw_series(
                        points
                            .into_iter()
                            .map(|point| Circle::new(point, 3, color.filled())),
                    )
                    .map_err(plot_error)?;
            }
        }
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperLeft)
            .background_style(WHITE.mix(0.85))
            .border_style(RGBColor(180, 180, 180))
            .label_font(("sans-serif", 13))
            .draw()
            .map_err(plot_error)?;
        root.present().map_err(plot_error)?;
    }
    Ok(svg)
}

fn plot_error(err: impl std::fmt::Display) -> anyhow::Error {
    anyhow!("cannot draw the chart: {err}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_band_and_the_labels_are_drawn() {
        let labels: Vec<String> = ["2023-06-30", "2023-07-31", "2023-08-31"]
            .map(String::from)
            .into();
        let svg = band_chart(
            "without eID, 80+",
            "calendar.nemid_shutdown",
            &labels,
            &[BandLine {
                label: "mean".into(),
                mean: vec![Some(10.0), Some(12.0), Some(15.0)],
                low: vec![Some(9.0), Some(11.0), Some(13.0)],
                high: vec![Some(11.0), Some(13.0), Some(17.0)],
            }],
        )
        .unwrap();
        assert!(svg.contains("<polygon"), "the interval band is missing");
        for text in [
            "without eID, 80+",
            "calendar.nemid_shutdown",
            "2023-07-31",
            "mean",
        ] {
            assert!(svg.contains(text), "the SVG lacks {text:?}");
        }
    }
}
