//! When each scenario of a run starts, so that the whole suite takes about as long as its longest
//! scenario rather than the sum of the waits.
//!
//! Three kinds of scenario:
//! - `@slow`: most of its time is a wait on a broker that never answers (the service provider's
//!   timeout). It starts first and overlaps everything, `@serial` scenarios included: what it
//!   waits on is its own scripted login, which no global state changes. A scenario cannot be both
//!   (`Features::load` refuses it).
//! - `@serial`: changes what is global by nature (the broker's signing keys, the lab clock). It
//!   runs with no ordinary scenario in flight, one at a time, and before the ordinary ones, so no
//!   ordinary scenario waits behind a slow one to reach it.
//! - ordinary: everything else, up to the run's concurrency.
//!
//! The order is fixed before the run (slow, serial, ordinary; feature order within each), and a
//! scenario is admitted only at the head of the queue, so runs are repeatable and nothing starves.
//! cucumber starts every scenario at once; each waits in the runner's `before` hook for
//! [`Schedule::admit`], and its [`Admission`] ends in the `after` hook (after the clock is back).

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};

/// The tag of a scenario that mostly waits (see the module documentation).
pub const SLOW_TAG: &str = "slow";
/// The tag of a scenario that changes global state.
pub const SERIAL_TAG: &str = "serial";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Class {
    Slow,
    Serial,
    Ordinary,
}

impl Class {
    #[must_use]
    pub fn of(tags: &[String]) -> Class {
        if tags.iter().any(|t| t == SLOW_TAG) {
            Class::Slow
        } else if tags.iter().any(|t| t == SERIAL_TAG) {
            Class::Serial
        } else {
            Class::Ordinary
        }
    }

    fn rank(self) -> u8 {
        match self {
            Class::Slow => 0,
            Class::Serial => 1,
            Class::Ordinary => 2,
        }
    }
}

/// Identifies a scenario across cucumber's hooks: feature path, line, name.
pub type ScenarioKey = (String, usize, String);

#[derive(Debug, Default)]
struct State {
    /// Tickets in admission order.
    queue: VecDeque<(u64, Class)>,
    /// Each scenario's tickets (a key may repeat; each run takes the next).
    tickets: HashMap<ScenarioKey, VecDeque<u64>>,
    running_serial: usize,
    running_ordinary: usize,
    running: usize,
}

/// The admission queue of one run.
#[derive(Debug)]
pub struct Schedule {
    state: Mutex<State>,
    changed: tokio::sync::Notify,
    capacity: usize,
}

impl Schedule {
    /// A schedule for `scenarios` (those that will run, in feature order) with at most
    /// `capacity` running at once.
    #[must_use]
    pub fn new(scenarios: Vec<(ScenarioKey, Class)>, capacity: usize) -> Arc<Schedule> {
        let mut ordered: Vec<(usize, ScenarioKey, Class)> = scenarios
            .into_iter()
            .enumerate()
            .map(|(i, (key, class))| (i, key, class))
            .collect();
        ordered.sort_by_key(|(i, _, class)| (class.rank(), *i));
        let mut state = State::default();
        for (ticket, (_, key, class)) in (0u64..).zip(ordered) {
            state.queue.push_back((ticket, class));
            state.tickets.entry(key).or_default().push_back(ticket);
        }
        Arc::new(Schedule {
            state: Mutex::new(state),
            changed: tokio::sync::Notify::new(),
            capacity: capacity.max(1),
        })
    }

    /// Waits until `key`'s turn has come and it may run beside what runs now.
    pub async fn admit(self: &Arc<Self>, key: &ScenarioKey) -> Admission {
        let ticket = self
            .lock()
            .tickets
            .get_mut(key)
            .and_then(VecDeque::pop_front);
        let Some(ticket) = ticket else {
            // Not in the plan (cannot happen for a scenario the runner's filter let through):
            // run it as an ordinary scenario rather than never.
            return self.admit_unplanned().await;
        };
        loop {
            let notified = self.changed.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            {
                let mut state = self.lock();
                if let Some(&(head, class)) = state.queue.front()
                    && head == ticket
                    && self.may_start(&state, class)
                {
                    state.queue.pop_front();
                    start(&mut state, class);
                    drop(state);
                    self.changed.notify_waiters();
                    return Admission {
                        schedule: Arc::clone(self),
                        class,
                    };
                }
            }
            notified.await;
        }
    }

