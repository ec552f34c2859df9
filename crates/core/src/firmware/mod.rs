//! Firmware as a managed part of hardening: the library of images the operator added
//! ([`library`]), what an image says about itself ([`header`]), and which image, if
//! any, a device should be upgraded to ([`choose`]). The upgrade itself is a plan step
//! (`Phase::Firmware`) run by `apply`, a canary first.

pub mod choose;
pub mod header;
pub mod library;

pub use choose::{decide, Decision, Minimum};
pub use library::{Added, Given, Image, Library};
