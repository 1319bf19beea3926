//! The search: proptest draws transition sequences from the reference model (starting from
//! the world of the configuration under test), each is rendered as a scenario and replayed
//! through the mocks and the real engine, and a failing one is shrunk to a minimal sequence.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use proptest::strategy::{Just, Strategy};
use proptest::test_runner::{Config, RngAlgorithm, TestCaseError, TestError, TestRng, TestRunner};
use proptest_state_machine::{ReferenceStateMachine, Sequential};

use super::generate::Model;
use super::model::State;
use super::render::{self, Rendered};
use super::world::World;
use crate::engine::config::EngineConfig;
use crate::report::{ScenarioResult, Status};
use crate::scenario::load::{self, LoadedScenario};
use crate::scenario::runner::{RunOptions, run_scenario};

/// Shrinking stops after this many replays: each costs a whole scenario run, and a sequence
/// of a dozen transitions is minimal long before.
const MAX_SHRINK_ITERS: u32 = 1024;

/// What one search asks for.
#[derive(Debug, Clone)]
pub struct ExploreOptions {
    pub cases: u32,
    pub seed: u64,
    /// Longest sequence, in transitions (the closing steps come on top).
    pub max_actions: usize,
    pub config: EngineConfig,
    pub config_file: String,
    /// The file name the failing scenario will be saved under. A scenario's seed is mixed
    /// with its file name, so cases are replayed under this name and `rehearsal run <file>
    /// --seed <seed>` reproduces them exactly.
    pub scenario_file: PathBuf,
}

impl ExploreOptions {
    /// CI-sized defaults: 32 cases of up to 12 transitions, seed 0.
    pub fn new(config: EngineConfig, config_file: impl Into<String>) -> Self {
        Self {
            cases: 32,
            seed: 0,
            max_actions: 12,
            config,
            config_file: config_file.into(),
            scenario_file: PathBuf::from("explore-failure.yaml"),
        }
    }
}

/// A minimal failing case: the scenario that reproduces it and why it failed.
#[derive(Debug, Clone)]
pub struct Counterexample {
    pub scenario: String,
    pub failure: String,
}

/// Runs one scenario file's text; `Err` only when it cannot run at all.
fn run(yaml: &str, options: &ExploreOptions) -> Result<ScenarioResult, String> {
    let name = options.scenario_file.display().to_string();
    let scenario =
        load::parse(yaml, &name).map_err(|e| format!("generated an invalid scenario: {e}"))?;
    let loaded =
        LoadedScenario { path: options.scenario_file.clone(), scenario, text: yaml.to_owned() };
    let run = RunOptions::new(options.seed, options.config.clone(), options.config_file.clone());
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start a runtime: {e}"))?;
    Ok(runtime.block_on(run_scenario(&loaded, &run)))
}

/// Replays one generated scenario as `rehearsal run` would; `Err` carries the failure text.
pub fn replay(yaml: &str, options: &ExploreOptions) -> Result<ScenarioResult, String> {
    let result = run(yaml, options)?;
    if result.status == Status::Passed {
        Ok(result)
    } else {
        Err(result.failure_text(options.seed))
    }
}

/// How many of the case's transitions the run got to: a step that fails ends the run, so the
/// transitions after it played no part (shrinking drops them first).
fn transitions_seen(result: &ScenarioResult, rendered: &Rendered) -> usize {
    match &result.failure {
        Some(failure) if failure.step > 0 => {
            rendered.first_steps.iter().filter(|&&first| first <= failure.step).count()
        }
        _ => rendered.first_steps.len(),
    }
}

/// The sequences of 1 to `max_actions` transitions the model allows from `initial`.
fn sequences(
    initial: State,
    max_actions: usize,
) -> impl Strategy<Value = (State, Vec<super::model::Transition>, Option<Arc<AtomicUsize>>)> {
    Sequential::new(
        (1..=max_actions.max(1)).into(),
        move || Just(initial.clone()).boxed(),
        Model::preconditions,
        Model::transitions,
        Model::apply,
    )
}

/// Searches `options.cases` sequences; returns the minimal counterexample, if any. Must be
/// called outside an async runtime (each case runs in its own).
pub fn explore(options: &ExploreOptions) -> Result<Option<Counterexample>, String> {
    let initial = State::new(Arc::new(World::from_config(&options.config)));
    let mut seed_bytes = [0u8; 32];
    seed_bytes[..8].copy_from_slice(&options.seed.to_le_bytes());
    let config = Config {
        cases: options.cases,
        failure_persistence: None,
        max_shrink_iters: MAX_SHRINK_ITERS,
        // A drawn transition the model refuses (one that would leave an interview's end
        // uncertain) is redrawn; the runner counts those over the whole search, so its default
        // ceiling would end a long search for no fault of the engine.
        max_local_rejects: u32::MAX,
        ..Config::default()
    };
    let mut runner =
        TestRunner::new_with_rng(config, TestRng::from_seed(RngAlgorithm::ChaCha, &seed_bytes));

    let outcome = runner.run(&sequences(initial, options.max_actions), |(start, steps, seen)| {
        let rendered = render::scenario(&start, &steps);
        let result = run(&rendered.yaml, options).map_err(TestCaseError::fail)?;
        if let Some(seen) = seen {
            seen.store(transitions_seen(&result, &rendered), Ordering::SeqCst);
        }
        match result.status {
            Status::Passed => Ok(()),
            _ => Err(TestCaseError::fail(result.failure_text(options.seed))),
        }
    });
    match outcome {
        Ok(()) => Ok(None),
        Err(TestError::Fail(reason, (start, steps, _))) => Ok(Some(Counterexample {
            scenario: render::scenario(&start, &steps).yaml,
            failure: reason.to_string(),
        })),
        Err(TestError::Abort(reason)) => Err(format!("the search stopped: {reason}")),
    }
}
