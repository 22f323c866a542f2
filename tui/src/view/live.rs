//! The simulation view's live panel (`--live`): the flows the lab's components performed for the
//! sampled citizens and how many failed, per component (and, with room, per journey with its
//! latency), and sparklines of the flows and failures day by day.

use tuirealm::ratatui::Frame;
use tuirealm::ratatui::layout::{Constraint, Layout, Rect};
use tuirealm::ratatui::style::{Color, Modifier, Style};
use tuirealm::ratatui::text::{Line, Span};
use tuirealm::ratatui::widgets::{Block, Cell, Paragraph, Row, Sparkline, Table};

use super::{ACCENT, thousands};
use crate::live::{Counts, LiveFigures};

/// Rows the panel wants for `figures`: its border, the component table (with the journeys when
/// `roomy`) and the sparklines.
pub(super) fn height(figures: &LiveFigures, roomy: bool) -> u16 {
    let components = figures.by_component().len().max(1) as u16;
    let journeys = if roomy {
        // A header line and one row per journey.
        1 + figures.journeys.len() as u16
    } else {
        0
    };
    let sparklines = if roomy { 2 } else { 1 };
    // Border, header, the components, their total.
    2 + 1 + components + 1 + journeys + sparklines
}

pub(super) fn draw(frame: &mut Frame, area: Rect, figures: &LiveFigures, roomy: bool) {
    let total = figures.total();
    let block = Block::bordered()
        .title(Line::from(vec![
            Span::styled(
                " ● live ",
                Style::new().fg(Color::Green).add_modifier(Modifier::BOLD),
            ),
            Span::raw(format!(
                "{} · {} citizens ",
                figures.runtime,
                thousands(figures.sample_size)
            )),
        ]))
        .border_style(Style::new().fg(Color::Green));
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let sparklines = if roomy { 2 } else { 1 };
    let [table, sparks] =
        Layout::vertical([Constraint::Min(0), Constraint::Length(sparklines)]).areas(inner);
    draw_table(frame, table, figures, total, roomy);
    let failed: Vec<u64> = figures.days.iter().map(|d| d.total().failed).collect();
    if roomy {
        let [flows_row, failed_row] = Layout::vertical([Constraint::Length(1); 2]).areas(sparks);
        let performed: Vec<u64> = figures.days.iter().map(|d| d.total().performed).collect();
        draw_sparkline(frame, flows_row, "flows/day ", &performed, Color::Green);
        draw_sparkline(frame, failed_row, "failed/day", &failed, Color::Red);
    } else {
        draw_sparkline(frame, sparks, "failed/day", &failed, Color::Red);
    }
}

fn draw_table(frame: &mut Frame, area: Rect, figures: &LiveFigures, total: Counts, roomy: bool) {
    let heading = Style::new().fg(ACCENT).add_modifier(Modifier::BOLD);
    let failed_style = |c: Counts| {
        if c.failed > 0 {
            Style::new().fg(Color::Red)
        } else {
            Style::new()
        }
    };
    let today = figures.days.last();
    let row = |name: String, c: Counts, today: Option<Counts>, extra: Option<String>| {
        let mut cells = vec![
            Cell::from(name),
            Cell::from(format!("{:>7}", thousands(c.performed))),
            Cell::from(format!("{:>6}", thousands(c.failed))).style(failed_style(c)),
        ];
        if roomy {
            cells.push(Cell::from(today.map_or_else(String::new, |t| {
                format!("{:>9}", format!("+{}/{}", t.performed, t.failed))
            })));
            cells.push(Cell::from(extra.unwrap_or_default()));
        }
        Row::new(cells)
    };
    let mut rows = Vec::new();
    let components = figures.by_component();
    if components.is_empty() {
        rows.push(Row::new(vec![
            Cell::from("no flow yet").style(Style::new().fg(Color::DarkGray)),
        ]));
    }
    for (name, counts) in &components {
        let day = today.map(|d| d.by_component.get(*name).copied().unwrap_or_default());
        rows.push(row((*name).to_owned(), *counts, day, None));
    }
    rows.push(
        row(
            "all".to_owned(),
            total,
            today.map(crate::live::LiveDay::total),
            None,
        )
        .style(Style::new().add_modifier(Modifier::BOLD)),
    );
    if roomy {
        rows.push(Row::new(vec!["journey", "  flows", "failed", "", "p50/p95 ms"]).style(heading));
        for (name, journey) in &figures.journeys {
            rows.push(row(
                name.clone(),
                journey.counts,
                None,
                Some(format!("{:.0}/{:.0}", journey.p50_ms, journey.p95_ms)),
            ));
        }
    }
    let mut header = vec!["component", "  flows", "failed"];
    let mut widths = vec![
        Constraint::Min(15),
        Constraint::Length(7),
        Constraint::Length(6),
    ];
    if roomy {
        header.extend(["    today", "p50/p95 ms"]);
        widths.extend([Constraint::Length(9), Constraint::Length(10)]);
    }
    let table = Table::new(rows, widths)
        .header(Row::new(header).style(heading))
        .column_spacing(1);
    frame.render_widget(table, area);
}

/// `label` and a one-row sparkline of `values`' last days, as many as fit.
fn draw_sparkline(frame: &mut Frame, area: Rect, label: &str, values: &[u64], colour: Color) {
    let label_width = label.chars().count() as u16 + 1;
    let [label_area, spark] =
        Layout::horizontal([Constraint::Length(label_width), Constraint::Min(0)]).areas(area);
    frame.render_widget(
        Paragraph::new(Span::styled(label, Style::new().fg(Color::DarkGray))),
        label_area,
    );
    let shown = &values[values.len().saturating_sub(usize::from(spark.width))..];
    frame.render_widget(
        Sparkline::default()
            .data(shown)
            .style(Style::new().fg(colour)),
        spark,
    );
}
