//! # IdP / MitID broker (being built)
//!
//! The identity admin API types are in [`admin`]; its contract is `ADMIN_API.md` beside this file.

pub mod admin;
