//! Future-event set benchmark: the classic hold model (pop the earliest event, push one a
//! random exponential time later, so the number pending stays constant) with 16, 1 M and
//! 10 M pending events, for the radix heap, the 4-ary heap and `std`'s binary heap, with an
//! 8-byte payload like a model's event enum. Also prints the bytes allocated per pending
//! event for each.
//!
//! `CARGO_TARGET_DIR=... cargo bench -p mitid-sim --bench kernel`
//! (`-- radix` etc. filters; `MITID_BENCH_SIZES=16,1000000` picks the sizes).

use std::hint::black_box;
use std::time::Duration;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use mitid_sim::kernel::{
    BinaryHeapQueue, FutureEventSet, QuaternaryHeap, RadixEventQueue, RandomStream, RandomStreams,
    SimTime,
};

/// Hold operations per measured iteration.
const HOLDS: u64 = 10_000;
/// Mean gap between an event's pop and its successor: one simulated hour in milliseconds,
/// similar to the spread of a population model's pending events relative to its clock.
const MEAN_GAP_MS: f64 = 3_600_000.0;

fn sizes() -> Vec<usize> {
    std::env::var("MITID_BENCH_SIZES").ok().map_or_else(
        || vec![16, 1_000_000, 10_000_000],
        |s| s.split(',').filter_map(|x| x.trim().parse().ok()).collect(),
    )
}

fn filled<Q: FutureEventSet<u64>>(mut q: Q, n: usize, rng: &mut RandomStream) -> Q {
    for i in 0..n {
        let t = SimTime::from_millis(rng.exponential(MEAN_GAP_MS) as u64);
        q.push(t, i as u64)
            .expect("pushes at or after the epoch are legal");
    }
    q
}

#[inline]
fn hold<Q: FutureEventSet<u64>>(q: &mut Q, rng: &mut RandomStream) {
    for _ in 0..HOLDS {
        let (t, e) = q.pop().expect("hold keeps the queue full");
        let next = t + rng.exponential_millis(MEAN_GAP_MS);
        q.push(next, e)
            .expect("successor is after the popped event");
    }
}

fn bench_one<Q: FutureEventSet<u64>>(
    c: &mut Criterion,
    name: &str,
    make: impl Fn() -> Q,
    bytes: impl Fn(&Q) -> usize,
) {
    let mut group = c.benchmark_group("hold");
    group.throughput(Throughput::Elements(HOLDS));
    group.sample_size(20);
    group.warm_up_time(Duration::from_secs(2));
    group.measurement_time(Duration::from_secs(6));
    for n in sizes() {
        let mut rng = RandomStreams::new(1).stream("bench/hold");
        let mut q = filled(make(), n, &mut rng);
        // Reach the steady state of the hold model before measuring.
        for _ in 0..(n / HOLDS as usize).clamp(1, 50) {
            hold(&mut q, &mut rng);
        }
        eprintln!(
            "{name}: {n} pending, {:.1} bytes allocated per pending event",
            bytes(&q) as f64 / q.len() as f64
        );
        group.bench_function(BenchmarkId::new(name, n), |b| {
            b.iter(|| hold(black_box(&mut q), &mut rng));
        });
    }
    group.finish();
}

fn event_queues(c: &mut Criterion) {
    bench_one(
        c,
        "radix",
        RadixEventQueue::<u64>::new,
        RadixEventQueue::allocated_bytes,
    );
    bench_one(
        c,
        "quaternary",
        QuaternaryHeap::<u64>::new,
        QuaternaryHeap::allocated_bytes,
    );
    bench_one(
        c,
        "binary",
        BinaryHeapQueue::<u64>::new,
        BinaryHeapQueue::allocated_bytes,
    );
}

criterion_group!(benches, event_queues);
criterion_main!(benches);
