//! `rehearsal explore`: search for interleavings the engine does not converge on (checked
//! against a reference model), with the default engine configuration or a user's own, and
//! write the minimal one as a scenario.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;

use super::{EXIT_BAD_INPUT, EXIT_FAILED, bad_input};
use crate::explore::{self, ExploreOptions};

#[derive(Args)]
pub struct ExploreArgs {
    /// Engine configuration to explore (default: fixtures/engine.toml).
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// How many interleavings to try. The default suits a CI minute, not an afternoon.
    #[arg(long, default_value_t = 32)]
    pub cases: u32,
    /// Seed of the search; printed, and replays it exactly.
    #[arg(long)]
    pub seed: Option<u64>,
    /// Longest interleaving, in actions (the closing steps and the model's expectations come
    /// on top).
    #[arg(long, default_value_t = 12)]
    pub max_actions: usize,
    /// Where the minimal failing scenario is written.
    #[arg(long, default_value = "explore-failure.yaml")]
    pub output: PathBuf,
}

/// Runs outside the async runtime: every case builds its own.
pub fn main(args: ExploreArgs) -> ExitCode {
    let (config, config_file) = match super::run::load_config(args.config.as_deref()) {
        Ok(loaded) => loaded,
        Err(error) => return bad_input(&error),
    };
    if args.cases == 0 || args.max_actions == 0 {
        return bad_input("--cases and --max-actions must be at least 1");
    }
    let seed = args.seed.unwrap_or_else(super::run::fresh_seed);
    println!(
        "rehearsal explore: {} case(s) of up to {} actions, seed {seed}, engine config {config_file}",
        args.cases, args.max_actions
    );
    let options = ExploreOptions {
        cases: args.cases,
        seed,
        max_actions: args.max_actions,
        config,
        config_file,
        scenario_file: args.output.clone(),
    };

    match explore::explore(&options) {
        Ok(None) => {
            println!("ok: every interleaving converged ({} cases); seed {seed}", args.cases);
            ExitCode::SUCCESS
        }
        Ok(Some(counterexample)) => {
            if let Err(error) = std::fs::write(&args.output, &counterexample.scenario) {
                eprintln!("error: cannot write {}: {error}", args.output.display());
                return ExitCode::from(EXIT_BAD_INPUT);
            }
            println!(
                "FAILED: an interleaving does not converge; the minimal one is {}",
                args.output.display()
            );
            println!("{}", counterexample.failure);
            let config = match &args.config {
                Some(path) => format!(" --config {}", path.display()),
                None => String::new(),
            };
            println!(
                "replay it with: rehearsal run {}{config} --seed {seed}",
                args.output.display()
            );
            ExitCode::from(EXIT_FAILED)
        }
        Err(error) => bad_input(&error),
    }
}
