//! Finding devices. `wsd` is the pure WS-Discovery codec; `probe` sends and listens.

pub mod probe;
pub mod runner;
pub mod sadp;
pub mod wsd;
