//! Snapshots of every view at 80x24 (the smallest supported terminal) and 160x48, driven by
//! the same key sequences a user or a demo script would type.

use std::path::Path;

use mitid_tui::app::{App, Msg, View};
use mitid_tui::keys::Key;
use mitid_tui::script::{Event, Script};
use mitid_tui::{Options, render_to_string};

mod support;

use support::root;

fn fresh_app() -> App {
    App::new(Box::new(support::demo_run()), mitid_tui::flaw_names())
}

fn press(app: &mut App, keys: &str) {
    for token in keys.split_whitespace() {
        app.update(Msg::Key(Key::parse(token).expect("a key")));
    }
}

fn type_text(app: &mut App, text: &str) {
    for c in text.chars() {
        app.update(Msg::Key(Key::Char(c)));
    }
}

#[test]
fn simulation_opens_on_the_first_day() {
    let app = fresh_app();
    assert_eq!(app.view, View::Simulation);
    assert!(app.run.closed_days().is_empty());
    insta::assert_snapshot!("simulation_start_80x24", render_to_string(&app, 80, 24));
}

#[test]
fn simulation_after_three_milestones_sorted_by_wait() {
    let mut app = fresh_app();
    press(&mut app, "m m m");
    let closed = app.run.closed_days().last().expect("days closed").date;
    // Several milestones can fall on one day (three sectors cut NemID on 2022-11-01).
    let mut dates: Vec<_> = app.run.milestones().iter().map(|m| m.date).collect();
    dates.dedup();
    assert_eq!(
        closed, dates[2],
        "m runs exactly to the next milestone's day"
    );
    let screen = render_to_string(&app, 80, 24);
    assert!(
        screen.contains(&closed.succ_opt().expect("a next day").to_string()),
        "{screen}"
    );
    insta::assert_snapshot!("simulation_milestones_80x24", screen);
}

#[test]
fn simulation_large_after_the_shutdown() {
    let mut app = fresh_app();
    press(&mut app, ":");
    type_text(&mut app, "goto 2023-11-01");
    press(&mut app, "enter");
    insta::assert_snapshot!(
        "simulation_shutdown_160x48",
        render_to_string(&app, 160, 48)
    );
}

#[test]
fn playing_grows_the_charts_tick_by_tick() {
    let mut app = fresh_app();
    assert_eq!(app.days_per_second(), 7, "a week a second to begin with");
    press(&mut app, "+");
    assert_eq!(app.days_per_second(), 30);
    press(&mut app, "space");
    for _ in 0..10 {
        app.update(Msg::Tick);
    }
    // 30 days a second, ten ticks a second: one second of play is 30 days.
    assert_eq!(app.run.closed_days().len(), 30);
    press(&mut app, "space");
    app.update(Msg::Tick);
    assert_eq!(
        app.run.closed_days().len(),
        30,
        "paused: ticks close nothing"
    );
}

#[test]
fn the_municipality_filter_narrows_the_table() {
    let mut app = fresh_app();
    press(&mut app, "m / k ø b");
    let screen = render_to_string(&app, 80, 24);
    assert!(screen.contains("København"), "{screen}");
    assert!(!screen.contains("Aarhus"), "{screen}");
    press(&mut app, "enter esc");
    assert!(app.sim_filter.is_empty(), "esc clears the filter");
}

#[test]
fn help_overlay_lists_every_binding_of_the_view_at_80x24() {
    let mut app = fresh_app();
    // Each view's help: the keys that work everywhere and the view's own.
    for (view, name) in [("1", "simulation"), ("2", "conformance"), ("3", "flows")] {
        press(&mut app, view);
        press(&mut app, "?");
        let screen = render_to_string(&app, 80, 24);
        for binding in mitid_tui::keys::BINDINGS
            .iter()
            .filter(|b| b.scope == mitid_tui::keys::Scope::Global || b.scope == app.view.scope())
        {
            assert!(
                screen.contains(binding.help),
                "{name}: {} missing:\n{screen}",
                binding.help
            );
        }
        if name == "simulation" {
            insta::assert_snapshot!("help_80x24", screen);
        } else if name == "flows" {
            insta::assert_snapshot!("help_flows_80x24", screen);
        }
        press(&mut app, "esc");
    }
}

#[test]
fn palette_completes_commands_and_flaw_names() {
    let mut app = fresh_app();
    press(&mut app, ": c tab");
    type_text(&mut app, "skip-n");
    press(&mut app, "tab");
    insta::assert_snapshot!("palette_80x24", render_to_string(&app, 80, 24));
    let update = app.update(Msg::Key(Key::Enter));
    assert_eq!(
        update.effects,
        vec![mitid_tui::app::Effect::Certify {
            flaws: vec!["skip-nonce-check".to_owned()]
        }]
    );
    assert_eq!(app.view, View::Conformance);
}

