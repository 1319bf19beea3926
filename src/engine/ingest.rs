//! Webhook ingest: one router for both sources. A webhook is verified on its raw bytes, stored
//! durably, and only then acknowledged; a repeat of an event id is acknowledged and dropped.
//! Bad or missing signatures get 401 and nothing is stored; bodies over the limit get 413.

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
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

/// A body that could not be read (over the size limit, or cut off) gets the same JSON error
/// shape as every other refusal.
fn body_refused(rejection: &BytesRejection) -> Response {
    let status = rejection.status();
    let message = if status == StatusCode::PAYLOAD_TOO_LARGE {
        "body is larger than the engine accepts (service.max_body_bytes)".to_owned()
    } else {
        format!("could not read the body: {}", rejection.body_text())
    };
    refuse(status, message)
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
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let body = match body {
        Ok(body) => body,
        Err(rejection) => return body_refused(&rejection),
    };
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
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let body = match body {
        Ok(body) => body,
        Err(rejection) => return body_refused(&rejection),
    };
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

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use axum::body::Body;
    use http::Request;
    use http_body_util::BodyExt;
    use tower::ServiceExt;

    use super::*;
    use crate::clock::ManualClock;
    use crate::engine::config::{EngineConfig, Secrets};
    use crate::transport::RouterClient;

    async fn engine(dir: &tempfile::TempDir) -> Arc<Engine> {
        let mut config =
            EngineConfig::parse(include_str!("../../fixtures/engine.toml"), "engine.toml").unwrap();
        config.store.sqlite_path = dir.path().join("e.db").display().to_string();
        config.service.max_body_bytes = 4096;
        let values: HashMap<String, String> = [
            ("GREENHOUSE_CLIENT_ID", "id-1"),
            ("GREENHOUSE_CLIENT_SECRET", "s"),
            ("GREENHOUSE_WEBHOOK_SECRET", "gh-hook"),
            ("IOP_API_KEY", "k"),
            ("IOP_WEBHOOK_SECRET", "iop-hook"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
        let secrets = Secrets::resolve(&config, &values).unwrap();
        let clock = Arc::new(ManualClock::new(ManualClock::scenario_epoch()));
        Engine::open(config, secrets, Arc::new(RouterClient::new()), clock).await.unwrap()
    }

    async fn post(
        engine: &Arc<Engine>,
        path: &str,
        headers: &[(&str, String)],
        body: Vec<u8>,
    ) -> (StatusCode, Value) {
        let mut request = Request::post(path);
        for (name, value) in headers {
            request = request.header(*name, value);
        }
        let response =
            engine.router().oneshot(request.body(Body::from(body)).unwrap()).await.unwrap();
        let status = response.status();
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        (status, serde_json::from_slice(&bytes).unwrap_or(Value::Null))
    }

    #[tokio::test]
    async fn greenhouse_ingest_refuses_bad_input_and_stores_only_valid_events_once() {
        let dir = tempfile::tempdir().unwrap();
        let engine = engine(&dir).await;
        let body =
            br#"{"action":"candidate_stage_change","payload":{"application":{"id":1}}}"#.to_vec();
        let signed = |b: &[u8]| {
            vec![
                ("signature", greenhouse::signature::sign("gh-hook", b)),
                ("greenhouse-event-id", "e1".to_owned()),
            ]
        };

        let (status, error) = post(&engine, "/webhooks/greenhouse", &[], body.clone()).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        assert_eq!(error["error"], "the Signature header is missing");
        let forged = vec![("signature", greenhouse::signature::sign("other", &body))];
        assert_eq!(
            post(&engine, "/webhooks/greenhouse", &forged, body.clone()).await.0,
            StatusCode::UNAUTHORIZED
        );

        let broken = b"{not json".to_vec();
        assert_eq!(
            post(&engine, "/webhooks/greenhouse", &signed(&broken), broken.clone()).await.0,
            StatusCode::BAD_REQUEST
        );

        let huge = vec![b' '; 8192];
        let (status, error) =
            post(&engine, "/webhooks/greenhouse", &signed(&huge), huge.clone()).await;
        assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
        assert!(error["error"].as_str().unwrap().contains("max_body_bytes"), "{error}");
        assert_eq!(engine.pending().await.unwrap(), 0, "nothing refused was stored");

        let (status, ok) =
            post(&engine, "/webhooks/greenhouse", &signed(&body), body.clone()).await;
        assert_eq!((status, ok["status"].as_str()), (StatusCode::OK, Some("accepted")));
        let (status, again) =
            post(&engine, "/webhooks/greenhouse", &signed(&body), body.clone()).await;
        assert_eq!((status, again["status"].as_str()), (StatusCode::OK, Some("duplicate")));
        assert_eq!(engine.pending().await.unwrap(), 1, "stored once, before the 200");
    }

    #[tokio::test]
    async fn iop_ingest_checks_the_replay_window() {
        let dir = tempfile::tempdir().unwrap();
        let engine = engine(&dir).await;
        let body =
            br#"{"id":"evt_1","type":"interview.scheduled","data":{"object":{"id":"int_1"}}}"#
                .to_vec();
        let now = engine.clock.now().timestamp();
        let old = iop::signature::header(&["iop-hook".to_owned()], now - 301, &body);
        let (status, _) =
            post(&engine, "/webhooks/iop", &[("iop-signature", old)], body.clone()).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        let fresh = iop::signature::header(&["iop-hook".to_owned()], now, &body);
        let (status, ok) = post(&engine, "/webhooks/iop", &[("iop-signature", fresh)], body).await;
        assert_eq!((status, ok["status"].as_str()), (StatusCode::OK, Some("accepted")));
    }
}
