//! `rehearsal run` and `rehearsal validate`.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use clap::{Args, ValueEnum};

use super::{EXIT_BAD_INPUT, EXIT_FAILED, bad_input};
use crate::engine::config::EngineConfig;
use crate::report::{self, RunReport};
use crate::scenario::load::{self, InputError, LoadedScenario};
use crate::scenario::runner::{self, RunOptions};

/// The default engine configuration, also built in so `run` works from any folder.
pub const DEFAULT_CONFIG_PATH: &str = "fixtures/engine.toml";
const BUILT_IN_CONFIG: &str = include_str!("../../fixtures/engine.toml");

#[derive(Args)]
pub struct RunArgs {
    /// Scenario files or folders (searched recursively for *.yaml / *.yml).
    #[arg(required = true)]
    pub paths: Vec<PathBuf>,
    /// Engine configuration to rehearse (default: fixtures/engine.toml).
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Seed for every random choice; printed by every run, replays it exactly.
    #[arg(long)]
    pub seed: Option<u64>,
    /// Report format on stdout (or in --output).
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
    /// Write the report here instead of stdout (the terminal summary still prints).
    #[arg(long)]
    pub output: Option<PathBuf>,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Text,
    Json,
    Junit,
}

fn load_all(paths: &[PathBuf]) -> Result<Vec<LoadedScenario>, InputError> {
    load::discover(paths)?.iter().map(|path| load::load(path)).collect()
}

/// Loads `path`, else `fixtures/engine.toml` when present, else the built-in copy of it.
pub fn load_config(path: Option<&Path>) -> Result<(EngineConfig, String), String> {
    match path {
        Some(path) => EngineConfig::load(path)
            .map(|c| (c, path.display().to_string()))
            .map_err(|e| e.to_string()),
        None if Path::new(DEFAULT_CONFIG_PATH).exists() => {
            EngineConfig::load(Path::new(DEFAULT_CONFIG_PATH))
                .map(|c| (c, DEFAULT_CONFIG_PATH.to_owned()))
                .map_err(|e| e.to_string())
        }
        None => EngineConfig::parse(BUILT_IN_CONFIG, DEFAULT_CONFIG_PATH)
            .map(|c| (c, format!("{DEFAULT_CONFIG_PATH} (built in)")))
            .map_err(|e| e.to_string()),
    }
}

pub async fn run(args: RunArgs) -> ExitCode {
    let scenarios = match load_all(&args.paths) {
        Ok(scenarios) => scenarios,
        Err(error) => return bad_input(&error.to_string()),
    };
    let (config, config_file) = match load_config(args.config.as_deref()) {
        Ok(loaded) => loaded,
        Err(error) => return bad_input(&error),
    };
    let seed = args.seed.unwrap_or_else(fresh_seed);
    let options = RunOptions { seed, config, config_file };

    // Machine formats on stdout keep stdout clean: progress lines go to stderr then.
    let lines_to_stdout = args.format == Format::Text || args.output.is_some();
    let say = |line: &str| {
        let _ = if lines_to_stdout {
            writeln!(anstream::stdout(), "{line}")
        } else {
            writeln!(anstream::stderr(), "{line}")
        };
    };
    say(&format!(
        "rehearsal: {} scenario(s), seed {seed}, engine config {}",
        scenarios.len(),
        options.config_file
    ));
    let report = runner::run_all(&scenarios, &options, |result| {
        say(&report::terminal::scenario_line(result))
    })
    .await;

    if let Err(error) = emit(&report, args.format, args.output.as_deref(), lines_to_stdout) {
        eprintln!("error: {error:#}");
        return ExitCode::from(EXIT_BAD_INPUT);
    }
    if report.all_passed() { ExitCode::SUCCESS } else { ExitCode::from(EXIT_FAILED) }
}

fn emit(
    report: &RunReport,
    format: Format,
    output: Option<&Path>,
    lines_to_stdout: bool,
) -> anyhow::Result<()> {
    let summary = report::terminal::summary(report);
    let machine = match format {
        Format::Text => anstream::adapter::strip_str(&summary).to_string(),
        Format::Json => report.to_json(),
        Format::Junit => report::junit::render(report),
    };
    match output {
        Some(path) => {
            std::fs::write(path, machine)
                .with_context(|| format!("cannot write {}", path.display()))?;
            write!(anstream::stdout(), "{summary}")?;
        }
        None if format == Format::Text => write!(anstream::stdout(), "{summary}")?,
        None => {
            writeln!(std::io::stdout(), "{machine}")?;
            if !lines_to_stdout {
                write!(anstream::stderr(), "{summary}")?;
            }
        }
    }
    Ok(())
}

pub fn validate(paths: &[PathBuf]) -> ExitCode {
    match load_all(paths) {
        Ok(scenarios) => {
            for scenario in &scenarios {
                println!("ok {} ({})", scenario.path.display(), scenario.scenario.name);
            }
            println!("{} scenario file(s) valid", scenarios.len());
            ExitCode::SUCCESS
        }
        Err(error) => bad_input(&error.to_string()),
    }
}

/// A seed for a run that was not given one: different every run, printed so it can be replayed.
fn fresh_seed() -> u64 {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    (nanos as u64) ^ u64::from(std::process::id()).rotate_left(32)
}
