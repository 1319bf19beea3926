//! Webhook ingest: one router for both sources. A webhook is verified on its raw bytes, stored
//! durably, and only then acknowledged; a repeat of an event id is acknowledged and dropped.
//! Bad or missing signatures get 401 and nothing is stored; bodies over the limit get 413.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::de::{self, Deserialize, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::json;
use sha2::{Digest, Sha256};

use super::core::Engine;
use super::store::{Enqueued, NewEvent, Source};
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
    let (text, envelope) = match Envelope::read(&body) {
        Ok(read) => read,
        Err(message) => return refuse(StatusCode::BAD_REQUEST, message),
    };
    let Some(action) = envelope.text("action") else {
        return refuse(StatusCode::BAD_REQUEST, "body has no `action`");
    };
    // Greenhouse names each event in `Greenhouse-Event-ID`; a body hash stands in when it is
    // missing, so an identical redelivery is still recognised.
    let event_id = headers
        .get("greenhouse-event-id")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
        .unwrap_or_else(|| format!("sha256:{}", hex::encode(Sha256::digest(&body))));
    accept(&engine, Source::Greenhouse, &event_id, action, text).await
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
    let (text, envelope) = match Envelope::read(&body) {
        Ok(read) => read,
        Err(message) => return refuse(StatusCode::BAD_REQUEST, message),
    };
    let Some(kind) = envelope.text("type") else {
        return refuse(StatusCode::BAD_REQUEST, "body has no `type`");
    };
    let header_id = headers.get("iop-event-id").and_then(|v| v.to_str().ok());
    let Some(event_id) = header_id.or_else(|| envelope.text("id")) else {
        return refuse(StatusCode::BAD_REQUEST, "no IOP-Event-Id header and no `id` in the body");
    };
    accept(&engine, Source::Iop, event_id, kind, text).await
}

/// The top-level fields of a webhook body that ingest reads (`action`; `type` and `id`), each
/// kept when it is a string. The rest of the body is checked to be JSON and skipped without
/// being built in memory: the worker parses the stored payload when it handles the event.
struct Envelope<'a>(BTreeMap<String, Field<'a>>);

impl<'a> Envelope<'a> {
    /// The body as text and its envelope, or why the body is not JSON. A JSON body that is
    /// not an object has none of the fields.
    fn read(body: &'a [u8]) -> Result<(&'a str, Self), String> {
        let text = std::str::from_utf8(body)
            .map_err(|error| format!("body is not JSON: not UTF-8 ({error})"))?;
        match serde_json::from_str(text) {
            Ok(fields) => Ok((text, Self(fields))),
            Err(error) if error.is_data() => Ok((text, Self(BTreeMap::new()))),
            Err(error) => Err(format!("body is not JSON: {error}")),
        }
    }

    fn text(&self, name: &str) -> Option<&str> {
        self.0.get(name).and_then(|field| field.0.as_deref())
    }
}

/// One top-level value: its text when it is a string, else nothing (a nested object or array
/// is read through, not kept).
struct Field<'a>(Option<Cow<'a, str>>);

impl<'de> Deserialize<'de> for Field<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(FieldVisitor)
    }
}

struct FieldVisitor;

impl<'de> Visitor<'de> for FieldVisitor {
    type Value = Field<'de>;

    fn expecting(&self, formatter: &mut fmt::Formatter) -> fmt::Result {
        formatter.write_str("any JSON value")
    }

    fn visit_borrowed_str<E: de::Error>(self, text: &'de str) -> Result<Self::Value, E> {
        Ok(Field(Some(Cow::Borrowed(text))))
    }

    fn visit_str<E: de::Error>(self, text: &str) -> Result<Self::Value, E> {
        // A string with escapes arrives unescaped in a scratch buffer.
        Ok(Field(Some(Cow::Owned(text.to_owned()))))
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
        Ok(Field(None))
    }

    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Self::Value, E> {
        Ok(Field(None))
    }

    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Self::Value, E> {
        Ok(Field(None))
    }

    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
        Ok(Field(None))
    }

    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(Field(None))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, items: A) -> Result<Self::Value, A::Error> {
        IgnoredAny.visit_seq(items).map(|_| Field(None))
    }

    fn visit_map<A: MapAccess<'de>>(self, entries: A) -> Result<Self::Value, A::Error> {
        IgnoredAny.visit_map(entries).map(|_| Field(None))
    }
}

