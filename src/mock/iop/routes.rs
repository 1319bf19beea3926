//! The front door: every request (API and control) enters `serve`, gets an `X-Request-Id`
//! and a journal entry. `/v1` requests then pass auth, the rate limit, injected faults and
//! `Idempotency-Key` handling before `dispatch` picks the handler.

use axum::body::Body;
use axum::response::Response;
use bytes::Bytes;
use http::{HeaderMap, HeaderValue, Method, Request, StatusCode};
use serde_json::Value;

use super::api::{ApiError, ApiReply, ApiRequest, ApiResult};
use super::auth::{bearer, check_scope, scopes_of};
use super::control::ApiFaultKind;
use super::faults::{RateStatus, latency};
use super::idempotency::{Begin, check_key, fingerprint};
use super::state::State;
use super::{
    MockIop, candidates, control_routes, events, feedback, interview_routes, people,
    request_routes, scheduling, stale,
};
use crate::mock::journal::{Direction, JournalEntry, redact_headers, redacted_body_text};
use crate::transport::SimulatedFailure;

/// Bodies above 1 MiB are refused unread; no contract body comes close.
const MAX_BODY_BYTES: usize = 1 << 20;

/// What a route produced, before it becomes an HTTP response.
pub(crate) struct Outcome {
    pub status: StatusCode,
    pub body: Bytes,
    pub headers: Vec<(&'static str, String)>,
    pub notes: Vec<String>,
    /// Set when a fault makes the transport report no response at all.
    pub failure: Option<SimulatedFailure>,
    /// The request ran (and took effect) even though `failure` hides the answer.
    pub processed: bool,
    /// Real time to hold the answer back (a `latency` fault); no lock is held meanwhile.
    pub delay: Option<std::time::Duration>,
}

impl Outcome {
    pub fn json(status: StatusCode, body: &Value) -> Self {
        let bytes = Bytes::from(serde_json::to_vec(body).unwrap_or_default());
        Self {
            status,
            body: bytes,
            headers: Vec::new(),
            notes: Vec::new(),
            failure: None,
            processed: false,
            delay: None,
        }
    }
}

/// Serves one request of either API.
pub(crate) async fn serve(mock: MockIop, request: Request<Body>) -> Response {
    let (parts, body) = request.into_parts();
    let request_id = mock.lock().next_id("req");
    let path = parts.uri.path().to_owned();
    let query = parts.uri.query().unwrap_or_default().to_owned();
    let at = mock.clock.now();

    let (body, mut outcome) = match axum::body::to_bytes(body, MAX_BODY_BYTES).await {
        Err(_) => {
            let error = ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "payload_too_large",
                "the body exceeds 1 MiB",
            );
            (Bytes::new(), Outcome::json(error.status, &error.body(&request_id)))
        }
        Ok(body) if path == "/_rehearsal" || path.starts_with("/_rehearsal/") => {
            let outcome = control_routes::handle(&mock, &parts.method, &path, &body).await;
            (body, outcome)
        }
        Ok(body) => {
            let outcome =
                api(&mock, &parts.method, &path, &query, &parts.headers, body.clone(), &request_id);
            (body, outcome)
        }
    };
    outcome.headers.push(("x-request-id", request_id));
    if let Some(delay) = outcome.delay {
        // Real time: the virtual clock stays where the runner put it.
        tokio::time::sleep(delay).await;
    }

    let path_and_query = if query.is_empty() { path } else { format!("{path}?{query}") };
    mock.journal.record(JournalEntry {
        seq: 0,
        service: "iop".to_owned(),
        direction: Direction::Inbound,
        at,
        method: parts.method.to_string(),
        path: path_and_query,
        // A lost response still shows what the mock answered; a request dropped unprocessed
        // shows none.
        status: (outcome.failure.is_none() || outcome.processed).then_some(outcome.status.as_u16()),
        headers: redact_headers(&parts.headers),
        request_body: redacted_body_text(&body),
        response_body: redacted_body_text(&outcome.body),
        notes: outcome.notes.clone(),
    });
    into_response(outcome)
}

