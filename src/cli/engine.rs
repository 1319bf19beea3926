//! `rehearsal engine …`: the sync engine as a service (`serve`), its pre-flight check
//! (`check`) and its dead-letter list (`dead-letters list|retry|drop`).
//! `rehearsal engine --config F` still means `rehearsal engine serve --config F`.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use clap::{Args, Subcommand};

use super::bad_input;
use crate::clock::SystemClock;
use crate::engine::Engine;
use crate::engine::config::{EngineConfig, EnvSecrets, Secrets};
use crate::engine::store::{SqliteStore, Store};
use crate::transport::ReqwestClient;

#[derive(Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct EngineArgs {
    #[command(subcommand)]
    pub command: Option<EngineCommand>,
    /// Shorthand for `engine serve --config`.
    #[arg(long)]
    pub config: Option<PathBuf>,
}

#[derive(Subcommand)]
pub enum EngineCommand {
    /// Run the engine: webhook ingest, worker, reconciliation, /healthz, /readyz, /metrics.
    Serve(ConfigArg),
    /// Check a configuration without starting anything. Exit 0 clean, 1 problems, 2 unreadable.
    Check(ConfigArg),
    /// List, retry or drop the events the engine gave up on.
    #[command(subcommand)]
    DeadLetters(DeadLetterCommand),
}

#[derive(Args)]
pub struct ConfigArg {
    /// The engine configuration (TOML).
    #[arg(long)]
    pub config: PathBuf,
}

#[derive(Subcommand)]
pub enum DeadLetterCommand {
    /// Print every dead letter with its id.
    List(ConfigArg),
    /// Move dead letters back to the queue, due now, with their attempts reset.
    Retry(DeadLetterIds),
    /// Delete dead letters for good (their event ids stay known, so redeliveries are dropped).
    Drop(DeadLetterIds),
}

#[derive(Args)]
pub struct DeadLetterIds {
    #[command(flatten)]
    pub config: ConfigArg,
    /// Dead-letter ids, as `list` prints them.
    #[arg(required_unless_present = "all")]
    pub ids: Vec<i64>,
    /// Every dead letter.
    #[arg(long, conflicts_with = "ids")]
    pub all: bool,
}

pub async fn main(args: EngineArgs) -> ExitCode {
    let command = match (args.command, args.config) {
        (Some(command), _) => command,
        (None, Some(config)) => EngineCommand::Serve(ConfigArg { config }),
        (None, None) => {
            return bad_input("say `rehearsal engine serve|check|dead-letters --config FILE`");
        }
    };
    match command {
        EngineCommand::Serve(args) => match serve(&args.config).await {
            Ok(()) => ExitCode::SUCCESS,
            Err(error) => bad_input(&format!("{error:#}")),
        },
        EngineCommand::Check(args) => super::engine_check::check(&args.config).await,
        EngineCommand::DeadLetters(command) => dead_letters(command).await,
    }
}

/// Serves until SIGINT or SIGTERM, then shuts down gracefully: the listener stops accepting,
/// requests in flight finish (a webhook is stored and acknowledged, or neither), the worker
/// finishes the event in hand, and everything else stays in the store for the next start.
async fn serve(config_path: &Path) -> anyhow::Result<()> {
    init_logs();
    let config = EngineConfig::load(config_path)?;
    let secrets = Secrets::resolve(&config, &EnvSecrets)?;
    // Outbound calls give up after 30 s; the worker retries them with backoff.
    let http = Arc::new(ReqwestClient::new(Duration::from_secs(30))?);
    let listen = config.service.listen.clone();
    let engine = Engine::open(config, secrets, http, Arc::new(SystemClock)).await?;

    let listener = tokio::net::TcpListener::bind(&listen)
        .await
        .with_context(|| format!("cannot listen on {listen}"))?;
    let url = format!("http://{}", listener.local_addr()?);
    // Before anyone learns the address: from here on a signal stops the engine gracefully.
    let shutdown = shutdown_signal();
    println!("{}", serde_json::json!({"service": "engine", "url": url}));
    tracing::info!(%url, "engine listening");

    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    tokio::spawn(async move {
        shutdown.await;
        tracing::info!("shutting down: finishing work in flight");
        let _ = stop_tx.send(true);
    });
    let stopped = |mut rx: tokio::sync::watch::Receiver<bool>| async move {
        let _ = rx.wait_for(|stop| *stop).await;
    };
    let worker = tokio::spawn(engine.clone().run_forever(stopped(stop_rx.clone())));
    axum::serve(listener, engine.router()).with_graceful_shutdown(stopped(stop_rx)).await?;
    worker.await.context("the worker task failed")?;
    Ok(())
}