async fn accept(
    engine: &Engine,
    source: Source,
    event_id: &str,
    kind: &str,
    payload: &str,
) -> Response {
    let event = NewEvent {
        source,
        event_id: event_id.to_owned(),
        kind: kind.to_owned(),
        payload: payload.to_owned(),
        at: engine.clock.now(),
    };
    // Waits for the commit that holds this event, shared with whatever else arrived meanwhile.
    match engine.ingest.enqueue(event).await {
        Ok(Enqueued::New(_)) => {
            engine.metrics.event_in(source.as_str(), kind, false);
            tracing::info!(source = source.as_str(), event_id, kind, "webhook accepted");
            status_body(r#"{"status":"accepted"}"#)
        }
        Ok(Enqueued::Duplicate) => {
            engine.metrics.event_in(source.as_str(), kind, true);
            tracing::info!(source = source.as_str(), event_id, kind, "duplicate webhook dropped");
            status_body(r#"{"status":"duplicate"}"#)
        }
        Err(_) => {
            // Not stored, so not acknowledged: the sender will retry. The store's writer logged
            // the cause once for its whole batch.
            tracing::warn!(source = source.as_str(), event_id, kind, "webhook not stored");
            refuse(StatusCode::SERVICE_UNAVAILABLE, "could not store the event; retry later")
        }
    }
}

/// A fixed JSON answer, written as bytes rather than built and serialised per request.
fn status_body(json: &'static str) -> Response {
    ([(http::header::CONTENT_TYPE, "application/json")], json).into_response()
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use axum::body::Body;
    use http::Request;
    use http_body_util::BodyExt;
    use tower::ServiceExt;

    use serde_json::Value;

    use super::*;
    use crate::clock::ManualClock;
    use crate::engine::config::{EngineConfig, Secrets};
    use crate::engine::store::testing::{WriteLock, refuse_event};
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

    #[test]
    fn the_envelope_keeps_top_level_strings_and_checks_the_rest_is_json() {
        let body =
            br#"{"action":"a\"b","id":7,"type":null,"payload":{"action":"x","l":[1,{"y":[]}]}}"#;
        let (text, envelope) = Envelope::read(body).unwrap();
        assert_eq!(text.as_bytes(), body, "stored as sent");
        assert_eq!(envelope.text("action"), Some(r#"a"b"#));
        assert_eq!((envelope.text("id"), envelope.text("type")), (None, None));
        assert_eq!(envelope.text("l"), None, "nested fields are not top-level fields");
        let (_, not_an_object) = Envelope::read(br#"["action"]"#).unwrap();
        assert_eq!(not_an_object.text("action"), None);
        for broken in [&br#"{"action":"a""#[..], br#"{"a":1} x"#, b"{\"a\":\"\xff\"}"] {
            let refused = Envelope::read(broken).map(|_| ()).unwrap_err();
            assert!(refused.starts_with("body is not JSON: "), "{refused}");
        }
    }

    /// A signed stage change named `event_id`: its headers and body.
    fn stage_change(event_id: &str) -> (Vec<(&'static str, String)>, Vec<u8>) {
        let body = format!(
            r#"{{"action":"candidate_stage_change","payload":{{"application":{{"id":1}}}},"n":"{event_id}"}}"#
        )
        .into_bytes();
        let headers = vec![
            ("signature", greenhouse::signature::sign("gh-hook", &body)),
            ("greenhouse-event-id", event_id.to_owned()),
        ];
        (headers, body)
    }

    /// Posts every event at once; the answers in the same order.
    async fn post_all(engine: &Arc<Engine>, event_ids: &[String]) -> Vec<(StatusCode, Value)> {
        let posts: Vec<_> = event_ids
            .iter()
            .map(|event_id| {
                let (engine, (headers, body)) = (engine.clone(), stage_change(event_id));
                tokio::spawn(
                    async move { post(&engine, "/webhooks/greenhouse", &headers, body).await },
                )
            })
            .collect();
        let mut answers = Vec::new();
        for post in posts {
            answers.push(post.await.unwrap());
        }
        answers
    }

    async fn stored_ids(engine: &Engine) -> Vec<String> {
        let items = engine.store.due(engine.clock.now(), 10_000).await.unwrap();
        let mut ids: Vec<String> = items.into_iter().map(|item| item.event_id).collect();
        ids.sort();
        ids
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_webhooks_are_all_acknowledged_and_each_stored_once() {
        let dir = tempfile::tempdir().unwrap();
        let engine = engine(&dir).await;
        let mut ids: Vec<String> = (0..200).map(|n| format!("evt-{n:03}")).collect();

        let answers = post_all(&engine, &ids).await;
        for (id, (status, body)) in ids.iter().zip(&answers) {
            assert_eq!(
                (*status, body["status"].as_str()),
                (StatusCode::OK, Some("accepted")),
                "{id}"
            );
        }
        ids.sort();
        assert_eq!(stored_ids(&engine).await, ids, "each one stored, once");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_repeats_are_stored_once_and_acknowledged_as_duplicates() {
        let dir = tempfile::tempdir().unwrap();
        let engine = engine(&dir).await;
        // Copies of an event side by side, so most share a commit with their original.
        let ids: Vec<String> =
            (0..40).flat_map(|n| std::iter::repeat_n(format!("evt-{n:02}"), 4)).collect();

        let answers = post_all(&engine, &ids).await;
        let mut accepted: Vec<String> = Vec::new();
        for (id, (status, body)) in ids.iter().zip(&answers) {
            assert_eq!(*status, StatusCode::OK, "{id}: {body}");
            match body["status"].as_str() {
                Some("accepted") => accepted.push(id.clone()),
                Some("duplicate") => {}
                other => panic!("{id}: unexpected status {other:?}"),
            }
        }
        accepted.sort();
        let mut distinct = ids.clone();
        distinct.dedup();
        assert_eq!(accepted, distinct, "each event accepted exactly once");
        assert_eq!(stored_ids(&engine).await, distinct, "each event stored exactly once");
    }

    #[tokio::test]
    async fn a_failed_commit_acknowledges_none_of_its_webhooks() {
        let dir = tempfile::tempdir().unwrap();
        let engine = engine(&dir).await;
        let path = dir.path().join("e.db");
        refuse_event(&path, "poison").await;

        // The writer is held on a first event by a lock on the file, so every webhook below
        // queues behind it and goes into the next commit together — which fails.
        let lock = WriteLock::take(&path).await;
        let first = NewEvent {
            source: Source::Greenhouse,
            event_id: "first".into(),
            kind: "candidate_stage_change".into(),
            payload: "{}".into(),
            at: engine.clock.now(),
        };
        let first = engine.ingest.enqueue_alone(first).await;
        let ids: Vec<String> =
            ["w1", "w2", "w3", "poison", "w4"].into_iter().map(str::to_owned).collect();
        let posts = tokio::spawn({
            let (engine, ids) = (engine.clone(), ids.clone());
            async move { post_all(&engine, &ids).await }
        });
        engine.ingest.wait_queued(ids.len()).await;
        lock.release().await;

        assert!(matches!(first.await.unwrap(), Ok(Enqueued::New(_))));
        for (id, (status, body)) in ids.iter().zip(posts.await.unwrap()) {
            assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{id}: {body}");
            assert_eq!(body["error"], "could not store the event; retry later", "{id}");
        }
        assert_eq!(stored_ids(&engine).await, ["first"], "nothing of the failed commit");

        // Their retries are new events, not duplicates of something half-stored.
        let retried: Vec<String> = ids.into_iter().filter(|id| id != "poison").collect();
        for (id, (status, body)) in retried.iter().zip(post_all(&engine, &retried).await) {
            assert_eq!(
                (status, body["status"].as_str()),
                (StatusCode::OK, Some("accepted")),
                "{id}"
            );
        }
        assert_eq!(stored_ids(&engine).await.len(), 1 + retried.len());
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
