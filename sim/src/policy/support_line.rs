//! The MitID support line: agents per shift, one FIFO queue, impatient callers.
//!
//! Callers who are not answered within their patience hang up; the model decides whether they
//! redial. Abandonment is an event at the caller's deadline; a caller still in the queue at that
//! instant leaves, one already answered is not affected (the deadline is compared exactly, so a
//! later call by the same citizen is never mistaken for the old one). When a shift ends with
//! more agents busy than the next shift has, calls in progress are finished and no new ones are
//! started until the busy count falls below the new staffing.
//!
//! The kernel's call centre was not available when this model was written; this one is
//! specialised to the model's citizens (one open call per citizen, a reason code per call).

use std::collections::{HashMap, VecDeque};

use crate::kernel::SimTime;

/// One caller in the queue.
#[derive(Debug, Clone, Copy)]
struct QueuedCall {
    citizen: u32,
    arrival: SimTime,
    deadline: SimTime,
}

/// The support line's state.
#[derive(Debug, Clone, Default)]
pub struct SupportLine {
    /// Agents on duty now.
    capacity: u32,
    /// Agents on a call.
    busy: u32,
    queue: VecDeque<QueuedCall>,
    /// Citizens waiting: their abandonment deadline and the call's reason.
    waiting: HashMap<u32, (SimTime, u8)>,
}

/// What happened to an arriving call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallStart {
    /// An agent took it at once.
    Answered,
    /// The caller waits and hangs up at `deadline` unless answered before.
    Queued {
        /// When the caller's patience runs out.
        deadline: SimTime,
    },
}

impl SupportLine {
    /// A line with nobody on duty.
    #[must_use]
    pub fn new() -> Self {
        SupportLine::default()
    }

    /// Changes the number of agents on duty.
    pub fn set_agents(&mut self, agents: u32) {
        self.capacity = agents;
    }

    /// Whether an agent is free.
    #[must_use]
    pub fn has_free_agent(&self) -> bool {
        self.busy < self.capacity
    }

    /// Callers in the queue (including some who already hung up and are skipped lazily).
    #[must_use]
    pub fn queued(&self) -> usize {
        self.waiting.len()
    }

    /// A call from `citizen` arrives at `now`; `patience` is how long they would wait.
    pub fn arrive(
        &mut self,
        citizen: u32,
        reason: u8,
        now: SimTime,
        patience: crate::kernel::SimDuration,
    ) -> CallStart {
        if self.busy < self.capacity && self.waiting.is_empty() {
            self.busy += 1;
            return CallStart::Answered;
        }
        let deadline = now + patience;
        self.queue.push_back(QueuedCall {
            citizen,
            arrival: now,
            deadline,
        });
        self.waiting.insert(citizen, (deadline, reason));
        CallStart::Queued { deadline }
    }

    /// The caller's patience ran out at `now`: `Some(reason)` if they were still waiting.
    pub fn abandon(&mut self, citizen: u32, now: SimTime) -> Option<u8> {
        match self.waiting.get(&citizen) {
            Some(&(deadline, reason)) if deadline == now => {
                self.waiting.remove(&citizen);
                Some(reason)
            }
            _ => None,
        }
    }

    /// An agent finished a call.
    pub fn finish(&mut self) {
        self.busy = self.busy.saturating_sub(1);
    }

    /// If an agent is free and someone waits, answers the longest-waiting caller: returns the
    /// citizen, reason and time waited.
    pub fn answer_next(&mut self, now: SimTime) -> Option<(u32, u8, crate::kernel::SimDuration)> {
        if self.busy >= self.capacity {
            return None;
        }
        while let Some(call) = self.queue.pop_front() {
            match self.waiting.get(&call.citizen) {
                Some(&(deadline, reason)) if deadline == call.deadline => {
                    self.waiting.remove(&call.citizen);
                    self.busy += 1;
                    return Some((call.citizen, reason, now - call.arrival));
                }
                _ => {}
            }
        }
        None
    }
}
