//! Tallies, time-weighted means, histograms and batch-means intervals.

use mitid_sim::kernel::RandomStreams;
use mitid_sim::kernel::{SimDuration, SimTime};
use mitid_sim::stats::{BatchMeans, DailyCounter, Histogram, Tally, TimeWeighted, student_t_975};

#[test]
fn time_weighted_mean_weights_by_duration() {
    let h = |x: u64| SimTime::EPOCH + SimDuration::from_hours(x);
    let mut tw = TimeWeighted::new(h(0), 0.0);
    tw.set(h(1), 4.0); // 0 for 1 h
    tw.set(h(3), 1.0); // 4 for 2 h
    // 1 for 1 h up to h(4): (0 + 8 + 1) / 4
    assert!(
        (tw.mean(h(4)) - 9.0 / 4.0).abs() < 1e-12,
        "mean {}",
        tw.mean(h(4))
    );
    assert!((tw.integral_hours(h(4)) - 9.0).abs() < 1e-12);
    assert!((tw.max() - 4.0).abs() < f64::EPSILON, "max {}", tw.max());
    tw.restart(h(4));
    tw.add(h(5), 2.0); // 1 for 1 h, then 3
    assert!(
        (tw.mean(h(6)) - 2.0).abs() < 1e-12,
        "after restart {}",
        tw.mean(h(6))
    );
    // A change discovered late is corrected back to when it happened.
    tw.backdate_change(h(7), h(6), -3.0); // really 0 from h(6)
    assert!(
        (tw.mean(h(7)) - 4.0 / 3.0).abs() < 1e-12,
        "backdated {}",
        tw.mean(h(7))
    );
}

#[test]
fn tally_merge_equals_recording_everything_in_one() {
    let mut rng = RandomStreams::new(3).stream("tally");
    let xs: Vec<f64> = (0..1000).map(|_| rng.normal(5.0, 3.0)).collect();
    let mut whole = Tally::new();
    for &x in &xs {
        whole.record(x);
    }
    let (mut a, mut b) = (Tally::new(), Tally::new());
    for &x in &xs[..300] {
        a.record(x);
    }
    for &x in &xs[300..] {
        b.record(x);
    }
    a.merge(&b);
    assert_eq!(a.count(), whole.count());
    assert!((a.mean().unwrap() - whole.mean().unwrap()).abs() < 1e-12);
    assert!((a.variance().unwrap() - whole.variance().unwrap()).abs() < 1e-9);
    assert_eq!(a.min(), whole.min());
    assert_eq!(a.max(), whole.max());
    assert_eq!(Tally::new().mean(), None);
}

#[test]
fn histogram_quantiles_are_within_the_bucket_precision() {
    let mut rng = RandomStreams::new(11).stream("histogram");
    let mut values: Vec<u64> = (0..50_000)
        .map(|_| rng.exponential(600_000.0) as u64)
        .collect();
    let mut h = Histogram::new();
    for &v in &values {
        h.record(v);
    }
    values.sort_unstable();
    for q in [0.01, 0.5, 0.9, 0.99, 1.0] {
        let exact = values[((q * values.len() as f64).ceil() as usize).clamp(1, values.len()) - 1];
        let got = h.quantile(q).unwrap();
        let err = (got as f64 - exact as f64).abs();
        assert!(
            err <= exact as f64 / 128.0 + 1.0,
            "q={q}: histogram {got}, exact {exact}"
        );
    }
    assert_eq!(h.max(), values.last().copied());
    assert_eq!(h.min(), values.first().copied());
    assert_eq!(Histogram::new().quantile(0.5), None);
}

#[test]
fn histogram_merge_equals_recording_everything_in_one() {
    let mut whole = Histogram::new();
    let mut parts = [Histogram::new(), Histogram::new(), Histogram::new()];
    for v in 0..30_000u64 {
        let x = v * v % 1_000_003;
        whole.record(x);
        parts[(v % 3) as usize].record(x);
    }
    let mut merged = Histogram::new();
    for p in &parts {
        merged.merge(p);
    }
    assert_eq!(merged, whole);
}

#[test]
fn daily_counter_counts_and_merges() {
    let mut a = DailyCounter::new();
    a.add(0, 2);
    a.add(3, 5);
    let mut b = DailyCounter::new();
    b.add(5, 1);
    b.add(3, 1);
    a.merge(&b);
    assert_eq!(a.days(), &[2, 0, 0, 6, 0, 1]);
    assert_eq!(a.total(), 9);
    assert_eq!(a.on(100), 0);
}

#[test]
fn student_t_quantiles_match_tables() {
    // Two-sided 95 % critical values from standard t tables.
    for (df, table) in [
        (5u64, 2.571),
        (10, 2.228),
        (19, 2.093),
        (30, 2.042),
        (100, 1.984),
    ] {
        let got = student_t_975(df);
        assert!(
            (got - table).abs() < 2e-3,
            "t(0.975, {df}) = {got}, table {table}"
        );
    }
}

#[test]
fn batch_means_interval_covers_the_mean_of_an_ar1_series() {
    // AR(1) with strong correlation: the naive interval would be far too narrow.
    let mut rng = RandomStreams::new(5).stream("ar1");
    let mut bm = BatchMeans::new(20);
    let mut x = 0.0;
    for _ in 0..200_000 {
        x = 0.9 * x + rng.normal(0.0, 1.0);
        bm.record(10.0 + x);
    }
    let ci = bm.interval().unwrap();
    assert!(
        ci.contains(10.0),
        "interval {ci:?} misses the true mean 10 (seed 5)"
    );
    assert!((20..40).contains(&ci.batches), "{ci:?}");
    assert!(ci.half_width > 0.0 && ci.half_width < 0.5, "{ci:?}");
    assert_eq!(BatchMeans::new(20).interval(), None);
}
