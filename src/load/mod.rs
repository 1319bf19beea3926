//! Load mode (`rehearsal load`): pushes seeded fake candidates through the stages — moved into
//! a trigger stage, booked in the IOP, feedback submitted — against the real engine, and
//! reports throughput, latency from "webhook accepted" to "the engine's action observed",
//! errors, retries, rate-limit waits and any 429 (none is injected, so any 429 is a limit the
//! engine exceeded).
//!
//! By default the engine runs in-process under a virtual clock with its SQLite store on disk,
//! so rate-limit windows and backoff cost no wall time: latencies are on that clock (they show
//! the waits the mocks' rate limits impose), throughput is given per wall second and per clock
//! second. With an engine URL the mocks listen on loopback and everything runs in real time.
//! A run is bounded by its candidate count, its duration plus a drain period (on its clock)
//! and a wall-clock limit, and stops by itself.

// TODO(correctness): `--engine-url` is covered by unit tests of the URL check and was run by
// hand against `rehearsal engine`; no automated test spawns an engine and loads it yet.
mod driver;
mod record;
mod world;

use chrono::Duration;
use serde::Serialize;

use crate::engine::config::EngineConfig;
use record::{Observed, Phase};
pub use world::World;

/// Why a load run could not run (as opposed to what it measured).
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("--{flag}: {reason}")]
    Option { flag: &'static str, reason: String },
    #[error("cannot set up the load run: {0}")]
    Setup(String),
    #[error("control call {call} failed: {reason}")]
    Control { call: String, reason: String },
}

/// What to run.
#[derive(Debug, Clone)]
pub struct LoadOptions {
    pub candidates: usize,
    /// Candidates started per second (on the run's clock).
    pub rate_per_sec: f64,
    /// Seconds during which candidates start.
    pub duration_secs: u64,
    pub seed: u64,
    /// An engine on loopback to load instead of the in-process one.
    pub engine_url: Option<String>,
    pub config: EngineConfig,
    /// Time after the last start for the started candidates to finish (on the run's clock).
    pub drain: Duration,
    /// Wall-clock bound of the whole run, in seconds.
    pub wall_limit_secs: u64,
    pub acting_user_id: Option<i64>,
}

impl LoadOptions {
    /// Refuses impossible numbers and any engine URL that is not loopback.
    pub fn validate(&self) -> Result<(), LoadError> {
        let bad = |flag, reason: &str| Err(LoadError::Option { flag, reason: reason.to_owned() });
        if self.candidates == 0 || self.candidates > 100_000 {
            return bad("candidates", "must be between 1 and 100000");
        }
        if !(self.rate_per_sec.is_finite()
            && self.rate_per_sec > 0.0
            && self.rate_per_sec <= 10_000.0)
        {
            return bad("rate", "must be a number of candidates per second in (0, 10000]");
        }
        if self.duration_secs == 0 || self.duration_secs > 86_400 {
            return bad("duration", "must be between 1 and 86400 seconds");
        }
        if let Some(url) = &self.engine_url {
            check_engine_url(url)?;
        }
        Ok(())
    }

    /// Candidates that start within the duration at the rate, at most `candidates`.
    pub fn planned(&self) -> usize {
        let within = (self.rate_per_sec * self.duration_secs as f64).ceil() as usize;
        self.candidates.min(within.max(1))
    }

    fn engine_base(&self) -> String {
        match &self.engine_url {
            Some(url) => url.trim_end_matches('/').to_owned(),
            None => "http://engine.load".to_owned(),
        }
    }
}

/// Loopback only: load is aimed at nothing but an engine on this machine.
fn check_engine_url(url: &str) -> Result<(), LoadError> {
    let refuse = |reason: String| Err(LoadError::Option { flag: "engine-url", reason });
    let Ok(uri) = http::Uri::try_from(url) else {
        return refuse(format!("`{url}` is not a URL"));
    };
    if uri.scheme_str() != Some("http") {
        return refuse(format!("`{url}` must be an http:// URL"));
    }
    match uri.host() {
        Some(host) if is_loopback_host(host) => Ok(()),
        Some(host) => refuse(format!(
            "`{host}` is not a loopback address; load runs only against 127.0.0.1, ::1 or localhost"
        )),
        None => refuse(format!("`{url}` has no host")),
    }
}

