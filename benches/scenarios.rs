//! Measures the scenario runner on the bundled library: every file of `scenarios/` in one run,
//! the 72-hour `late-feedback.yaml` alone, and `stage-skip.yaml` (no `advance:` step) alone —
//! the ratio of the last two is what 72 h of virtual time costs.

use std::path::{Path, PathBuf};

use criterion::{Criterion, criterion_group, criterion_main};
use rehearsal::engine::config::EngineConfig;
use rehearsal::scenario::load::{self, LoadedScenario};
use rehearsal::scenario::runner::{RunOptions, run_all};

fn loaded(paths: &[&str]) -> Vec<LoadedScenario> {
    let inputs: Vec<PathBuf> = paths.iter().map(PathBuf::from).collect();
    load::discover(&inputs).unwrap().iter().map(|p| load::load(p).unwrap()).collect()
}

fn scenarios(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let config = EngineConfig::load(Path::new("fixtures/engine.toml")).unwrap();
    let options = RunOptions::new(1, config, "fixtures/engine.toml".into());
    let mut group = c.benchmark_group("scenario_runner");
    group.sample_size(10);
    for (name, paths) in [
        ("whole_library", vec!["scenarios"]),
        ("late_feedback_72h", vec!["scenarios/late-feedback.yaml"]),
        ("stage_skip_no_wait", vec!["scenarios/stage-skip.yaml"]),
    ] {
        let scenarios = loaded(&paths);
        group.bench_function(name, |b| {
            b.iter(|| {
                let report = runtime.block_on(run_all(&scenarios, &options, 1, false, |_| {}));
                assert_eq!(report.passed, report.total);
            })
        });
    }
    group.finish();
}

criterion_group!(benches, scenarios);
criterion_main!(benches);
