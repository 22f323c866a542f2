//! Snapshots of every view at 80x24 (the smallest supported terminal) and 160x48, driven by
//! the same key sequences a user or a demo script would type.

use std::path::Path;

use mitid_tui::app::{App, Effect, Msg, Target, TreeRow, View};
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
            target: Target::Flaw("skip-nonce-check".to_owned()),
            requirement: None,
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
        vec!["synthesising demo-100k (3000 citizens, seed 100)…".to_owned()]
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
        !app.update(Msg::Key(Key::Char('z'))).consumed,
        "z is bound nowhere"
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
    let run = mitid_tui::open_run(&source.path, &source.overrides, &mut |_| {}).expect("runs");
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

#[test]
fn e_jumps_from_a_failed_requirement_to_the_exchange_that_decided_it() {
    let mut app = with_report();
    // Back to the tree's first row, a requirement that passed: nothing failed under it.
    press(
        &mut app,
        "k k k k k k k k k k k k k k k k k k k k k k k k k k k k k k",
    );
    let first = app.conformance.selected;
    press(&mut app, "e");
    assert_eq!(app.conformance.selected, first, "no jump from a passed one");
    assert!(
        app.status
            .as_deref()
            .is_some_and(|s| s.contains("nothing failed"))
    );
    // On the failed requirement, e lands on its failed scenario's last exchange.
    let report = app.conformance.report.clone().expect("report");
    let failed = report
        .requirements
        .iter()
        .position(|r| r.verdict_text() == "FAILED")
        .expect("the fixture has a failed requirement");
    let at = app
        .conformance
        .rows("")
        .iter()
        .position(|row| *row == TreeRow::Requirement(failed))
        .expect("listed");
    app.conformance.selected = at;
    press(&mut app, "e");
    let TreeRow::Scenario(_, scenario) = app.conformance.rows("")[app.conformance.selected] else {
        panic!("e selects a scenario")
    };
    let scenario = &report.scenarios[scenario];
    assert_eq!(scenario.verdict.as_str(), "FAILED");
    // The browser's last request (the lab's set-up calls and the service provider's calls
    // to the broker are stored after it): here the /me that answered as if logged in.
    let deciding = app.conformance.exchange.expect("an exchange is shown");
    assert!(
        scenario.evidence[deciding].url.ends_with("/me"),
        "{:?}",
        scenario.evidence[deciding].url
    );
    assert!(
        scenario.evidence[deciding + 1..]
            .iter()
            .all(|e| e.actor != mitid_conformance::evidence::Actor::Browser)
    );
    let screen = render_to_string(&app, 160, 48);
    assert!(screen.contains("the last before the failure"), "{screen}");
    insta::assert_snapshot!("conformance_deciding_exchange_160x48", screen);
    insta::assert_snapshot!(
        "conformance_deciding_exchange_80x24",
        render_to_string(&app, 80, 24)
    );
    // ← walks back through the scenario's exchanges, and off them to the scenario.
    press(&mut app, "left");
    assert_eq!(app.conformance.exchange, Some(deciding - 1));
    for _ in 0..scenario.evidence.len() {
        press(&mut app, "left");
    }
    assert_eq!(app.conformance.exchange, None);
    press(&mut app, "right");
    assert_eq!(app.conformance.exchange, Some(0));
}

#[test]
fn capital_r_reruns_only_the_selected_requirement() {
    let mut app = with_report();
    let (id, _) = app.conformance.selection("").expect("a row is selected");
    let id = id.to_owned();
    let update = app.update(Msg::Key(Key::Char('R')));
    assert_eq!(
        update.effects,
        vec![Effect::Certify {
            target: Target::Reference,
            requirement: Some(id.clone()),
        }]
    );
    let screen = render_to_string(&app, 160, 48);
    assert!(screen.contains(&format!("(only {id})")), "{screen}");
    // The partial run's report replaces the one on screen, named as the partial run it is.
    let (report, _) =
        mitid_tui::load_report(&root().join("tui/tests/fixtures/certify-skip-nonce-check"))
            .expect("fixture");
    app.update(Msg::CertifyDone(Ok(Box::new(report))));
    assert_eq!(
        app.conformance.source.as_deref(),
        Some(format!("certify reference --tags @req:{id}").as_str())
    );
    // The palette names a requirement too, and refuses one the report does not have.
    press(&mut app, ":");
    type_text(&mut app, "rerun SP-NOPE-99");
    let update = app.update(Msg::Key(Key::Enter));
    assert!(update.effects.is_empty());
    assert!(
        app.status
            .as_deref()
            .is_some_and(|s| s.contains("no such requirement"))
    );
}

