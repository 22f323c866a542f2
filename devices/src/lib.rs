//! # mitid-devices — MitID and NemID authenticators as state machines with real crypto
//!
//! (doc tour written with the crate)
