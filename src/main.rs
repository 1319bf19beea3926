//! The `rehearsal` command line: `run` replays scenarios through the mocks and the real engine,
//! `validate` checks scenario files, `engine` runs the sync engine as a service.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use clap::{Parser, Subcommand, ValueEnum};

use rehearsal::engine::config::{EngineConfig, EnvSecrets, Secrets};
use rehearsal::report::{self, RunReport};
use rehearsal::scenario::load::{self, InputError, LoadedScenario};
use rehearsal::scenario::runner::{self, RunOptions};

/// The default engine configuration, also built in so `run` works from any folder.
const DEFAULT_CONFIG_PATH: &str = "fixtures/engine.toml";
const BUILT_IN_CONFIG: &str = include_str!("../fixtures/engine.toml");

#[derive(Parser)]
#[command(
    name = "rehearsal",
    version,
    about = "Rehearse a Greenhouse ↔ interview-orchestration integration before go-live"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Replay scenario files through the mock Greenhouse, the mock IOP and the real engine.
    Run {
        /// Scenario files or folders (searched recursively for *.yaml / *.yml).
        #[arg(required = true)]
        paths: Vec<PathBuf>,
        /// Engine configuration to rehearse (default: fixtures/engine.toml).
        #[arg(long)]
        config: Option<PathBuf>,
        /// Seed for every random choice; printed by every run, replays it exactly.
        #[arg(long)]
        seed: Option<u64>,
        /// Report format on stdout (or in --output).
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
        /// Write the report here instead of stdout (the terminal summary still prints).
        #[arg(long)]
        output: Option<PathBuf>,
    },
    /// Check scenario files without running them.
    Validate {
        #[arg(required = true)]
        paths: Vec<PathBuf>,
    },
    /// Run the sync engine as a service (webhook ingest, worker, health endpoints).
    Engine {
        #[arg(long)]
        config: PathBuf,
    },
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Format {
    Text,
    Json,
    Junit,
}

/// Exit codes: 0 all passed, 1 a scenario failed, 2 the input is unusable.
const EXIT_FAILED: u8 = 1;
const EXIT_BAD_INPUT: u8 = 2;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("error: cannot start the async runtime: {error}");
            return ExitCode::from(EXIT_BAD_INPUT);
        }
    };
    match cli.command {
        Command::Run { paths, config, seed, format, output } => {
            runtime.block_on(run(&paths, config.as_deref(), seed, format, output.as_deref()))
        }
        Command::Validate { paths } => validate(&paths),
        Command::Engine { config } => match runtime.block_on(serve_engine(&config)) {
            Ok(()) => ExitCode::SUCCESS,
            Err(error) => {
                eprintln!("error: {error:#}");
                ExitCode::from(EXIT_BAD_INPUT)
            }
        },
    }
}

fn load_all(paths: &[PathBuf]) -> Result<Vec<LoadedScenario>, InputError> {
    load::discover(paths)?.iter().map(|path| load::load(path)).collect()
}

fn load_config(path: Option<&Path>) -> Result<(EngineConfig, String), String> {
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

async fn run(
    paths: &[PathBuf],
    config: Option<&Path>,
    seed: Option<u64>,
    format: Format,
    output: Option<&Path>,
) -> ExitCode {
    let scenarios = match load_all(paths) {
        Ok(scenarios) => scenarios,
        Err(error) => return bad_input(&error.to_string()),
    };
    let (config, config_file) = match load_config(config) {
        Ok(loaded) => loaded,
        Err(error) => return bad_input(&error),
    };
    let seed = seed.unwrap_or_else(fresh_seed);
    let options = RunOptions { seed, config, config_file };

    // Machine formats on stdout keep stdout clean: progress lines go to stderr then.
    let lines_to_stdout = format == Format::Text || output.is_some();
    let mut progress = |result: &report::ScenarioResult| {
        let line = report::terminal::scenario_line(result);
        if lines_to_stdout {
            let _ = writeln!(anstream::stdout(), "{line}");
        } else {
            let _ = writeln!(anstream::stderr(), "{line}");
        }
    };
    let header = format!(
        "rehearsal: {} scenario(s), seed {seed}, engine config {}",
        scenarios.len(),
        options.config_file
    );
    if lines_to_stdout {
        let _ = writeln!(anstream::stdout(), "{header}");
    } else {
        let _ = writeln!(anstream::stderr(), "{header}");
    }

    let report = runner::run_all(&scenarios, &options, &mut progress).await;
    if let Err(error) = emit(&report, format, output, lines_to_stdout) {
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
        Format::Text => None,
        Format::Json => Some(report.to_json()),
        Format::Junit => Some(report::junit::render(report)),
    };
    match (machine, output) {
        (None, None) => write!(anstream::stdout(), "{summary}")?,
        (None, Some(path)) => {
            std::fs::write(path, anstream::adapter::strip_str(&summary).to_string())
                .with_context(|| format!("cannot write {}", path.display()))?;
            write!(anstream::stdout(), "{summary}")?;
        }
        (Some(text), Some(path)) => {
            std::fs::write(path, text)
                .with_context(|| format!("cannot write {}", path.display()))?;
            write!(anstream::stdout(), "{summary}")?;
        }
        (Some(text), None) => {
            writeln!(std::io::stdout(), "{text}")?;
            if !lines_to_stdout {
                write!(anstream::stderr(), "{summary}")?;
            }
        }
    }
    Ok(())
}

fn validate(paths: &[PathBuf]) -> ExitCode {
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

fn bad_input(message: &str) -> ExitCode {
    let _ = writeln!(anstream::stderr(), "error: {message}");
    ExitCode::from(EXIT_BAD_INPUT)
}

fn fresh_seed() -> u64 {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    (nanos as u64) ^ u64::from(std::process::id()).rotate_left(32)
}

async fn serve_engine(path: &Path) -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .init();
    let config = EngineConfig::load(path)?;
    let secrets = Secrets::resolve(&config, &EnvSecrets)?;
    let http = std::sync::Arc::new(rehearsal::transport::ReqwestClient::new(
        std::time::Duration::from_secs(30),
    )?);
    let clock = std::sync::Arc::new(rehearsal::clock::SystemClock);
    let listen = config.service.listen.clone();
    let engine = rehearsal::engine::Engine::open(config, secrets, http, clock).await?;

    let listener = tokio::net::TcpListener::bind(&listen)
        .await
        .with_context(|| format!("cannot listen on {listen}"))?;
    println!(
        "{}",
        serde_json::json!({"service": "engine", "url": format!("http://{}", listener.local_addr()?)})
    );
    let router = engine.router();
    let worker = tokio::spawn(engine.clone().run_forever(async {
        let _ = tokio::signal::ctrl_c().await;
    }));
    axum::serve(listener, router)
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await?;
    let _ = worker.await;
    Ok(())
}
