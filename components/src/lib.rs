//! # mitid-components — the lab's real services
//!
//! (doc tour written with the crate)