#[test]
fn conformance_before_any_run() {
    let mut app = fresh_app();
    press(&mut app, "2");
    insta::assert_snapshot!("conformance_empty_80x24", render_to_string(&app, 80, 24));
}

fn with_report() -> App {
    let mut app = fresh_app();
    let dir = root().join("tui/tests/fixtures/certify-skip-nonce-check");
    let (report, _) = mitid_tui::load_report(&dir).expect("the fixture report loads");
    app.conformance.show(
        report,
        "tests/fixtures/certify-skip-nonce-check/report.json".to_owned(),
    );
    app.view = View::Conformance;
    app
}

#[test]
fn a_failed_requirement_opens_with_its_scenario_and_evidence() {
    let mut app = with_report();
    let screen = render_to_string(&app, 80, 24);
    assert!(screen.contains("FAILED"), "{screen}");
    insta::assert_snapshot!("conformance_report_80x24", screen);
    // The selection starts on the first failed requirement; one down is its scenario, whose
    // message and exchanges show beside the tree.
    let rows = app.conformance.rows("");
    let report = app.conformance.report.as_ref().expect("report");
    let mitid_tui::app::TreeRow::Requirement(first) = rows[app.conformance.selected] else {
        panic!("the selection starts on a requirement")
    };
    assert_eq!(report.requirements[first].verdict_text(), "FAILED");
    press(&mut app, "j");
    assert!(matches!(
        rows[app.conformance.selected],
        mitid_tui::app::TreeRow::Scenario(..)
    ));
    insta::assert_snapshot!(
        "conformance_evidence_160x48",
        render_to_string(&app, 160, 48)
    );
}

#[test]
fn the_requirement_filter_keeps_matching_rows() {
    let mut app = with_report();
    press(&mut app, "/");
    type_text(&mut app, "failed");
    let report = app.conformance.report.as_ref().expect("report");
    let rows = app.conformance.rows(&app.conf_filter);
    assert!(!rows.is_empty());
    for row in rows {
        if let mitid_tui::app::TreeRow::Requirement(index) = row {
            assert_eq!(report.requirements[index].verdict_text(), "FAILED");
        }
    }
}

#[test]
fn the_example_demo_script_replays_to_the_same_screen() {
    let file = root().join("examples/tui-demo.yaml");
    let text = std::fs::read_to_string(&file).expect("the example script");
    let script = Script::parse("examples/tui-demo.yaml", &text).expect("the example parses");
    let events: Vec<Event> = script.events().expect("valid steps");
    let screens: Vec<String> = (0..2)
        .map(|_| {
            let mut app = fresh_app();
            let effects = mitid_tui::replay(&mut app, &events);
            assert!(
                effects.iter().all(|e| *e == mitid_tui::app::Effect::Quit),
                "{effects:?}"
            );
            render_to_string(&app, 100, 30)
        })
        .collect();
    assert_eq!(
        screens[0], screens[1],
        "same script, same seed, same screen"
    );
    insta::assert_snapshot!("demo_script_100x30", &screens[0]);
}

#[test]
fn the_script_names_the_scenario_seed_and_population() {
    let options = Options {
        script: Some(root().join("examples/tui-demo.yaml")),
        scenario: Some(root().join("scenarios/demo-100k.yaml")),
        ..Options::default()
    };
    let mut said = Vec::new();
    let (app, events) = mitid_tui::prepare(&options, &mut |line| said.push(line.to_owned()))
        .expect("the example script prepares");
    assert_eq!(app.run.population(), 3000);
    assert_eq!(app.run.seed(), 100);
    assert!(!events.is_empty());
    assert_eq!(
        said,
        vec!["simulating demo-100k (3000 citizens, seed 100)…".to_owned()]
    );
}

#[test]
fn a_missing_report_folder_is_bad_input_naming_the_file() {
    let err = mitid_tui::load_report(Path::new("/nonexistent/run")).expect_err("no such folder");
    assert!(err.is_bad_input());
    assert!(
        err.to_string()
            .starts_with("/nonexistent/run/report.json: cannot read"),
        "{err}"
    );
}

#[test]
fn too_small_a_terminal_says_so() {
    let app = fresh_app();
    let screen = render_to_string(&app, 60, 20);
    assert!(screen.contains("needs at least 80x24"), "{screen}");
}

#[test]
fn update_says_whether_a_key_meant_something() {
    let mut app = fresh_app();
    assert!(
        !app.update(Msg::Key(Key::Char('x'))).consumed,
        "x is bound nowhere"
    );
    assert!(
        !app.update(Msg::Key(Key::Esc)).consumed,
        "esc with nothing to close"
    );
    assert!(
        !app.update(Msg::Tick).consumed,
        "a tick while paused changes nothing"
    );
    assert!(app.update(Msg::Key(Key::Char('.'))).consumed);
    assert_eq!(app.run.closed_days().len(), 1);
    // `r` is the conformance view's key: in the simulation view it does nothing.
    assert!(!app.update(Msg::Key(Key::Char('r'))).consumed);
}

