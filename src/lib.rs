//! Rehearsal: rehearse a Greenhouse ↔ interview-orchestration (IOP) integration before go-live.
//!
//! The crate holds the real sync engine (`engine`), the vocabularies and clients of both sides
//! (`greenhouse`, `iop`), stateful mocks of both sides (`mock`), the scenario runner
//! (`scenario`) and its reports (`report`). `engine` depends only on `clock`, `timezone`,
//! `transport`, `greenhouse` and `iop`: it is the part that goes live.

pub mod cli;
pub mod clock;
pub mod engine;
pub mod explore;
pub mod greenhouse;
pub mod iop;
pub mod load;
pub mod mock;
mod pacing;
pub mod report;
pub mod scenario;
pub mod timezone;
pub mod transport;
