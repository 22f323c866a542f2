//! # mitid-sim — discrete-event simulation of MitID adoption and the NemID shutdown
//!
//! (doc tour written with the crate)
