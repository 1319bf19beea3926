//! Convergence: generated interleavings of both sides' actions, faults and time end in a state
//! that satisfies every invariant; and when an engine cannot converge, the search says so with
//! a short scenario file that reproduces it.

use rehearsal::engine::config::EngineConfig;
use rehearsal::explore::{ExploreOptions, explore, replay};
use rehearsal::scenario::load;

fn options(config: EngineConfig, cases: u32, seed: u64) -> ExploreOptions {
    ExploreOptions {
        cases,
        seed,
        max_actions: 10,
        config,
        config_file: "fixtures/engine.toml".into(),
    }
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
    // Few cases keep `cargo test` quick; `rehearsal explore --cases N` searches longer.
    let found = explore(&options(default_config(), 12, 20_261_204)).unwrap();
    if let Some(counterexample) = found {
        panic!("did not converge:\n{}\n{}", counterexample.failure, counterexample.scenario);
    }
}

#[test]
fn an_engine_that_gives_up_at_once_is_caught_with_a_minimal_scenario() {
    // A deliberately fragile engine: one attempt, so any injected Harvest error loses the event.
    let mut fragile = default_config();
    fragile.retry.max_attempts = 1;
    let counterexample = explore(&options(fragile.clone(), 200, 7))
        .unwrap()
        .expect("a one-attempt engine must fail under injected errors");

    // The counterexample is a scenario file in its own right, and it reproduces the failure.
    let scenario = load::parse(&counterexample.scenario, "minimal.yaml").unwrap();
    assert!(counterexample.scenario.contains("faults:"), "{}", counterexample.scenario);
    // Shrunk: the fault, the action it breaks, and the two closing steps at most a few more.
    assert!(scenario.steps.len() <= 6, "not minimal:\n{}", counterexample.scenario);
    assert!(replay(&counterexample.scenario, &options(fragile, 1, 7)).is_err());
    assert!(counterexample.failure.contains("invariant"), "{}", counterexample.failure);
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
    // The written file runs as an ordinary scenario and fails the same way.
    let rerun = rehearsal(&[
        "run",
        &out.display().to_string(),
        "--config",
        &fragile.display().to_string(),
        "--seed",
        "7",
    ]);
    assert_eq!(rerun.code, 1, "{}{}", rerun.stdout, rerun.stderr);
    assert!(rerun.stdout.contains("invariant "), "{}", rerun.stdout);
}
