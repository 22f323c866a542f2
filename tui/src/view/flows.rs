//! The Flows (trainer) view: the journeys to choose from, or a recorded journey — the citizen's
//! device as it looked, the sequence of messages between the parties, the selected message's
//! HTTP exchange, the decoded token and a sentence of narration.

use std::fmt::Write as _;

use serde_json::Value;
use tuirealm::ratatui::Frame;
use tuirealm::ratatui::layout::{Constraint, Layout, Rect};
use tuirealm::ratatui::style::{Color, Modifier, Style};
use tuirealm::ratatui::text::{Line, Span};
use tuirealm::ratatui::widgets::{Block, List, ListItem, ListState, Paragraph, Wrap};

use mitid_conformance::evidence::Exchange;

use super::{ACCENT, shown};
use crate::app::{App, TICKS_PER_SECOND};
use crate::flows::{Binding, Device, FlowStatus, Lifeline, Message, Trace};

pub(super) fn draw(frame: &mut Frame, area: Rect, app: &App) {
    match &app.flows.trace {
        Some(trace) => draw_trace(frame, area, app, trace),
        None => draw_journeys(frame, area, app),
    }
}

fn draw_journeys(frame: &mut Frame, area: Rect, app: &App) {
    let flows = &app.flows;
    let [status, body] = Layout::vertical([Constraint::Length(1), Constraint::Min(0)]).areas(area);
    let lang = app.lang;
    let line = match &flows.status {
        FlowStatus::Idle => Line::raw(lang.pick(
            " Choose a journey (↑↓) and press enter: it runs against the embedded components and is recorded.",
            " Vælg en rejse (↑↓) og tryk enter: den køres mod de indlejrede komponenter og optages.",
        )),
        FlowStatus::Recording { name, ticks } => Line::styled(
            format!(
                " {} {name}… {} s",
                lang.pick("recording", "optager"),
                ticks / TICKS_PER_SECOND
            ),
            Style::new().fg(Color::Yellow),
        ),
        FlowStatus::Error(err) => Line::styled(
            format!(" {} {err}", lang.pick("could not record:", "kunne ikke optage:")),
            Style::new().fg(Color::Red),
        ),
    };
    frame.render_widget(Paragraph::new(line), status);
    let [list_area, steps_area] =
        Layout::horizontal([Constraint::Percentage(50), Constraint::Percentage(50)]).areas(body);
    let rows = flows.rows(&app.flow_filter);
    let items: Vec<ListItem> = rows
        .iter()
        .map(|&i| {
            let journey = &flows.journeys[i];
            let file = journey
                .path
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default();
            ListItem::new(Line::from(vec![
                Span::styled(format!("{file:<10} "), Style::new().fg(Color::DarkGray)),
                Span::raw(journey.name.clone()),
            ]))
        })
        .collect();
    let title = if app.flow_filter.is_empty() {
        format!(" {} ({}) ", lang.pick("Journeys", "Rejser"), rows.len())
    } else {
        format!(
            " {} /{} ({}) ",
            lang.pick("Journeys", "Rejser"),
            app.flow_filter,
            rows.len()
        )
    };
    let list = List::new(items)
        .block(Block::bordered().title(title))
        .highlight_style(Style::new().bg(ACCENT).fg(Color::Black));
    let mut state = ListState::default().with_selected(
        (!rows.is_empty()).then_some(flows.selected.min(rows.len().saturating_sub(1))),
    );
    frame.render_stateful_widget(list, list_area, &mut state);
    let mut lines = Vec::new();
    if let Some(journey) = rows.get(flows.selected).map(|&i| &flows.journeys[i]) {
        lines.push(Line::styled(
            journey.feature.clone(),
            Style::new().fg(Color::DarkGray),
        ));
        lines.push(Line::styled(
            journey.name.clone(),
            Style::new().add_modifier(Modifier::BOLD),
        ));
        lines.push(Line::raw(""));
        lines.extend(journey.steps.iter().map(|s| Line::raw(s.clone())));
    } else {
        lines.push(Line::raw(
            lang.pick("No journey matches.", "Ingen rejse passer."),
        ));
    }
    frame.render_widget(
        Paragraph::new(lines)
            .wrap(Wrap { trim: true })
            .block(Block::bordered().title(lang.pick(" Steps ", " Trin "))),
        steps_area,
    );
}

