//! Portcullis engine. This first cut holds the data-directory rule and the inventory
//! file format; discovery, drivers, audit, hardening, history and reports arrive with
//! their issues (see ARCHITECTURE.md).

pub mod inventory;
pub mod paths;
