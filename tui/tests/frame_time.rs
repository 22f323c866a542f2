//! Frame time while the simulation plays: the whole draw of the dashboard into an in-memory
//! terminal, every tick of a run played from the first day to the last. Not a pass/fail test:
//! run it for the figures with
//! `cargo test -p mitid-tui --test frame_time -- --ignored --nocapture`.

use std::path::Path;
use std::time::{Duration, Instant};

use mitid_tui::app::{App, Msg};
use mitid_tui::keys::Key;
use tuirealm::ratatui::layout::Size;
use tuirealm::terminal::{TerminalAdapter as _, TestTerminalAdapter};

fn demo_app() -> App {
    let overrides = mitid_sim::scenario::Overrides {
        population: Some(3000),
        ..Default::default()
    };
    let run = mitid_tui::simulate(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("../scenarios/demo-100k.yaml"),
        &overrides,
        &mut |_| {},
    )
    .expect("the demo scenario runs");
    App::new(Box::new(run), mitid_tui::flaw_names())
}

#[test]
#[ignore = "a measurement, not a check: run with --ignored --nocapture"]
fn frame_time_while_playing() {
    for (width, height) in [(80, 24), (200, 60)] {
        let mut app = demo_app();
        let mut terminal = TestTerminalAdapter::new(Size::new(width, height)).expect("terminal");
        // 7 days a second: every frame shows a grown chart, and the run takes ~118 s of ticks.
        app.update(Msg::Key(Key::Char(' ')));
        let mut times = Vec::new();
        while app.playing {
            app.update(Msg::Tick);
            let started = Instant::now();
            terminal
                .draw(|frame| mitid_tui::view::draw(frame, &app))
                .expect("draw");
            times.push(started.elapsed());
        }
        // The figures are only worth printing if the whole run was drawn, day by day.
        assert!(
            app.run.finished(),
            "playing stopped before the run's last day"
        );
        // 10 ticks a second at 7 days a second: more frames than days, never fewer.
        assert!(
            times.len() >= app.run.closed_days().len(),
            "{} frames for {} days",
            times.len(),
            app.run.closed_days().len()
        );
        times.sort();
        let mean = times.iter().sum::<Duration>() / times.len() as u32;
        let p99 = times[times.len() * 99 / 100];
        println!(
            "{width}x{height}: {} frames, mean {:.2} ms, p99 {:.2} ms, max {:.2} ms",
            times.len(),
            mean.as_secs_f64() * 1e3,
            p99.as_secs_f64() * 1e3,
            times[times.len() - 1].as_secs_f64() * 1e3
        );
    }
}