fn draw_trace(frame: &mut Frame, area: Rect, app: &App, trace: &Trace) {
    let lang = app.lang;
    let cursor = app.flows.cursor;
    let narration_height = if app.presenter { 4 } else { 2 };
    let [title, narration, top, bottom] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Length(narration_height),
        Constraint::Percentage(if app.presenter { 65 } else { 50 }),
        Constraint::Min(0),
    ])
    .areas(area);
    let outcome_style = if trace.passed {
        Style::new().fg(Color::Green)
    } else {
        Style::new().fg(Color::Red)
    };
    let outcome = if trace.passed {
        lang.pick("passed", "bestået").to_owned()
    } else {
        shown(app, &trace.outcome)
    };
    frame.render_widget(
        Paragraph::new(Line::from(vec![
            Span::styled(
                format!(" {} ", trace.journey.name),
                Style::new().add_modifier(Modifier::BOLD),
            ),
            Span::raw(format!(
                "· {} {}/{} · ",
                lang.pick("message", "besked"),
                cursor + 1,
                trace.messages.len()
            )),
            Span::styled(outcome, outcome_style),
        ])),
        title,
    );
    let said = trace
        .messages
        .get(cursor)
        .map(|m| crate::flows::narrate(m, lang))
        .unwrap_or_default();
    let narration_style = if app.presenter {
        Style::new().fg(Color::Yellow).add_modifier(Modifier::BOLD)
    } else {
        Style::new().fg(Color::Yellow)
    };
    frame.render_widget(
        Paragraph::new(Line::styled(format!(" {said}"), narration_style))
            .wrap(Wrap { trim: false }),
        narration,
    );
    let device_width = if app.presenter { 44 } else { 26 };
    let [device_area, diagram_area] =
        Layout::horizontal([Constraint::Length(device_width), Constraint::Min(0)]).areas(top);
    draw_device(frame, device_area, app, &trace.device_at(cursor));
    draw_diagram(frame, diagram_area, app, trace);
    let [exchange_area, token_area] =
        Layout::horizontal([Constraint::Percentage(55), Constraint::Percentage(45)]).areas(bottom);
    if let Some(message) = trace.messages.get(cursor) {
        draw_exchange(frame, exchange_area, app, message);
    }
    draw_token(frame, token_area, app, trace);
}