fn into_response(outcome: Outcome) -> Response {
    let mut response = Response::new(Body::from(outcome.body));
    *response.status_mut() = outcome.status;
    let headers = response.headers_mut();
    headers.insert(http::header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    for (name, value) in outcome.headers {
        if let Ok(value) = HeaderValue::from_str(&value) {
            headers.append(name, value);
        }
    }
    if let Some(failure) = outcome.failure {
        response.extensions_mut().insert(failure);
    }
    response
}

fn rate_headers(rate: &RateStatus) -> Vec<(&'static str, String)> {
    vec![
        ("x-ratelimit-limit", rate.limit.to_string()),
        ("x-ratelimit-remaining", rate.remaining.to_string()),
        ("x-ratelimit-reset", rate.reset_secs.to_string()),
    ]
}

fn error_outcome(error: &ApiError, request_id: &str, rate: &RateStatus) -> Outcome {
    let mut outcome = Outcome::json(error.status, &error.body(request_id));
    outcome.headers = rate_headers(rate);
    if let Some(secs) = error.retry_after {
        outcome.headers.push(("retry-after", secs.to_string()));
    }
    outcome
}

/// The `/v1` pipeline. Each step takes the lock on its own, so a concurrent request can see
/// a key in flight.
fn api(
    mock: &MockIop,
    method: &Method,
    path: &str,
    query: &str,
    headers: &HeaderMap,
    body: Bytes,
    request_id: &str,
) -> Outcome {
    let presented = bearer(headers);
    let scopes = presented.and_then(|key| scopes_of(&mock.config, key));
    let (key, scopes) = match (presented, scopes) {
        (Some(key), Some(scopes)) => (key.to_owned(), scopes),
        (presented, _) => {
            let limit = mock.lock().effective_rate_limit();
            let rate = RateStatus { limit, remaining: limit, reset_secs: 10, allowed: true };
            let message = match presented {
                None => "missing Authorization: Bearer <api key> header",
                Some(_) => "the API key is not valid",
            };
            let error = ApiError::new(StatusCode::UNAUTHORIZED, "unauthenticated", message);
            return error_outcome(&error, request_id, &rate);
        }
    };

    let rate = mock.lock().rate_limit(&key);
    if !rate.allowed {
        let mut error = ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "rate_limited",
            "rate limit exceeded for this API key",
        );
        error.retry_after = Some(rate.reset_secs.max(1) as u64);
        return error_outcome(&error, request_id, &rate);
    }
    if let Some(scopes) = scopes
        && let Err(error) = check_scope(scopes, method, path)
    {
        return error_outcome(&error, request_id, &rate);
    }
    let drawn = mock.lock().draw_api_fault(method.as_str(), path);
    let fault = drawn.as_ref().map(|rule| rule.kind);
    let answers_later = |kind: &ApiFaultKind| {
        matches!(kind, ApiFaultKind::TimeoutAfterProcessing | ApiFaultKind::Latency)
    };
    if let Some(kind) = fault.filter(|kind| !answers_later(kind)) {
        let mut outcome = fault_outcome(kind, request_id, &rate);
        outcome.notes.push(format!("fault:{}", kind.as_str()));
        return outcome;
    }

    let query = serde_urlencoded::from_str::<Vec<(String, String)>>(query).unwrap_or_default();
    let request = ApiRequest {
        method: method.clone(),
        path: path.to_owned(),
        query,
        headers: headers.clone(),
        body,
        api_key: key,
    };
    let (result, served) = with_idempotency(mock, &request, request_id);
    let mut outcome = match result {
        Ok(reply) => {
            let mut outcome = Outcome::json(reply.status, &reply.body);
            outcome.headers = reply.headers;
            outcome.headers.extend(rate_headers(&rate));
            if served == Served::Replayed {
                outcome.headers.push(("idempotent-replayed", "true".to_owned()));
                outcome.notes.push("idempotent_replay".to_owned());
            }
            outcome
        }
        Err(error) => error_outcome(&error, request_id, &rate),
    };
    if served == Served::Stale {
        outcome.notes.push("fault:stale_read".to_owned());
    }
    if let Some(rule) = drawn.filter(|rule| rule.kind == ApiFaultKind::Latency) {
        outcome.delay = latency(&rule);
        outcome.notes.push(format!("fault:{}", ApiFaultKind::Latency.as_str()));
    }
    if fault == Some(ApiFaultKind::TimeoutAfterProcessing) {
        // The change is made and its answer stored under the Idempotency-Key; only the
        // caller never hears back, which is exactly what a retry with the same key is for.
        outcome.failure = Some(SimulatedFailure::Timeout);
        outcome.processed = true;
        outcome.notes.push(format!("fault:{}", ApiFaultKind::TimeoutAfterProcessing.as_str()));
    }
    outcome
}

