//! What the commands adapt: the engine's tasks (`portcullis_core::tasks`) called with
//! the session's workspace, and their results turned into the IPC views of `dto`.
//! Testable without a window.

pub mod audit;
pub mod baseline;
pub mod creds;
pub mod discover;
pub mod firmware;
pub mod history;
pub mod inventory;
pub mod plan;
pub mod report;
pub mod views;
