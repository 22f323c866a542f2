//! Integration tests of mitid-devices, one module per behaviour. Every assertion message prints
//! its inputs (seed, times, codes) so a failure can be reproduced.

// Test helpers panic by design, and short names (p for policy, b for binding) keep the
// step-by-step lifecycle tests readable.
#![allow(clippy::missing_panics_doc, clippy::many_single_char_names)]

mod app;
mod assurance;
mod chip;
mod code_token;
mod eligibility;
mod lockout;
mod nemid;
mod pcode;
mod rfc_vectors;
mod serde_and_debug;
mod speech;
mod workdays;

use mitid_devices::rand_core::SeedableRng;
use mitid_devices::{DeviceRng, Timestamp};

/// A deterministic RNG for a test seed.
#[must_use]
pub fn rng(seed: u64) -> DeviceRng {
    DeviceRng::seed_from_u64(seed)
}

/// Midnight UTC of a date.
#[must_use]
pub fn day(y: i32, m: u32, d: u32) -> Timestamp {
    Timestamp::from_ymd(y, m, d)
}

/// Serialises to JSON and back, asserting equality; returns the JSON.
pub fn round_trip<T>(value: &T) -> String
where
    T: serde::Serialize + serde::de::DeserializeOwned + PartialEq + std::fmt::Debug,
{
    let json = serde_json::to_string(value).expect("serialises");
    let back: T = serde_json::from_str(&json)
        .unwrap_or_else(|e| panic!("does not deserialise: {e}\njson: {json}"));
    assert_eq!(&back, value, "round trip changed the value; json: {json}");
    json
}