#[allow(
    clippy::too_many_lines,
    reason = "one drawing per authenticator, side by side so they can be compared"
)]
fn draw_device(frame: &mut Frame, area: Rect, app: &App, device: &Device) {
    let lang = app.lang;
    let large = app.presenter;
    let bold = Style::new().add_modifier(Modifier::BOLD);
    let (title, lines): (&str, Vec<Line>) = match device {
        Device::Idle => (
            lang.pick(" Device ", " Enhed "),
            vec![Line::raw(
                lang.pick("No device in use yet.", "Ingen enhed i brug endnu."),
            )],
        ),
        Device::App(binding) => {
            // The swipe first: on a small terminal the binding below it is what gets cut.
            let swipe = if large {
                "  ( ●━━━━━━━━━━━━━━━━━▶ )"
            } else {
                " ( ●━━━━━━━━━▶ )"
            };
            let mut lines = vec![
                Line::styled("MitID", bold.fg(ACCENT)),
                Line::raw(lang.pick("Approve the login?", "Godkend login?")),
                Line::styled(swipe, Style::new().fg(Color::Green)),
                Line::raw(lang.pick("  swipe to approve", "  swipe for at godkende")),
            ];
            match binding {
                Some(Binding::Code(code)) => {
                    let code = if app.presenter {
                        "••••"
                    } else {
                        code.as_str()
                    };
                    lines.push(Line::raw(
                        lang.pick("Same code as on the screen:", "Samme kode som på skærmen:"),
                    ));
                    let spaced: String = code.chars().flat_map(|c| [c, ' ']).collect();
                    lines.push(Line::styled(format!("  {spaced}"), bold));
                }
                Some(Binding::Qr(payload)) => {
                    lines.push(Line::raw(lang.pick(
                        "Scan the QR code on the screen:",
                        "Scan QR-koden på skærmen:",
                    )));
                    lines.extend(qr_picture(payload, if large { 9 } else { 5 }));
                }
                None => {}
            }
            (lang.pick(" MitID app ", " MitID-app "), lines)
        }
        Device::CodeDevice { audio: false } => (
            lang.pick(" Code display ", " Kodeviser "),
            vec![
                Line::raw("┌────────────────┐"),
                Line::styled("│  ▯▯▯  ▯▯▯      │", bold),
                Line::raw("└───────( ● )────┘"),
                Line::raw(""),
                Line::raw(lang.pick(
                    "Press the button: a new 6-digit code (one use; the evidence withholds it).",
                    "Tryk på knappen: en ny 6-cifret kode (engangs; beviset skjuler den).",
                )),
            ],
        ),
        Device::CodeDevice { audio: true } => (
            lang.pick(" Audio code reader ", " Kodeoplæser "),
            vec![
                Line::raw("┌──────────────┐"),
                Line::styled("│ ((•)) ▶ ( ● )│", bold),
                Line::raw("└──────────────┘"),
                Line::raw(""),
                Line::styled(
                    lang.pick(
                        "«Your code is: · · ·  · · ·»",
                        "«Din kode er: · · ·  · · ·»",
                    ),
                    Style::new().add_modifier(Modifier::ITALIC),
                ),
                Line::raw(lang.pick(
                    "Press the tactile button; the code is read aloud.",
                    "Tryk på den følbare knap; koden læses højt.",
                )),
            ],
        ),
        Device::Chip => (
            lang.pick(" MitID chip ", " MitID-chip "),
            vec![
                Line::raw("  ╭────────────╮"),
                Line::styled("  │   ( ◉ )    │", bold.fg(Color::Green)),
                Line::raw("  ╰────────────╯"),
                Line::raw(""),
                Line::styled(
                    lang.pick(
                        "Press the button on your chip",
                        "Tryk på knappen på din chip",
                    ),
                    bold,
                ),
                Line::raw(lang.pick(
                    "(USB, Bluetooth or NFC; the password first)",
                    "(USB, Bluetooth eller NFC; adgangskoden først)",
                )),
            ],
        ),
        Device::KeyCard { key_number } => {
            let asked = if app.presenter {
                "••••".to_owned()
            } else {
                key_number.clone()
            };
            let mut lines = vec![
                Line::raw(lang.pick("NemID key card", "NemID-nøglekort")),
                Line::from(vec![
                    Span::raw(lang.pick("The page asks key ", "Siden beder om nøgle ")),
                    Span::styled(asked.clone(), bold.fg(Color::Black).bg(Color::Yellow)),
                ]),
                Line::raw(""),
            ];
            // The card's grid around the key asked (the neighbours are made up: the card
            // itself is the citizen's and never leaves the lab's device).
            let number: u32 = key_number.parse().unwrap_or(0);
            let rows: u32 = if large { 5 } else { 3 };
            let edge = Style::new().fg(Color::DarkGray);
            lines.push(Line::styled("┌ key   code ───┐", edge));
            for offset in 0..rows {
                let key = number.saturating_sub(1) + offset;
                let style = if key == number {
                    bold.fg(Color::Black).bg(Color::Yellow)
                } else {
                    Style::new().fg(Color::DarkGray)
                };
                let label = if key == number {
                    asked.clone()
                } else if app.presenter {
                    "••••".to_owned()
                } else {
                    format!("{key:04}")
                };
                lines.push(Line::styled(format!("│ {label:>4}  ••••••  │"), style));
            }
            lines.push(Line::styled("└───────────────┘", edge));
            (lang.pick(" NemID key card ", " NemID-nøglekort "), lines)
        }
    };
    frame.render_widget(
        Paragraph::new(lines)
            .wrap(Wrap { trim: false })
            .block(Block::bordered().title(title)),
        area,
    );
}

