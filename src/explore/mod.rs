//! Convergence search (`rehearsal explore`): generates interleavings of Greenhouse actions,
//! IOP actions, delivery faults and time, replays each as a scenario through the mocks and the
//! real engine, and checks that the end state converges (the invariants of DESIGN.md, plus
//! "every stay in a trigger stage got its request" and "each feedback recorded once").
//!
//! A case is a list of [`Action`]s rendered as scenario YAML, so proptest's shrinking yields
//! the shortest failing list and the failure is already a scenario file that reproduces it.
//! Person actions the mocks refuse in the state they reach (booking a cancelled request, say)
//! are skipped rather than failing, so no model of the engine is needed to choose them.

use std::fmt::Write as _;

use proptest::prelude::*;
use proptest::test_runner::{Config, RngAlgorithm, TestCaseError, TestError, TestRng, TestRunner};

use crate::engine::config::EngineConfig;
use crate::report::{ScenarioResult, Status};
use crate::scenario::load::{self, LoadedScenario};
use crate::scenario::runner::{RunOptions, run_scenario};

/// The candidates every generated scenario has.
const CANDIDATES: &[&str] = &["Ana Ruiz", "Ben Okafor"];
/// The job's stages, in order; Phone Screen and Onsite are trigger stages in the default config.
const STAGES: &[&str] = &["Application Review", "Phone Screen", "Onsite", "Offer"];
const RECOMMENDATIONS: &[&str] = &["definitely_not", "no", "yes", "strong_yes", "no_decision"];

/// One thing that happens in a generated scenario.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    Move {
        candidate: usize,
        stage: usize,
    },
    Reject {
        candidate: usize,
    },
    Unreject {
        candidate: usize,
    },
    Hire {
        candidate: usize,
    },
    Edit {
        candidate: usize,
    },
    /// Book the candidate's request `day` days after the start, at `hour`:00 UTC.
    Schedule {
        candidate: usize,
        day: u8,
        hour: u8,
    },
    Reschedule {
        candidate: usize,
        day: u8,
        hour: u8,
    },
    CancelInterview {
        candidate: usize,
    },
    Decline {
        candidate: usize,
    },
    NoShow {
        candidate: usize,
    },
    Feedback {
        candidate: usize,
        recommendation: usize,
    },
    Advance {
        hours: u16,
    },
    /// Greenhouse delivers every webhook twice from now on.
    DuplicateGreenhouseWebhooks,
    /// The IOP delivers every event twice and shuffles each batch from now on.
    DuplicateAndReorderIopWebhooks,
    /// The next `times` Harvest requests get 429 (or 503).
    GreenhouseErrors {
        times: u8,
        status_429: bool,
    },
    /// The next `times` IOP API requests get 503 (or time out).
    IopErrors {
        times: u8,
        timeout: bool,
    },
    /// Reads on one side lag `secs` of virtual time behind writes from now on.
    StaleReads {
        greenhouse: bool,
        secs: u8,
    },
    ClearFaults,
    RestartEngine,
}

fn action() -> impl Strategy<Value = Action> {
    let who = 0..CANDIDATES.len();
    prop_oneof![
        4 => (who.clone(), 0..STAGES.len()).prop_map(|(candidate, stage)| Action::Move { candidate, stage }),
        1 => who.clone().prop_map(|candidate| Action::Reject { candidate }),
        1 => who.clone().prop_map(|candidate| Action::Unreject { candidate }),
        1 => who.clone().prop_map(|candidate| Action::Hire { candidate }),
        1 => who.clone().prop_map(|candidate| Action::Edit { candidate }),
        3 => (who.clone(), 1u8..10, 9u8..17).prop_map(|(candidate, day, hour)| Action::Schedule { candidate, day, hour }),
        1 => (who.clone(), 1u8..10, 9u8..17).prop_map(|(candidate, day, hour)| Action::Reschedule { candidate, day, hour }),
        1 => who.clone().prop_map(|candidate| Action::CancelInterview { candidate }),
        1 => who.clone().prop_map(|candidate| Action::Decline { candidate }),
        1 => who.clone().prop_map(|candidate| Action::NoShow { candidate }),
        2 => (who.clone(), 0..RECOMMENDATIONS.len()).prop_map(|(candidate, recommendation)| Action::Feedback { candidate, recommendation }),
        2 => (1u16..100).prop_map(|hours| Action::Advance { hours }),
        1 => Just(Action::DuplicateGreenhouseWebhooks),
        1 => Just(Action::DuplicateAndReorderIopWebhooks),
        1 => (1u8..4, any::<bool>()).prop_map(|(times, status_429)| Action::GreenhouseErrors { times, status_429 }),
        1 => (1u8..4, any::<bool>()).prop_map(|(times, timeout)| Action::IopErrors { times, timeout }),
        1 => (any::<bool>(), 5u8..60).prop_map(|(greenhouse, secs)| Action::StaleReads { greenhouse, secs }),
        1 => Just(Action::ClearFaults),
        1 => Just(Action::RestartEngine),
    ]
}

