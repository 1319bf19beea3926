//! Both API clients against wiremock on 127.0.0.1: Retry-After, one token refresh on 401,
//! 5xx transient, 422 permanent with its body, cursors followed verbatim, tokens refreshed
//! before expiry; and the worker turning those into a scheduled retry or a dead letter.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::Method;
use rehearsal::clock::{ManualClock, SharedClock};
use rehearsal::engine::Engine;
use rehearsal::engine::config::EngineConfig;
use rehearsal::greenhouse::client::{HarvestClient, HarvestSettings};
use rehearsal::iop::client::{IopClient, IopSettings};
use rehearsal::transport::{ApiError, HttpClient, ReqwestClient, RouterClient};
use serde_json::json;
use wiremock::matchers::{method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::engine_world::{config_text, secrets_for, signed_greenhouse_webhook};

fn http() -> Arc<ReqwestClient> {
    Arc::new(ReqwestClient::new(Duration::from_secs(10)).unwrap())
}

fn harvest(server: &MockServer, clock: SharedClock) -> HarvestClient {
    let settings = HarvestSettings {
        base_url: server.uri(),
        token_url: format!("{}/token", server.uri()),
        client_id: "rehearsal-1".into(),
        client_secret: "s3cret".into(),
        acting_user_id: Some(7),
    };
    HarvestClient::new(settings, http(), clock)
}

fn token(access_token: &str, expires_in_secs: i64) -> ResponseTemplate {
    ResponseTemplate::new(200)
        .set_body_json(json!({"access_token": access_token, "expires_in": expires_in_secs}))
}

fn clock() -> Arc<ManualClock> {
    Arc::new(ManualClock::new(ManualClock::scenario_epoch()))
}

async fn requests_to(server: &MockServer, wanted: &str) -> Vec<wiremock::Request> {
    let all = server.received_requests().await.unwrap();
    all.into_iter().filter(|r| r.url.path() == wanted).collect()
}

#[tokio::test]
async fn harvest_429_carries_retry_after() {
    let server = MockServer::start().await;
    Mock::given(path("/token")).respond_with(token("t1", 3600)).mount(&server).await;
    Mock::given(path("/v3/applications"))
        .respond_with(ResponseTemplate::new(429).insert_header("retry-after", "42"))
        .mount(&server)
        .await;
    let error = harvest(&server, clock()).list("applications", &[]).await.unwrap_err();
    assert!(
        matches!(&error, ApiError::Transient { retry_after: Some(wait), .. } if *wait == Duration::from_secs(42)),
        "{error:?}"
    );
}

#[tokio::test]
async fn harvest_401_refreshes_the_token_once_then_retries() {
    let server = MockServer::start().await;
    Mock::given(path("/token"))
        .respond_with(token("t1", 3600))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(path("/token"))
        .respond_with(token("t2", 3600))
        .with_priority(2)
        .mount(&server)
        .await;
    Mock::given(path("/v3/candidates"))
        .respond_with(ResponseTemplate::new(401))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(path("/v3/candidates"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([{"id": 1}])))
        .with_priority(2)
        .mount(&server)
        .await;

    let records = harvest(&server, clock()).list("candidates", &[]).await.unwrap();
    assert_eq!(records, vec![json!({"id": 1})]);
    assert_eq!(requests_to(&server, "/token").await.len(), 2);
    let api = requests_to(&server, "/v3/candidates").await;
    assert_eq!(api.len(), 2);
    assert_eq!(api[1].headers["authorization"], "Bearer t2");
}

#[tokio::test]
async fn harvest_401_twice_is_permanent_after_exactly_one_refresh() {
    let server = MockServer::start().await;
    Mock::given(path("/token")).respond_with(token("t", 3600)).mount(&server).await;
    Mock::given(path("/v3/candidates"))
        .respond_with(ResponseTemplate::new(401))
        .mount(&server)
        .await;
    let error = harvest(&server, clock()).list("candidates", &[]).await.unwrap_err();
    assert!(matches!(error, ApiError::Permanent { status: 401, .. }), "{error:?}");
    assert_eq!(requests_to(&server, "/token").await.len(), 2);
    assert_eq!(requests_to(&server, "/v3/candidates").await.len(), 2);
}

#[tokio::test]
async fn harvest_5xx_is_transient_and_422_is_permanent_with_its_body() {
    let server = MockServer::start().await;
    Mock::given(path("/token")).respond_with(token("t", 3600)).mount(&server).await;
    Mock::given(path("/v3/jobs")).respond_with(ResponseTemplate::new(503)).mount(&server).await;
    Mock::given(path("/v3/notes"))
        .respond_with(
            ResponseTemplate::new(422)
                .set_body_string(r#"{"errors":[{"field":"body","message":"is too long"}]}"#),
        )
        .mount(&server)
        .await;
    let client = harvest(&server, clock());

    let error = client.list("jobs", &[]).await.unwrap_err();
    assert!(matches!(error, ApiError::Transient { retry_after: None, .. }), "{error:?}");
    let error =
        client.write(Method::POST, "/v3/notes", Some(&json!({"body": "x"}))).await.unwrap_err();
    match error {
        ApiError::Permanent { status, body, .. } => {
            assert_eq!(status, 422);
            assert!(body.contains("is too long"), "{body}");
        }
        other => panic!("expected permanent, got {other:?}"),
    }
}

#[tokio::test]
async fn harvest_follows_the_link_cursor_verbatim() {
    let server = MockServer::start().await;
    // An encoded cursor: re-encoding or decoding it would change the `%3D`s.
    let next = format!("{}/v3/candidates?cursor=eyJwIjoyfQ%3D%3D", server.uri());
    Mock::given(path("/token")).respond_with(token("t", 3600)).mount(&server).await;
    Mock::given(path("/v3/candidates"))
        .and(query_param("cursor", "eyJwIjoyfQ=="))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([{"id": 2}])))
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(path("/v3/candidates"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!([{"id": 1}]))
                .insert_header("link", format!("<{next}>; rel=\"next\"").as_str()),
        )
        .with_priority(2)
        .mount(&server)
        .await;

    let records =
        harvest(&server, clock()).list("candidates", &[("per_page", "1".into())]).await.unwrap();
    assert_eq!(records, vec![json!({"id": 1}), json!({"id": 2})]);
    let api = requests_to(&server, "/v3/candidates").await;
    assert_eq!(api.len(), 2);
    assert_eq!(api[0].url.query(), Some("per_page=1"));
    // wiremock rebuilds the URL from the request line; the path and query are what we sent,
    // and the Host header names the server the Link pointed at.
    let second = format!("{}?{}", api[1].url.path(), api[1].url.query().unwrap_or_default());
    assert_eq!(second, "/v3/candidates?cursor=eyJwIjoyfQ%3D%3D", "exactly the Link target");
    assert_eq!(format!("http://{}", api[1].headers["host"].to_str().unwrap()), server.uri());
}

