//! The discrete-event kernel: virtual time, the future-event set, the scheduler and seeded
//! random streams. See [`scheduler`] for the ordering guarantees every model relies on.

pub mod day_scheduler;
pub mod event_queue;
pub mod random;
pub mod scheduler;
pub mod time;

pub use day_scheduler::DayScheduler;
pub use event_queue::{
    BinaryHeapQueue, EventInPast, EventQueue, FutureEventSet, QuaternaryHeap, RadixEventQueue,
};
pub use random::{RandomStream, RandomStreams};
pub use scheduler::{ScheduleError, Scheduler};
pub use time::{
    MILLIS_PER_DAY, MILLIS_PER_HOUR, MILLIS_PER_MINUTE, MILLIS_PER_SECOND, SimDuration, SimTime,
};