/// A picture in QR code style from `payload` (`size` x `size` modules, finder corners and a
/// pattern from the payload's bytes). It stands for the code on the broker's page; the app in
/// the lab reads the payload itself.
fn qr_picture(payload: &str, size: usize) -> Vec<Line<'static>> {
    let seed = payload.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    });
    // A splitmix step per module, so neighbouring modules do not repeat each other.
    let bits: Vec<bool> = (0..size * size)
        .map(|i| {
            let mut z = seed.wrapping_add((i as u64 + 1).wrapping_mul(0x9e37_79b9_7f4a_7c15));
            z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
            (z ^ (z >> 31)) & 1 == 1
        })
        .collect();
    let finder = |r: usize, c: usize| {
        let corner = |a: usize, b: usize| a < 3 && b < 3 && !(a == 1 && b == 1);
        corner(r, c) || corner(r, size - 1 - c) || corner(size - 1 - r, c)
    };
    (0..size)
        .map(|r| {
            let row: String = (0..size)
                .map(|c| {
                    if finder(r, c) || bits[r * size + c] {
                        "██"
                    } else {
                        "  "
                    }
                })
                .collect();
            Line::raw(format!("  {row}"))
        })
        .collect()
}

fn draw_diagram(frame: &mut Frame, area: Rect, app: &App, trace: &Trace) {
    let lang = app.lang;
    let block = Block::bordered().title(lang.pick(" Messages (←→ step) ", " Beskeder (←→ trin) "));
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let width = usize::from(inner.width);
    let columns = Lifeline::ALL.len();
    if width < columns * 4 || inner.height < 2 {
        return;
    }
    let column = width / columns;
    let centre = |line: Lifeline| {
        let index = Lifeline::ALL.iter().position(|l| *l == line).unwrap_or(0);
        index * column + column / 2
    };
    let mut lines = Vec::new();
    let heading: String = Lifeline::ALL.iter().fold(String::new(), |mut heading, l| {
        let name: String = l
            .short(lang)
            .chars()
            .take(column.saturating_sub(1))
            .collect();
        let _ = write!(heading, "{name:^column$}");
        heading
    });
    lines.push(Line::styled(
        heading,
        Style::new().add_modifier(Modifier::BOLD),
    ));
    let rows = usize::from(inner.height) - 1;
    let cursor = app.flows.cursor;
    // Keep the selected message in view, a third of the way down once there is history.
    let first = cursor
        .saturating_sub(rows / 3)
        .min(trace.messages.len().saturating_sub(rows));
    for (index, message) in trace.messages.iter().enumerate().skip(first).take(rows) {
        let text = arrow(message, width, &centre, &shown(app, &label(message)));
        let style = if index == cursor {
            Style::new().fg(Color::Black).bg(ACCENT)
        } else if message.setup {
            Style::new().fg(Color::DarkGray)
        } else if message.exchange.status.is_none_or(|s| s >= 400) {
            Style::new().fg(Color::Red)
        } else {
            Style::new()
        };
        lines.push(Line::styled(text, style));
    }
    frame.render_widget(Paragraph::new(lines), inner);
}

/// `GET /path 302`: what an arrow is labelled with.
fn label(message: &Message) -> String {
    let url = &message.exchange.url;
    let path = url
        .split("://")
        .nth(1)
        .and_then(|rest| rest.split_once('/'))
        .map_or("/", |(_, path)| path)
        .split('?')
        .next()
        .unwrap_or_default();
    // Long random segments (login ids, UUIDs) cut short: the diagram is about who spoke.
    let path = path
        .split('/')
        .map(|segment| {
            if segment.chars().count() > 12 {
                format!("{}…", segment.chars().take(4).collect::<String>())
            } else {
                segment.to_owned()
            }
        })
        .collect::<Vec<_>>()
        .join("/");
    let status = message
        .exchange
        .status
        .map_or_else(|| "—".to_owned(), |s| s.to_string());
    format!("{} /{path} {status}", message.exchange.method)
}

