//! The simulation view: clock, NemID calendar, KPIs, charts that grow as days close, and the
//! municipality table.

use mitid_sim::policy::DayRow;
use tuirealm::ratatui::Frame;
use tuirealm::ratatui::layout::{Constraint, Layout, Rect};
use tuirealm::ratatui::style::{Color, Modifier, Style};
use tuirealm::ratatui::symbols::Marker;
use tuirealm::ratatui::text::{Line, Span};
use tuirealm::ratatui::widgets::{
    Axis, Block, Cell, Chart, Dataset, GraphType, Paragraph, Row, Table,
};

use super::{ACCENT, thousands};
use crate::app::{App, SortKey};
use crate::run::MunicipalityWait;

/// Below this body height the milestone list and the queue chart give way to the essentials.
const ROOMY_HEIGHT: u16 = 34;

pub(super) fn draw(frame: &mut Frame, area: Rect, app: &App) {
    let [clock, calendar, next, kpis, rest] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Length(1),
        Constraint::Length(1),
        Constraint::Length(2),
        Constraint::Min(0),
    ])
    .areas(area);
    draw_clock(frame, clock, app);
    draw_calendar(frame, calendar, app);
    draw_next(frame, next, app);
    draw_kpis(frame, kpis, app);
    let [charts, side] =
        Layout::horizontal([Constraint::Percentage(56), Constraint::Percentage(44)]).areas(rest);
    let roomy = area.height >= ROOMY_HEIGHT;
    draw_charts(frame, charts, app, roomy);
    // A live run's panel goes first, beside the model's figures; the municipality table keeps
    // at least a few rows under it.
    let side = match app.run.live() {
        Some(figures) => {
            let wanted =
                super::live::height(figures, roomy).min(side.height.saturating_sub(MIN_TABLE_ROWS));
            let [panel, rest] =
                Layout::vertical([Constraint::Length(wanted), Constraint::Min(0)]).areas(side);
            super::live::draw(frame, panel, figures, roomy);
            rest
        }
        None => side,
    };
    let listed = app.run.milestones().len() as u16 + 2;
    if roomy && side.height >= listed + MIN_TABLE_ROWS {
        let [milestones, table] =
            Layout::vertical([Constraint::Length(listed), Constraint::Min(0)]).areas(side);
        draw_milestones(frame, milestones, app);
        draw_table(frame, table, app);
    } else {
        draw_table(frame, side, app);
    }
}

/// The municipality table's least height: its border, header and a few municipalities.
const MIN_TABLE_ROWS: u16 = 6;

fn draw_clock(frame: &mut Frame, area: Rect, app: &App) {
    let run = &app.run;
    let total = (run.end() - run.start()).num_days() + 1;
    let closed = run.closed_days().len();
    let state = if run.finished() {
        Span::styled("■ finished", Style::new().fg(Color::Green))
    } else if app.playing {
        Span::styled(
            "▶ playing",
            Style::new().fg(Color::Green).add_modifier(Modifier::BOLD),
        )
    } else {
        Span::styled("⏸ paused", Style::new().fg(Color::Yellow))
    };
    let line = Line::from(vec![
        Span::styled(
            format!(" {} ", run.today()),
            Style::new().add_modifier(Modifier::BOLD),
        ),
        Span::raw(format!(" day {closed} of {total}  ")),
        state,
        Span::raw(format!("  {} days/s", app.days_per_second())),
    ]);
    let line = match run.live() {
        Some(figures) => {
            let flows = figures.total();
            let mut spans = line.spans;
            spans.push(Span::styled(
                format!(
                    "  ● live: {} flows, {} failed",
                    thousands(flows.performed),
                    thousands(flows.failed)
                ),
                Style::new().fg(Color::Green),
            ));
            Line::from(spans)
        }
        None => line,
    };
    let line = match &app.whatif {
        Some(whatif) => {
            let mut spans = line.spans;
            spans.push(Span::styled(
                format!("  what-if {} (light)", whatif.label),
                Style::new().fg(Color::Gray),
            ));
            Line::from(spans)
        }
        None => line,
    };
    frame.render_widget(Paragraph::new(line), area);
}

