//! Replays scenarios through the mocks and the real engine, checks each step's expectations and
//! the invariants afterwards, and produces the run's report.

use std::collections::BTreeMap;
use std::time::Instant;

use http::Method;
use serde_json::Value;

use super::expect::{self, World};
use super::harness::{Harness, Side, Transport};
use super::invariants::{self, FinalState};
use super::load::LoadedScenario;
use super::model::{EngineAction, Scenario, Step, WebhookStep};
use super::world::{self, Ids};
use super::{duration, steps};
use crate::clock::ManualClock;
use crate::engine::config::EngineConfig;
use crate::mock::journal::JournalEntry;
use crate::report::{Failure, Finding, RunReport, ScenarioResult, Status};

/// What every scenario of a run shares.
#[derive(Debug, Clone)]
pub struct RunOptions {
    pub seed: u64,
    pub config: EngineConfig,
    /// Where the config came from, for the report.
    pub config_file: String,
    pub transport: Transport,
    /// Keep both mocks' journals in each result (for timelines and determinism checks).
    pub keep_journals: bool,
}

impl RunOptions {
    pub fn new(seed: u64, config: EngineConfig, config_file: String) -> Self {
        Self { seed, config, config_file, transport: Transport::Inproc, keep_journals: false }
    }
}

/// Runs the scenarios, `jobs` at a time, and collects the report in file order; `on_result`
/// sees each result as it finishes (the terminal prints a line). With `fail_fast`, scenarios
/// not yet started when one fails are skipped.
pub async fn run_all(
    scenarios: &[LoadedScenario],
    options: &RunOptions,
    jobs: usize,
    fail_fast: bool,
    mut on_result: impl FnMut(&ScenarioResult),
) -> RunReport {
    let started = Instant::now();
    let mut results: Vec<Option<ScenarioResult>> = vec![None; scenarios.len()];
    let mut running = tokio::task::JoinSet::new();
    let mut next = 0;
    let mut stop = false;
    loop {
        while !stop && next < scenarios.len() && running.len() < jobs.max(1) {
            let (scenario, options, index) = (scenarios[next].clone(), options.clone(), next);
            running.spawn(async move { (index, run_scenario(&scenario, &options).await) });
            next += 1;
        }
        let Some(joined) = running.join_next().await else { break };
        if let Ok((index, result)) = joined {
            on_result(&result);
            stop |= fail_fast && result.status == Status::Failed;
            results[index] = Some(result);
        }
    }
    let results: Vec<ScenarioResult> = results.into_iter().flatten().collect();
    let not_run = scenarios.len() - results.len();
    let mut report = RunReport::new(
        options.seed,
        options.config_file.clone(),
        results,
        started.elapsed().as_millis() as u64,
    );
    report.not_run = not_run;
    report
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
    let name =
        loaded.path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let seed = scenario_seed(options.seed, &name);
    let start = scenario.start.unwrap_or_else(ManualClock::scenario_epoch);

    let mut result = ScenarioResult {
        name: scenario.name.clone(),
        file: loaded.path.display().to_string(),
        tags: scenario.tags.clone(),
        status: Status::Passed,
        duration_ms: 0,
        virtual_seconds: 0,
        seed,
        steps: scenario.steps.len(),
        steps_run: 0,
        failure: None,
        findings: Vec::new(),
        waived: Vec::new(),
        journal: Vec::new(),
    };

    let config = match with_overrides(&options.config, scenario.given.engine.as_ref()) {
        Ok(config) => config,
        Err(message) => {
            result.failure = Some(setup_failure(message));
            result.status = Status::Failed;
            return result;
        }
    };
    match Harness::start(&config, seed, start, options.transport).await {
        Ok(harness) => {
            drive(&harness, scenario, &config, &mut result).await;
            result.virtual_seconds = (harness.clock_now() - start).num_seconds();
            if options.keep_journals {
                result.journal = journals(&harness).await.unwrap_or_default();
            }
        }
        Err(message) => result.failure = Some(setup_failure(message)),
    }
    apply_waivers(scenario, &mut result);
    if result.failure.is_some() || !result.findings.is_empty() {
        result.status = Status::Failed;
    }
    result.duration_ms = started.elapsed().as_millis() as u64;
    result
}

/// Merges a scenario's `given.engine` overrides into the engine configuration: maps merge key by
/// key, anything else (lists included) replaces.
fn with_overrides(
    config: &EngineConfig,
    overrides: Option<&Value>,
) -> Result<EngineConfig, String> {
    let Some(overrides) = overrides else { return Ok(config.clone()) };
    let mut merged = serde_json::to_value(config).map_err(|e| e.to_string())?;
    merge(&mut merged, overrides);
    let config: EngineConfig =
        serde_json::from_value(merged).map_err(|e| format!("given.engine: {e}"))?;
    // The same rules `engine check` applies to a file (a transform on the wrong type, …).
    let problems = crate::engine::check::semantic_problems(&config, "", "given.engine");
    match problems.into_iter().next() {
        Some(problem) => Err(problem.to_string()),
        None => Ok(config),
    }
}