#[test]
fn the_help_overlay_keeps_keys_from_the_view_beneath() {
    let mut app = fresh_app();
    press(&mut app, "?");
    let update = app.update(Msg::Key(Key::Char('.')));
    assert!(update.consumed, "the overlay takes the key");
    assert!(
        app.run.closed_days().is_empty(),
        "and the view never saw it"
    );
    press(&mut app, "esc");
    assert!(!app.help);
    let quit = app.update(Msg::Key(Key::Ctrl('c')));
    assert_eq!(quit.effects, vec![mitid_tui::app::Effect::Quit]);
    assert!(app.quit);
}

#[test]
fn a_wrong_palette_command_says_why_and_changes_nothing() {
    let mut app = fresh_app();
    press(&mut app, ":");
    type_text(&mut app, "goto yesterday");
    press(&mut app, "enter");
    assert!(app.run.closed_days().is_empty());
    assert_eq!(
        app.status.as_deref(),
        Some("goto yesterday: give a date as YYYY-MM-DD")
    );
    press(&mut app, ":");
    type_text(&mut app, "certify no-such-flaw");
    let update = app.update(Msg::Key(Key::Enter));
    assert!(update.effects.is_empty(), "no run for an unknown target");
    assert!(
        app.status
            .as_deref()
            .is_some_and(|s| s.contains("no such target"))
    );
}

#[test]
fn restart_replays_the_same_run_from_day_one() {
    let mut app = fresh_app();
    press(&mut app, "m m");
    let before: Vec<u32> = app
        .run
        .closed_days()
        .iter()
        .map(|d| d.mitid_users)
        .collect();
    press(&mut app, "0");
    assert!(app.run.closed_days().is_empty());
    press(&mut app, "m m");
    let again: Vec<u32> = app
        .run
        .closed_days()
        .iter()
        .map(|d| d.mitid_users)
        .collect();
    assert_eq!(before, again);
}

#[test]
fn a_whatif_runs_beside_the_main_run_and_is_drawn_over_it() {
    let options = Options {
        scenario: Some(root().join("scenarios/demo-100k.yaml")),
        population: Some(3000),
        ..Options::default()
    };
    let (mut app, _) = mitid_tui::prepare(&options, &mut |_| {}).expect("prepares");
    press(&mut app, "m m : w tab");
    type_text(&mut app, "calendar.migration_via_nemid_ends=2023-09-30");
    let update = app.update(Msg::Key(Key::Enter));
    let [mitid_tui::app::Effect::WhatIf { source, label }] = update.effects.as_slice() else {
        panic!("whatif asks for a run: {:?}", update.effects)
    };
    assert_eq!(
        source.overrides.sets,
        vec!["calendar.migration_via_nemid_ends=2023-09-30".to_owned()]
    );
    // What the runtime does with the effect.
    let run = mitid_tui::simulate(&source.path, &source.overrides, &mut |_| {}).expect("runs");
    app.update(Msg::WhatIfDone(Ok(mitid_tui::app::WhatIf {
        label: label.clone(),
        run: Box::new(run),
    })));
    let whatif = app.whatif.as_ref().expect("the what-if is on");
    assert_eq!(
        whatif.run.closed_days().len(),
        app.run.closed_days().len(),
        "same day"
    );
    press(&mut app, ":");
    type_text(&mut app, "goto 2023-11-01");
    press(&mut app, "enter");
    let whatif = app.whatif.as_ref().expect("the what-if is on");
    assert_eq!(
        whatif.run.closed_days().len(),
        app.run.closed_days().len(),
        "in lockstep"
    );
    // From June 2023 the main run refuses NemID for getting MitID; the what-if still allows it.
    let enrolments = |days: &[mitid_sim::policy::DayRow]| -> u32 {
        days.iter()
            .filter(|d| d.date.to_string().as_str() >= "2023-06-05")
            .map(|d| d.via_nemid_enrolments_started)
            .sum()
    };
    assert_eq!(enrolments(app.run.closed_days()), 0);
    // The what-if really ran with its change: its days differ from the main run's after the
    // main run's NemID route closed, and it never has fewer NemID enrolments.
    assert!(enrolments(whatif.run.closed_days()) >= enrolments(app.run.closed_days()));
    assert_ne!(
        whatif.run.closed_days(),
        app.run.closed_days(),
        "the what-if's change made no difference"
    );
    insta::assert_snapshot!("simulation_whatif_160x48", render_to_string(&app, 160, 48));
}