    async fn admit_unplanned(self: &Arc<Self>) -> Admission {
        loop {
            let notified = self.changed.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            {
                let mut state = self.lock();
                if self.may_start(&state, Class::Ordinary) {
                    start(&mut state, Class::Ordinary);
                    return Admission {
                        schedule: Arc::clone(self),
                        class: Class::Ordinary,
                    };
                }
            }
            notified.await;
        }
    }

    fn may_start(&self, state: &State, class: Class) -> bool {
        match class {
            Class::Slow => state.running < self.capacity,
            Class::Serial => state.running_serial == 0 && state.running_ordinary == 0,
            Class::Ordinary => state.running_serial == 0 && state.running < self.capacity,
        }
    }

    fn finish(&self, class: Class) {
        {
            let mut state = self.lock();
            state.running -= 1;
            match class {
                Class::Serial => state.running_serial -= 1,
                Class::Ordinary => state.running_ordinary -= 1,
                Class::Slow => {}
            }
        }
        self.changed.notify_waiters();
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

fn start(state: &mut State, class: Class) {
    state.running += 1;
    match class {
        Class::Serial => state.running_serial += 1,
        Class::Ordinary => state.running_ordinary += 1,
        Class::Slow => {}
    }
}

/// A running scenario's place; dropping it lets the next one start.
#[derive(Debug)]
pub struct Admission {
    schedule: Arc<Schedule>,
    class: Class,
}

impl Drop for Admission {
    fn drop(&mut self) {
        self.schedule.finish(self.class);
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn key(n: usize) -> ScenarioKey {
        ("f.feature".into(), n, format!("s{n}"))
    }

    /// Runs the plan with each scenario taking `ms` and answers (start, end) per scenario in ms.
    async fn simulate(plan: &[(Class, u64)], capacity: usize) -> Vec<(u64, u64)> {
        let schedule = Schedule::new(
            plan.iter()
                .enumerate()
                .map(|(i, (class, _))| (key(i), *class))
                .collect(),
            capacity,
        );
        let begin = tokio::time::Instant::now();
        let tasks: Vec<_> = plan
            .iter()
            .enumerate()
            .map(|(i, (_, ms))| {
                let schedule = Arc::clone(&schedule);
                let ms = *ms;
                tokio::spawn(async move {
                    let admission = schedule.admit(&key(i)).await;
                    let started = begin.elapsed().as_millis() as u64;
                    tokio::time::sleep(Duration::from_millis(ms)).await;
                    drop(admission);
                    (started, begin.elapsed().as_millis() as u64)
                })
            })
            .collect();
        let mut out = Vec::new();
        for task in tasks {
            out.push(task.await.expect("no panic"));
        }
        out
    }

    #[tokio::test(start_paused = true)]
    async fn a_slow_scenario_overlaps_the_serial_ones_and_serial_ones_run_alone() {
        // In feature order: ordinary, serial, slow, ordinary, serial.
        let plan = [
            (Class::Ordinary, 100),
            (Class::Serial, 300),
            (Class::Slow, 3000),
            (Class::Ordinary, 100),
            (Class::Serial, 300),
        ];
        let spans = simulate(&plan, 16).await;
        let whole = spans.iter().map(|s| s.1).max().unwrap_or(0);
        // The suite takes the slow scenario's time, not the sum (3800 ms).
        assert!(whole <= 3010, "{spans:?}");
        assert_eq!(spans[2].0, 0, "the slow scenario starts first: {spans:?}");
        // Serial scenarios never overlap each other or an ordinary one.
        let serial = [spans[1], spans[4]];
        let ordinary = [spans[0], spans[3]];
        let overlap = |a: (u64, u64), b: (u64, u64)| a.0 < b.1 && b.0 < a.1;
        assert!(!overlap(serial[0], serial[1]), "{spans:?}");
        for s in serial {
            for o in ordinary {
                assert!(!overlap(s, o), "{spans:?}");
            }
        }
    }

    #[tokio::test(start_paused = true)]
    async fn ordinary_scenarios_respect_the_capacity() {
        let plan = [(Class::Ordinary, 100); 6];
        let spans = simulate(&plan, 2).await;
        let whole = spans.iter().map(|s| s.1).max().unwrap_or(0);
        assert!((300..310).contains(&whole), "{spans:?}");
    }
}