fn merge(base: &mut Value, over: &Value) {
    match (base, over) {
        (Value::Object(base), Value::Object(over)) => {
            for (key, value) in over {
                merge(base.entry(key.clone()).or_insert(Value::Null), value);
            }
        }
        (base, over) => *base = over.clone(),
    }
}

fn apply_waivers(scenario: &Scenario, result: &mut ScenarioResult) {
    let (waived, kept): (Vec<Finding>, Vec<Finding>) = std::mem::take(&mut result.findings)
        .into_iter()
        .partition(|f| scenario.waive.iter().any(|w| w.value.invariant == f.invariant));
    result.findings = kept;
    result.waived = waived
        .into_iter()
        .map(|f| {
            let reason = scenario
                .waive
                .iter()
                .find(|w| w.value.invariant == f.invariant)
                .map(|w| w.value.reason.as_str());
            Finding {
                message: format!("{} (waived: {})", f.message, reason.unwrap_or_default()),
                ..f
            }
        })
        .collect();
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
    scenario: &Scenario,
    config: &EngineConfig,
    result: &mut ScenarioResult,
) {
    let ids = match world::seed(harness, &scenario.given, config.greenhouse.acting_user_id).await {
        Ok(ids) => ids,
        Err(message) => {
            result.failure = Some(setup_failure(message));
            return;
        }
    };
    let needs_marks = scenario
        .steps
        .iter()
        .any(|s| matches!(&s.value, Step::Expect(t) if t.values().any(uses_since_step)));
    let mut marks: Vec<(u64, u64)> = Vec::new();

    for (index, step) in scenario.steps.iter().enumerate() {
        result.steps_run = index + 1;
        if needs_marks {
            marks.push(journal_lengths(harness).await.unwrap_or_default());
        }
        if let Err((message, mismatches)) =
            run_step(harness, &ids, &step.value, index, &marks).await
        {
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
            let pending_events = harness.engine().pending().await.unwrap_or_default();
            result.findings = invariants::check(&FinalState {
                greenhouse: &snap.greenhouse,
                iop: &snap.iop,
                greenhouse_journal: &snap.greenhouse_journal,
                dead_letters: &snap.dead_letters,
                pending_events,
                expects_dead_letters,
                config,
            });
        }
        Err(message) => {
            result.failure =
                Some(setup_failure(format!("could not read the final state: {message}")))
        }
    }
}

fn uses_since_step(spec: &Value) -> bool {
    match spec {
        Value::Array(items) => items.iter().any(uses_since_step),
        Value::Object(map) => map.contains_key("since_step"),
        _ => false,
    }
}

type StepError = (String, Vec<expect::Mismatch>);

fn plain(message: String) -> StepError {
    (message, Vec::new())
}

async fn run_step(
    harness: &Harness,
    ids: &Ids,
    step: &Step,
    index: usize,
    marks: &[(u64, u64)],
) -> Result<(), StepError> {
    match step {
        Step::Greenhouse(action) => steps::greenhouse(harness, ids, action).await.map_err(plain)?,
        Step::Iop(action) => steps::iop(harness, ids, action).await.map_err(plain)?,
        Step::Advance(text) => {
            let by = duration::parse(text).map_err(plain)?;
            return harness.advance(by).await.map_err(plain);
        }
        Step::Expect(targets) => return expectations(harness, ids, targets, marks).await,
        Step::Faults(faults) => {
            for (side, value) in [(Side::Greenhouse, &faults.greenhouse), (Side::Iop, &faults.iop)]
            {
                if let Some(value) = value {
                    harness
                        .control::<Value>(side, Method::PUT, "/_rehearsal/faults", Some(value))
                        .await
                        .map_err(plain)?;
                }
            }
            return Ok(());
        }
        Step::Webhook(webhook) => inject(harness, webhook, index).await.map_err(plain)?,
        Step::Engine(EngineAction::Restart) => harness.restart_engine().await.map_err(plain)?,
        Step::Engine(EngineAction::Reconcile) => {
            harness
                .engine()
                .reconcile()
                .await
                .map_err(|e| plain(format!("reconcile failed: {e}")))?;
        }
    }
    harness.quiesce().await.map_err(plain)
}

