//! Passive resources a model drives from its events: a multi-server FCFS queue with
//! abandonment, a call centre with shifts built on it, and an appointment book with a booking
//! horizon and no-shows. None of them schedules events or draws random numbers itself except
//! where a stream is passed in, so they work with any model's event type and stay
//! deterministic.

pub mod appointment_book;
pub mod calendar;
pub mod call_centre;
pub mod multi_server;

pub use appointment_book::{
    Appointment, AppointmentBook, AppointmentBookConfig, AppointmentBookError, BookingRefused,
};
pub use calendar::{ScheduleShapeError, ShiftPlan, Weekday, WeeklyHours};
pub use call_centre::CallCentre;
pub use multi_server::{Abandoned, MultiServerQueue, Started};
