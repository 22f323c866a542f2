//! A live run stepped one simulated day at a time: `mitid-lab tui --live`.
//!
//! [`LiveSession`] closes the days of the dashboard's run in live mode (a [`DayDriver`]: the
//! run is a [`DrivenRun`], the dashboard's `SteppableRun`). It starts the lab's
//! components and drives the same [`Driver`] as `simulate --live` ([`super::run`]): the
//! sampled citizens' actions go out through the run's port as real flows, their routine logins
//! between the model's events, the scenario's incidents through the gates. Where `simulate`
//! runs from the first day to the last in stretches, a session closes one day each time the
//! dashboard asks, and keeps the day's flows per component for the live panel. The dashboard
//! paces it (its play speed); within a day the flows go as fast as they can.
//!
//! Dropping the session puts the lab clock back, ends the incidents still under way and stops
//! the components.

use std::cell::RefCell;
use std::rc::Rc;
use std::sync::Arc;

use chrono::NaiveDate;
use mitid_components::runtime::RuntimeKind;
use mitid_conformance::actions::clock;
use mitid_conformance::setup::{self, ReferenceLab};
use mitid_conformance::world::Lab;
use mitid_sim::kernel::SimTime;
use mitid_sim::policy::{LiveSample, PolicyError, PolicyRun, PolicyScenario};
use mitid_tui::live::{Counts, JourneyFigures, LiveDay, LiveFigures};
use mitid_tui::run::{DayDriver, DrivenRun, RunError, ScenarioRun, SteppableRun as _};

use super::{Driver, Live, LiveError, LiveOptions, LiveReport, Port, RoutineQueue, incidents};

/// The lab's components started for a live run of `scenario`, with the gates in front of them
/// when the scenario has incidents to inject.
pub(super) fn start_lab(
    scenario: &PolicyScenario,
    seed: u64,
    options: LiveOptions,
    runtime: &tokio::runtime::Runtime,
) -> Result<(ReferenceLab, Option<incidents::Injector>, Arc<Lab>), LiveError> {
    let reference = setup::reference(
        &[],
        options.runtime,
        &mitid_conformance::suite::run_tag(),
        runtime,
    )?;
    // Gates only when there is something to inject: they add a hop to every flow.
    let injector = if scenario.incidents.is_empty() {
        None
    } else {
        Some(
            runtime
                .block_on(incidents::Injector::start(
                    &reference.stack,
                    &setup::routes_of(&reference.stack),
                    scenario,
                    seed,
                ))
                .map_err(LiveError::Gates)?,
        )
    };
    let lab = match &injector {
        // The lab's own client (its control calls: the clock, identities) was built before the
        // gates, and reaches some endpoints by host address: a client built now, to endpoints
        // through the gates, so a restarted container's new host ports are the gates' to know.
        // The issuer stays the name the broker gives itself.
        Some(injector) => {
            let mut endpoints = reference.lab.endpoints.clone();
            endpoints.control = injector.gated(&endpoints.control);
            for url in [
                &mut endpoints.cpr,
                &mut endpoints.citizen_service,
                &mut endpoints.support,
                &mut endpoints.sms,
            ]
            .into_iter()
            .flatten()
            {
                *url = injector.gated(url);
            }
            let mut lab = Lab::new(
                reference.lab.sp.clone(),
                endpoints,
                reference.lab.run_tag.clone(),
            );
            lab.shared_clock = reference.lab.shared_clock;
            Arc::new(lab)
        }
        None => Arc::clone(&reference.lab),
    };
    Ok((reference, injector, lab))
}

/// The live run a session opens: the model's run, its days closed by the session.
pub type LiveRun = DrivenRun<LiveSession>;

/// The live side of a run the dashboard closes a day at a time: the driver, the sample, the
/// routine logins still to come, the figures so far, and the components. Dropping it puts the
/// lab clock back and stops the components (its run, which holds a port into the driver, is
/// dropped first: see [`DrivenRun`]).
pub struct LiveSession {
    live: Rc<Live>,
    sample: LiveSample,
    routine: RoutineQueue,
    options: LiveOptions,
    figures: LiveFigures,
    /// Kept so that dropping the session stops the components, after the driver is gone.
    #[allow(dead_code, reason = "held for its Drop, which stops the stack")]
    reference: ReferenceLab,
}