/// Answers an API fault that drops the request before it runs.
fn fault_outcome(kind: ApiFaultKind, request_id: &str, rate: &RateStatus) -> Outcome {
    let (status, code, failure) = match kind {
        ApiFaultKind::Status500 => (StatusCode::INTERNAL_SERVER_ERROR, "internal", None),
        ApiFaultKind::Status503 => (StatusCode::SERVICE_UNAVAILABLE, "unavailable", None),
        ApiFaultKind::Status429 => (StatusCode::TOO_MANY_REQUESTS, "rate_limited", None),
        ApiFaultKind::Timeout | ApiFaultKind::TimeoutAfterProcessing => {
            (StatusCode::GATEWAY_TIMEOUT, "unavailable", Some(SimulatedFailure::Timeout))
        }
        // `api` never asks for a latency answer; a 500 would at least be visible.
        ApiFaultKind::Latency => (StatusCode::INTERNAL_SERVER_ERROR, "internal", None),
        ApiFaultKind::Reset => {
            (StatusCode::BAD_GATEWAY, "unavailable", Some(SimulatedFailure::Reset))
        }
    };
    let mut error = ApiError::new(status, code, "injected fault: the request was not processed");
    if matches!(kind, ApiFaultKind::Status503 | ApiFaultKind::Status429) {
        // One second: long enough to be honoured, short enough for virtual-time runs.
        error.retry_after = Some(1);
    }
    let mut outcome = error_outcome(&error, request_id, rate);
    outcome.failure = failure;
    outcome
}

/// How an answer was come by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Served {
    Fresh,
    /// Stored under the `Idempotency-Key` by an earlier request.
    Replayed,
    /// From the resources as they were before a recent write (`stale_read_secs`).
    Stale,
}

/// Runs `dispatch` under the request's `Idempotency-Key`, if any, and the stale-read fault.
/// Returns the result and how it was come by.
fn with_idempotency(mock: &MockIop, request: &ApiRequest, request_id: &str) -> (ApiResult, Served) {
    let key = match request.header("idempotency-key") {
        Some(key) if request.method != Method::GET => key.to_owned(),
        _ => {
            let (result, stale) = stale::dispatch_lagging(&mut mock.lock(), request);
            return (result, if stale { Served::Stale } else { Served::Fresh });
        }
    };
    if let Err(error) = check_key(&key) {
        return (Err(error), Served::Fresh);
    }
    let print = fingerprint(request.method.as_str(), &request.path, &request.body);
    match mock.lock().idempotency_begin(&request.api_key, &key, &print) {
        Err(error) => return (Err(error), Served::Fresh),
        Ok(Begin::Replay { status, body }) => {
            let status = StatusCode::from_u16(status).unwrap_or(StatusCode::OK);
            return (Ok(ApiReply { status, body, headers: Vec::new() }), Served::Replayed);
        }
        Ok(Begin::Proceed) => {}
    }

    let (result, _) = stale::dispatch_lagging(&mut mock.lock(), request);
    let (status, body) = match &result {
        Ok(reply) => (reply.status.as_u16(), reply.body.clone()),
        Err(error) => (error.status.as_u16(), error.body(request_id)),
    };
    mock.lock().idempotency_finish(&request.api_key, &key, status, &body);
    // A stored error is answered exactly as stored on replay; here, the live one.
    (result, Served::Fresh)
}

fn require_key(request: &ApiRequest) -> Result<(), ApiError> {
    if request.header("idempotency-key").is_none() {
        let message =
            format!("{} {} requires an Idempotency-Key header", request.method, request.path);
        return Err(ApiError::new(StatusCode::BAD_REQUEST, "idempotency_key_required", message));
    }
    Ok(())
}