/// One row of the diagram: the lifelines, and an arrow from `from` to `to` with the label inside
/// it (cut to fit), or a loop mark when a party calls itself.
fn arrow(
    message: &Message,
    width: usize,
    centre: &dyn Fn(Lifeline) -> usize,
    label: &str,
) -> String {
    let mut row: Vec<char> = vec![' '; width];
    for line in Lifeline::ALL {
        if let Some(cell) = row.get_mut(centre(line)) {
            *cell = '│';
        }
    }
    let (a, b) = (centre(message.from), centre(message.to));
    let (left, right) = (a.min(b), a.max(b));
    if left == right {
        let text = format!("↺ {label}");
        for (i, c) in text.chars().enumerate() {
            if let Some(cell) = row.get_mut(left + 1 + i) {
                *cell = c;
            }
        }
        return row.into_iter().collect();
    }
    for cell in row.iter_mut().take(right).skip(left + 1) {
        *cell = '─';
    }
    if a < b {
        row[right - 1] = '▶';
    } else {
        row[left + 1] = '◀';
    }
    // The label inside the arrow when it fits, else right of the farther end when there is
    // room there, else inside, cut.
    let inside = right.saturating_sub(left + 3);
    let outside = width.saturating_sub(right + 2);
    let length = label.chars().count();
    let (start, room) = if length <= inside || outside < inside.max(8) {
        (left + 2 + inside.saturating_sub(length) / 2, inside)
    } else {
        (right + 2, outside)
    };
    let text: String = label.chars().take(room).collect();
    for (i, c) in text.chars().enumerate() {
        if let Some(cell) = row.get_mut(start + i) {
            *cell = c;
        }
    }
    row.into_iter().collect()
}

fn draw_exchange(frame: &mut Frame, area: Rect, app: &App, message: &Message) {
    frame.render_widget(
        Paragraph::new(exchange_lines(app, &message.exchange))
            .wrap(Wrap { trim: false })
            .block(Block::bordered().title(app.lang.pick(" HTTP exchange ", " HTTP-udveksling "))),
        area,
    );
}

/// An HTTP exchange in full for a reader: the request, its headers and body, the answer, the
/// headers worth explaining and the body as text (redacted in presenter mode).
pub(super) fn exchange_lines(app: &App, exchange: &Exchange) -> Vec<Line<'static>> {
    let lang = app.lang;
    let dim = Style::new().fg(Color::DarkGray);
    let mut lines = vec![Line::styled(
        shown(app, &format!("{} {}", exchange.method, exchange.url)),
        Style::new().add_modifier(Modifier::BOLD),
    )];
    for (name, value) in &exchange.request_headers {
        lines.push(Line::styled(shown(app, &format!("{name}: {value}")), dim));
    }
    if let Some(body) = &exchange.request_body {
        lines.push(Line::raw(shown(app, body)));
    }
    let answer = match (exchange.status, &exchange.error) {
        (Some(status), _) => format!("← {status}"),
        (None, Some(error)) => format!("← {} {error}", lang.pick("no answer:", "intet svar:")),
        (None, None) => format!("← {}", lang.pick("no answer", "intet svar")),
    };
    lines.push(Line::styled(
        answer,
        Style::new().fg(ACCENT).add_modifier(Modifier::BOLD),
    ));
    for (name, value) in &exchange.response_headers {
        // The headers a trainer explains; the rest (dates, lengths) are noise here.
        if matches!(
            name.as_str(),
            "location" | "set-cookie" | "content-type" | "cache-control"
        ) {
            lines.push(Line::styled(shown(app, &format!("{name}: {value}")), dim));
        }
    }
    if let Some(body) = &exchange.response_body {
        // Redacted before the tags go: presenter mode finds codes by the page's field ids.
        lines.push(Line::raw(readable(&shown(app, body))));
    }
    lines
}

