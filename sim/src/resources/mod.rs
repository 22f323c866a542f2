//! Passive resources a model drives from its events: a multi-server FCFS queue with
//! abandonment, and on top of it a call centre with shifts; an appointment book with a booking
//! horizon and no-shows. None of them schedules events or draws random numbers itself except
//! where a stream is passed in, so they work with any model's event type and stay
//! deterministic.

pub mod multi_server;

pub use multi_server::{Abandoned, MultiServerQueue, Started};
