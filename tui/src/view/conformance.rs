//! The conformance view: a certify run's results as a tree by requirement, and the evidence of
//! the selected requirement or scenario.

use mitid_conformance::evidence::Exchange;
use mitid_conformance::outcome::{RawOutcome, ScenarioResult, SuiteReport, Verdict};
use tuirealm::ratatui::Frame;
use tuirealm::ratatui::layout::{Constraint, Layout, Rect};
use tuirealm::ratatui::style::{Color, Modifier, Style};
use tuirealm::ratatui::text::{Line, Span};
use tuirealm::ratatui::widgets::{Block, List, ListItem, ListState, Paragraph, Wrap};

use super::{ACCENT, shown};
use crate::app::{App, CertifyStatus, TICKS_PER_SECOND, TreeRow};

fn verdict_style(verdict: Verdict) -> Style {
    let colour = match verdict {
        Verdict::Passed => Color::Green,
        Verdict::Failed => Color::Red,
        Verdict::Warning => Color::Yellow,
        Verdict::Skipped => Color::DarkGray,
    };
    Style::new().fg(colour).add_modifier(Modifier::BOLD)
}

pub(super) fn draw(frame: &mut Frame, area: Rect, app: &App) {
    let [summary, body] = Layout::vertical([Constraint::Length(3), Constraint::Min(0)]).areas(area);
    draw_summary(frame, summary, app);
    let Some(report) = &app.conformance.report else {
        let text = vec![
            Line::raw(""),
            Line::raw(" No results yet."),
            Line::raw(" r runs certify against the target above on the embedded components;"),
            Line::raw(" t picks the target: the reference service provider or a named flaw."),
            Line::raw(" :certify FLAW does both. An earlier run: mitid-lab tui --report DIR."),
        ];
        frame.render_widget(Paragraph::new(text).block(Block::bordered()), body);
        return;
    };
    let [tree, detail] =
        Layout::horizontal([Constraint::Percentage(50), Constraint::Percentage(50)]).areas(body);
    let rows = app.conformance.rows(&app.conf_filter);
    draw_tree(frame, tree, app, report, &rows);
    draw_detail(
        frame,
        detail,
        app,
        report,
        rows.get(app.conformance.selected).copied(),
    );
}

fn draw_summary(frame: &mut Frame, area: Rect, app: &App) {
    let state = &app.conformance;
    let mut first = vec![
        Span::raw(" certify target (t picks, r runs): "),
        Span::styled(
            state.targets[state.target].label(),
            Style::new().add_modifier(Modifier::BOLD),
        ),
    ];
    match &state.status {
        CertifyStatus::Idle => {}
        CertifyStatus::Running {
            target,
            requirement,
            ticks,
        } => first.push(Span::styled(
            format!(
                "   running certify {target}{}… {} s",
                requirement
                    .as_ref()
                    .map_or_else(String::new, |id| format!(" (only {id})")),
                ticks / TICKS_PER_SECOND
            ),
            Style::new().fg(Color::Yellow),
        )),
        CertifyStatus::Error(err) => first.push(Span::styled(
            format!("   could not run: {err}"),
            Style::new().fg(Color::Red),
        )),
    }
    let mut lines = vec![Line::from(first)];
    if let Some(report) = &state.report {
        let headline_style = if report.decision.exit_code() == 0 {
            Style::new().fg(Color::Green).add_modifier(Modifier::BOLD)
        } else {
            Style::new().fg(Color::Red).add_modifier(Modifier::BOLD)
        };
        let width = usize::from(area.width);
        lines.push(Line::styled(
            format!(
                " {}",
                shorten(&report.decision.headline(), width.saturating_sub(1))
            ),
            headline_style,
        ));
        let counts = &report.requirement_counts;
        let tally = [
            (counts.passed, Verdict::Passed),
            (counts.failed, Verdict::Failed),
            (counts.warning, Verdict::Warning),
            (counts.skipped, Verdict::Skipped),
        ];
        let tally_width: usize = tally
            .iter()
            .map(|(n, v)| n.to_string().len() + v.as_str().len() + 2)
            .sum::<usize>()
            + format!("of {}", report.requirements.len()).len();
        let mut spans = vec![Span::raw(format!(
            " {}: ",
            shorten(&report.target, width.saturating_sub(tally_width + 3))
        ))];
        spans.extend(tally.iter().map(|(n, verdict)| {
            Span::styled(
                format!("{n} {} ", verdict.as_str()),
                verdict_style(*verdict),
            )
        }));
        spans.push(Span::raw(format!("of {}", report.requirements.len())));
        lines.push(Line::from(spans));
    }
    frame.render_widget(Paragraph::new(lines), area);
}

