//! The Flows (trainer) view: journeys recorded by the conformance crate, stepped through by key,
//! drawn at 80x24 and 160x48 (insta snapshots), in English and Danish, and in presenter mode.
//!
//! The snapshots draw recordings stored under `tests/fixtures/flows/` (a real run's scenario
//! result, its parties' ports made fixed), so the screens do not change with the ports a run
//! gets. `journeys_recorded_live_show_each_authenticator` records the same journeys for real;
//! with `MITID_TUI_WRITE_FIXTURES=1` it also writes them as the fixtures.

use mitid_conformance::journey::{self, Journey, Party, Recording};
use mitid_conformance::outcome::ScenarioResult;
use mitid_tui::app::{App, Effect, Msg, View};
use mitid_tui::flows::{Binding, Device, Lang, Lifeline};
use mitid_tui::keys::Key;
use mitid_tui::render_to_string;

mod support;

use support::root;

/// The journeys the fixtures hold, by file stem and scenario name.
const FIXTURES: &[(&str, &str, &str)] = &[
    ("app", "login", "Logging in with the MitID app (a swipe)"),
    ("code-display", "login", "Logging in with the code display"),
    ("audio", "login", "Logging in with the audio code reader"),
    (
        "chip",
        "login",
        "Logging in with the MitID chip at LoA High",
    ),
    (
        "key-card",
        "nemid",
        "From 2023-06-05 NemID can no longer be used to get MitID",
    ),
];

/// Where the fixtures' parties listen (the ports of the run they were recorded in, made fixed).
const PARTIES: &[(Party, &str)] = &[
    (Party::ServiceProvider, "http://127.0.0.1:7001/"),
    (Party::Broker, "http://127.0.0.1:7002/"),
    (Party::BrokerAdmin, "http://127.0.0.1:7003/"),
    (Party::Cpr, "http://127.0.0.1:7004/"),
    (Party::CitizenService, "http://127.0.0.1:7005/"),
    (Party::Support, "http://127.0.0.1:7006/"),
    (Party::Sms, "http://127.0.0.1:7007/"),
];

fn journeys() -> Vec<Journey> {
    journey::journeys(&root().join("features/flows")).expect("the flows parse")
}

fn journey_named(name: &str) -> Journey {
    journeys()
        .into_iter()
        .find(|j| j.name == name)
        .unwrap_or_else(|| panic!("no journey {name:?} in features/flows"))
}

fn fixture(stem: &str) -> Recording {
    let (_, _, name) = FIXTURES
        .iter()
        .find(|(s, _, _)| *s == stem)
        .expect("a known fixture");
    let path = root().join(format!("tui/tests/fixtures/flows/{stem}.json"));
    let text =
        std::fs::read_to_string(&path).unwrap_or_else(|err| panic!("{}: {err}", path.display()));
    let result: ScenarioResult = serde_json::from_str(&text).expect("a scenario result");
    Recording {
        journey: journey_named(name),
        result,
        parties: PARTIES
            .iter()
            .map(|(party, url)| (*party, url.parse().expect("a URL")))
            .collect(),
    }
}

/// A dashboard on the small demo run (the Flows view does not read it), with the journeys.
fn app() -> App {
    let mut app = App::new(Box::new(support::demo_run()), Vec::new());
    app.flows = mitid_tui::flows::Flows::new(journeys());
    app
}

fn press(app: &mut App, keys: &str) {
    for token in keys.split_whitespace() {
        let key = Key::parse(token).unwrap_or_else(|| panic!("{token} is not a key"));
        app.update(Msg::Key(key));
    }
}

/// An app on the Flows view showing `stem`'s recording, on the first message whose device
/// screen is `wanted`.
fn showing(stem: &str, wanted: impl Fn(&Device) -> bool) -> App {
    let mut app = app();
    press(&mut app, "3");
    app.update(Msg::Recorded(Ok(Box::new(fixture(stem)))));
    let trace = app.flows.trace.as_ref().expect("shown");
    let at = (0..trace.messages.len())
        .find(|&i| wanted(&trace.device_at(i)))
        .unwrap_or_else(|| panic!("{stem}: no message shows the device"));
    for _ in 0..at {
        press(&mut app, "right");
    }
    app
}

