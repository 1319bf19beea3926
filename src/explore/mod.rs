//! Convergence search (`rehearsal explore`): arbitrary interleavings of Greenhouse actions
//! (move, skip, reject, unreject, hire, edit, merge), IOP actions (book, reschedule, cancel,
//! decline, no-show, feedback before or days after the interview), delivery faults
//! (duplicates, reordering, drops later repaired by a reconciliation sweep, 429/5xx/timeout
//! bursts, stale reads), engine restarts and virtual time, checked against a small reference
//! model of what a correct integration ends up with.
//!
//! - [`world`]: the fixed world a case starts from, derived from the engine configuration
//!   under test (its trigger stages and modes, its decline/no-show/feedback policies).
//! - [`model`]: the reference model — per candidate its stage, application status, merge,
//!   the requests a correct engine opened and what became of them, interviews booked and
//!   cancelled, feedback, declines and no-shows — and each transition's precondition.
//! - [`generate`]: the `proptest-state-machine` [`ReferenceStateMachine`](
//!   proptest_state_machine::ReferenceStateMachine) that draws only transitions the model
//!   allows (feedback and no-shows after a booking, an unreject after a reject), so every step
//!   of a generated scenario is one the mocks accept: cases replay without lenient skipping.
//! - [`render`]: a sequence as a scenario file whose closing `expect` step holds the model's
//!   end state (exactly one open request per active application in a trigger stage and none
//!   elsewhere, each booked interview mirrored once, each feedback recorded once, …).
//! - `search`: the proptest run and its shrinking.
//!
//! **Why the whole sequence is replayed at the end of a case** rather than step by step
//! through `StateMachineTest`: the artefact the search must produce is a scenario file that
//! reproduces the failure with `rehearsal run`, and the scenario runner replays files, not
//! single steps (its per-step driver is private to `scenario/`, and a step's effect is only
//! settled after the runner's quiet window). Rendering each sequence and replaying it whole
//! makes the thing tested and the thing printed the same file; the cost is that a failure
//! is only seen at the step that fails, which the runner reports, and shrinking is told how
//! many transitions ran so it drops the rest first.
//!
//! The model compares with the end state through ordinary `expect` matchers, so a failure
//! reads like any scenario failure and the minimal file can go into `scenarios/` as it is.

pub mod generate;
pub mod model;
#[cfg(test)]
mod model_tests;
pub mod render;
mod search;
pub mod world;

pub use search::{Counterexample, ExploreOptions, explore, replay};