impl LiveSession {
    /// Starts the components and opens the live run of `scenario` with `seed` before its first
    /// day, its sample drawn.
    pub fn start(
        scenario: PolicyScenario,
        seed: u64,
        options: LiveOptions,
    ) -> Result<LiveRun, LiveError> {
        let runtime = mitid_conformance::suite::tokio_runtime()?;
        let (reference, injector, lab) = start_lab(&scenario, seed, options, &runtime)?;
        let mut driver = Driver::new(lab, &scenario);
        driver.injector = injector;
        let live = Rc::new(Live {
            runtime,
            state: RefCell::new(driver),
        });
        let run = ScenarioRun::with_port(scenario, seed, Port(Rc::clone(&live)))?;
        let sample = run.inspect(|run| run.live_sample(options.sample))?;
        live.state.borrow_mut().sample = Some(sample.clone());
        let routine = run.inspect(|run| RoutineQueue::new(run, &sample));
        let figures = LiveFigures {
            runtime: runtime_name(options.runtime).to_owned(),
            sample_size: sample.len() as u64,
            ..LiveFigures::default()
        };
        let driver = LiveSession {
            live,
            sample,
            routine,
            options,
            figures,
            reference,
        };
        Ok(DrivenRun { run, driver })
    }

    /// Reads the day `run` just closed out of the driver's counts.
    fn count_day(&mut self, run: &ScenarioRun) {
        let Some(day) = run.closed_days().last().map(|d| d.date) else {
            return;
        };
        let index = run.closed_days().len() - 1;
        let report = self.report(run);
        self.figures.days.push(day_of(&report, index, day));
        self.figures.journeys = report
            .by_journey
            .iter()
            .map(|(name, counts)| {
                let latency = report.latency_ms.get(name);
                (
                    (*name).to_owned(),
                    JourneyFigures {
                        counts: Counts {
                            performed: counts.performed,
                            failed: counts.failed,
                        },
                        p50_ms: latency.map_or(0.0, |l| l.p50),
                        p95_ms: latency.map_or(0.0, |l| l.p95),
                    },
                )
            })
            .collect();
        self.figures.diverged = report.model.diverged_from_model_rules;
    }

    /// What the driver counted so far on `run`, as `live.json` would say it.
    fn report(&self, run: &ScenarioRun) -> LiveReport {
        #[allow(
            clippy::redundant_closure_for_method_calls,
            reason = "the method's path names one lifetime of the run; the closure takes any"
        )]
        let actions = run.inspect(|run| run.actions());
        self.live.state.borrow().tally.report(
            self.options.runtime,
            run.policy(),
            &self.sample,
            actions.resolved,
            actions.diverged,
        )
    }
}

impl DayDriver for LiveSession {
    /// Closes the day in progress: the model's events up to midnight, the sampled citizens'
    /// actions and routine logins among them performed for real.
    fn close_day(&mut self, run: &mut ScenarioRun) -> Result<bool, RunError> {
        if run.finished() {
            return Ok(false);
        }
        let before = run.closed_days().len();
        let live = &self.live;
        let routine = &mut self.routine;
        run.drive(|run| advance_one_day(run, live, routine))?;
        let closed = run.closed_days().len() > before;
        if closed {
            self.count_day(run);
        }
        Ok(closed)
    }

    /// The same live run again on fresh components: the lab keeps what the first run's
    /// citizens did (their enrolments, their locks), so reusing it would not be the same run.
    /// The new components start before the old ones stop, so a failed start leaves the run as
    /// it was.
    fn restart(&mut self, run: &mut ScenarioRun) -> Result<(), RunError> {
        let fresh = LiveSession::start(run.policy().clone(), run.seed(), self.options)?;
        // The old run first: it holds a port into the old driver.
        *run = fresh.run;
        *self = fresh.driver;
        Ok(())
    }

    fn figures(&self) -> &LiveFigures {
        &self.figures
    }
}

/// Advances `run` through the day in progress: to each routine login before midnight (queued
/// for the driver), then to midnight, where the queued logins are performed and the incidents
/// due begin or end — what `simulate --live` does between two midnights.
fn advance_one_day(
    run: &mut PolicyRun<'_>,
    live: &Live,
    routine: &mut RoutineQueue,
) -> Result<(), PolicyError> {
    let days = run.calendar().days;
    let end = SimTime::from_day(days);
    let midnight = SimTime::from_day((run.today() + 1).min(days));
    loop {
        let Some(at) = routine.peek_before(midnight) else {
            run.advance_to(midnight)?;
            live.midnight(midnight);
            return Ok(());
        };
        run.advance_to(at)?;
        if let Some((at, citizen, sector)) = routine.next_before(end)
            && let Some(view) = run.citizen(citizen)
        {
            live.routine_login(citizen, &view, at, sector);
        }
    }
}