fn draw_tree(frame: &mut Frame, area: Rect, app: &App, report: &SuiteReport, rows: &[TreeRow]) {
    let items: Vec<ListItem> = rows
        .iter()
        .map(|row| match *row {
            TreeRow::Requirement(index) => {
                let requirement = &report.requirements[index];
                let open = if app.conformance.open.contains(&requirement.id) {
                    "▾"
                } else {
                    "▸"
                };
                let head = format!(
                    "{open} {:<8} {} ",
                    requirement.verdict.as_str(),
                    requirement.id
                );
                // The title when it fits whole or shortened visibly; the details pane has it all.
                let room =
                    usize::from(area.width.saturating_sub(2)).saturating_sub(head.chars().count());
                ListItem::new(Line::from(vec![
                    Span::raw(format!("{open} ")),
                    Span::styled(
                        format!("{:<8}", requirement.verdict.as_str()),
                        verdict_style(requirement.verdict),
                    ),
                    Span::raw(format!(" {} ", requirement.id)),
                    Span::styled(
                        shorten(&requirement.title, room),
                        Style::new().fg(Color::Gray),
                    ),
                ]))
            }
            TreeRow::Scenario(_, scenario) => {
                let scenario = &report.scenarios[scenario];
                let room = usize::from(area.width.saturating_sub(2)).saturating_sub(14);
                ListItem::new(Line::from(vec![
                    Span::raw("   └ "),
                    Span::styled(
                        format!("{:<8}", scenario.verdict.as_str()),
                        verdict_style(scenario.verdict),
                    ),
                    Span::raw(format!(" {}", shorten(&scenario.name, room))),
                ]))
            }
        })
        .collect();
    let title = if app.conf_filter.is_empty() {
        " Requirements ".to_owned()
    } else {
        format!(" Requirements /{}/ ", app.conf_filter)
    };
    let source = app.conformance.source.as_deref().unwrap_or_default();
    let source = shorten_left(source, usize::from(area.width.saturating_sub(4)));
    let list = List::new(items)
        .block(
            Block::bordered()
                .title(title)
                .title_bottom(format!(" {source} ")),
        )
        .highlight_style(
            Style::new()
                .bg(Color::DarkGray)
                .add_modifier(Modifier::BOLD),
        );
    // The selection lives in the model; the widget's scroll state is rebuilt from it each frame.
    let mut state = ListState::default().with_selected(Some(app.conformance.selected));
    frame.render_stateful_widget(list, area, &mut state);
}