#[test]
fn the_journeys_are_listed_and_enter_asks_for_a_recording_of_the_selected_one() {
    let mut app = app();
    press(&mut app, "3");
    assert_eq!(app.view, View::Flows);
    insta::assert_snapshot!("flows_list_80x24", render_to_string(&app, 80, 24));
    insta::assert_snapshot!("flows_list_160x48", render_to_string(&app, 160, 48));
    // Filter to the code display's login, then record it.
    press(&mut app, "/");
    for c in "code display".chars() {
        app.update(Msg::Key(Key::Char(c)));
    }
    press(&mut app, "enter");
    let update = app.update(Msg::Key(Key::Enter));
    let [Effect::Record { journey }] = update.effects.as_slice() else {
        panic!("enter records: {:?}", update.effects);
    };
    assert_eq!(journey.name, "Logging in with the code display");
    assert!(render_to_string(&app, 80, 24).contains("recording Logging in with the code display"));
    // A second enter while it records does not start another.
    assert!(app.update(Msg::Key(Key::Enter)).effects.is_empty());
}

#[test]
fn a_recording_is_stepped_forward_and_back_and_esc_returns_to_the_list() {
    let mut app = app();
    press(&mut app, "3");
    app.update(Msg::Recorded(Ok(Box::new(fixture("app")))));
    let total = app.flows.trace.as_ref().expect("shown").messages.len();
    assert!(total > 5, "{total} messages");
    assert_eq!(app.flows.cursor, 0);
    press(&mut app, "right right l");
    assert_eq!(app.flows.cursor, 3);
    press(&mut app, "left h");
    assert_eq!(app.flows.cursor, 1);
    press(&mut app, "left left");
    assert_eq!(app.flows.cursor, 0, "stops at the first message");
    for _ in 0..total + 3 {
        press(&mut app, "right");
    }
    assert_eq!(app.flows.cursor, total - 1, "stops at the last message");
    press(&mut app, "esc");
    assert!(app.flows.trace.is_none());
    assert!(render_to_string(&app, 80, 24).contains("Journeys"));
}

#[test]
fn the_app_login_reads_as_a_sequence_between_browser_service_broker_and_phone() {
    let recording = fixture("app");
    let trace = mitid_tui::flows::Trace::new(&recording);
    let ends: Vec<(Lifeline, Lifeline)> = trace.messages.iter().map(|m| (m.from, m.to)).collect();
    let first_login = ends
        .iter()
        .position(|e| *e == (Lifeline::Browser, Lifeline::ServiceProvider))
        .expect("the browser starts at the service provider");
    let to_broker = ends
        .iter()
        .position(|e| *e == (Lifeline::Browser, Lifeline::Broker))
        .expect("then goes to the broker");
    let phone = (0..ends.len())
        .find(|&i| {
            ends[i] == (Lifeline::Citizen, Lifeline::Broker)
                && !trace.messages[i].setup
                && i > to_broker
        })
        .expect("the phone approves at the broker");
    assert!(first_login < to_broker && to_broker < phone, "{ends:?}");
    assert!(
        matches!(
            trace.device_at(phone),
            Device::App(Some(Binding::Code(_) | Binding::Qr(_)))
        ),
        "{:?}",
        trace.device_at(phone)
    );
    let last = trace.messages.len() - 1;
    let token = trace
        .token_at(last)
        .expect("the login ends with the service provider's account");
    assert!(
        token.claims.to_string().contains("Substantial"),
        "{:?}",
        token.claims
    );
}

#[test]
fn app_login_at_80x24_and_160x48() {
    let app = showing("app", |d| matches!(d, Device::App(Some(_))));
    insta::assert_snapshot!("flows_app_80x24", render_to_string(&app, 80, 24));
    insta::assert_snapshot!("flows_app_160x48", render_to_string(&app, 160, 48));
}

#[test]
fn each_authenticator_is_drawn_on_its_device() {
    type Wanted = fn(&Device) -> bool;
    let devices: [(&str, &str, Wanted); 4] = [
        ("code-display", "code_display", |d| {
            matches!(d, Device::CodeDevice { audio: false })
        }),
        ("audio", "audio_reader", |d| {
            matches!(d, Device::CodeDevice { audio: true })
        }),
        ("chip", "chip", |d| matches!(d, Device::Chip)),
        ("key-card", "key_card", |d| {
            matches!(d, Device::KeyCard { .. })
        }),
    ];
    for (stem, name, wanted) in devices {
        let app = showing(stem, wanted);
        insta::assert_snapshot!(
            format!("flows_{name}_80x24"),
            render_to_string(&app, 80, 24)
        );
        insta::assert_snapshot!(
            format!("flows_{name}_160x48"),
            render_to_string(&app, 160, 48)
        );
    }
}

