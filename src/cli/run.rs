//! `rehearsal run` and `rehearsal validate`.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use clap::{Args, ValueEnum};

use super::{EXIT_BAD_INPUT, EXIT_FAILED, bad_input};
use crate::engine::config::EngineConfig;
use crate::report::{self, RunReport};
use crate::scenario::harness::Transport;
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
    /// How the mocks and the engine reach each other: in-process routers or real 127.0.0.1
    /// sockets.
    #[arg(long, value_enum, default_value_t = Transport::Inproc)]
    pub transport: Transport,
    /// Only scenarios whose name, file name or a tag contains this text (repeatable: any).
    #[arg(long)]
    pub filter: Vec<String>,
    /// Run only shard K of N (`2/4`), split deterministically by file, for CI machines.
    #[arg(long, value_parser = parse_shard)]
    pub shard: Option<(usize, usize)>,
    /// Stop starting scenarios after the first failure.
    #[arg(long)]
    pub fail_fast: bool,
    /// Scenarios run at once (1 or more).
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u16).range(1..))]
    pub jobs: u16,
}

fn parse_shard(text: &str) -> Result<(usize, usize), String> {
    let bad = || format!("`{text}` is not a shard; write K/N with 1 <= K <= N, e.g. 2/4");
    let (k, n) = text.split_once('/').ok_or_else(bad)?;
    let (k, n): (usize, usize) =
        (k.trim().parse().map_err(|_| bad())?, n.trim().parse().map_err(|_| bad())?);
    if k == 0 || n == 0 || k > n {
        return Err(bad());
    }
    Ok((k, n))
}

/// Keeps the scenarios the filters and the shard select; shards split the sorted file list
/// round-robin, so every file lands in exactly one shard whatever N is.
fn select(
    scenarios: Vec<LoadedScenario>,
    filters: &[String],
    shard: Option<(usize, usize)>,
) -> Vec<LoadedScenario> {
    let wanted = |s: &LoadedScenario| {
        let file = s.path.file_name().map(|f| f.to_string_lossy().into_owned()).unwrap_or_default();
        filters.is_empty()
            || filters.iter().any(|f| {
                s.scenario.name.contains(f.as_str())
                    || file.contains(f.as_str())
                    || s.scenario.tags.iter().any(|t| t == f)
            })
    };
    let mut kept: Vec<LoadedScenario> = scenarios.into_iter().filter(wanted).collect();
    if let Some((k, n)) = shard {
        kept =
            kept.into_iter().enumerate().filter(|(i, _)| i % n == k - 1).map(|(_, s)| s).collect();
    }
    kept
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Text,
    Json,
    Junit,
    /// One HTML file with a timeline per scenario (keeps the mocks' journals).
    Html,
}

/// Loads every file; reports every broken one (one error line each), not just the first.
fn load_all(paths: &[PathBuf]) -> Result<Vec<LoadedScenario>, String> {
    let files = load::discover(paths).map_err(|e| e.to_string())?;
    let (loaded, broken): (Vec<_>, Vec<_>) =
        files.iter().map(|path| load::load(path)).partition(Result::is_ok);
    if broken.is_empty() {
        return Ok(loaded.into_iter().flatten().collect());
    }
    let errors: Vec<String> =
        broken.into_iter().filter_map(Result::err).map(|e: InputError| e.to_string()).collect();
    Err(errors.join("\nerror: "))
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
        Ok(scenarios) => select(scenarios, &args.filter, None),
        Err(error) => return bad_input(&error),
    };
    if scenarios.is_empty() {
        return bad_input("no scenario matches the --filter selection");
    }
    let (config, config_file) = match load_config(args.config.as_deref()) {
        Ok(loaded) => loaded,
        Err(error) => return bad_input(&error),
    };
    // Overrides were checked against the built-in config when loaded; check them against the
    // one this run uses (every scenario selected, shard or not: the library is one input).
    let broken: Vec<String> = scenarios
        .iter()
        .filter_map(|s| s.check_overrides(&config).err())
        .map(|e| e.to_string())
        .collect();
    if !broken.is_empty() {
        return bad_input(&broken.join("\nerror: "));
    }
    let selected = scenarios.len();
    let scenarios = select(scenarios, &[], args.shard);
    if let (true, Some((k, n))) = (scenarios.is_empty(), args.shard) {
        // More shards than scenarios: a CI matrix must not fail for the empty ones.
        let _ = writeln!(
            anstream::stdout(),
            "rehearsal: shard {k}/{n} is empty ({selected} scenario(s) selected, split {n} ways); nothing to run"
        );
        return ExitCode::SUCCESS;
    }
    // Refuse an unwritable --output before spending minutes on the run.
    if let Some(path) = &args.output
        && let Err(error) = std::fs::OpenOptions::new().create(true).append(true).open(path)
    {
        return bad_input(&format!("cannot write {}: {error}", path.display()));
    }
    let seed = args.seed.unwrap_or_else(fresh_seed);
    let mut options = RunOptions::new(seed, config, config_file);
    options.transport = args.transport;
    options.keep_journals = args.format == Format::Html;

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
    // A progress bar only on a terminal; CI logs get the quiet per-scenario lines alone.
    let bar = if lines_to_stdout && std::io::IsTerminal::is_terminal(&std::io::stdout()) {
        let bar = indicatif::ProgressBar::new(scenarios.len() as u64);
        bar.set_style(
            indicatif::ProgressStyle::with_template("{bar:30} {pos}/{len} {elapsed}")
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        Some(bar)
    } else {
        None
    };
    let report =
        runner::run_all(&scenarios, &options, usize::from(args.jobs), args.fail_fast, |result| {
            let line = report::terminal::scenario_line(result);
            match &bar {
                Some(bar) => {
                    bar.println(line);
                    bar.inc(1);
                }
                None => say(&line),
            }
        })
        .await;
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }

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
        Format::Html => report::html::render(report),
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
        Err(error) => bad_input(&error),
    }
}

/// A seed for a run that was not given one: different every run, printed so it can be replayed.
pub(super) fn fresh_seed() -> u64 {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    (nanos as u64) ^ u64::from(std::process::id()).rotate_left(32)
}