async fn inject(harness: &Harness, webhook: &WebhookStep, index: usize) -> Result<(), String> {
    let body = match (&webhook.body, &webhook.file) {
        (Some(body), _) => body.clone(),
        (None, Some(file)) => {
            let text =
                std::fs::read_to_string(file).map_err(|e| format!("webhook file {file}: {e}"))?;
            serde_json::from_str(&text)
                .map_err(|e| format!("webhook file {file}: not JSON: {e}"))?
        }
        (None, None) => return Err("webhook step has neither body nor file".into()),
    };
    let event_id =
        webhook.event_id.clone().unwrap_or_else(|| format!("rehearsal-step-{}", index + 1));
    let status = harness.inject_webhook(webhook.from, &body, webhook.signature, &event_id).await?;
    match webhook.expect_status {
        Some(wanted) if wanted != status => {
            Err(format!("the engine answered {status} to the webhook, expected {wanted}"))
        }
        _ => Ok(()),
    }
}

/// Checks every target; with `within`, keeps letting virtual time pass until they hold or the
/// window closes.
async fn expectations(
    harness: &Harness,
    ids: &Ids,
    targets: &BTreeMap<String, Value>,
    marks: &[(u64, u64)],
) -> Result<(), StepError> {
    let within = targets
        .get("within")
        .and_then(Value::as_str)
        .map(duration::parse)
        .transpose()
        .map_err(plain)?;
    let deadline = within.map(|w| harness.clock_now() + w);
    loop {
        let snap = snapshot(harness).await.map_err(plain)?;
        let world = World {
            greenhouse: &snap.greenhouse,
            iop: &snap.iop,
            dead_letters: &snap.dead_letters,
            audit: &snap.audit,
            greenhouse_journal: &snap.greenhouse_journal,
            iop_journal: &snap.iop_journal,
            candidates: &ids.candidates,
            marks,
        };
        let mismatches: Vec<expect::Mismatch> = targets
            .iter()
            .filter(|(target, _)| target.as_str() != "within")
            .flat_map(|(target, spec)| expect::check(target, spec, &world))
            .collect();
        if mismatches.is_empty() {
            return Ok(());
        }
        let Some(deadline) = deadline.filter(|d| harness.clock_now() < *d) else {
            let targets: Vec<&str> = mismatches.iter().map(|m| m.target.as_str()).collect();
            let waited = within.map(|_| " within the window").unwrap_or_default();
            return Err((
                format!("expectation not met{waited}: {}", targets.join(", ")),
                mismatches,
            ));
        };
        harness.step_towards(deadline).await.map_err(plain)?;
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
    let engine = harness.engine();
    let dead_letters = engine.dead_letters().await.map_err(|e| e.to_string())?;
    let audit = engine.audit_trail().await.map_err(|e| e.to_string())?;
    Ok(Snapshot {
        greenhouse,
        iop,
        greenhouse_journal,
        iop_journal,
        dead_letters: serde_json::to_value(dead_letters).unwrap_or_default(),
        audit: serde_json::to_value(audit).unwrap_or_default(),
    })
}

async fn journals(harness: &Harness) -> Result<Vec<JournalEntry>, String> {
    let none = None::<&()>;
    let mut all: Vec<JournalEntry> =
        harness.control(Side::Greenhouse, Method::GET, "/_rehearsal/journal", none).await?;
    let iop: Vec<JournalEntry> =
        harness.control(Side::Iop, Method::GET, "/_rehearsal/journal", none).await?;
    all.extend(iop);
    // One timeline: by virtual time, then by each journal's own order.
    all.sort_by(|a, b| (a.at, &a.service, a.seq).cmp(&(b.at, &b.service, b.seq)));
    Ok(all)
}

/// The newest `seq` in each journal (Greenhouse, IOP) when a step begins.
async fn journal_lengths(harness: &Harness) -> Result<(u64, u64), String> {
    let none = None::<&()>;
    let last = |journal: &[Value]| {
        journal.last().and_then(|e| e.get("seq")).and_then(Value::as_u64).unwrap_or(0)
    };
    let gh: Vec<Value> =
        harness.control(Side::Greenhouse, Method::GET, "/_rehearsal/journal", none).await?;
    let iop: Vec<Value> =
        harness.control(Side::Iop, Method::GET, "/_rehearsal/journal", none).await?;
    Ok((last(&gh), last(&iop)))
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
            let named: Vec<&str> =
                targets.keys().map(String::as_str).filter(|t| *t != "within").collect();
            match targets.get("within").and_then(Value::as_str) {
                Some(within) => format!("expect {} within {within}", named.join(", ")),
                None => format!("expect {}", named.join(", ")),
            }
        }
        Step::Faults(faults) => {
            format!("faults: {}", verbs(&serde_json::to_value(faults).unwrap_or_default()))
        }
        Step::Webhook(webhook) => {
            format!("webhook from {:?} ({:?} signature)", webhook.from, webhook.signature)
        }
        Step::Engine(action) => format!("engine: {action:?}"),
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
