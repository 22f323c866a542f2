//! Drawing: every function here reads the [`App`] and paints a frame; none can change it.
//!
//! The frame is a header (views and the run), the current view, a status line when there is
//! something to say, and the footer of key bindings from [`crate::keys`]. Overlays (help,
//! palette completions) are drawn last, over the view.

mod conformance;
mod flows;
mod live;
mod simulation;

use tuirealm::ratatui::Frame;
use tuirealm::ratatui::layout::{Constraint, Layout, Rect};
use tuirealm::ratatui::style::{Color, Modifier, Style};
use tuirealm::ratatui::text::{Line, Span};
use tuirealm::ratatui::widgets::{Block, Clear, Paragraph, Wrap};

use crate::app::{App, COMMANDS, Prompt, View};
use crate::keys;

/// The smallest terminal the dashboard lays out for; below it, a note asks for more room.
pub const MIN_WIDTH: u16 = 80;
pub const MIN_HEIGHT: u16 = 24;

pub(crate) const ACCENT: Color = Color::Cyan;
pub(crate) const KEY_STYLE: Style = Style::new().fg(Color::Black).bg(Color::Cyan);

/// What `text` looks like on screen: redacted in presenter mode.
pub(crate) fn shown(app: &App, text: &str) -> String {
    if app.presenter {
        crate::flows::redact(text)
    } else {
        text.to_owned()
    }
}

/// Draws the whole dashboard.
pub fn draw(frame: &mut Frame, app: &App) {
    let area = frame.area();
    if area.width < MIN_WIDTH || area.height < MIN_HEIGHT {
        let note = format!(
            "mitid-lab tui needs at least {MIN_WIDTH}x{MIN_HEIGHT}; this terminal is {}x{}. Enlarge it, or press q to quit.",
            area.width, area.height
        );
        frame.render_widget(Paragraph::new(note).wrap(Wrap { trim: true }), area);
        return;
    }
    let status = status_line(app);
    let [header, body, status_area, footer] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Min(0),
        Constraint::Length(u16::from(status.is_some())),
        Constraint::Length(1),
    ])
    .areas(area);
    draw_header(frame, header, app);
    match app.view {
        View::Simulation => simulation::draw(frame, body, app),
        View::Conformance => conformance::draw(frame, body, app),
        View::Flows => flows::draw(frame, body, app),
    }
    if let Some(status) = status {
        frame.render_widget(Paragraph::new(status), status_area);
    }
    draw_footer(frame, footer, app);
    if app.presenter {
        draw_key_overlay(frame, body, app);
    }
    if app.help {
        draw_help(frame, body, app);
    }
}

/// Presenter mode's key-press overlay: the last key, top right, so an audience sees what the
/// trainer typed.
fn draw_key_overlay(frame: &mut Frame, body: Rect, app: &App) {
    let Some(key) = app.last_key else {
        return;
    };
    let text = format!(" ⌨ {key} ");
    let width = (text.chars().count() as u16 + 2).min(body.width);
    let area = Rect {
        x: body.x + body.width - width,
        y: body.y,
        width,
        height: 3.min(body.height),
    };
    frame.render_widget(Clear, area);
    frame.render_widget(
        Paragraph::new(Line::styled(
            text,
            Style::new()
                .fg(Color::Black)
                .bg(Color::Yellow)
                .add_modifier(Modifier::BOLD),
        ))
        .block(Block::bordered()),
        area,
    );
}

fn draw_header(frame: &mut Frame, area: Rect, app: &App) {
    let mut spans = vec![Span::styled(
        " mitid-lab ",
        Style::new().add_modifier(Modifier::BOLD),
    )];
    for (view, label) in [
        (View::Simulation, "1 Simulation"),
        (View::Conformance, "2 Conformance"),
        (View::Flows, "3 Flows"),
    ] {
        let style = if app.view == view {
            Style::new()
                .fg(Color::Black)
                .bg(ACCENT)
                .add_modifier(Modifier::BOLD)
        } else {
            Style::new().fg(ACCENT)
        };
        spans.push(Span::styled(format!(" {label} "), style));
        spans.push(Span::raw(" "));
    }
    let run = &app.run;
    let about = format!(
        "{} · seed {} · {} citizens ",
        run.scenario(),
        run.seed(),
        thousands(u64::from(run.population()))
    );
    let used: usize = spans.iter().map(Span::width).sum();
    let room = usize::from(area.width).saturating_sub(used);
    if about.chars().count() <= room {
        spans.push(Span::raw(format!("{about:>room$}")));
    }
    frame.render_widget(Paragraph::new(Line::from(spans)), area);
}