/// One line from the first to the last day: closed days heavy, the rest light, a `◆` on every
/// milestone and the clock's position marked.
fn draw_calendar(frame: &mut Frame, area: Rect, app: &App) {
    let run = &app.run;
    let start_label = run.start().format("%Y-%m").to_string();
    let end_label = run.end().format("%Y-%m").to_string();
    let width = usize::from(area.width).saturating_sub(start_label.len() + end_label.len() + 4);
    if width < 2 {
        return;
    }
    let total = (run.end() - run.start()).num_days().max(1) as f64;
    let column = |date: chrono::NaiveDate| {
        let offset = (date - run.start()).num_days() as f64 / total;
        ((offset * (width - 1) as f64).round() as usize).min(width - 1)
    };
    let today = column(run.today());
    let mut spans = vec![Span::raw(format!(" {start_label} "))];
    let marks: Vec<usize> = run.milestones().iter().map(|m| column(m.date)).collect();
    for col in 0..width {
        let passed = col < today || run.finished();
        let (symbol, style) = if marks.contains(&col) {
            let colour = if passed { Color::Red } else { Color::Yellow };
            ("◆", Style::new().fg(colour))
        } else if col == today && !run.finished() {
            ("▲", Style::new().fg(ACCENT).add_modifier(Modifier::BOLD))
        } else if passed {
            ("━", Style::new().fg(ACCENT))
        } else {
            ("─", Style::new().fg(Color::DarkGray))
        };
        spans.push(Span::styled(symbol, style));
    }
    spans.push(Span::raw(format!(" {end_label}")));
    frame.render_widget(Paragraph::new(Line::from(spans)), area);
}

fn draw_next(frame: &mut Frame, area: Rect, app: &App) {
    let passed = app
        .run
        .milestones()
        .iter()
        .filter(|m| {
            app.run
                .closed_days()
                .last()
                .is_some_and(|d| d.date >= m.date)
        })
        .count();
    let total = app.run.milestones().len();
    let text = match app.next_milestone() {
        Some((name, date)) => format!(
            " next ◆ {date} {name} (in {} d) · {passed}/{total} milestones passed",
            (date - app.run.today()).num_days()
        ),
        None => format!(" {passed}/{total} milestones passed"),
    };
    frame.render_widget(Paragraph::new(text), area);
}

fn draw_kpis(frame: &mut Frame, area: Rect, app: &App) {
    let days = app.run.closed_days();
    let population = u64::from(app.run.population()).max(1);
    let kpi = |label: &str, value: String| {
        vec![
            Span::styled(format!(" {label} "), Style::new().fg(Color::DarkGray)),
            Span::styled(value, Style::new().add_modifier(Modifier::BOLD)),
            Span::raw(" "),
        ]
    };
    let lines = match days.last() {
        None => vec![Line::raw(
            " no day closed yet: space plays, . steps a day, m runs to the next milestone",
        )],
        Some(day) => {
            let share = |n: u32| {
                format!(
                    "{} ({:.1}%)",
                    thousands(u64::from(n)),
                    100.0 * f64::from(n) / population as f64
                )
            };
            let failed_total: u64 = days.iter().map(|d| u64::from(d.failed_logins)).sum();
            vec![
                Line::from(
                    [
                        kpi("MitID", share(day.mitid_users)),
                        kpi("NemID only", share(day.nemid_only)),
                        kpi("no eID", thousands(u64::from(day.without_eid))),
                    ]
                    .concat(),
                ),
                Line::from(
                    [
                        kpi("CS queue", thousands(u64::from(day.citizen_service_queue))),
                        kpi(
                            "wait",
                            format!("{:.1} d", day.citizen_service_offered_wait_days),
                        ),
                        kpi(
                            "support",
                            // Undefined on a day no call was answered: shown as a dash, not 0.
                            day.support_mean_wait_minutes
                                .map_or_else(|| "–".to_owned(), |w| format!("{w:.1} min")),
                        ),
                        kpi(
                            "failed logins",
                            format!(
                                "{} (+{})",
                                thousands(failed_total),
                                thousands(u64::from(day.failed_logins))
                            ),
                        ),
                    ]
                    .concat(),
                ),
            ]
        }
    };
    frame.render_widget(Paragraph::new(lines), area);
}

/// The series of one chart: its name, colour and the value of each closed day.
type Series<'a> = (&'a str, Color, fn(&DayRow, f64) -> f64);

