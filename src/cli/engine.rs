//! `rehearsal engine --config engine.toml`: the sync engine as a service.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use clap::Args;

use super::EXIT_BAD_INPUT;
use crate::clock::SystemClock;
use crate::engine::Engine;
use crate::engine::config::{EngineConfig, EnvSecrets, Secrets};
use crate::transport::ReqwestClient;

#[derive(Args)]
pub struct EngineArgs {
    /// The engine configuration (TOML).
    #[arg(long)]
    pub config: PathBuf,
}

pub async fn main(args: EngineArgs) -> ExitCode {
    match serve(args).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::from(EXIT_BAD_INPUT)
        }
    }
}

async fn serve(args: EngineArgs) -> anyhow::Result<()> {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .try_init();
    let config = EngineConfig::load(&args.config)?;
    let secrets = Secrets::resolve(&config, &EnvSecrets)?;
    // Outbound calls give up after 30 s; the worker retries them with backoff.
    let http = Arc::new(ReqwestClient::new(Duration::from_secs(30))?);
    let listen = config.service.listen.clone();
    let engine = Engine::open(config, secrets, http, Arc::new(SystemClock)).await?;

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
