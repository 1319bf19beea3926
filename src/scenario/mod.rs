//! Scenario files (`model`), reading and validating them (`load`, `validate`), expectations
//! (`expect`) and the runner that replays them through the mocks and the real engine
//! (`runner`).

pub mod duration;
pub mod expect;
pub mod load;
pub mod model;
pub mod runner;
mod validate;
