//! Future-event sets: the pending events of a simulation, ordered by time then insertion order.
//!
//! Three implementations share the [`FutureEventSet`] trait so the benchmark
//! (`sim/benches/kernel.rs`) can compare them on the same hold-model workload:
//!
//! * [`RadixEventQueue`] — a monotone radix heap keyed by the event time. It is the kernel's
//!   choice ([`EventQueue`]): it needs no sequence number per event (16 bytes per entry with an
//!   8-byte payload, against 24 for the heaps) and was by far the fastest with 1 M and 10 M
//!   pending events. Figures below.
//! * [`QuaternaryHeap`] — a 4-ary implicit heap on `(time, sequence)`; shallower than a binary
//!   heap, so fewer cache misses per sift on large queues.
//! * [`BinaryHeapQueue`] — `std::collections::BinaryHeap` on `(time, sequence)`, the baseline.
//!
//! # Measured (hold model, `cargo bench -p mitid-sim --bench kernel`)
//!
//! Time per hold operation (pop the earliest, push a successor an exponential time with a mean
//! of one simulated hour later), criterion median, 8-byte payload, and bytes allocated per
//! pending event (capacity, so including `Vec` growth slack). Measured 2026-11-24 on the
//! shared 2-core machine while other helpers' builds ran, twice: run 1 at load average ~9–15,
//! run 2 at ~11. Absolute times are pessimistic and noisy; the ranking held in both runs.
//!
//! | pending | radix heap | 4-ary heap | binary heap (std) | bytes/event radix · heaps |
//! |---|---|---|---|---|
//! | 16 (run 1) | 0.45 µs | 0.44 µs | 0.21 µs | 360 · 24 |
//! | 1 M (run 1 / run 2) | **0.93 / 0.38 µs** | 6.2 / 2.5 µs | 7.2 / 5.0 µs | 33.8 · 25.2 |
//! | 10 M (run 1 / run 2) | **1.42 / 0.51 µs** | 4.8 / 3.2 µs | 16.8 / 13.0 µs | 25.4 · 40.3 |
//!
//! At millions of pending events the radix heap is 3–25× faster and at 10 M needs less
//! memory; the heaps only win when a handful of events are pending (the fixed 65 bucket
//! headers dominate there), which is why the small `kind: queue` model runs on the 4-ary heap
//! through [`super::Scheduler::with_queue`].
//!
//! # Ordering guarantees (all implementations)
//!
//! * `pop` returns events in non-decreasing time order.
//! * Events with equal times come out in the order they were pushed (FIFO), whatever happened
//!   in between.
//! * A push earlier than the time of the last popped event is refused with [`EventInPast`] and
//!   leaves the set unchanged (the radix heap depends on it; the heaps enforce it too so the
//!   implementations are interchangeable).

use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};

use super::time::SimTime;

/// A push earlier than the last popped event's time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("event at {at} is earlier than the last popped event at {last}")]
pub struct EventInPast {
    /// The refused event time.
    pub at: SimTime,
    /// The time of the last popped event.
    pub last: SimTime,
}

/// The pending events of a simulation. See the module docs for the ordering guarantees.
pub trait FutureEventSet<E> {
    /// Adds `event` at `time`; it will be popped after every pending event with an earlier time
    /// or with the same time pushed before it.
    fn push(&mut self, time: SimTime, event: E) -> Result<(), EventInPast>;
    /// Removes and returns the earliest pending event (the first pushed among equal times).
    fn pop(&mut self) -> Option<(SimTime, E)>;
    /// The time of the earliest pending event. Takes `&mut self` because the radix heap
    /// reorganises its buckets to find it (the result is the same as a `pop` would return).
    fn peek_time(&mut self) -> Option<SimTime>;
    /// Number of pending events.
    fn len(&self) -> usize;
    /// `true` when nothing is pending.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// The future-event set the kernel uses, chosen by measurement (see the module docs).
pub type EventQueue<E> = RadixEventQueue<E>;

// ---------------------------------------------------------------------------------------------
// Radix heap
// ---------------------------------------------------------------------------------------------

/// Number of buckets: bucket `i` (1..=64) holds events whose time differs from the last popped
/// time first in bit `i - 1`; events at exactly the last popped time live in `current`.
const RADIX_BUCKETS: usize = 65;

/// A monotone radix heap on event times (Ahuja, Mehlhorn, Orlin & Tarjan 1990).
///
/// Every pending time is at least `last`, the last popped time. An event sits in the bucket
/// named by the highest bit in which its time differs from `last`, so bucket `i` only holds
/// times below those of bucket `i + 1`. Events at exactly `last` wait in `current`, a FIFO
/// without their (known) times. When `current` is empty, the lowest non-empty bucket is
/// redistributed around its minimum: every event moves to a strictly lower bucket or to
/// `current` — at most 64 moves per event over its lifetime, in practice a handful.
///
/// FIFO among equal times without a sequence number: equal times always map to the same bucket;
/// pushes append and redistribution moves a bucket's events in order, so events with equal
/// times keep their push order, and `current` is consumed from the front.
#[derive(Debug)]
pub struct RadixEventQueue<E> {
    /// `buckets[0]` stays empty; indices match the differing bit plus one.
    buckets: Vec<Vec<(u64, E)>>,
    current: VecDeque<E>,
    /// Bit `i` set when `buckets[i]` is non-empty: finds the lowest one in one instruction.
    occupied: u128,
    last: u64,
    len: usize,
}

impl<E> Default for RadixEventQueue<E> {
    fn default() -> Self {
        Self::new()
    }
}

impl<E> RadixEventQueue<E> {
    /// An empty queue whose clock starts at the epoch.
    #[must_use]
    pub fn new() -> Self {
        RadixEventQueue {
            buckets: (0..RADIX_BUCKETS).map(|_| Vec::new()).collect(),
            current: VecDeque::new(),
            occupied: 0,
            last: 0,
            len: 0,
        }
    }