/// Picks the handler for a `/v1` request. The creates a sync engine retries need an
/// `Idempotency-Key` (`require_key`); every other write may carry one.
pub(crate) fn dispatch(state: &mut State, request: &ApiRequest) -> ApiResult {
    let segments = request.segments();
    match (request.method.as_str(), segments.as_slice()) {
        ("POST", ["candidates"]) => {
            require_key(request)?;
            candidates::create_candidate(state, request)
        }
        ("PUT", ["candidates", "by_external_ref", "greenhouse", gh_id]) => {
            candidates::upsert_candidate(state, request, gh_id)
        }
        ("GET", ["candidates"]) => candidates::list_candidates(state, request),
        ("GET", ["candidates", id]) => candidates::get_candidate(state, id),
        ("PATCH", ["candidates", id]) => candidates::patch_candidate(state, request, id),
        ("POST", ["candidates", id, "merge"]) => candidates::merge_route(state, request, id),
        ("POST", ["candidates", id, "anonymize"]) => {
            candidates::anonymize_route(state, request, id)
        }

        ("PUT", ["users", "by_external_ref", "greenhouse", gh_id]) => {
            people::upsert_user(state, request, gh_id)
        }
        ("GET", ["users"]) => people::list_users(state, request),
        ("GET", ["users", id]) => people::get_user(state, id),

        ("POST", ["scheduling_requests"]) => {
            require_key(request)?;
            scheduling::create_request(state, request)
        }
        ("GET", ["scheduling_requests"]) => scheduling::list_requests(state, request),
        ("GET", ["scheduling_requests", id]) => scheduling::get_request(state, id),
        ("PATCH", ["scheduling_requests", id]) => request_routes::patch(state, request, id),
        ("DELETE", ["scheduling_requests", id]) => request_routes::delete(state, request, id),
        ("POST", ["scheduling_requests", id, "cancel"]) => {
            scheduling::cancel_request_route(state, request, id)
        }
        ("POST", ["scheduling_requests", id, "send"]) => request_routes::send(state, id),
        ("POST", ["scheduling_requests", id, "availability"]) => {
            request_routes::submit_availability(state, request, id)
        }
        ("GET", ["scheduling_requests", id, "availability"]) => {
            request_routes::get_availability(state, id)
        }
        ("POST", ["scheduling_requests", id, "decline"]) => {
            request_routes::decline(state, request, id)
        }

        ("POST", ["interviews"]) => {
            require_key(request)?;
            interview_routes::create_interview(state, request)
        }
        ("GET", ["interviews"]) => interview_routes::list_interviews(state, request),
        ("GET", ["interviews", id]) => interview_routes::get_interview(state, id),
        ("PATCH", ["interviews", id]) => interview_routes::patch(state, request, id),
        ("DELETE", ["interviews", id]) => interview_routes::delete(state, request, id),
        ("POST", ["interviews", id, "reschedule"]) => {
            interview_routes::reschedule(state, request, id)
        }
        ("POST", ["interviews", id, "cancel"]) => interview_routes::cancel(state, request, id),
        ("POST", ["interviews", id, "no_show"]) => interview_routes::no_show(state, request, id),
        ("DELETE", ["interviews", id, "no_show"]) => interview_routes::revert_no_show(state, id),
        ("POST", ["interviews", id, "interviewers", user_id, "response"]) => {
            interview_routes::respond(state, request, id, user_id)
        }
        ("POST", ["interviews", id, "feedback"]) => {
            require_key(request)?;
            feedback::submit_route(state, request, id)
        }

        ("GET", ["feedback"]) => feedback::list_feedback(state, request),
        ("GET", ["feedback", id]) => feedback::get_feedback(state, id),
        ("PATCH", ["feedback", id]) => feedback::patch_feedback(state, request, id),

        ("POST", ["webhook_subscriptions"]) => events::create_subscription(state, request),
        ("GET", ["webhook_subscriptions"]) => events::list_subscriptions(state, request),
        ("DELETE", ["webhook_subscriptions", id]) => events::delete_subscription(state, id),
        ("POST", ["webhook_subscriptions", id, "rotate_secret"]) => {
            events::rotate_secret(state, request, id)
        }
        ("GET", ["events"]) => events::list_events(state, request),
        ("GET", ["events", id]) => events::get_event(state, id),
        ("POST", ["events", id, "redeliver"]) => events::redeliver(state, request, id),

        (method, _) => Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("no route for {method} {}", request.path),
        )),
    }
}