/// Lists of 1 to `max` actions.
pub fn actions(max: usize) -> impl Strategy<Value = Vec<Action>> {
    proptest::collection::vec(action(), 1..=max.max(1))
}

/// The scenario file for `actions`: a fixed world, the actions in order, then the faults
/// cleared and a day of virtual time so retries settle before the invariants are checked.
pub fn scenario_yaml(actions: &[Action]) -> String {
    let mut out = String::from(
        "# Generated by `rehearsal explore`: a minimal interleaving that does not converge.\n\
         name: explored interleaving\n\
         tags: [explore]\n\
         given:\n\
         \x20 users:\n\
         \x20   - { name: Priya Shah, email: priya.shah@example.test }\n\
         \x20 jobs:\n\
         \x20   - name: Backend Engineer\n\
         \x20     stages:\n\
         \x20       - Application Review\n\
         \x20       - { name: Phone Screen, interviews: [{ name: Recruiter Call, duration_minutes: 30, interviewers: [Priya Shah] }] }\n\
         \x20       - { name: Onsite, interviews: [{ name: System Design, duration_minutes: 60, interviewers: [Priya Shah] }] }\n\
         \x20       - Offer\n\
         \x20 candidates:\n\
         \x20   - { name: Ana Ruiz, email: ana.ruiz@example.test, applies_to: Backend Engineer }\n\
         \x20   - { name: Ben Okafor, email: ben.okafor@example.test, applies_to: Backend Engineer }\n\
         steps:\n",
    );
    for action in actions {
        let _ = writeln!(out, "  - {}", step(action));
    }
    out.push_str("  - faults: { greenhouse: {}, iop: {} }\n  - advance: 24h\n");
    out
}

fn at(day: u8, hour: u8) -> String {
    // Days after the scenario epoch (Monday 2026-11-02).
    let date = crate::clock::ManualClock::scenario_epoch().date_naive()
        + chrono::Duration::days(i64::from(day));
    format!("{date}T{hour:02}:00:00Z")
}

fn step(action: &Action) -> String {
    let name = |c: &usize| CANDIDATES[*c % CANDIDATES.len()];
    match action {
        Action::Move { candidate, stage } => {
            format!(
                "greenhouse: {{ move: {}, to: {} }}",
                name(candidate),
                STAGES[*stage % STAGES.len()]
            )
        }
        Action::Reject { candidate } => format!("greenhouse: {{ reject: {} }}", name(candidate)),
        Action::Unreject { candidate } => {
            format!("greenhouse: {{ unreject: {} }}", name(candidate))
        }
        Action::Hire { candidate } => format!("greenhouse: {{ hire: {} }}", name(candidate)),
        Action::Edit { candidate } => {
            format!(
                "greenhouse: {{ edit: {}, email: changed.{}@example.test }}",
                name(candidate),
                candidate
            )
        }
        Action::Schedule { candidate, day, hour } => {
            format!("iop: {{ schedule: {}, at: {} }}", name(candidate), at(*day, *hour))
        }
        Action::Reschedule { candidate, day, hour } => {
            format!("iop: {{ reschedule: {}, at: {} }}", name(candidate), at(*day, *hour))
        }
        Action::CancelInterview { candidate } => {
            format!("iop: {{ cancel_interview: {} }}", name(candidate))
        }
        Action::Decline { candidate } => {
            format!("iop: {{ candidate_declines: {}, reason: explored }}", name(candidate))
        }
        Action::NoShow { candidate } => format!("iop: {{ no_show: {} }}", name(candidate)),
        Action::Feedback { candidate, recommendation } => format!(
            "iop: {{ feedback: {}, recommendation: {} }}",
            name(candidate),
            RECOMMENDATIONS[*recommendation % RECOMMENDATIONS.len()]
        ),
        Action::Advance { hours } => format!("advance: {hours}h"),
        Action::DuplicateGreenhouseWebhooks => {
            "faults: { greenhouse: { webhooks: { duplicate: 1.0 } } }".into()
        }
        Action::DuplicateAndReorderIopWebhooks => {
            "faults: { iop: { webhooks: { duplicate: 1.0, reorder: true } } }".into()
        }
        Action::GreenhouseErrors { times, status_429 } => {
            let kind = if *status_429 { "status_429" } else { "status_503" };
            format!("faults: {{ greenhouse: {{ api: [{{ kind: {kind}, times: {times} }}] }} }}")
        }
        Action::IopErrors { times, timeout } => {
            let kind = if *timeout { "timeout" } else { "status_503" };
            format!("faults: {{ iop: {{ api: [{{ kind: {kind}, times: {times} }}] }} }}")
        }
        Action::StaleReads { greenhouse, secs } => {
            let side = if *greenhouse { "greenhouse" } else { "iop" };
            format!("faults: {{ {side}: {{ stale_read_secs: {secs} }} }}")
        }
        Action::ClearFaults => "faults: { greenhouse: {}, iop: {} }".into(),
        Action::RestartEngine => "engine: restart".into(),
    }
}