fn draw_charts(frame: &mut Frame, area: Rect, app: &App, roomy: bool) {
    let adoption: [Series; 3] = [
        ("MitID", Color::Green, |d, pop| {
            100.0 * f64::from(d.mitid_users) / pop
        }),
        ("NemID only", Color::Yellow, |d, pop| {
            100.0 * f64::from(d.nemid_only) / pop
        }),
        ("no eID", Color::Red, |d, pop| {
            100.0 * f64::from(d.without_eid) / pop
        }),
    ];
    let waits: [Series; 2] = [
        // The wait offered to someone asking that day exists every day; the mean of those
        // served does not (a day nobody is served would draw a false 0).
        ("CS offered, days", Color::Magenta, |d, _| {
            d.citizen_service_offered_wait_days
        }),
        ("support, min", Color::Cyan, |d, _| {
            d.support_mean_wait_minutes.unwrap_or(f64::NAN)
        }),
    ];
    let queue: [Series; 1] = [("queue", Color::Blue, |d, _| {
        f64::from(d.citizen_service_queue)
    })];
    if roomy {
        let [a, b, c] = Layout::vertical([Constraint::Ratio(1, 3); 3]).areas(area);
        draw_chart(
            frame,
            a,
            app,
            "Adoption, % of citizens",
            &adoption,
            Some(100.0),
        );
        draw_chart(frame, b, app, "Waits", &waits, None);
        draw_chart(frame, c, app, "Citizen Service", &queue, None);
    } else {
        let [a, b] = Layout::vertical([Constraint::Ratio(1, 2); 2]).areas(area);
        draw_chart(frame, a, app, "Adoption %", &adoption, Some(100.0));
        draw_chart(frame, b, app, "Waits", &waits, None);
    }
}

fn draw_chart(
    frame: &mut Frame,
    area: Rect,
    app: &App,
    title: &str,
    series: &[Series],
    fixed_max: Option<f64>,
) {
    let run = &app.run;
    let population = f64::from(run.population().max(1));
    let total = (run.end() - run.start()).num_days().max(1) as f64;
    let points_of = |days: &[DayRow], population: f64| -> Vec<Vec<(f64, f64)>> {
        series
            .iter()
            .map(|(_, _, value)| {
                days.iter()
                    .enumerate()
                    .map(|(i, day)| (i as f64, value(day, population)))
                    // An undefined value (NaN) is a gap, not a point at 0.
                    .filter(|(_, y)| y.is_finite())
                    .collect()
            })
            .collect()
    };
    let points = points_of(run.closed_days(), population);
    // The what-if, drawn first so the main run's lines stay on top where they cross.
    let whatif_points = app.whatif.as_ref().map_or_else(Vec::new, |whatif| {
        points_of(
            whatif.run.closed_days(),
            f64::from(whatif.run.population().max(1)),
        )
    });
    let max = fixed_max.unwrap_or_else(|| {
        let seen = points
            .iter()
            .chain(&whatif_points)
            .flatten()
            .map(|(_, y)| *y)
            .fold(0.0_f64, f64::max);
        // Round the axis up to a readable figure so it does not jitter every frame.
        nice_ceiling(seen)
    });
    let light: Vec<Dataset> = series
        .iter()
        .zip(&whatif_points)
        .map(|((_, colour, _), data)| {
            Dataset::default()
                .marker(Marker::Braille)
                .graph_type(GraphType::Line)
                .style(Style::new().fg(lighter(*colour)))
                .data(data)
        })
        .collect();
    let datasets: Vec<Dataset> = light
        .into_iter()
        .chain(series.iter().zip(&points).map(|((name, colour, _), data)| {
            Dataset::default()
                .name(*name)
                .marker(Marker::Braille)
                .graph_type(GraphType::Line)
                .style(Style::new().fg(*colour))
                .data(data)
        }))
        .collect();
    let chart = Chart::new(datasets)
        .block(Block::bordered().title(legend_title(title, series)))
        .x_axis(
            Axis::default()
                .bounds([0.0, total])
                .labels([
                    run.start().format("%Y-%m").to_string(),
                    run.end().format("%Y-%m").to_string(),
                ])
                .style(Style::new().fg(Color::DarkGray)),
        )
        .y_axis(
            Axis::default()
                .bounds([0.0, max])
                .labels(["0".to_owned(), format_axis(max)])
                .style(Style::new().fg(Color::DarkGray)),
        )
        // The series are named in the title, in their colours: a legend box would cover the
        // lines it names on a small chart.
        .legend_position(None);
    frame.render_widget(chart, area);
}

/// The what-if's shade of a series colour.
fn lighter(colour: Color) -> Color {
    match colour {
        Color::Green => Color::LightGreen,
        Color::Yellow => Color::LightYellow,
        Color::Red => Color::LightRed,
        Color::Magenta => Color::LightMagenta,
        Color::Cyan => Color::LightCyan,
        Color::Blue => Color::LightBlue,
        _ => Color::Gray,
    }
}