    /// Bytes held by the queue's allocations (capacity, not length): the bench reports it per
    /// pending event.
    #[must_use]
    pub fn allocated_bytes(&self) -> usize {
        let per_bucket = std::mem::size_of::<(u64, E)>();
        self.buckets
            .iter()
            .map(|b| b.capacity() * per_bucket)
            .sum::<usize>()
            + self.current.capacity() * std::mem::size_of::<E>()
            + self.buckets.capacity() * std::mem::size_of::<Vec<(u64, E)>>()
    }

    #[inline]
    fn bucket_of(&self, time: u64) -> usize {
        (64 - (time ^ self.last).leading_zeros()) as usize
    }

    /// Makes `current` hold the earliest events; returns `false` when the queue is empty.
    fn settle(&mut self) -> bool {
        if !self.current.is_empty() {
            return true;
        }
        if self.occupied == 0 {
            return false;
        }
        let source = self.occupied.trailing_zeros() as usize;
        self.occupied &= !(1u128 << source);
        if self.buckets[source].len() == 1 {
            // Common when few events are pending: no redistribution needed.
            if let Some((time, event)) = self.buckets[source].pop() {
                self.last = time;
                self.current.push_back(event);
            }
            return true;
        }
        let mut moving = std::mem::take(&mut self.buckets[source]);
        self.last = moving.iter().map(|(t, _)| *t).min().unwrap_or(self.last);
        for (time, event) in moving.drain(..) {
            if time == self.last {
                self.current.push_back(event);
            } else {
                let target = self.bucket_of(time);
                debug_assert!(target < source);
                self.buckets[target].push((time, event));
                self.occupied |= 1u128 << target;
            }
        }
        // Hand the allocation back so the bucket does not regrow from nothing next time.
        self.buckets[source] = moving;
        true
    }
}

impl<E> FutureEventSet<E> for RadixEventQueue<E> {
    #[inline]
    fn push(&mut self, time: SimTime, event: E) -> Result<(), EventInPast> {
        let t = time.as_millis();
        if t < self.last {
            return Err(EventInPast {
                at: time,
                last: SimTime::from_millis(self.last),
            });
        }
        if t == self.last {
            self.current.push_back(event);
        } else {
            let b = self.bucket_of(t);
            self.buckets[b].push((t, event));
            self.occupied |= 1u128 << b;
        }
        self.len += 1;
        Ok(())
    }

    #[inline]
    fn pop(&mut self) -> Option<(SimTime, E)> {
        if !self.settle() {
            return None;
        }
        let event = self.current.pop_front()?;
        self.len -= 1;
        Some((SimTime::from_millis(self.last), event))
    }

    fn peek_time(&mut self) -> Option<SimTime> {
        if self.settle() {
            Some(SimTime::from_millis(self.last))
        } else {
            None
        }
    }

    fn len(&self) -> usize {
        self.len
    }
}

// ---------------------------------------------------------------------------------------------
// 4-ary heap
// ---------------------------------------------------------------------------------------------

#[derive(Debug)]
struct HeapEntry<E> {
    time: u64,
    seq: u64,
    event: E,
}

impl<E> HeapEntry<E> {
    /// `(time, seq)` as one integer: one comparison instead of two.
    #[inline]
    fn key(&self) -> u128 {
        (u128::from(self.time) << 64) | u128::from(self.seq)
    }
}

/// A 4-ary implicit min-heap on `(time, insertion sequence)`.
#[derive(Debug)]
pub struct QuaternaryHeap<E> {
    entries: Vec<HeapEntry<E>>,
    next_seq: u64,
    last: u64,
}

impl<E> Default for QuaternaryHeap<E> {
    fn default() -> Self {
        Self::new()
    }
}

impl<E> QuaternaryHeap<E> {
    /// An empty heap.
    #[must_use]
    pub fn new() -> Self {
        QuaternaryHeap {
            entries: Vec::new(),
            next_seq: 0,
            last: 0,
        }
    }