/// What one search asks for.
#[derive(Debug, Clone)]
pub struct ExploreOptions {
    pub cases: u32,
    pub seed: u64,
    pub max_actions: usize,
    pub config: EngineConfig,
    pub config_file: String,
}

/// A minimal failing case: the scenario that reproduces it and why it failed.
#[derive(Debug, Clone)]
pub struct Counterexample {
    pub scenario: String,
    pub failure: String,
}

/// Replays one generated scenario; `Err` carries the failure text.
pub fn replay(yaml: &str, options: &ExploreOptions) -> Result<ScenarioResult, String> {
    let scenario = load::parse(yaml, "explored.yaml")
        .map_err(|e| format!("generated an invalid scenario: {e}"))?;
    let loaded = LoadedScenario { path: "explored.yaml".into(), scenario };
    let mut run =
        RunOptions::new(options.seed, options.config.clone(), options.config_file.clone());
    run.lenient_actions = true;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start a runtime: {e}"))?;
    let result = runtime.block_on(run_scenario(&loaded, &run));
    if result.status == Status::Passed { Ok(result) } else { Err(result.failure_text()) }
}

/// Searches `options.cases` interleavings; returns the minimal counterexample, if any. Must be
/// called outside an async runtime (each case runs in its own).
pub fn explore(options: &ExploreOptions) -> Result<Option<Counterexample>, String> {
    let mut seed_bytes = [0u8; 32];
    seed_bytes[..8].copy_from_slice(&options.seed.to_le_bytes());
    let config = Config { cases: options.cases, failure_persistence: None, ..Config::default() };
    let mut runner =
        TestRunner::new_with_rng(config, TestRng::from_seed(RngAlgorithm::ChaCha, &seed_bytes));
    let outcome = runner.run(&actions(options.max_actions), |case| {
        replay(&scenario_yaml(&case), options).map(|_| ()).map_err(TestCaseError::fail)
    });
    match outcome {
        Ok(()) => Ok(None),
        Err(TestError::Fail(reason, minimal)) => Ok(Some(Counterexample {
            scenario: scenario_yaml(&minimal),
            failure: reason.to_string(),
        })),
        Err(TestError::Abort(reason)) => Err(format!("the search stopped: {reason}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_action_renders_a_valid_scenario() {
        let all = vec![
            Action::Move { candidate: 0, stage: 2 },
            Action::Reject { candidate: 1 },
            Action::Unreject { candidate: 1 },
            Action::Hire { candidate: 0 },
            Action::Edit { candidate: 0 },
            Action::Schedule { candidate: 0, day: 3, hour: 10 },
            Action::Reschedule { candidate: 0, day: 4, hour: 11 },
            Action::CancelInterview { candidate: 0 },
            Action::Decline { candidate: 1 },
            Action::NoShow { candidate: 0 },
            Action::Feedback { candidate: 0, recommendation: 4 },
            Action::Advance { hours: 30 },
            Action::DuplicateGreenhouseWebhooks,
            Action::DuplicateAndReorderIopWebhooks,
            Action::GreenhouseErrors { times: 2, status_429: true },
            Action::IopErrors { times: 1, timeout: true },
            Action::StaleReads { greenhouse: true, secs: 30 },
            Action::ClearFaults,
            Action::RestartEngine,
        ];
        let yaml = scenario_yaml(&all);
        let scenario =
            load::parse(&yaml, "generated.yaml").unwrap_or_else(|e| panic!("{e}\n{yaml}"));
        // Every action plus the two closing steps.
        assert_eq!(scenario.steps.len(), all.len() + 2);
        assert!(yaml.contains("at: 2026-11-05T10:00:00Z"), "{yaml}");
    }
}
