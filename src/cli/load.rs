//! `rehearsal load`: seeded fake candidates through the stages against the real engine,
//! reported as a table or JSON. Exit 0 when every started candidate finished and no rate
//! limit was exceeded, 1 otherwise, 2 for unusable flags.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, ValueEnum};

use super::{EXIT_FAILED, bad_input};
use crate::load::{self, LoadError, LoadOptions};
use crate::scenario::duration;

#[derive(Args)]
pub struct LoadArgs {
    /// Candidates to push through the stages (at most; the rate and duration may start fewer).
    #[arg(long, default_value_t = 100)]
    pub candidates: usize,
    /// Candidates started per second.
    #[arg(long, default_value_t = 10.0)]
    pub rate: f64,
    /// How long candidates keep starting: seconds, or e.g. `30s`, `5m`.
    #[arg(long, default_value = "10s")]
    pub duration: String,
    /// After the last start, how long started candidates may take to finish (run's clock).
    #[arg(long, default_value = "1h")]
    pub drain: String,
    /// Wall-clock bound of the whole run, in seconds.
    #[arg(long, default_value_t = 600)]
    pub timeout: u64,
    /// Seed for the fake candidates and every other random choice.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    #[arg(long, value_enum, default_value_t = LoadFormat::Text)]
    pub format: LoadFormat,
    /// Load an engine already running on loopback (e.g. `rehearsal engine`) instead of the
    /// in-process one. The mocks then listen where its --config points them (loopback
    /// base URLs) and use the secrets from the environment it reads.
    #[arg(long)]
    pub engine_url: Option<String>,
    /// Engine configuration (default: fixtures/engine.toml).
    #[arg(long)]
    pub config: Option<PathBuf>,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LoadFormat {
    Text,
    Json,
}

fn seconds_of(flag: &str, text: &str) -> Result<chrono::Duration, String> {
    let text = text.trim();
    let parsed = match text.parse::<u64>() {
        Ok(secs) => chrono::Duration::try_seconds(secs as i64).ok_or_else(|| "too long".to_owned()),
        Err(_) => duration::parse(text),
    };
    parsed.map_err(|reason| format!("--{flag}: {reason}"))
}

pub async fn main(args: LoadArgs) -> ExitCode {
    let (config, _) = match super::run::load_config(args.config.as_deref()) {
        Ok(config) => config,
        Err(message) => return bad_input(&message),
    };
    let (duration, drain) =
        match (seconds_of("duration", &args.duration), seconds_of("drain", &args.drain)) {
            (Ok(duration), Ok(drain)) => (duration, drain),
            (Err(message), _) | (_, Err(message)) => return bad_input(&message),
        };
    let options = LoadOptions {
        candidates: args.candidates,
        rate_per_sec: args.rate,
        duration_secs: u64::try_from(duration.num_seconds()).unwrap_or(0),
        seed: args.seed,
        engine_url: args.engine_url,
        acting_user_id: config.greenhouse.acting_user_id,
        config,
        drain,
        wall_limit_secs: args.timeout,
    };
    let report = match load::run(&options).await {
        Ok(report) => report,
        Err(error @ LoadError::Option { .. }) => return bad_input(&error.to_string()),
        Err(error) => {
            let _ = writeln!(anstream::stderr(), "error: {error}");
            return ExitCode::from(EXIT_FAILED);
        }
    };
    let text = match args.format {
        LoadFormat::Text => report.table(),
        LoadFormat::Json => serde_json::to_string_pretty(&report).unwrap_or_default() + "\n",
    };
    let _ = anstream::stdout().write_all(text.as_bytes());
    let clean = !report.limit_exceeded
        && report.candidates_failed == 0
        && report.candidates_unfinished == 0;
    if clean { ExitCode::SUCCESS } else { ExitCode::from(EXIT_FAILED) }
}