#[tokio::test]
async fn harvest_refreshes_the_token_before_it_expires() {
    let server = MockServer::start().await;
    Mock::given(path("/token"))
        .respond_with(token("t1", 120))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(path("/token"))
        .respond_with(token("t2", 120))
        .with_priority(2)
        .mount(&server)
        .await;
    Mock::given(path("/v3/jobs"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([])))
        .mount(&server)
        .await;
    let clock = clock();
    let client = harvest(&server, clock.clone());

    client.list("jobs", &[]).await.unwrap();
    clock.advance(chrono::Duration::seconds(30));
    client.list("jobs", &[]).await.unwrap();
    assert_eq!(requests_to(&server, "/token").await.len(), 1, "a fresh token is reused");

    // 70 s in, the 120 s token has 50 s left: inside the refresh margin, so it is replaced
    // before use, with no 401 needed.
    clock.advance(chrono::Duration::seconds(40));
    client.list("jobs", &[]).await.unwrap();
    assert_eq!(requests_to(&server, "/token").await.len(), 2);
    let api = requests_to(&server, "/v3/jobs").await;
    assert_eq!(api[2].headers["authorization"], "Bearer t2");
}

#[tokio::test]
async fn iop_statuses_sort_into_transient_and_permanent() {
    let server = MockServer::start().await;
    Mock::given(path("/v1/interviews/int_1"))
        .respond_with(ResponseTemplate::new(429).insert_header("retry-after", "9"))
        .mount(&server)
        .await;
    Mock::given(path("/v1/interviews/int_2"))
        .respond_with(ResponseTemplate::new(502))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/v1/scheduling_requests"))
        .respond_with(
            ResponseTemplate::new(422).set_body_string(r#"{"error":{"code":"invalid_mode"}}"#),
        )
        .mount(&server)
        .await;
    let client = IopClient::new(
        IopSettings { base_url: server.uri(), api_key: "k".into() },
        http(),
        clock(),
    );

    let error = client.get("/v1/interviews/int_1").await.unwrap_err();
    assert!(
        matches!(&error, ApiError::Transient { retry_after: Some(w), .. } if *w == Duration::from_secs(9)),
        "{error:?}"
    );
    let error = client.get("/v1/interviews/int_2").await.unwrap_err();
    assert!(matches!(error, ApiError::Transient { retry_after: None, .. }), "{error:?}");
    let error = client.post("/v1/scheduling_requests", &json!({}), "key-1").await.unwrap_err();
    assert!(
        matches!(&error, ApiError::Permanent { status: 422, body, .. } if body.contains("invalid_mode")),
        "{error:?}"
    );
    let sent = server.received_requests().await.unwrap();
    let post = sent.iter().find(|r| r.method.as_str() == "POST").unwrap();
    assert_eq!(post.headers["idempotency-key"], "key-1");
}

/// An engine whose Greenhouse is `server`, holding one stage-change webhook.
async fn engine_with_one_event(
    server: &MockServer,
    clock: Arc<ManualClock>,
    dir: &tempfile::TempDir,
) -> Arc<Engine> {
    let sqlite = dir.path().join("engine.db").display().to_string();
    let text = config_text(&server.uri(), "http://127.0.0.1:9", &sqlite, "W_");
    let config = EngineConfig::parse(&text, "test.toml").unwrap();
    let secrets = secrets_for(&config, "W_");
    let engine = Engine::open(config, secrets, http(), clock).await.unwrap();

    let routes = RouterClient::new();
    routes.register("engine.test", engine.router());
    let body =
        Bytes::from(r#"{"action":"candidate_stage_change","payload":{"application":{"id":123}}}"#);
    let request = signed_greenhouse_webhook(body, "evt-1");
    assert!(routes.send(request).await.unwrap().status().is_success());
    engine
}

#[tokio::test]
async fn the_worker_waits_as_long_as_retry_after_says() {
    let server = MockServer::start().await;
    Mock::given(path("/token")).respond_with(token("t", 3600)).mount(&server).await;
    Mock::given(path("/v3/applications"))
        .respond_with(ResponseTemplate::new(503).insert_header("retry-after", "120"))
        .mount(&server)
        .await;
    let dir = tempfile::tempdir().unwrap();
    let clock = clock();
    let engine = engine_with_one_event(&server, clock.clone(), &dir).await;

    engine.run_due().await.unwrap();
    let now = rehearsal::clock::Clock::now(clock.as_ref());
    // The first backoff is about 1 s; the server asked for 120 s, and that wins.
    assert_eq!(engine.next_due().await.unwrap(), Some(now + chrono::Duration::seconds(120)));
    assert_eq!(engine.stats().retried, 1);
    assert!(engine.dead_letters().await.unwrap().is_empty());
}

#[tokio::test]
async fn a_422_lands_in_the_dead_letters_with_its_body() {
    let server = MockServer::start().await;
    Mock::given(path("/token")).respond_with(token("t", 3600)).mount(&server).await;
    Mock::given(path("/v3/applications"))
        .respond_with(
            ResponseTemplate::new(422)
                .set_body_string(r#"{"errors":[{"message":"ids must be integers"}]}"#),
        )
        .mount(&server)
        .await;
    let dir = tempfile::tempdir().unwrap();
    let engine = engine_with_one_event(&server, clock(), &dir).await;

    engine.run_due().await.unwrap();
    let dead = engine.dead_letters().await.unwrap();
    assert_eq!(dead.len(), 1);
    assert_eq!(dead[0].event_id, "evt-1");
    assert!(dead[0].reason.contains("answered 422"), "{}", dead[0].reason);
    assert!(dead[0].reason.contains("ids must be integers"), "{}", dead[0].reason);
    assert_eq!(engine.pending().await.unwrap(), 0);
}