/// The flows per component of day `index` (dated `date`) in `report`.
fn day_of(report: &LiveReport, index: usize, date: NaiveDate) -> LiveDay {
    let on_day = |series: &std::collections::BTreeMap<&'static str, Vec<u64>>, name: &str| {
        series
            .get(name)
            .and_then(|days| days.get(index))
            .copied()
            .unwrap_or(0)
    };
    let by_component = report
        .over_time
        .performed
        .keys()
        .map(|name| {
            let counts = Counts {
                performed: on_day(&report.over_time.performed, name),
                failed: on_day(&report.over_time.failed, name),
            };
            ((*name).to_owned(), counts)
        })
        .filter(|(_, counts)| counts.performed > 0)
        .collect();
    LiveDay { date, by_component }
}

/// How `live.json` and the dashboard name where the components run.
#[must_use]
pub fn runtime_name(runtime: RuntimeKind) -> &'static str {
    match runtime {
        RuntimeKind::Embedded => "embedded",
        RuntimeKind::Containers => "containers",
    }
}

impl Drop for LiveSession {
    fn drop(&mut self) {
        // The clock goes back to the wall clock, as after a Gherkin scenario that moved it, and
        // whatever an incident stopped or paused is started again before the stack goes.
        let mut driver = self.live.state.borrow_mut();
        let _ = self.live.runtime.block_on(clock::release(&driver.lab));
        drop(driver.injector.take());
    }
}

impl From<LiveError> for RunError {
    fn from(err: LiveError) -> RunError {
        match err {
            LiveError::Policy(err) => RunError::Policy(err),
            other => RunError::Live(Box::new(other)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::live_demo;
    use super::*;

    /// The live demo with ten citizens acting for real on the embedded components.
    fn ten_citizens_of_the_live_demo() -> (PolicyScenario, u64, LiveOptions) {
        let scenario = live_demo();
        let seed = scenario.seed;
        let options = LiveOptions {
            runtime: RuntimeKind::Embedded,
            sample: mitid_sim::policy::SampleSize::Citizens(10),
            speed: super::super::Speed::Max,
        };
        (scenario, seed, options)
    }

    #[test]
    fn a_session_closes_one_day_at_a_time_with_that_days_real_flows() {
        let (scenario, seed, options) = ten_citizens_of_the_live_demo();
        let mut session = LiveSession::start(scenario, seed, options).expect("the session starts");
        assert!(session.closed_days().is_empty(), "no day is run ahead");
        for _ in 0..30 {
            assert!(session.step_day().expect("a day closes"));
        }
        assert_eq!(session.closed_days().len(), 30, "one day a step");
        let figures = session.live().expect("a live run's figures").clone();
        assert_eq!(figures.runtime, "embedded");
        assert_eq!(figures.sample_size, 10);
        let dates: Vec<NaiveDate> = figures.days.iter().map(|d| d.date).collect();
        let closed: Vec<NaiveDate> = session.closed_days().iter().map(|d| d.date).collect();
        assert_eq!(dates, closed);
        // The days' flows are the driver's own counts of those days.
        let report = session.driver.report(&session.run);
        let counted: u64 = report
            .over_time
            .performed
            .values()
            .map(|days| days[..30].iter().sum::<u64>())
            .sum();
        assert!(counted > 0, "the sampled citizens logged in: {report:#?}");
        assert_eq!(figures.total().performed, counted);
        let journeys: u64 = figures.journeys.values().map(|j| j.counts.performed).sum();
        assert_eq!(journeys, report.flows.performed);

        session.restart().expect("restarts on fresh components");
        assert!(session.closed_days().is_empty());
        assert!(session.live().expect("still live").days.is_empty());
        assert!(session.step_day().expect("a day closes"));
        assert_eq!(session.closed_days()[0].date, closed[0]);
    }

    #[test]
    fn stepping_day_by_day_performs_the_same_flows_as_simulate_live() {
        let (scenario, seed, options) = ten_citizens_of_the_live_demo();
        let whole =
            super::super::run(&scenario, seed, options, &mut |_| {}).expect("simulate --live runs");
        let mut session = LiveSession::start(scenario, seed, options).expect("the session starts");
        while session.step_day().expect("a day closes") {}
        let stepped = session.driver.report(&session.run);
        assert!(whole.report.flows.performed > 0);
        assert_eq!(stepped.flows, whole.report.flows);
        assert_eq!(stepped.by_component, whole.report.by_component);
        assert_eq!(stepped.by_journey, whole.report.by_journey);
        let outcome = whole.outcome.expect("not interrupted");
        assert_eq!(session.closed_days(), outcome.days.as_slice());
        let figures = session.live().expect("live figures");
        let journeys: u64 = figures.journeys.values().map(|j| j.counts.performed).sum();
        assert_eq!(journeys, whole.report.flows.performed);
    }
}
