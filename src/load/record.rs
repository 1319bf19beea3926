//! What a load run observes, and the two taps that observe it: an [`HttpClient`] wrapper on
//! the mocks' webhook deliveries (when the engine accepted an event) and a middleware on the
//! mocks' APIs (when the engine's action arrived). Both stamp times from the run's clock.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

use axum::Router;
use axum::body::Body;
use axum::extract::Request;
use axum::middleware::Next;
use axum::response::Response;
use bytes::Bytes;
use chrono::{DateTime, Utc};
use http::{Method, StatusCode};
use serde_json::Value;

use crate::clock::SharedClock;
use crate::transport::{BoxFuture, HttpClient, SharedHttp, TransportError};

/// Bodies the taps read are the mocks' own, far below this; larger ones go unrecorded.
const TAP_BODY_LIMIT: usize = 4 << 20;

/// The three hops a candidate makes, each a webhook followed by the engine's action.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Phase {
    /// Stage change in Greenhouse → scheduling request opened in the IOP.
    Request,
    /// Interview scheduled in the IOP → scheduled interview created in Greenhouse.
    Interview,
    /// Feedback submitted in the IOP → scorecard created in Greenhouse.
    Feedback,
}

/// Everything observed so far, keyed by (phase, Greenhouse application id).
#[derive(Debug, Default)]
pub struct Observed {
    pub accepted: HashMap<(Phase, i64), DateTime<Utc>>,
    pub acted: HashMap<(Phase, i64), DateTime<Utc>>,
    /// Application id → the IOP scheduling request the engine opened for it.
    pub request_ids: HashMap<i64, String>,
    /// IOP interview and feedback ids → application id, for webhooks that name only those.
    pub owners: HashMap<String, i64>,
    pub webhooks_accepted: u64,
    pub webhooks_refused: u64,
    pub greenhouse_requests: u64,
    pub iop_requests: u64,
    /// 429 answers of either API (the run injects none, so each is a limit exceeded).
    pub responses_429: u64,
    pub responses_5xx: u64,
}

/// Shared handle to the observations, with the clock that stamps them.
#[derive(Clone)]
pub struct Recorder {
    observed: Arc<Mutex<Observed>>,
    clock: SharedClock,
}

impl Recorder {
    pub fn new(clock: SharedClock) -> Self {
        Self { observed: Arc::default(), clock }
    }

    pub fn lock(&self) -> MutexGuard<'_, Observed> {
        self.observed.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Remembers that the IOP object `id` belongs to application `application_id`.
    pub fn own(&self, id: &str, application_id: i64) {
        self.lock().owners.insert(id.to_owned(), application_id);
    }

    /// Wraps the client the mocks send webhooks through.
    pub fn webhook_tap(&self, inner: SharedHttp) -> SharedHttp {
        Arc::new(WebhookTap { inner, recorder: self.clone() })
    }

    /// Wraps a mock's router so the engine's API calls to it are recorded.
    pub fn api_tap(&self, router: Router) -> Router {
        let recorder = self.clone();
        router.layer(axum::middleware::from_fn(move |request: Request, next: Next| {
            let recorder = recorder.clone();
            async move { recorder.tap_api(request, next).await }
        }))
    }

    /// Which (phase, application) a webhook body announces, if it is one the run follows.
    fn webhook_key(&self, body: &[u8]) -> Option<(Phase, i64)> {
        let body: Value = serde_json::from_slice(body).ok()?;
        if body.get("action").and_then(Value::as_str) == Some("candidate_stage_change") {
            return Some((Phase::Request, as_i64(body.pointer("/payload/application/id"))?));
        }
        let phase = match body.get("type").and_then(Value::as_str)? {
            "interview.scheduled" => Phase::Interview,
            "feedback.submitted" => Phase::Feedback,
            _ => return None,
        };
        let object = body.pointer("/data/object")?;
        let owners = &self.lock().owners;
        let by_id =
            |key: &str| object.get(key).and_then(Value::as_str).and_then(|id| owners.get(id));
        let application = as_i64(object.pointer("/external_refs/greenhouse/application_id"))
            .or_else(|| by_id("id").copied())
            .or_else(|| by_id("interview_id").copied())?;
        Some((phase, application))
    }

    async fn tap_api(&self, request: Request, next: Next) -> Response {
        let (method, path) = (request.method().clone(), request.uri().path().to_owned());
        let api = if path.starts_with("/v3/") {
            Some(true)
        } else if path.starts_with("/v1/") {
            Some(false)
        } else {
            None
        };
        let Some(greenhouse) = api else { return next.run(request).await };
        let (parts, body) = request.into_parts();
        let sent = axum::body::to_bytes(body, TAP_BODY_LIMIT).await.unwrap_or_default();
        let response = next.run(Request::from_parts(parts, Body::from(sent.clone()))).await;
        let (parts, body) = response.into_parts();
        let answer = axum::body::to_bytes(body, TAP_BODY_LIMIT).await.unwrap_or_default();
        self.record_api(greenhouse, &method, &path, parts.status, &sent, &answer);
        Response::from_parts(parts, Body::from(answer))
    }

    fn record_api(
        &self,
        greenhouse: bool,
        method: &Method,
        path: &str,
        status: StatusCode,
        sent: &Bytes,
        answer: &Bytes,
    ) {
        let now = self.clock.now();
        let mut observed = self.lock();
        if greenhouse {
            observed.greenhouse_requests += 1;
        } else {
            observed.iop_requests += 1;
        }
        if status == StatusCode::TOO_MANY_REQUESTS {
            observed.responses_429 += 1;
        }
        if status.is_server_error() {
            observed.responses_5xx += 1;
        }
        if !status.is_success() || *method != Method::POST {
            return;
        }
        let sent: Value = serde_json::from_slice(sent).unwrap_or_default();
        let (phase, application) = match path {
            "/v1/scheduling_requests" => {
                let application = as_i64(sent.pointer("/external_refs/greenhouse/application_id"));
                let answer: Value = serde_json::from_slice(answer).unwrap_or_default();
                if let (Some(app), Some(id)) =
                    (application, answer.get("id").and_then(Value::as_str))
                {
                    observed.request_ids.entry(app).or_insert_with(|| id.to_owned());
                }
                (Phase::Request, application)
            }
            "/v3/interviews" => (Phase::Interview, as_i64(sent.get("application_id"))),
            "/v3/scorecards" => (Phase::Feedback, as_i64(sent.get("application_id"))),
            _ => return,
        };
        if let Some(application) = application {
            observed.acted.entry((phase, application)).or_insert(now);
        }
    }
}

fn as_i64(value: Option<&Value>) -> Option<i64> {
    value.and_then(|v| v.as_i64().or_else(|| v.as_str().and_then(|s| s.parse().ok())))
}

struct WebhookTap {
    inner: SharedHttp,
    recorder: Recorder,
}

impl HttpClient for WebhookTap {
    fn send(
        &self,
        request: http::Request<Bytes>,
    ) -> BoxFuture<'_, Result<http::Response<Bytes>, TransportError>> {
        Box::pin(async move {
            let key = self.recorder.webhook_key(request.body());
            let result = self.inner.send(request).await;
            let accepted = result.as_ref().is_ok_and(|r| r.status().is_success());
            let now = self.recorder.clock.now();
            let mut observed = self.recorder.lock();
            if accepted {
                observed.webhooks_accepted += 1;
                if let Some(key) = key {
                    observed.accepted.entry(key).or_insert(now);
                }
            } else {
                observed.webhooks_refused += 1;
            }
            result
        })
    }
}