pub(crate) fn is_loopback_host(host: &str) -> bool {
    let host = host.trim_start_matches('[').trim_end_matches(']');
    host.eq_ignore_ascii_case("localhost")
        || host.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// Latency percentiles in milliseconds on the run's clock.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Latency {
    pub samples: usize,
    pub p50_ms: u64,
    pub p90_ms: u64,
    pub p99_ms: u64,
    pub max_ms: u64,
}

impl Latency {
    fn of(mut samples: Vec<u64>) -> Self {
        samples.sort_unstable();
        // Nearest rank: the smallest sample with at least q of all samples at or below it.
        let rank = |q: f64| {
            let index = ((q * samples.len() as f64).ceil() as usize).saturating_sub(1);
            samples.get(index).copied().unwrap_or(0)
        };
        Self {
            samples: samples.len(),
            p50_ms: rank(0.50),
            p90_ms: rank(0.90),
            p99_ms: rank(0.99),
            max_ms: samples.last().copied().unwrap_or(0),
        }
    }
}

/// Everything a load run reports (the JSON format; the table shows the same).
#[derive(Debug, Clone, Serialize)]
pub struct LoadReport {
    /// `in_process` or `external`.
    pub mode: &'static str,
    /// `virtual` (in-process) or `wall` (external): the clock latencies are measured on.
    pub clock: &'static str,
    pub seed: u64,
    pub candidates_requested: usize,
    pub candidates_planned: usize,
    pub candidates_started: usize,
    pub candidates_completed: usize,
    pub candidates_failed: usize,
    pub candidates_unfinished: usize,
    /// Engine actions observed: requests opened, interviews and scorecards created.
    pub actions_observed: usize,
    pub webhooks_accepted: u64,
    pub webhooks_refused: u64,
    pub greenhouse_requests: u64,
    pub iop_requests: u64,
    pub responses_5xx: u64,
    pub responses_429: u64,
    /// Whether any 429 was answered: the run injects none, so each is a limit exceeded.
    pub limit_exceeded: bool,
    /// Engine retries and Greenhouse rate-limit waits (in-process only; unknown otherwise).
    pub retries: Option<u64>,
    pub rate_limit_waits: Option<u64>,
    pub dead_letters: Option<u64>,
    pub errors: Vec<String>,
    pub wall_seconds: f64,
    pub clock_seconds: f64,
    pub actions_per_wall_second: f64,
    pub actions_per_clock_second: f64,
    /// Webhook accepted → action observed, all phases together and per phase.
    pub latency: Latency,
    pub latency_request: Latency,
    pub latency_interview: Latency,
    pub latency_feedback: Latency,
    /// Where the mocks listened (external mode).
    pub mock_urls: Vec<String>,
}

/// Runs the load and reports what it saw.
pub async fn run(options: &LoadOptions) -> Result<LoadReport, LoadError> {
    options.validate()?;
    let world = match &options.engine_url {
        Some(url) => World::external(&options.config, options.seed, url).await?,
        None => World::in_process(&options.config, options.seed).await?,
    };
    let outcome = driver::drive(&world, options).await?;
    let engine_stats = world.engine.as_ref().map(|e| (e.stats(), e.harvest_stats()));
    let observed = world.recorder.lock();
    let actions_observed = observed.acted.len();
    let per_second =
        |seconds: f64| if seconds > 0.0 { actions_observed as f64 / seconds } else { 0.0 };
    Ok(LoadReport {
        mode: if options.engine_url.is_some() { "external" } else { "in_process" },
        clock: if world.virtual_clock.is_some() { "virtual" } else { "wall" },
        seed: options.seed,
        candidates_requested: options.candidates,
        candidates_planned: options.planned(),
        candidates_started: outcome.started,
        candidates_completed: outcome.completed,
        candidates_failed: outcome.failed,
        candidates_unfinished: outcome.started - outcome.completed - outcome.failed,
        actions_observed,
        webhooks_accepted: observed.webhooks_accepted,
        webhooks_refused: observed.webhooks_refused,
        greenhouse_requests: observed.greenhouse_requests,
        iop_requests: observed.iop_requests,
        responses_5xx: observed.responses_5xx,
        responses_429: observed.responses_429,
        limit_exceeded: observed.responses_429 > 0,
        retries: engine_stats.map(|(s, _)| s.retried),
        rate_limit_waits: engine_stats.map(|(_, h)| h.rate_limit_waits),
        dead_letters: engine_stats.map(|(s, _)| s.dead_lettered),
        errors: outcome.errors.clone(),
        wall_seconds: outcome.wall_seconds,
        clock_seconds: outcome.clock_seconds,
        actions_per_wall_second: per_second(outcome.wall_seconds),
        actions_per_clock_second: per_second(outcome.clock_seconds),
        latency: latency(&observed, None),
        latency_request: latency(&observed, Some(Phase::Request)),
        latency_interview: latency(&observed, Some(Phase::Interview)),
        latency_feedback: latency(&observed, Some(Phase::Feedback)),
        mock_urls: world.mock_urls.clone(),
    })
}

