//! The simulation view in live mode (`--live`): the live panel beside the model's figures,
//! drawn from a deterministic stand-in for the binary's live driver, stepped with the run.

use chrono::NaiveDate;
use mitid_tui::app::{App, Msg};
use mitid_tui::keys::Key;
use mitid_tui::live::{Counts, JourneyFigures, LiveDay, LiveFigures};
use mitid_tui::render_to_string;
use mitid_tui::run::{DayDriver, DrivenRun, RunError, ScenarioRun, SteppableRun as _};

mod support;

/// Made-up live figures: each closed day gets flows that depend only on the day's index, so
/// the screen is the same every run.
struct FakeDriver {
    figures: LiveFigures,
}

impl FakeDriver {
    fn new() -> Self {
        Self {
            figures: LiveFigures {
                runtime: "embedded".to_owned(),
                sample_size: 10,
                ..LiveFigures::default()
            },
        }
    }

    fn count(&mut self, index: u64, date: NaiveDate) {
        let mut day = LiveDay {
            date,
            by_component: std::collections::BTreeMap::new(),
        };
        let mut add = |component: &str, journey: &str, performed: u64, failed: u64| {
            let counts = Counts { performed, failed };
            let sum = day.by_component.entry(component.to_owned()).or_default();
            *sum = sum.plus(counts);
            let figures =
                self.figures
                    .journeys
                    .entry(journey.to_owned())
                    .or_insert(JourneyFigures {
                        counts: Counts::default(),
                        p50_ms: 12.0,
                        p95_ms: 40.0,
                    });
            figures.counts = figures.counts.plus(counts);
        };
        add(
            "idp",
            "routine_login_mitid",
            2 + index % 5,
            u64::from(index.is_multiple_of(7)),
        );
        if index.is_multiple_of(3) {
            add("idp", "enrolment", 1, 0);
            add("citizen-service", "citizen_service_appointment", 1, 0);
        }
        if index % 10 == 4 {
            add("support", "support_call", 1, 1);
        }
        self.figures.days.push(day);
        self.figures.diverged = self.figures.days.len() as u64 / 10;
    }
}

impl DayDriver for FakeDriver {
    fn close_day(&mut self, run: &mut ScenarioRun) -> Result<bool, RunError> {
        let closed = run.step_day()?;
        if closed && let Some(day) = run.closed_days().last() {
            self.count(self.figures.days.len() as u64, day.date);
        }
        Ok(closed)
    }

    fn restart(&mut self, run: &mut ScenarioRun) -> Result<(), RunError> {
        run.restart()?;
        *self = FakeDriver::new();
        Ok(())
    }

    fn figures(&self) -> &LiveFigures {
        &self.figures
    }
}

fn live_app() -> App {
    let run = DrivenRun {
        run: support::demo_run(),
        driver: FakeDriver::new(),
    };
    App::new(Box::new(run), mitid_tui::flaw_names())
}

fn press(app: &mut App, keys: &str) {
    for token in keys.split_whitespace() {
        app.update(Msg::Key(Key::parse(token).expect("a key")));
    }
}

#[test]
fn playing_a_live_run_counts_its_flows_day_by_day() {
    let mut app = live_app();
    let screen = render_to_string(&app, 80, 24);
    assert!(screen.contains("no flow yet"), "{screen}");
    press(&mut app, ". . .");
    let live = app.run.live().expect("a live run");
    assert_eq!(live.days.len(), 3, "one day of flows per closed day");
    assert_eq!(
        live.days.iter().map(|d| d.date).collect::<Vec<_>>(),
        app.run
            .closed_days()
            .iter()
            .map(|d| d.date)
            .collect::<Vec<_>>()
    );
    // Days 0 to 2: 2+3+4 routine logins, one failed (day 0), and an enrolment on day 0.
    assert_eq!(
        live.by_component()["idp"],
        Counts {
            performed: 10,
            failed: 1
        }
    );
    let screen = render_to_string(&app, 80, 24);
    assert!(screen.contains("● live: 11 flows, 1 failed"), "{screen}");
    // Restarting starts the live run over too.
    press(&mut app, "0");
    assert!(app.run.live().expect("a live run").days.is_empty());
}

#[test]
fn the_live_panel_beside_the_model_at_80x24() {
    let mut app = live_app();
    press(&mut app, "m");
    let screen = render_to_string(&app, 80, 24);
    assert!(screen.contains("citizen-service"), "{screen}");
    assert!(screen.contains("failed/day"), "{screen}");
    insta::assert_snapshot!("simulation_live_80x24", screen);
}

#[test]
fn the_live_panel_with_journeys_and_latency_at_160x48() {
    let mut app = live_app();
    press(&mut app, "m m");
    let screen = render_to_string(&app, 160, 48);
    assert!(screen.contains("support_call"), "{screen}");
    assert!(screen.contains("12/40"), "{screen}");
    assert!(
        screen.contains("Citizen Service, by wait"),
        "the municipality table keeps its place: {screen}"
    );
    insta::assert_snapshot!("simulation_live_160x48", screen);
}