fn scratch(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("mitid-tui-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("scratch folder");
    dir
}

const TARGET_FILE: &str = "service_provider:\n  base_url: http://127.0.0.1:9\n  implements: []\nclient:\n  client_id: shop\n  client_secret: 0123456789abcdef0123\n  redirect_uri: http://127.0.0.1:9/callback\n";

#[test]
fn a_target_file_is_checked_at_start_and_certified_from_the_view() {
    let dir = scratch("target");
    let good = dir.join("target.yaml");
    std::fs::write(&good, TARGET_FILE).expect("written");
    let options = Options {
        scenario: Some(root().join("scenarios/demo-100k.yaml")),
        population: Some(3000),
        target_config: Some(good.clone()),
        ..Options::default()
    };
    let (mut app, _) = mitid_tui::prepare(&options, &mut |_| {}).expect("a valid target file");
    assert_eq!(app.view, View::Conformance);
    let update = app.update(Msg::Key(Key::Char('r')));
    assert_eq!(
        update.effects,
        vec![Effect::Certify {
            target: Target::File(good.clone()),
            requirement: None,
        }]
    );
    // A mistake in the file is bad input naming the file, the line and the field.
    let bad = dir.join("bad.yaml");
    std::fs::write(
        &bad,
        TARGET_FILE.replace("http://127.0.0.1:9/callback", "not a url"),
    )
    .expect("written");
    let err = mitid_tui::prepare(
        &Options {
            target_config: Some(bad.clone()),
            ..options.clone()
        },
        &mut |_| {},
    )
    .map(|_| ())
    .expect_err("a bad redirect_uri");
    assert!(err.is_bad_input());
    let text = err.to_string();
    assert!(
        text.starts_with(&format!("{}:7: field `client.redirect_uri`", bad.display())),
        "{text}"
    );
    // The palette takes a target file too.
    let mut app = fresh_app();
    press(&mut app, ":");
    type_text(&mut app, &format!("certify {}", good.display()));
    let update = app.update(Msg::Key(Key::Enter));
    assert_eq!(
        update.effects,
        vec![Effect::Certify {
            target: Target::File(good),
            requirement: None,
        }]
    );
    std::fs::remove_dir_all(&dir).expect("cleaned up");
}

#[test]
fn save_writes_the_session_as_a_script_that_replays_to_the_same_screen() {
    let options = Options {
        scenario: Some(root().join("scenarios/demo-100k.yaml")),
        population: Some(3000),
        ..Options::default()
    };
    let (mut app, _) = mitid_tui::prepare(&options, &mut |_| {}).expect("prepares");
    press(&mut app, "m +");
    press(&mut app, "space");
    for _ in 0..7 {
        app.update(Msg::Tick);
    }
    press(&mut app, "space s / a");
    press(&mut app, "enter");
    let screen = render_to_string(&app, 100, 30);
    press(&mut app, ":");
    type_text(&mut app, "save demo.yaml");
    let update = app.update(Msg::Key(Key::Enter));
    let [Effect::Write { path, text }] = update.effects.as_slice() else {
        panic!("save asks for a write: {:?}", update.effects)
    };
    assert_eq!(path, std::path::Path::new("demo.yaml"));
    let script = Script::parse("demo.yaml", text).expect("the saved script parses");
    assert_eq!(script.population, Some(3000));
    let (mut again, events) = mitid_tui::prepare(
        &Options {
            script: Some({
                let dir = scratch("save");
                let file = dir.join("demo.yaml");
                std::fs::write(&file, text).expect("written");
                file
            }),
            ..Options::default()
        },
        &mut |_| {},
    )
    .expect("the saved script prepares");
    mitid_tui::replay(&mut again, &events);
    assert_eq!(render_to_string(&again, 100, 30), screen);
}

#[test]
fn each_view_and_the_help_at_160x48() {
    let mut app = fresh_app();
    insta::assert_snapshot!("simulation_start_160x48", render_to_string(&app, 160, 48));
    press(&mut app, "?");
    insta::assert_snapshot!("help_160x48", render_to_string(&app, 160, 48));
    press(&mut app, "esc 2");
    insta::assert_snapshot!("conformance_empty_160x48", render_to_string(&app, 160, 48));
    let app = with_report();
    insta::assert_snapshot!("conformance_report_160x48", render_to_string(&app, 160, 48));
    let mut app = fresh_app();
    press(&mut app, "m m m");
    insta::assert_snapshot!(
        "simulation_milestones_160x48",
        render_to_string(&app, 160, 48)
    );
}

#[test]
fn the_readme_screens_are_the_snapshots_the_tests_render() {
    let readme = std::fs::read_to_string(root().join("README.md")).expect("the README");
    for name in [
        "views__simulation_milestones_80x24",
        "views__conformance_deciding_exchange_80x24",
        "flows__flows_app_80x24",
    ] {
        let path = root().join(format!("tui/tests/snapshots/{name}.snap"));
        let snapshot = std::fs::read_to_string(&path).expect("the snapshot");
        // An insta file is a header between two `---` lines, then the screen.
        let screen = snapshot
            .splitn(3, "---\n")
            .nth(2)
            .expect("a snapshot body")
            .trim_end_matches('\n');
        assert!(
            readme.contains(&format!("```text\n{screen}\n```")),
            "README.md does not show {name} as the tests render it: paste {}",
            path.display()
        );
    }
}