/// Logs go to stderr, so stdout carries only the `{"service":"engine",...}` line scripts read;
/// `info` unless `RUST_LOG` says otherwise; colours only on a terminal.
fn init_logs() {
    use std::io::IsTerminal;

    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .try_init();
}

/// Resolves at SIGTERM or Ctrl-C. The handlers are installed when this is called, not when
/// the future is first polled: a signal that arrives before the task waiting for it has run
/// (right after start, under load) still stops the engine gracefully instead of killing it.
#[cfg(unix)]
fn shutdown_signal() -> impl std::future::Future<Output = ()> {
    use tokio::signal::unix::{SignalKind, signal};
    let term = signal(SignalKind::terminate());
    let interrupt = signal(SignalKind::interrupt());
    async move {
        match (term, interrupt) {
            (Ok(mut term), Ok(mut interrupt)) => {
                tokio::select! {
                    _ = term.recv() => {}
                    _ = interrupt.recv() => {}
                }
            }
            (Ok(mut term), Err(_)) => {
                term.recv().await;
            }
            (Err(_), Ok(mut interrupt)) => {
                interrupt.recv().await;
            }
            (Err(_), Err(_)) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
}

#[cfg(not(unix))]
fn shutdown_signal() -> impl std::future::Future<Output = ()> {
    async {
        let _ = tokio::signal::ctrl_c().await;
    }
}

async fn dead_letters(command: DeadLetterCommand) -> ExitCode {
    let (config_path, ids, retry) = match &command {
        DeadLetterCommand::List(args) => (&args.config, None, false),
        DeadLetterCommand::Retry(args) => (&args.config.config, Some(args), true),
        DeadLetterCommand::Drop(args) => (&args.config.config, Some(args), false),
    };
    let config = match EngineConfig::load(config_path) {
        Ok(config) => config,
        Err(error) => return bad_input(&error.to_string()),
    };
    let store = match SqliteStore::open(Path::new(&config.store.sqlite_path)).await {
        Ok(store) => store,
        Err(error) => return bad_input(&format!("{}: {error}", config.store.sqlite_path)),
    };
    let result = match ids {
        None => list(&store).await,
        Some(ids) => change(&store, ids, retry).await,
    };
    match result {
        Ok(code) => code,
        Err(error) => bad_input(&error.to_string()),
    }
}

async fn list(store: &SqliteStore) -> anyhow::Result<ExitCode> {
    let letters = store.dead_letters().await?;
    if letters.is_empty() {
        println!("no dead letters");
    }
    for letter in letters {
        println!(
            "{}\t{}\t{}\t{}\t{}\t{}",
            letter.id,
            letter.created_at.to_rfc3339(),
            letter.source.as_str(),
            letter.kind,
            letter.event_id,
            letter.reason
        );
    }
    Ok(ExitCode::SUCCESS)
}

async fn change(
    store: &SqliteStore,
    args: &DeadLetterIds,
    retry: bool,
) -> anyhow::Result<ExitCode> {
    let mut ids: Vec<i64> = if args.all {
        store.dead_letters().await?.into_iter().map(|letter| letter.id).collect()
    } else {
        args.ids.clone()
    };
    // An id named twice is one request: the second would find it gone.
    let mut named = std::collections::HashSet::new();
    ids.retain(|id| named.insert(*id));
    let now = crate::clock::Clock::now(&SystemClock);
    let mut missing = Vec::new();
    for id in ids {
        let found = if retry {
            store.retry_dead_letter(id, now).await?
        } else {
            store.drop_dead_letter(id).await?
        };
        match (found, retry) {
            (true, true) => println!("{id}: back in the queue, due now"),
            (true, false) => println!("{id}: dropped"),
            (false, _) => missing.push(id),
        }
    }
    if missing.is_empty() {
        return Ok(ExitCode::SUCCESS);
    }
    // The others named were handled; the unknown ids are bad input.
    let list = missing.iter().map(i64::to_string).collect::<Vec<_>>().join(", ");
    Ok(bad_input(&format!(
        "no dead letter with id {list} (see `dead-letters list`; a dropped or retried one is gone)"
    )))
}
