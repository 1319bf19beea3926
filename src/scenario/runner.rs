//! Replays scenarios through the mocks and the real engine, checks each step's expectations and
//! the invariants afterwards, and produces the run's report.

use std::collections::BTreeMap;
use std::time::Instant;

use http::Method;
use serde_json::Value;

use super::expect::{self, World};
use super::harness::{Harness, Side};
use super::invariants::{self, FinalState};
use super::load::LoadedScenario;
use super::model::Step;
use super::world::{self, Ids};
use super::{duration, steps};
use crate::clock::ManualClock;
use crate::engine::config::EngineConfig;
use crate::report::{Failure, RunReport, ScenarioResult, Status};

/// What every scenario of a run shares.
#[derive(Debug, Clone)]
pub struct RunOptions {
    pub seed: u64,
    pub config: EngineConfig,
    /// Where the config came from, for the report.
    pub config_file: String,
}

/// Runs every scenario in order and collects the report; `on_result` sees each result as it
/// finishes (the terminal prints a line).
pub async fn run_all(
    scenarios: &[LoadedScenario],
    options: &RunOptions,
    mut on_result: impl FnMut(&ScenarioResult),
) -> RunReport {
    let started = Instant::now();
    let mut results = Vec::with_capacity(scenarios.len());
    for scenario in scenarios {
        let result = run_scenario(scenario, options).await;
        on_result(&result);
        results.push(result);
    }
    RunReport::new(
        options.seed,
        options.config_file.clone(),
        results,
        started.elapsed().as_millis() as u64,
    )
}

