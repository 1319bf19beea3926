//! Webhook ingest: one router for both sources. A webhook is verified on its raw bytes, stored
//! durably, and only then acknowledged; a repeat of an event id is acknowledged and dropped.
//! Bad or missing signatures get 401 and nothing is stored; bodies over the limit get 413.

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use super::core::Engine;
use super::store::{Enqueued, Source};
use crate::{greenhouse, iop};

impl Engine {
    /// `POST /webhooks/greenhouse`, `POST /webhooks/iop`, `GET /healthz`, `GET /readyz`,
    /// `GET /metrics` (Prometheus text format).
    pub fn router(self: &Arc<Self>) -> Router {
        Router::new()
            .route("/webhooks/greenhouse", post(greenhouse_webhook))
            .route("/webhooks/iop", post(iop_webhook))
            .route("/healthz", get(|| async { "ok" }))
            .route("/readyz", get(ready))
            .route("/metrics", get(metrics))
            .layer(DefaultBodyLimit::max(self.config.service.max_body_bytes))
            .with_state(self.clone())
    }
}

fn refuse(status: StatusCode, message: impl Into<String>) -> Response {
    (status, axum::Json(json!({"error": message.into()}))).into_response()
}

async fn ready(State(engine): State<Arc<Engine>>) -> Response {
    match engine.pending().await {
        Ok(pending) => {
            axum::Json(json!({"status": "ready", "pending_events": pending})).into_response()
        }
        Err(_) => refuse(StatusCode::SERVICE_UNAVAILABLE, "store unavailable"),
    }
}

async fn metrics(State(engine): State<Arc<Engine>>) -> Response {
    match engine.metrics_text().await {
        Ok(text) => {
            ([(http::header::CONTENT_TYPE, "text/plain; version=0.0.4")], text).into_response()
        }
        Err(_) => refuse(StatusCode::SERVICE_UNAVAILABLE, "store unavailable"),
    }
}

async fn greenhouse_webhook(
    State(engine): State<Arc<Engine>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let signature = headers.get("signature").and_then(|v| v.to_str().ok());
    if let Err(error) =
        greenhouse::signature::verify(&engine.secrets.greenhouse_webhook_secrets, signature, &body)
    {
        tracing::warn!(%error, "Greenhouse webhook refused");
        return refuse(StatusCode::UNAUTHORIZED, error.to_string());
    }
    let envelope: Value = match serde_json::from_slice(&body) {
        Ok(value) => value,
        Err(error) => return refuse(StatusCode::BAD_REQUEST, format!("body is not JSON: {error}")),
    };
    let Some(action) = envelope.get("action").and_then(Value::as_str) else {
        return refuse(StatusCode::BAD_REQUEST, "body has no `action`");
    };
    // Greenhouse names each event in `Greenhouse-Event-ID`; a body hash stands in when it is
    // missing, so an identical redelivery is still recognised.
    let event_id = headers
        .get("greenhouse-event-id")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
        .unwrap_or_else(|| format!("sha256:{}", hex::encode(Sha256::digest(&body))));
    accept(&engine, Source::Greenhouse, &event_id, action, &body).await
}

async fn iop_webhook(
    State(engine): State<Arc<Engine>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let signature = headers.get("iop-signature").and_then(|v| v.to_str().ok());
    let now = engine.clock.now().timestamp();
    if let Err(error) =
        iop::signature::verify(&engine.secrets.iop_webhook_secrets, signature, &body, now)
    {
        tracing::warn!(%error, "IOP webhook refused");
        return refuse(StatusCode::UNAUTHORIZED, error.to_string());
    }
    let envelope: Value = match serde_json::from_slice(&body) {
        Ok(value) => value,
        Err(error) => return refuse(StatusCode::BAD_REQUEST, format!("body is not JSON: {error}")),
    };
    let Some(kind) = envelope.get("type").and_then(Value::as_str) else {
        return refuse(StatusCode::BAD_REQUEST, "body has no `type`");
    };
    let header_id = headers.get("iop-event-id").and_then(|v| v.to_str().ok());
    let Some(event_id) = header_id.or_else(|| envelope.get("id").and_then(Value::as_str)) else {
        return refuse(StatusCode::BAD_REQUEST, "no IOP-Event-Id header and no `id` in the body");
    };
    accept(&engine, Source::Iop, event_id, kind, &body).await
}

async fn accept(
    engine: &Engine,
    source: Source,
    event_id: &str,
    kind: &str,
    body: &[u8],
) -> Response {
    let payload = String::from_utf8_lossy(body);
    match engine.store.enqueue(source, event_id, kind, &payload, engine.clock.now()).await {
        Ok(Enqueued::New(_)) => {
            engine.metrics.event_in(source.as_str(), kind, false);
            tracing::info!(source = source.as_str(), event_id, kind, "webhook accepted");
            axum::Json(json!({"status": "accepted"})).into_response()
        }
        Ok(Enqueued::Duplicate) => {
            engine.metrics.event_in(source.as_str(), kind, true);
            tracing::info!(source = source.as_str(), event_id, kind, "duplicate webhook dropped");
            axum::Json(json!({"status": "duplicate"})).into_response()
        }
        Err(error) => {
            // Not stored, so not acknowledged: the sender will retry.
            tracing::error!(%error, "could not store webhook");
            refuse(StatusCode::SERVICE_UNAVAILABLE, "could not store the event; retry later")
        }
    }
}
