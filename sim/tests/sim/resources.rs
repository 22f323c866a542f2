//! Passive resources: the multi-server queue (FCFS, abandonment, shifts).

use mitid_sim::kernel::{SimDuration, SimTime};
use mitid_sim::resources::{Abandoned, MultiServerQueue};

fn min(m: u64) -> SimTime {
    SimTime::EPOCH + SimDuration::from_minutes(m)
}

#[test]
fn customers_are_served_first_come_first_served() {
    let mut q = MultiServerQueue::new(min(0), 2);
    assert_eq!(q.arrive(min(0), 'a', None), Some('a'));
    assert_eq!(q.arrive(min(1), 'b', None), Some('b'));
    assert_eq!(q.arrive(min(2), 'c', None), None);
    assert_eq!(q.arrive(min(3), 'd', None), None);
    assert_eq!((q.busy(), q.waiting()), (2, 2));
    let next = q
        .release(min(5), |_| panic!("nobody is impatient"))
        .unwrap();
    assert_eq!(
        (next.customer, next.arrived, next.waited),
        ('c', min(2), SimDuration::from_minutes(3))
    );
    let next = q
        .release(min(6), |_| panic!("nobody is impatient"))
        .unwrap();
    assert_eq!(next.customer, 'd');
    assert!(q.release(min(7), |_| {}).is_none());
    assert_eq!((q.busy(), q.waiting()), (1, 0));
    // 1 busy for a minute, 2 from 1 to 7 (c and d took over as others left), then 1 until 8.
    let busy = q.busy_servers_stat().mean(min(8));
    assert!(
        (busy - (1.0 + 2.0 * 6.0 + 1.0) / 8.0).abs() < 1e-9,
        "busy mean {busy}"
    );
}

#[test]
fn impatient_customers_leave_at_their_deadline_without_delaying_others() {
    let mut q = MultiServerQueue::new(min(0), 1);
    assert!(q.arrive(min(0), 1, None).is_some());
    assert!(
        q.arrive(min(1), 2, Some(SimDuration::from_minutes(2)))
            .is_none()
    ); // gives up at 3
    assert!(
        q.arrive(min(2), 3, Some(SimDuration::from_minutes(30)))
            .is_none()
    );
    let mut gone: Vec<Abandoned<i32>> = Vec::new();
    let next = q.release(min(10), |a| gone.push(a)).unwrap();
    assert_eq!(next.customer, 3);
    assert_eq!(next.waited, SimDuration::from_minutes(8));
    assert_eq!(
        gone,
        [Abandoned {
            customer: 2,
            arrived: min(1),
            left: min(3)
        }]
    );
    // Queue length: 1 from 1 to 2 (customer 2), 2 from 2 to 3, 1 from 3 to 10 → ∫ = 1+2+7 = 10.
    let mean = q.queue_length_stat().mean(min(10));
    assert!(
        (mean - 1.0).abs() < 1e-9,
        "queue length mean {mean} (∫ should be 10 over 10 min)"
    );
}

#[test]
fn purge_removes_expired_customers_anywhere_in_the_queue() {
    let mut q = MultiServerQueue::new(min(0), 1);
    q.arrive(min(0), 0, None);
    q.arrive(min(0), 1, Some(SimDuration::from_minutes(60)));
    q.arrive(min(0), 2, Some(SimDuration::from_minutes(5)));
    q.arrive(min(0), 3, None);
    let mut gone = Vec::new();
    q.purge_expired(min(10), |a| gone.push(a.customer));
    assert_eq!(gone, [2]);
    assert_eq!(q.waiting(), 2);
}

#[test]
fn shift_changes_add_servers_at_once_and_remove_them_as_they_finish() {
    let mut q = MultiServerQueue::new(min(0), 1);
    q.arrive(min(0), 'a', None);
    q.arrive(min(1), 'b', None);
    q.arrive(min(2), 'c', None);
    let started = q.set_servers(min(3), 3, |_| {});
    let who: Vec<char> = started.iter().map(|s| s.customer).collect();
    assert_eq!(who, ['b', 'c']);
    assert_eq!(q.busy(), 3);
    // Down to one server: nobody is interrupted, and releases do not start new service
    // until only one is busy.
    assert!(q.set_servers(min(4), 1, |_| {}).is_empty());
    q.arrive(min(4), 'd', None);
    assert!(
        q.release(min(5), |_| {}).is_none(),
        "2 still busy on a 1-server shift"
    );
    assert!(
        q.release(min(6), |_| {}).is_none(),
        "1 busy on a 1-server shift"
    );
    assert_eq!(q.release(min(7), |_| {}).map(|s| s.customer), Some('d'));
}
