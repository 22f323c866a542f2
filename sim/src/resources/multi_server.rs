//! A first-come-first-served queue in front of `c` identical servers, with optional
//! abandonment (each waiting customer leaves once their patience runs out).
//!
//! The queue is passive: it never schedules anything. The model tells it when a customer
//! arrives and when a server finishes, and schedules the service completions it is told about.
//! That keeps it independent of the model's event type and usable from any model.
//!
//! Abandonment is resolved lazily and exactly: a waiting customer carries a deadline
//! (arrival + patience). When a server frees up, customers at the head whose deadline has
//! passed are reported as abandoned (at their deadline) and skipped. Under FCFS this gives the
//! same service start for everybody as removing them at the deadline would — nobody behind
//! them is served earlier or later — without an event per customer. The queue-length
//! statistic is corrected back to the deadline when an abandonment is discovered; until then
//! [`MultiServerQueue::waiting`] still counts customers who have already given up (call
//! [`MultiServerQueue::purge_expired`] first where the exact current length matters).

use std::collections::VecDeque;

use crate::kernel::{SimDuration, SimTime};
use crate::stats::TimeWeighted;

/// A customer who got a server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Started<C> {
    /// The customer.
    pub customer: C,
    /// When they arrived.
    pub arrived: SimTime,
    /// How long they waited in the queue.
    pub waited: SimDuration,
}

/// A customer who gave up waiting.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Abandoned<C> {
    /// The customer.
    pub customer: C,
    /// When they arrived.
    pub arrived: SimTime,
    /// When they left (arrival + patience).
    pub left: SimTime,
}

#[derive(Debug, Clone)]
struct Waiting<C> {
    customer: C,
    arrived: SimTime,
    deadline: SimTime,
}

/// FCFS queue with `servers` identical servers. See the module docs.
#[derive(Debug, Clone)]
pub struct MultiServerQueue<C> {
    servers: u32,
    busy: u32,
    waiting: VecDeque<Waiting<C>>,
    busy_servers: TimeWeighted,
    queue_length: TimeWeighted,
}

impl<C> MultiServerQueue<C> {
    /// An empty queue with `servers` servers, observed from `start`.
    #[must_use]
    pub fn new(start: SimTime, servers: u32) -> Self {
        MultiServerQueue {
            servers,
            busy: 0,
            waiting: VecDeque::new(),
            busy_servers: TimeWeighted::new(start, 0.0),
            queue_length: TimeWeighted::new(start, 0.0),
        }
    }

    /// A customer arrives at `now` with the given patience (`None`: waits forever).
    /// Returns the customer back if a server is free and service starts now (the caller
    /// schedules its completion); otherwise the customer joins the queue and `None` is returned.
    #[inline]
    pub fn arrive(
        &mut self,
        now: SimTime,
        customer: C,
        patience: Option<SimDuration>,
    ) -> Option<C> {
        if self.busy < self.servers {
            self.busy += 1;
            self.busy_servers.set(now, f64::from(self.busy));
            return Some(customer);
        }
        let deadline = patience.map_or(SimTime::MAX, |p| now + p);
        self.waiting.push_back(Waiting {
            customer,
            arrived: now,
            deadline,
        });
        self.queue_length.set(now, self.waiting.len() as f64);
        None
    }

    /// A server finishes at `now`. Abandoned customers at the head are passed to `on_abandon`;
    /// the next patient customer, if any, takes the server and is returned.
    #[inline]
    pub fn release(
        &mut self,
        now: SimTime,
        mut on_abandon: impl FnMut(Abandoned<C>),
    ) -> Option<Started<C>> {
        debug_assert!(self.busy > 0, "release without a busy server");
        self.busy = self.busy.saturating_sub(1);
        let started = if self.busy < self.servers {
            self.take_next(now, &mut on_abandon)
        } else {
            None
        };
        if started.is_some() {
            self.busy += 1;
        }
        self.busy_servers.set(now, f64::from(self.busy));
        started
    }

    fn take_next(
        &mut self,
        now: SimTime,
        on_abandon: &mut impl FnMut(Abandoned<C>),
    ) -> Option<Started<C>> {
        while let Some(w) = self.waiting.pop_front() {
            if w.deadline < now {
                self.queue_length.backdate_change(now, w.deadline, -1.0);
                on_abandon(Abandoned {
                    customer: w.customer,
                    arrived: w.arrived,
                    left: w.deadline,
                });
            } else {
                self.queue_length.set(now, self.waiting.len() as f64);
                return Some(Started {
                    customer: w.customer,
                    arrived: w.arrived,
                    waited: now - w.arrived,
                });
            }
        }
        None
    }

    /// Changes the number of servers at `now` (a shift change). More servers start serving
    /// waiting customers at once (returned, in queue order); fewer servers take effect as
    /// busy ones finish — nobody is interrupted.
    pub fn set_servers(
        &mut self,
        now: SimTime,
        servers: u32,
        mut on_abandon: impl FnMut(Abandoned<C>),
    ) -> Vec<Started<C>> {
        self.servers = servers;
        let mut started = Vec::new();
        while self.busy < self.servers {
            match self.take_next(now, &mut on_abandon) {
                Some(s) => {
                    self.busy += 1;
                    started.push(s);
                }
                None => break,
            }
        }
        self.busy_servers.set(now, f64::from(self.busy));
        started
    }

    /// Removes every waiting customer whose patience has run out by `now` (not only those at
    /// the head), reporting them in queue order.
    pub fn purge_expired(&mut self, now: SimTime, mut on_abandon: impl FnMut(Abandoned<C>)) {
        if !self.waiting.iter().any(|w| w.deadline < now) {
            return;
        }
        let mut kept = VecDeque::with_capacity(self.waiting.len());
        for w in self.waiting.drain(..) {
            if w.deadline < now {
                self.queue_length.backdate_change(now, w.deadline, -1.0);
                on_abandon(Abandoned {
                    customer: w.customer,
                    arrived: w.arrived,
                    left: w.deadline,
                });
            } else {
                kept.push_back(w);
            }
        }
        self.waiting = kept;
    }

    /// Restarts the time-weighted statistics at `now` (end of a warm-up period).
    pub fn restart_statistics(&mut self, now: SimTime) {
        self.busy_servers.restart(now);
        self.queue_length.restart(now);
    }

    /// Number of servers (current shift).
    #[must_use]
    pub fn servers(&self) -> u32 {
        self.servers
    }

    /// Servers currently serving (may exceed `servers` briefly after a shift shrinks).
    #[must_use]
    pub fn busy(&self) -> u32 {
        self.busy
    }

    /// Customers in the queue, including any whose patience ran out but who have not been
    /// discovered yet (see the module docs).
    #[must_use]
    pub fn waiting(&self) -> usize {
        self.waiting.len()
    }

    /// Time-weighted number of busy servers.
    #[must_use]
    pub fn busy_servers_stat(&self) -> &TimeWeighted {
        &self.busy_servers
    }

    /// Time-weighted queue length (corrected for abandonments once they are discovered).
    #[must_use]
    pub fn queue_length_stat(&self) -> &TimeWeighted {
        &self.queue_length
    }
}
