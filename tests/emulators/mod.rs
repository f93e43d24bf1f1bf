//! HTTP emulators of the outside systems, started by the tests on loopback.

#![allow(
    dead_code,
    reason = "each test binary uses the emulators it needs, not every helper"
)]

pub mod advoware;
pub mod google;