/// ` Adoption %: MitID · NemID only · no eID `, each name in its line's colour.
fn legend_title<'a>(title: &'a str, series: &[Series<'a>]) -> Line<'a> {
    let mut spans = vec![Span::raw(format!(" {title}: "))];
    for (i, (name, colour, _)) in series.iter().enumerate() {
        if i > 0 {
            spans.push(Span::raw(" · "));
        }
        spans.push(Span::styled(
            *name,
            Style::new().fg(*colour).add_modifier(Modifier::BOLD),
        ));
    }
    spans.push(Span::raw(" "));
    Line::from(spans)
}

/// The next of 1, 2, 5 x 10^k at or above `value` (at least 1).
fn nice_ceiling(value: f64) -> f64 {
    if value <= 1.0 {
        return 1.0;
    }
    let magnitude = 10f64.powf(value.log10().floor());
    [1.0, 2.0, 5.0, 10.0]
        .into_iter()
        .map(|step| step * magnitude)
        .find(|ceiling| *ceiling >= value)
        .unwrap_or(10.0 * magnitude)
}

fn format_axis(value: f64) -> String {
    if value >= 1000.0 {
        thousands(value as u64)
    } else {
        format!("{value}")
    }
}

fn draw_milestones(frame: &mut Frame, area: Rect, app: &App) {
    let last = app.run.closed_days().last().map(|d| d.date);
    let lines: Vec<Line> = app
        .run
        .milestones()
        .iter()
        .map(|m| {
            let passed = last.is_some_and(|d| d >= m.date);
            let (mark, style) = if passed {
                ("✓", Style::new().fg(Color::DarkGray))
            } else {
                ("◆", Style::new())
            };
            Line::styled(format!(" {mark} {} {}", m.date, m.name), style)
        })
        .collect();
    frame.render_widget(
        Paragraph::new(lines).block(Block::bordered().title(" NemID calendar ")),
        area,
    );
}

/// The municipality rows under the view's filter, in the chosen order.
#[must_use]
pub fn table_rows(app: &App) -> Vec<MunicipalityWait> {
    let needle = app.sim_filter.to_lowercase();
    let mut rows: Vec<MunicipalityWait> = app
        .run
        .municipality_waits()
        .iter()
        .filter(|m| needle.is_empty() || m.name.to_lowercase().contains(&needle))
        .cloned()
        .collect();
    match app.sort {
        SortKey::Wait => rows.sort_by(|a, b| {
            b.mean_wait_days
                .total_cmp(&a.mean_wait_days)
                .then_with(|| a.name.cmp(&b.name))
        }),
        SortKey::LastMonth => rows.sort_by(|a, b| {
            b.last_month_wait_days
                .total_cmp(&a.last_month_wait_days)
                .then_with(|| a.name.cmp(&b.name))
        }),
        SortKey::Name => rows.sort_by(|a, b| a.name.cmp(&b.name)),
    }
    rows
}

fn draw_table(frame: &mut Frame, area: Rect, app: &App) {
    let rows = table_rows(app);
    let order = match app.sort {
        SortKey::Wait => "by wait",
        SortKey::LastMonth => "by last month",
        SortKey::Name => "by name",
    };
    let title = if app.sim_filter.is_empty() {
        format!(" Citizen Service, {order} ")
    } else {
        format!(" Citizen Service, {order} /{}/ ", app.sim_filter)
    };
    // Below 40 columns the served count gives way, so names such as Ringkøbing-Skjern fit whole.
    let with_served = area.width >= 40;
    let mut columns = vec!["municipality", "wait d", "month"];
    let mut widths = vec![
        Constraint::Min(12),
        Constraint::Length(6),
        Constraint::Length(5),
    ];
    if with_served {
        columns.push("served");
        widths.push(Constraint::Length(6));
    }
    let header = Row::new(columns).style(Style::new().fg(ACCENT).add_modifier(Modifier::BOLD));
    let body: Vec<Row> = rows
        .iter()
        .map(|m| {
            let mut cells = vec![
                Cell::from(m.name.clone()),
                Cell::from(format!("{:>6.1}", m.mean_wait_days)),
                Cell::from(format!("{:>5.1}", m.last_month_wait_days)),
            ];
            if with_served {
                cells.push(Cell::from(format!("{:>6}", thousands(u64::from(m.served)))));
            }
            Row::new(cells)
        })
        .collect();
    let table = Table::new(body, widths)
        .header(header)
        .block(Block::bordered().title(title));
    frame.render_widget(table, area);
}

#[cfg(test)]
mod tests {
    use super::nice_ceiling;

    #[test]
    fn axis_ceilings_are_round_figures_at_or_above_the_data() {
        assert!((nice_ceiling(0.3) - 1.0).abs() < 1e-9);
        assert!((nice_ceiling(3.2) - 5.0).abs() < 1e-9);
        assert!((nice_ceiling(12.0) - 20.0).abs() < 1e-9);
        assert!((nice_ceiling(500.0) - 500.0).abs() < 1e-9);
    }
}