/// What the line above the footer says: the palette's completions while it is open, else the
/// last command's outcome.
fn status_line(app: &App) -> Option<Line<'static>> {
    match &app.prompt {
        Some(Prompt::Palette(text)) => {
            let options = app.completions(text);
            let help = if text.contains(' ') {
                COMMANDS
                    .iter()
                    .find(|(name, _)| text.split(' ').next() == Some(*name))
                    .map(|(_, help)| (*help).to_owned())
            } else {
                None
            };
            let mut line = options.join("  ");
            if let Some(help) = help {
                line = if line.is_empty() {
                    help
                } else {
                    format!("{line}   ({help})")
                };
            }
            Some(Line::styled(
                format!(" {line}"),
                Style::new().fg(Color::DarkGray),
            ))
        }
        Some(Prompt::Filter(_)) => Some(Line::styled(
            " type to filter · enter keeps it · esc clears it",
            Style::new().fg(Color::DarkGray),
        )),
        None => app
            .status
            .as_ref()
            .map(|status| Line::styled(format!(" {status}"), Style::new().fg(Color::Yellow))),
    }
}

fn draw_footer(frame: &mut Frame, area: Rect, app: &App) {
    if let Some(prompt) = &app.prompt {
        let (sigil, text) = match prompt {
            Prompt::Palette(text) => (":", text),
            Prompt::Filter(text) => ("/", text),
        };
        let line = Line::from(vec![
            Span::styled(sigil, Style::new().fg(ACCENT).add_modifier(Modifier::BOLD)),
            Span::raw(text.clone()),
            Span::styled(" ", Style::new().bg(Color::Gray)),
        ]);
        frame.render_widget(Paragraph::new(line), area);
        return;
    }
    let width = |b: &keys::Binding| b.key.to_string().chars().count() + b.label.chars().count() + 4;
    let (essential, rest): (Vec<&keys::Binding>, Vec<&keys::Binding>) =
        keys::footer(app.view.scope())
            .partition(|b| matches!(b.action, keys::Action::Help | keys::Action::Quit));
    // Whole bindings only (a label cut in half would say the wrong thing), and always the way
    // to the help and out.
    let mut room = usize::from(area.width).saturating_sub(essential.iter().map(|b| width(b)).sum());
    let mut shown = Vec::new();
    for binding in rest {
        if width(binding) > room {
            break;
        }
        room -= width(binding);
        shown.push(binding);
    }
    shown.extend(essential);
    let spans: Vec<Span> = shown
        .into_iter()
        .flat_map(|b| {
            [
                Span::styled(format!(" {} ", b.key), KEY_STYLE),
                Span::raw(format!(" {} ", b.label)),
            ]
        })
        .collect();
    frame.render_widget(Paragraph::new(Line::from(spans)), area);
}

fn draw_help(frame: &mut Frame, body: Rect, app: &App) {
    let title = Style::new().fg(ACCENT).add_modifier(Modifier::BOLD);
    let section = |scope: keys::Scope| {
        let mut lines = vec![Line::styled(scope.title(), title)];
        let rows = keys::help_sections()
            .into_iter()
            .find(|(s, _)| *s == scope)
            .map(|(_, rows)| rows)
            .unwrap_or_default();
        for (keys, help) in rows {
            lines.push(Line::from(vec![
                Span::styled(
                    format!("  {keys:<9}"),
                    Style::new().add_modifier(Modifier::BOLD),
                ),
                Span::raw(help),
            ]));
        }
        lines
    };
    // Two columns, so the help fits an 80x24 terminal: the keys that work everywhere and this
    // view's own, then the palette.
    let mut left = section(keys::Scope::Global);
    left.push(Line::raw(""));
    left.extend(section(app.view.scope()));
    let mut right = vec![Line::styled("Palette (:, tab completes)", title)];
    right.extend(
        COMMANDS
            .iter()
            .map(|(_, usage)| Line::raw(format!("  {usage}"))),
    );
    let height = (left.len().max(right.len()) as u16 + 2).min(body.height);
    let width = 78.min(body.width);
    let area = Rect {
        x: body.x + (body.width - width) / 2,
        y: body.y + (body.height - height) / 2,
        width,
        height,
    };
    frame.render_widget(Clear, area);
    let block = Block::bordered().title(" Keys (? or esc closes) ");
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let [left_area, right_area] =
        Layout::horizontal([Constraint::Ratio(1, 2), Constraint::Ratio(1, 2)]).areas(inner);
    frame.render_widget(Paragraph::new(left), left_area);
    frame.render_widget(Paragraph::new(right), right_area);
}

/// `1234567` as `1 234 567` (the thin grouping Danish figures use, with a plain space).
#[must_use]
pub fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(' ');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::thousands;

    #[test]
    fn figures_are_grouped_by_thousands() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1000), "1 000");
        assert_eq!(thousands(5_900_000), "5 900 000");
    }
}
