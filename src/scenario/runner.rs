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
    on_result: impl FnMut(&ScenarioResult),
) -> RunReport {
    run_all_with(scenarios, options, jobs, fail_fast, on_result, |scenario, options| async move {
        run_scenario(&scenario, &options).await
    })
    .await
}

/// [`run_all`] with the function that runs one scenario given (tests make one panic).
async fn run_all_with<F, Fut>(
    scenarios: &[LoadedScenario],
    options: &RunOptions,
    jobs: usize,
    fail_fast: bool,
    mut on_result: impl FnMut(&ScenarioResult),
    run_one: F,
) -> RunReport
where
    F: Fn(LoadedScenario, RunOptions) -> Fut,
    Fut: std::future::Future<Output = ScenarioResult> + Send + 'static,
{
    let started = Instant::now();
    let mut results: Vec<Option<ScenarioResult>> = vec![None; scenarios.len()];
    let mut running = tokio::task::JoinSet::new();
    // Which scenario each task runs, so a task that panics still gets its (failed) result.
    let mut task_index: BTreeMap<tokio::task::Id, usize> = BTreeMap::new();
    let mut next = 0;
    let mut stop = false;
    loop {
        while !stop && next < scenarios.len() && running.len() < jobs.max(1) {
            let task = running.spawn(run_one(scenarios[next].clone(), options.clone()));
            task_index.insert(task.id(), next);
            next += 1;
        }
        let Some(joined) = running.join_next_with_id().await else { break };
        let (index, result) = match joined {
            Ok((id, result)) => (task_index.get(&id).copied(), result),
            Err(error) => {
                let index = task_index.get(&error.id()).copied();
                let Some(loaded) = index.and_then(|i| scenarios.get(i)) else { continue };
                (index, panicked(loaded, options, error))
            }
        };
        let Some(index) = index else { continue };
        on_result(&result);
        stop |= fail_fast && result.status == Status::Failed;
        results[index] = Some(result);
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
    report.fail_fast = fail_fast;
    report
}

/// The failed result of a scenario whose task panicked (a bug in rehearsal or the engine): it
/// counts as a failure everywhere, with the panic's message.
fn panicked(
    loaded: &LoadedScenario,
    options: &RunOptions,
    error: tokio::task::JoinError,
) -> ScenarioResult {
    let message = if error.is_panic() {
        let payload = error.into_panic();
        let text = payload
            .downcast_ref::<&str>()
            .map(|s| (*s).to_owned())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "(no message)".to_owned());
        format!("the run panicked (a bug in rehearsal or the engine, please report it): {text}")
    } else {
        format!("the run was cancelled: {error}")
    };
    let mut result = new_result(loaded, options);
    result.status = Status::Failed;
    result.failure = Some(Failure {
        step: 0,
        line: 1,
        description: "run the scenario".into(),
        message,
        mismatches: Vec::new(),
    });
    result
}

/// A result for `loaded` before anything ran: passed, no steps run.
fn new_result(loaded: &LoadedScenario, options: &RunOptions) -> ScenarioResult {
    let scenario = &loaded.scenario;
    let name =
        loaded.path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    ScenarioResult {
        name: scenario.name.clone(),
        file: loaded.path.display().to_string(),
        tags: scenario.tags.clone(),
        status: Status::Passed,
        duration_ms: 0,
        virtual_seconds: 0,
        seed: scenario_seed(options.seed, &name),
        steps: scenario.steps.len(),
        steps_run: 0,
        failure: None,
        findings: Vec::new(),
        waived: Vec::new(),
        journal: Vec::new(),
    }
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
    let mut result = new_result(loaded, options);
    let seed = result.seed;
    let start =
        scenario.start.as_ref().map(|s| s.value).unwrap_or_else(ManualClock::scenario_epoch);

    let config =
        match with_overrides(&options.config, scenario.given.engine.as_ref().map(|e| &e.value)) {
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

/// Merges a scenario's `given.engine` overrides into the engine configuration (checked when
/// the file was loaded; see [`super::overrides`]).
fn with_overrides(
    config: &EngineConfig,
    overrides: Option<&Value>,
) -> Result<EngineConfig, String> {
    let Some(overrides) = overrides else { return Ok(config.clone()) };
    super::overrides::apply(config, overrides)
        .map_err(|problems| problems.iter().map(ToString::to_string).collect::<Vec<_>>().join("; "))
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
    let deadline = within.map(|w| harness.later(w)).transpose().map_err(plain)?;
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::load;

    fn scenario(name: &str) -> LoadedScenario {
        let text = format!("name: {name}\nsteps: []\n");
        let file = format!("{name}.yaml");
        let scenario = load::parse(&text, &file).expect("a valid scenario");
        LoadedScenario { path: file.into(), scenario, text }
    }

    fn options() -> RunOptions {
        let config = crate::scenario::overrides::default_config().expect("built-in config");
        RunOptions::new(7, config.clone(), "engine.toml".into())
    }

    /// Passes every scenario except `boom`, which panics.
    async fn run(fail_fast: bool) -> RunReport {
        let scenarios = [scenario("boom"), scenario("fine")];
        run_all_with(
            &scenarios,
            &options(),
            1,
            fail_fast,
            |_| {},
            |loaded, options| async move {
                if loaded.scenario.name == "boom" {
                    panic!("kaboom at step 3");
                }
                new_result(&loaded, &options)
            },
        )
        .await
    }

    #[tokio::test]
    async fn a_scenario_that_panics_fails_in_every_report() {
        let report = run(false).await;
        assert_eq!((report.total, report.passed, report.failed, report.not_run), (2, 1, 1, 0));
        assert!(!report.all_passed());
        let boom = &report.scenarios[0];
        assert_eq!(boom.status, Status::Failed);
        let message = &boom.failure.as_ref().expect("a failure").message;
        assert!(message.contains("panicked") && message.contains("kaboom at step 3"), "{message}");

        let summary = crate::report::terminal::summary(&report);
        assert!(summary.contains("1 passed, 1 failed"), "{summary}");
        assert!(summary.contains("kaboom at step 3"), "{summary}");
        assert!(!summary.contains("not run"), "{summary}");
        let junit = crate::report::junit::render(&report);
        assert!(junit.contains("tests=\"2\"") && junit.contains("failures=\"1\""), "{junit}");
        assert!(junit.contains("kaboom at step 3"), "{junit}");
        let json: Value = serde_json::from_str(&report.to_json()).unwrap();
        assert_eq!((json["failed"].as_u64(), json["passed"].as_u64()), (Some(1), Some(1)));
        assert_eq!(json["scenarios"][0]["status"], "failed");
    }

    #[tokio::test]
    async fn only_fail_fast_leaves_scenarios_not_run() {
        let report = run(true).await;
        assert_eq!((report.total, report.failed, report.not_run), (1, 1, 1));
        let summary = crate::report::terminal::summary(&report);
        assert!(summary.contains("1 not run (--fail-fast)"), "{summary}");
    }
}
