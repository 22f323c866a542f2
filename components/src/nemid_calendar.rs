//! The NemID phase-out calendar (`fixtures/nemid-calendar.yaml`), loaded by the fixtures crate:
//! one loader for every crate that needs the dates. Re-exported here so the components keep
//! naming it `crate::nemid_calendar`.

pub use mitid_fixtures::nemid_calendar::*;
