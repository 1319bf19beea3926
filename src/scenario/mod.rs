//! Scenario files (`model`), reading and validating them (`load`, `validate`), the world they
//! set up (`world`), their steps (`steps`), expectations (`expect`), the invariants checked
//! after each (`invariants`), and the runner that replays them through the mocks and the real
//! engine under virtual time (`harness`, `runner`).

pub mod duration;
pub mod expect;
pub mod harness;
pub mod invariants;
pub mod load;
pub mod model;
pub mod overrides;
pub mod runner;
mod steps;
mod validate;
pub mod world;

/// The JSON Schema of scenario files, generated from the same types the loader reads.
pub fn schema() -> String {
    let schema = schemars::schema_for!(model::Scenario);
    serde_json::to_string_pretty(&schema).unwrap_or_default()
}
