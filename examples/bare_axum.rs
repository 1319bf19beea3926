//! The machine's limit for `benches/compare/`: an axum handler that answers
//! `GET /v3/candidates` with a fixed JSON body and does nothing else — no state, no lock, no
//! journal, no auth. Whatever the mock Greenhouse reaches is measured against this.
//! `POST /webhooks/greenhouse` reads the body and answers `{"status":"accepted"}`, the limit
//! for the engine's webhook ingest (no signature check, no store).
//!
//! Run it with:
//!
//!     cargo build --release --example bare_axum
//!     target/release/examples/bare_axum --body page.json          # ephemeral port
//!     target/release/examples/bare_axum --body page.json --port 8080
//!
//! It prints one JSON line with its base URL on stdout (as `rehearsal serve` does) and serves
//! on 127.0.0.1 until it is killed. Without `--body` it answers a small fixed object.

use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;

use anyhow::Context;
use axum::Router;
use axum::response::IntoResponse;
use axum::routing::{get, post};
use bytes::Bytes;
use clap::Parser;
use http::header::CONTENT_TYPE;

#[derive(Parser)]
struct Args {
    /// Port on 127.0.0.1; 0 picks a free one.
    #[arg(long, default_value_t = 0)]
    port: u16,
    /// File whose bytes are the answer, e.g. a page captured from the mock Greenhouse.
    #[arg(long)]
    body: Option<PathBuf>,
}

/// Same runtime shape as the `rehearsal` binary (two worker threads), so the comparison is
/// about the handlers, not the thread count.
const WORKER_THREADS: usize = 2;

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let body = match &args.body {
        Some(path) => {
            let bytes =
                std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
            Bytes::from(bytes)
        }
        None => Bytes::from_static(br#"{"ok":true}"#),
    };
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(WORKER_THREADS)
        .enable_all()
        .build()
        .context("cannot start the tokio runtime")?
        .block_on(serve(args.port, body))
}

async fn serve(port: u16, body: Bytes) -> anyhow::Result<()> {
    let address = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    let listener = tokio::net::TcpListener::bind(address)
        .await
        .with_context(|| format!("cannot listen on {address}"))?;

    // Cloning `Bytes` bumps a reference count; the body is never copied per request.
    let page = move || {
        let body = body.clone();
        async move { ([(CONTENT_TYPE, "application/json")], body).into_response() }
    };
    // Taking `Bytes` makes axum read the whole body, as the engine's ingest does.
    let accept = |_body: Bytes| async {
        ([(CONTENT_TYPE, "application/json")], r#"{"status":"accepted"}"#).into_response()
    };
    let app = Router::new()
        .route("/v3/candidates", get(page))
        .route("/webhooks/greenhouse", post(accept));

    let line = serde_json::json!({
        "service": "bare_axum",
        "base_url": format!("http://{}", listener.local_addr()?),
    });
    println!("{line}");
    axum::serve(listener, app).await.context("server failed")
}
