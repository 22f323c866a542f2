//! The three future-event sets agree with each other and with a sorted reference.

use mitid_sim::kernel::{
    BinaryHeapQueue, EventInPast, FutureEventSet, QuaternaryHeap, RadixEventQueue, SimTime,
};
use proptest::prelude::*;

#[derive(Debug, Clone)]
enum Op {
    Push(u64),
    Pop,
}

fn ops() -> impl Strategy<Value = Vec<Op>> {
    prop::collection::vec(
        prop_oneof![
            3 => (0u64..1_000).prop_map(Op::Push),
            1 => (0u64..(1 << 40)).prop_map(Op::Push),
            3 => Just(Op::Pop),
        ],
        0..400,
    )
}

/// Runs `ops` (pushes are offsets from the last popped time, keeping them legal) and returns
/// what was popped, then drains.
fn run<Q: FutureEventSet<u32>>(mut q: Q, ops: &[Op]) -> Vec<(u64, u32)> {
    let mut out = Vec::new();
    let mut last = 0u64;
    let mut id = 0;
    for op in ops {
        match op {
            Op::Push(offset) => {
                q.push(SimTime::from_millis(last + offset), id).unwrap();
                id += 1;
            }
            Op::Pop => {
                let peeked = q.peek_time();
                if let Some((t, e)) = q.pop() {
                    assert_eq!(peeked, Some(t), "peek_time must announce the next pop");
                    last = t.as_millis();
                    out.push((last, e));
                }
            }
        }
    }
    while let Some((t, e)) = q.pop() {
        out.push((t.as_millis(), e));
    }
    assert!(q.is_empty());
    out
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn implementations_agree(ops in ops()) {
        let radix = run(RadixEventQueue::new(), &ops);
        let quad = run(QuaternaryHeap::new(), &ops);
        let binary = run(BinaryHeapQueue::new(), &ops);
        prop_assert_eq!(&radix, &quad, "ops: {:?}", ops);
        prop_assert_eq!(&radix, &binary, "ops: {:?}", ops);
        for pair in radix.windows(2) {
            prop_assert!(pair[0].0 < pair[1].0 || (pair[0].0 == pair[1].0 && pair[0].1 < pair[1].1),
                "order broken at {:?}; ops {:?}", pair, ops);
        }
    }
}

#[test]
fn every_queue_refuses_a_push_before_the_last_pop() {
    fn check<Q: FutureEventSet<u8>>(mut q: Q, name: &str) {
        q.push(SimTime::from_millis(100), 1).unwrap();
        q.push(SimTime::from_millis(200), 2).unwrap();
        assert_eq!(q.pop(), Some((SimTime::from_millis(100), 1)), "{name}");
        let err = q.push(SimTime::from_millis(99), 3).unwrap_err();
        assert_eq!(
            err,
            EventInPast {
                at: SimTime::from_millis(99),
                last: SimTime::from_millis(100)
            },
            "{name}"
        );
        assert_eq!(q.len(), 1, "{name}: refused push must not be queued");
        q.push(SimTime::from_millis(100), 4).unwrap();
        assert_eq!(q.pop(), Some((SimTime::from_millis(100), 4)), "{name}");
    }
    check(RadixEventQueue::new(), "radix");
    check(QuaternaryHeap::new(), "4-ary heap");
    check(BinaryHeapQueue::new(), "binary heap");
}