fn latency(observed: &Observed, phase: Option<Phase>) -> Latency {
    let samples = observed
        .acted
        .iter()
        .filter(|((p, _), _)| phase.is_none_or(|wanted| *p == wanted))
        .filter_map(|(key, acted)| {
            let accepted = observed.accepted.get(key)?;
            Some((*acted - *accepted).num_milliseconds().max(0) as u64)
        })
        .collect();
    Latency::of(samples)
}

impl LoadReport {
    /// The report as a table for a terminal.
    pub fn table(&self) -> String {
        let row = |name: &str, value: String| format!("  {name:<36} {value}\n");
        let opt = |value: Option<u64>| {
            value.map_or("n/a (external engine)".to_owned(), |v| v.to_string())
        };
        let lat = |l: &Latency| {
            format!(
                "p50 {} ms  p90 {} ms  p99 {} ms  max {} ms  (n={})",
                l.p50_ms, l.p90_ms, l.p99_ms, l.max_ms, l.samples
            )
        };
        let mut out = format!(
            "rehearsal load — {} engine, {} clock, seed {}\n",
            self.mode, self.clock, self.seed
        );
        out += &row(
            "candidates requested / planned",
            format!("{} / {}", self.candidates_requested, self.candidates_planned),
        );
        out += &row(
            "started / completed / failed / open",
            format!(
                "{} / {} / {} / {}",
                self.candidates_started,
                self.candidates_completed,
                self.candidates_failed,
                self.candidates_unfinished
            ),
        );
        out += &row("engine actions observed", self.actions_observed.to_string());
        out += &row(
            "webhooks accepted / refused",
            format!("{} / {}", self.webhooks_accepted, self.webhooks_refused),
        );
        out += &row(
            "API requests greenhouse / iop",
            format!("{} / {}", self.greenhouse_requests, self.iop_requests),
        );
        out += &row(
            "throughput per wall second",
            format!("{:.1} actions", self.actions_per_wall_second),
        );
        if self.clock != "wall" {
            out += &row(
                &format!("throughput per {} second", self.clock),
                format!("{:.3} actions", self.actions_per_clock_second),
            );
        }
        out += &row(
            "elapsed wall / clock",
            format!("{:.2} s / {:.0} s", self.wall_seconds, self.clock_seconds),
        );
        out += &row("latency accepted → action", lat(&self.latency));
        out += &row("  stage change → request", lat(&self.latency_request));
        out += &row("  interview → Greenhouse", lat(&self.latency_interview));
        out += &row("  feedback → scorecard", lat(&self.latency_feedback));
        out += &row(
            "retries / rate-limit waits",
            format!("{} / {}", opt(self.retries), opt(self.rate_limit_waits)),
        );
        out += &row("dead letters", opt(self.dead_letters));
        out +=
            &row("5xx / 429 answers", format!("{} / {}", self.responses_5xx, self.responses_429));
        out += &row(
            "rate limit exceeded",
            if self.limit_exceeded { "YES".into() } else { "no".into() },
        );
        for url in &self.mock_urls {
            out += &row("mock listening at", url.clone());
        }
        for error in self.errors.iter().take(10) {
            out += &row("error", error.clone());
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_use_nearest_rank() {
        let latency = Latency::of((1..=100).collect());
        assert_eq!(
            (latency.p50_ms, latency.p90_ms, latency.p99_ms, latency.max_ms),
            (50, 90, 99, 100)
        );
        assert_eq!(Latency::of(Vec::new()).samples, 0);
    }

    #[test]
    fn only_loopback_engines_are_loaded() {
        assert!(check_engine_url("http://127.0.0.1:8090").is_ok());
        assert!(check_engine_url("http://localhost:8090/").is_ok());
        assert!(check_engine_url("http://[::1]:8090").is_ok());
        let error = check_engine_url("http://10.0.0.5:8090").unwrap_err().to_string();
        assert!(error.contains("not a loopback address"), "{error}");
        assert!(check_engine_url("https://127.0.0.1").is_err());
        assert!(check_engine_url("not a url").is_err());
    }
}