/// A scenario's own seed: the run's seed mixed with its file name, so one scenario replays
/// the same whichever others run beside it.
pub fn scenario_seed(run_seed: u64, file: &str) -> u64 {
    // FNV-1a: small, stable across platforms and Rust versions.
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in file.bytes() {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    run_seed ^ hash
}

pub async fn run_scenario(loaded: &LoadedScenario, options: &RunOptions) -> ScenarioResult {
    let started = Instant::now();
    let scenario = &loaded.scenario;
    let file = loaded.path.display().to_string();
    let name =
        loaded.path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let seed = scenario_seed(options.seed, &name);
    let start = scenario.start.unwrap_or_else(ManualClock::scenario_epoch);

    let mut result = ScenarioResult {
        name: scenario.name.clone(),
        file,
        tags: scenario.tags.clone(),
        status: Status::Passed,
        duration_ms: 0,
        virtual_seconds: 0,
        seed,
        steps: scenario.steps.len(),
        steps_run: 0,
        failure: None,
        findings: Vec::new(),
    };

    match Harness::start(&options.config, seed, start).await {
        Ok(harness) => {
            drive(&harness, loaded, options, &mut result).await;
            result.virtual_seconds = (harness.clock_now() - start).num_seconds();
        }
        Err(message) => result.failure = Some(setup_failure(message)),
    }
    if result.failure.is_some() || !result.findings.is_empty() {
        result.status = Status::Failed;
    }
    result.duration_ms = started.elapsed().as_millis() as u64;
    result
}

fn setup_failure(message: String) -> Failure {
    Failure {
        step: 0,
        line: 1,
        description: "set up the world".into(),
        message,
        mismatches: Vec::new(),
    }
}

async fn drive(
    harness: &Harness,
    loaded: &LoadedScenario,
    options: &RunOptions,
    result: &mut ScenarioResult,
) {
    let scenario = &loaded.scenario;
    let ids = match world::seed(harness, &scenario.given, options.config.greenhouse.acting_user_id)
        .await
    {
        Ok(ids) => ids,
        Err(message) => {
            result.failure = Some(setup_failure(message));
            return;
        }
    };

    for (index, step) in scenario.steps.iter().enumerate() {
        result.steps_run = index + 1;
        let outcome = run_step(harness, &ids, &step.value).await;
        if let Err((message, mismatches)) = outcome {
            result.failure = Some(Failure {
                step: index + 1,
                line: step.referenced.line(),
                description: describe(&step.value),
                message,
                mismatches,
            });
            return;
        }
    }

    let expects_dead_letters = scenario
        .steps
        .iter()
        .any(|s| matches!(&s.value, Step::Expect(targets) if targets.contains_key("engine.dead_letters")));
    match snapshot(harness).await {
        Ok(snap) => {
            let pending_events = harness.engine.pending().await.unwrap_or_default();
            result.findings = invariants::check(&FinalState {
                greenhouse: &snap.greenhouse,
                iop: &snap.iop,
                greenhouse_journal: &snap.greenhouse_journal,
                dead_letters: &snap.dead_letters,
                pending_events,
                expects_dead_letters,
            });
        }
        Err(message) => {
            result.failure =
                Some(setup_failure(format!("could not read the final state: {message}")))
        }
    }
}

type StepError = (String, Vec<expect::Mismatch>);

async fn run_step(harness: &Harness, ids: &Ids, step: &Step) -> Result<(), StepError> {
    let plain = |message: String| (message, Vec::new());
    match step {
        Step::Greenhouse(action) => {
            steps::greenhouse(harness, ids, action).await.map_err(plain)?;
            harness.quiesce().await.map_err(plain)
        }
        Step::Iop(action) => {
            steps::iop(harness, ids, action).await.map_err(plain)?;
            harness.quiesce().await.map_err(plain)
        }
        Step::Advance(text) => {
            let by = duration::parse(text).map_err(plain)?;
            harness.advance(by).await.map_err(plain)
        }
        Step::Expect(targets) => {
            let snap = snapshot(harness).await.map_err(plain)?;
            let world = World {
                greenhouse: &snap.greenhouse,
                iop: &snap.iop,
                dead_letters: &snap.dead_letters,
                audit: &snap.audit,
                greenhouse_journal: &snap.greenhouse_journal,
                iop_journal: &snap.iop_journal,
                candidates: &ids.candidates,
            };
            let mismatches: Vec<expect::Mismatch> = targets
                .iter()
                .flat_map(|(target, spec)| expect::check(target, spec, &world))
                .collect();
            if mismatches.is_empty() {
                Ok(())
            } else {
                let targets: Vec<&str> = mismatches.iter().map(|m| m.target.as_str()).collect();
                Err((format!("expectation not met: {}", targets.join(", ")), mismatches))
            }
        }
    }
}

/// Everything expectations and invariants read, in one go.
struct Snapshot {
    greenhouse: Value,
    iop: Value,
    greenhouse_journal: Value,
    iop_journal: Value,
    dead_letters: Value,
    audit: Value,
}

async fn snapshot(harness: &Harness) -> Result<Snapshot, String> {
    let none = None::<&()>;
    let greenhouse =
        harness.control(Side::Greenhouse, Method::GET, "/_rehearsal/state", none).await?;
    let iop = harness.control(Side::Iop, Method::GET, "/_rehearsal/state", none).await?;
    let greenhouse_journal =
        harness.control(Side::Greenhouse, Method::GET, "/_rehearsal/journal", none).await?;
    let iop_journal = harness.control(Side::Iop, Method::GET, "/_rehearsal/journal", none).await?;
    let dead_letters = harness.engine.dead_letters().await.map_err(|e| e.to_string())?;
    let audit = harness.engine.audit_trail().await.map_err(|e| e.to_string())?;
    Ok(Snapshot {
        greenhouse,
        iop,
        greenhouse_journal,
        iop_journal,
        dead_letters: serde_json::to_value(dead_letters).unwrap_or_default(),
        audit: serde_json::to_value(audit).unwrap_or_default(),
    })
}

/// A step in a few words, for reports.
pub fn describe(step: &Step) -> String {
    match step {
        Step::Greenhouse(action) => {
            format!("greenhouse: {}", verbs(&serde_json::to_value(action).unwrap_or_default()))
        }
        Step::Iop(action) => {
            format!("iop: {}", verbs(&serde_json::to_value(action).unwrap_or_default()))
        }
        Step::Advance(text) => format!("advance {text}"),
        Step::Expect(targets) => {
            format!("expect {}", targets.keys().cloned().collect::<Vec<_>>().join(", "))
        }
    }
}

fn verbs(value: &Value) -> String {
    let fields: BTreeMap<&String, &Value> = value
        .as_object()
        .into_iter()
        .flatten()
        .filter(|(_, v)| !v.is_null() && v.as_array().is_none_or(|a| !a.is_empty()))
        .collect();
    fields
        .iter()
        .map(|(k, v)| {
            format!("{k}: {}", v.as_str().map(str::to_owned).unwrap_or_else(|| v.to_string()))
        })
        .collect::<Vec<_>>()
        .join(", ")
}
