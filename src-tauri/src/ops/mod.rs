//! The orchestration the commands adapt: small sequences of engine calls, written once
//! here (as the CLI writes its own), testable without a window. Each takes the session
//! and, for long work, a callback that the command turns into events.

pub mod audit;
pub mod baseline;
pub mod creds;
pub mod discover;
pub mod history;
pub mod inventory;
pub mod plan;
pub mod report;
pub mod views;