#[test]
fn the_end_of_a_login_explains_the_claims_in_english_and_danish() {
    let mut app = showing("app", |d| matches!(d, Device::App(Some(_))));
    for _ in 0..100 {
        press(&mut app, "right");
    }
    let english = render_to_string(&app, 160, 48);
    assert!(english.contains("level of assurance"), "{english}");
    insta::assert_snapshot!("flows_app_end_160x48", english);
    press(&mut app, "d");
    assert_eq!(app.lang, Lang::Da);
    let danish = render_to_string(&app, 160, 48);
    assert!(danish.contains("sikringsniveau"), "{danish}");
    assert!(danish.contains("Tjeneste"), "{danish}");
    insta::assert_snapshot!("flows_app_end_da_160x48", danish);
    // The palette sets it too.
    press(&mut app, ":");
    for c in "lang en".chars() {
        app.update(Msg::Key(Key::Char(c)));
    }
    press(&mut app, "enter");
    assert_eq!(app.lang, Lang::En);
}

#[test]
fn presenter_mode_hides_cpr_numbers_codes_and_shows_the_keys_pressed() {
    let mut app = showing("app", |d| matches!(d, Device::App(Some(_))));
    let trace = app.flows.trace.clone().expect("shown");
    let Device::App(Some(binding)) = trace.device_at(app.flows.cursor) else {
        panic!("the fixture's app login shows its binding");
    };
    // The 4-digit code on the phone, or the QR code's payload in the broker's page.
    let code = match binding {
        Binding::Code(code) => code,
        Binding::Qr(payload) => payload,
    };
    let plain = render_to_string(&app, 160, 48);
    assert!(
        plain.contains(&code)
            || plain.contains(&code.chars().flat_map(|c| [c, ' ']).collect::<String>()),
        "{plain}"
    );
    press(&mut app, "p");
    assert!(app.presenter);
    let presented = render_to_string(&app, 160, 48);
    assert!(!presented.contains(&code), "{presented}");
    assert!(
        presented.contains("⌨ p"),
        "the key pressed shows: {presented}"
    );
    insta::assert_snapshot!("flows_app_presenter_160x48", presented);
    // At the end the service provider's /me names the CPR number: hidden too.
    for _ in 0..100 {
        press(&mut app, "right");
    }
    let end = render_to_string(&app, 160, 48);
    let cpr = app
        .flows
        .trace
        .as_ref()
        .and_then(|t| t.token_at(t.messages.len() - 1))
        .and_then(|t| t.claims.get("cpr").or(t.claims.get("dk.cpr")).cloned());
    if let Some(cpr) = cpr.as_ref().and_then(|c| c.as_str()) {
        assert!(!end.contains(cpr), "{end}");
    }
    assert!(end.contains("[CPR]") || cpr.is_none(), "{end}");
}

/// Records the fixtures' journeys for real, on fresh embedded stacks: each ends as its feature
/// says, and each shows its authenticator on the device.
#[test]
fn journeys_recorded_live_show_each_authenticator() {
    let write = std::env::var_os("MITID_TUI_WRITE_FIXTURES").is_some();
    for (stem, _, name) in FIXTURES {
        let recording =
            journey::record(&journey_named(name)).unwrap_or_else(|err| panic!("{name}: {err}"));
        let trace = mitid_tui::flows::Trace::new(&recording);
        assert!(trace.passed, "{name}: {}", trace.outcome);
        let devices: Vec<Device> = (0..trace.messages.len())
            .map(|i| trace.device_at(i))
            .collect();
        let shown = match *stem {
            "app" => devices.iter().any(|d| matches!(d, Device::App(Some(_)))),
            "code-display" => devices.contains(&Device::CodeDevice { audio: false }),
            "audio" => devices.contains(&Device::CodeDevice { audio: true }),
            "chip" => devices.contains(&Device::Chip),
            _ => devices.iter().any(|d| matches!(d, Device::KeyCard { .. })),
        };
        assert!(
            shown,
            "{name}: the device never shows: {devices:?} in {:#?}",
            trace
                .messages
                .iter()
                .map(|m| (m.exchange.line(), m.exchange.response_body.clone()))
                .collect::<Vec<_>>()
        );
        if write {
            write_fixture(stem, &recording);
        }
    }
}

/// Writes `recording`'s result with each party's port replaced by the fixed one of [`PARTIES`].
fn write_fixture(stem: &str, recording: &Recording) {
    let mut text = serde_json::to_string_pretty(&recording.result).expect("serialises");
    for (party, url) in &recording.parties {
        let origin = url.as_str().trim_end_matches('/');
        let fixed = PARTIES
            .iter()
            .find(|(p, _)| p == party)
            .map(|(_, u)| u.trim_end_matches('/'))
            .expect("every party has a fixed port");
        text = text.replace(origin, fixed);
    }
    let dir = root().join("tui/tests/fixtures/flows");
    std::fs::create_dir_all(&dir).expect("fixtures folder");
    std::fs::write(dir.join(format!("{stem}.json")), text + "\n").expect("fixture written");
}
