//! Convergence: sequences drawn from the reference model (both sides' actions, delivery faults,
//! sweeps, restarts and time) end in the state the model predicts and keep every invariant;
//! and when an engine cannot converge, the search says so with a short scenario file that
//! fails the same way when run on its own.

use rehearsal::engine::config::EngineConfig;
use rehearsal::explore::{ExploreOptions, explore, replay};
use rehearsal::scenario::load;
use rehearsal::scenario::model::Step;

fn options(config: EngineConfig, cases: u32, seed: u64) -> ExploreOptions {
    ExploreOptions { cases, seed, ..ExploreOptions::new(config, "fixtures/engine.toml") }
}

fn default_config() -> EngineConfig {
    EngineConfig::load(std::path::Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/fixtures/engine.toml"
    )))
    .unwrap()
}

#[test]
fn the_default_engine_converges_on_generated_interleavings() {
    // A modest search keeps `cargo test` quick; `rehearsal explore --cases N` searches longer.
    let found = explore(&options(default_config(), 40, 20_261_204)).unwrap();
    if let Some(counterexample) = found {
        panic!("did not converge:\n{}\n{}", counterexample.failure, counterexample.scenario);
    }
}

#[test]
fn an_engine_that_gives_up_at_once_is_caught_with_a_minimal_scenario() {
    // A deliberately fragile engine: one attempt, so any injected error or lagging read loses
    // the event.
    let mut fragile = default_config();
    fragile.retry.max_attempts = 1;
    let search = options(fragile, 200, 7);
    let counterexample =
        explore(&search).unwrap().expect("a one-attempt engine must fail under injected faults");

    // The counterexample is a scenario file in its own right, ending with the model's
    // expectations, and it was shrunk: a fault, the action it breaks, and the closing steps.
    let scenario = load::parse(&counterexample.scenario, "minimal.yaml").unwrap();
    assert!(counterexample.scenario.contains("faults:"), "{}", counterexample.scenario);
    assert!(
        matches!(scenario.steps.last().map(|s| &s.value), Some(Step::Expect(_))),
        "{}",
        counterexample.scenario
    );
    assert!(scenario.steps.len() <= 8, "not minimal:\n{}", counterexample.scenario);

    // Replayed alone it fails exactly as it did in the search.
    let failure = replay(&counterexample.scenario, &search).unwrap_err();
    assert_eq!(failure, counterexample.failure);
}

#[test]
fn explore_cli_writes_the_minimal_failure_as_a_scenario() {
    use crate::helpers::rehearsal;
    let run = rehearsal(&["explore", "--cases", "3", "--seed", "3"]);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    assert!(
        run.stdout.contains("every interleaving converged (3 cases); seed 3"),
        "{}",
        run.stdout
    );

    let dir = tempfile::tempdir().unwrap();
    let text =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/engine.toml"))
            .unwrap();
    let fragile = dir.path().join("fragile.toml");
    std::fs::write(&fragile, text.replace("max_attempts = 8", "max_attempts = 1")).unwrap();
    let out = dir.path().join("found.yaml");
    let run = rehearsal(&[
        "explore",
        "--config",
        &fragile.display().to_string(),
        "--cases",
        "200",
        "--seed",
        "7",
        "--output",
        &out.display().to_string(),
    ]);
    assert_eq!(run.code, 1, "{}{}", run.stdout, run.stderr);
    assert!(run.stdout.contains("replay it with: rehearsal run"), "{}", run.stdout);

    // The written file runs as an ordinary scenario and fails at the same step with the same
    // message (the JSON report carries both).
    let rerun = rehearsal(&[
        "run",
        &out.display().to_string(),
        "--config",
        &fragile.display().to_string(),
        "--seed",
        "7",
        "--format",
        "json",
    ]);
    assert_eq!(rerun.code, 1, "{}{}", rerun.stdout, rerun.stderr);
    let report: serde_json::Value = serde_json::from_str(&rerun.stdout).unwrap();
    let result = &report["scenarios"][0];
    let failure = &result["failure"];
    let headline = format!(
        "step {} (line {}): {}\n{}\n",
        failure["step"],
        failure["line"],
        failure["description"].as_str().unwrap_or_default(),
        failure["message"].as_str().unwrap_or_default()
    );
    assert!(run.stdout.contains(&headline), "{headline} not in:\n{}", run.stdout);
    // The failure says how to replay it: the run's seed (the scenario's own is derived).
    let seed = report["seed"].as_str().expect("the seed is a string in JSON");
    assert!(run.stdout.contains(&format!("--seed {seed}\n")), "{}", run.stdout);
}