    /// Bytes held by the heap's allocation (capacity, not length).
    #[must_use]
    pub fn allocated_bytes(&self) -> usize {
        self.entries.capacity() * std::mem::size_of::<HeapEntry<E>>()
    }

    #[inline]
    fn sift_up(&mut self, mut i: usize) {
        let entries = &mut self.entries;
        while i > 0 {
            let parent = (i - 1) / 4;
            if entries[i].key() < entries[parent].key() {
                entries.swap(i, parent);
                i = parent;
            } else {
                break;
            }
        }
    }

    #[inline]
    fn sift_down(&mut self, mut i: usize) {
        let entries = &mut self.entries;
        let n = entries.len();
        loop {
            let first = 4 * i + 1;
            if first >= n {
                break;
            }
            let end = (first + 4).min(n);
            let mut best = first;
            for c in first + 1..end {
                if entries[c].key() < entries[best].key() {
                    best = c;
                }
            }
            if entries[best].key() < entries[i].key() {
                entries.swap(i, best);
                i = best;
            } else {
                break;
            }
        }
    }
}

impl<E> FutureEventSet<E> for QuaternaryHeap<E> {
    #[inline]
    fn push(&mut self, time: SimTime, event: E) -> Result<(), EventInPast> {
        let t = time.as_millis();
        if t < self.last {
            return Err(EventInPast {
                at: time,
                last: SimTime::from_millis(self.last),
            });
        }
        let seq = self.next_seq;
        self.next_seq += 1;
        self.entries.push(HeapEntry {
            time: t,
            seq,
            event,
        });
        let i = self.entries.len() - 1;
        self.sift_up(i);
        Ok(())
    }

    #[inline]
    fn pop(&mut self) -> Option<(SimTime, E)> {
        if self.entries.is_empty() {
            return None;
        }
        let top = self.entries.swap_remove(0);
        if !self.entries.is_empty() {
            self.sift_down(0);
        }
        self.last = top.time;
        Some((SimTime::from_millis(top.time), top.event))
    }

    fn peek_time(&mut self) -> Option<SimTime> {
        self.entries.first().map(|e| SimTime::from_millis(e.time))
    }

    fn len(&self) -> usize {
        self.entries.len()
    }
}

// ---------------------------------------------------------------------------------------------
// std BinaryHeap baseline
// ---------------------------------------------------------------------------------------------

/// Orders by `(time, seq)` only, so the payload needs no `Ord`.
#[derive(Debug)]
struct Keyed<E>(u64, u64, E);

impl<E> PartialEq for Keyed<E> {
    fn eq(&self, other: &Self) -> bool {
        (self.0, self.1) == (other.0, other.1)
    }
}
impl<E> Eq for Keyed<E> {}
impl<E> PartialOrd for Keyed<E> {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl<E> Ord for Keyed<E> {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        (self.0, self.1).cmp(&(other.0, other.1))
    }
}

/// `std::collections::BinaryHeap` on `(time, insertion sequence)`: the baseline in the bench.
#[derive(Debug)]
pub struct BinaryHeapQueue<E> {
    heap: BinaryHeap<Reverse<Keyed<E>>>,
    next_seq: u64,
    last: u64,
}

impl<E> Default for BinaryHeapQueue<E> {
    fn default() -> Self {
        Self::new()
    }
}

impl<E> BinaryHeapQueue<E> {
    /// An empty heap.
    #[must_use]
    pub fn new() -> Self {
        BinaryHeapQueue {
            heap: BinaryHeap::new(),
            next_seq: 0,
            last: 0,
        }
    }

    /// Bytes held by the heap's allocation (capacity, not length).
    #[must_use]
    pub fn allocated_bytes(&self) -> usize {
        self.heap.capacity() * std::mem::size_of::<Reverse<Keyed<E>>>()
    }
}

impl<E> FutureEventSet<E> for BinaryHeapQueue<E> {
    fn push(&mut self, time: SimTime, event: E) -> Result<(), EventInPast> {
        let t = time.as_millis();
        if t < self.last {
            return Err(EventInPast {
                at: time,
                last: SimTime::from_millis(self.last),
            });
        }
        let seq = self.next_seq;
        self.next_seq += 1;
        self.heap.push(Reverse(Keyed(t, seq, event)));
        Ok(())
    }

    fn pop(&mut self) -> Option<(SimTime, E)> {
        let Reverse(Keyed(t, _, e)) = self.heap.pop()?;
        self.last = t;
        Some((SimTime::from_millis(t), e))
    }

    fn peek_time(&mut self) -> Option<SimTime> {
        self.heap.peek().map(|Reverse(k)| SimTime::from_millis(k.0))
    }

    fn len(&self) -> usize {
        self.heap.len()
    }
}