fn draw_detail(
    frame: &mut Frame,
    area: Rect,
    app: &App,
    report: &SuiteReport,
    row: Option<TreeRow>,
) {
    let label = Style::new().fg(ACCENT).add_modifier(Modifier::BOLD);
    let mut lines: Vec<Line> = Vec::new();
    if let (Some(TreeRow::Scenario(_, index)), Some(at)) = (row, app.conformance.exchange)
        && let Some(exchange) = report.scenarios[index].evidence.get(at)
    {
        draw_exchange(frame, area, app, &report.scenarios[index], at, exchange);
        return;
    }
    match row {
        None => lines.push(Line::raw("nothing matches the filter")),
        Some(TreeRow::Requirement(index)) => {
            let requirement = &report.requirements[index];
            lines.push(Line::from(vec![
                Span::styled(requirement.id.clone(), label),
                Span::raw(format!(" {} ", requirement.level.as_str())),
                Span::styled(
                    requirement.verdict_text(),
                    verdict_style(requirement.verdict),
                ),
            ]));
            lines.push(Line::raw(requirement.title.clone()));
            lines.push(Line::raw(""));
            lines.push(Line::styled("proved by", label));
            for location in &requirement.scenarios {
                let verdict = report
                    .scenarios
                    .iter()
                    .find(|s| &s.location == location)
                    .map_or(Verdict::Skipped, |s| s.verdict);
                // The file and line matter most: a long path loses its start, visibly.
                let room = usize::from(area.width.saturating_sub(2)).saturating_sub(9);
                lines.push(Line::from(vec![
                    Span::styled(format!("{:<8}", verdict.as_str()), verdict_style(verdict)),
                    Span::raw(format!(" {}", shorten_left(location, room))),
                ]));
            }
            if let Some(feature) = &requirement.not_implemented {
                lines.push(Line::raw(format!(
                    "the target does not declare `{feature}`"
                )));
            }
        }
        Some(TreeRow::Scenario(_, index)) => {
            let scenario = &report.scenarios[index];
            lines.push(Line::from(vec![
                Span::styled(
                    format!("{} ", scenario.verdict.as_str()),
                    verdict_style(scenario.verdict),
                ),
                Span::raw(scenario.name.clone()),
            ]));
            lines.push(Line::styled(
                scenario.location.clone(),
                Style::new().fg(Color::DarkGray),
            ));
            match &scenario.outcome {
                RawOutcome::Passed => {}
                RawOutcome::Failed(message) | RawOutcome::Skipped(message) => {
                    lines.push(Line::raw(""));
                    lines.extend(message.lines().map(|line| Line::raw(shown(app, line))));
                }
            }
            lines.push(Line::raw(""));
            lines.push(Line::styled(
                format!(
                    "evidence: {} HTTP exchanges (→ reads them, e the deciding one)",
                    scenario.evidence.len()
                ),
                label,
            ));
            for exchange in &scenario.evidence {
                let answer = exchange.status.map_or_else(
                    || exchange.error.clone().unwrap_or_default(),
                    |s| s.to_string(),
                );
                let path = exchange
                    .url
                    .split_once("://")
                    .and_then(|(_, rest)| rest.find('/').map(|at| &rest[at..]))
                    .unwrap_or(&exchange.url);
                lines.push(Line::raw(shown(
                    app,
                    &format!("{} {path} → {answer}", exchange.method),
                )));
            }
        }
    }
    frame.render_widget(
        Paragraph::new(lines)
            .wrap(Wrap { trim: false })
            .block(Block::bordered().title(" Details ")),
        area,
    );
}

/// One exchange of `scenario` in full; the title says which, and whether it is the one that
/// decided a failed scenario.
fn draw_exchange(
    frame: &mut Frame,
    area: Rect,
    app: &App,
    scenario: &ScenarioResult,
    at: usize,
    exchange: &Exchange,
) {
    let deciding = matches!(scenario.verdict, Verdict::Failed | Verdict::Warning)
        && crate::app::Conformance::deciding_exchange(scenario) == Some(at);
    let title = format!(
        " Exchange {}/{}{} (← →) ",
        at + 1,
        scenario.evidence.len(),
        if deciding {
            ", the last before the failure"
        } else {
            ""
        }
    );
    let mut lines = vec![Line::styled(
        shorten(&scenario.name, usize::from(area.width.saturating_sub(2))),
        verdict_style(scenario.verdict),
    )];
    lines.extend(super::flows::exchange_lines(app, exchange));
    // The exchange first, the verdict it led to after it: on a small screen the request and
    // its answer are what must show.
    if let RawOutcome::Failed(message) = &scenario.outcome
        && deciding
    {
        lines.push(Line::raw(""));
        lines.extend(
            message
                .lines()
                .take(3)
                .map(|line| Line::styled(shown(app, line), Style::new().fg(Color::Red))),
        );
    }
    frame.render_widget(
        Paragraph::new(lines)
            .wrap(Wrap { trim: false })
            .block(Block::bordered().title(title)),
        area,
    );
}

/// `text` cut to `room` characters with a visible `…` when it is longer (a name cut without a
/// mark reads as a different name).
fn shorten(text: &str, room: usize) -> String {
    if text.chars().count() <= room {
        return text.to_owned();
    }
    if room < 2 {
        return String::new();
    }
    let mut cut: String = text.chars().take(room - 1).collect();
    cut.push('…');
    cut
}

/// Like [`shorten`], keeping the end (a path's file name matters more than its start).
fn shorten_left(text: &str, room: usize) -> String {
    let count = text.chars().count();
    if count <= room {
        return text.to_owned();
    }
    if room < 2 {
        return String::new();
    }
    let kept: String = text.chars().skip(count - (room - 1)).collect();
    format!("…{kept}")
}

#[cfg(test)]
mod tests {
    use super::{shorten, shorten_left};

    #[test]
    fn shortened_text_says_so_with_an_ellipsis() {
        assert_eq!(shorten("Without a login", 20), "Without a login");
        assert_eq!(shorten("Without a login", 8), "Without…");
        assert_eq!(shorten_left("reports/run/report.json", 12), "…report.json");
    }
}
