//! Stateful mocks of both sides, faithful to the wire, with a control API under `/_rehearsal/`
//! for seeding, acting as a person, fault injection and reading the request journal.

pub mod common;
pub mod greenhouse;
pub mod iop;
pub mod journal;