/// A response body for a reader: HTML as its text (tags dropped, whitespace folded), JSON and
/// the rest as they are.
fn readable(body: &str) -> String {
    if !body.trim_start().starts_with('<') {
        return body.to_owned();
    }
    let mut out = String::new();
    let mut in_tag = false;
    for c in body.chars() {
        match c {
            '<' => in_tag = true,
            '>' => {
                in_tag = false;
                out.push(' ');
            }
            _ if !in_tag => out.push(c),
            _ => {}
        }
    }
    out.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn draw_token(frame: &mut Frame, area: Rect, app: &App, trace: &Trace) {
    let lang = app.lang;
    let title = lang.pick(" Token ", " Token ");
    let Some(token) = trace.token_at(app.flows.cursor) else {
        frame.render_widget(
            Paragraph::new(lang.pick(
                "No token yet: the service provider gets one after the broker's answer.",
                "Intet token endnu: tjenesten får et efter brokerens svar.",
            ))
            .wrap(Wrap { trim: true })
            .block(Block::bordered().title(title)),
            area,
        );
        return;
    };
    let dim = Style::new().fg(Color::DarkGray);
    let mut lines = vec![Line::styled(token.source, dim)];
    if let Some(header) = &token.header {
        let mut text = String::from("header ");
        let _ = write!(text, "{header}");
        lines.push(Line::raw(text));
    }
    if let Value::Object(claims) = &token.claims {
        for (name, value) in claims {
            let value_text = match value {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            let value_text = if app.presenter && matches!(name.as_str(), "dk.cpr" | "cpr") {
                "[CPR]".to_owned()
            } else {
                shown(app, &value_text)
            };
            lines.push(Line::from(vec![
                Span::styled(
                    format!("{name}: "),
                    Style::new().add_modifier(Modifier::BOLD),
                ),
                Span::raw(value_text),
            ]));
            if let Some(explained) = crate::flows::explain_claim(name, value, lang) {
                lines.push(Line::styled(format!("  ↳ {explained}"), dim));
            }
        }
    }
    frame.render_widget(
        Paragraph::new(lines)
            .wrap(Wrap { trim: false })
            .block(Block::bordered().title(title)),
        area,
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_arrow_runs_between_its_lifelines_and_points_the_right_way() {
        let exchange = mitid_conformance::evidence::Exchange {
            actor: mitid_conformance::evidence::Actor::Browser,
            method: "GET".to_owned(),
            url: "http://127.0.0.1:1/login".to_owned(),
            request_headers: Vec::new(),
            request_body: None,
            status: Some(302),
            response_headers: Vec::new(),
            response_body: None,
            error: None,
            seq: 1,
        };
        let message = Message {
            from: Lifeline::Browser,
            to: Lifeline::ServiceProvider,
            setup: false,
            exchange,
        };
        let centre = |l: Lifeline| Lifeline::ALL.iter().position(|x| *x == l).unwrap_or(0) * 10 + 5;
        let row = arrow(&message, 80, &centre, "GET /login 302");
        assert_eq!(row.chars().nth(5), Some('│'));
        assert_eq!(row.chars().nth(24), Some('▶'));
        assert!(row.contains("GET /login 302"), "{row}");
        let back = Message {
            from: Lifeline::ServiceProvider,
            to: Lifeline::Browser,
            ..message
        };
        assert_eq!(arrow(&back, 80, &centre, "x").chars().nth(6), Some('◀'));
    }

    #[test]
    fn html_bodies_read_as_their_text() {
        assert_eq!(readable("<p>Key <b>0042</b></p>"), "Key 0042");
        assert_eq!(readable("{\"a\":1}"), "{\"a\":1}");
    }
}
