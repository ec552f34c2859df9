//! Portcullis engine: discovery, protocol drivers, baselines and audit. Hardening,
//! history and reports arrive with their issues (see ARCHITECTURE.md).
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used))]

pub mod advisories;
pub mod apply;
pub mod audit;
pub mod backups;
pub mod baseline;
pub mod canonical;
pub mod certs;
pub mod discover;
pub mod driver;
pub mod error;
pub mod files;
pub mod firmware;
pub mod handover;
pub mod history;
pub mod inventory;
pub mod paths;
pub mod plan;
pub mod posture;
pub mod secret;
pub mod setting;
pub mod site;
pub mod snapshots;
pub mod tasks;
pub mod vault;
pub mod workspace;
pub mod xml;
