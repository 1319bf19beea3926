//! Measures the mock Greenhouse on its own, in-process: a token-authenticated Harvest v3 list
//! page of 100 candidates (kept from an earlier identical read, and re-rendered after a
//! candidate PATCH), and a Harvest write (an application move) that fires a signed
//! webhook delivered to a sink — against the engine bench, which spends most of its time here.

use std::sync::Arc;

use axum::Router;
use criterion::{Criterion, criterion_group, criterion_main};
use http::{Method, StatusCode};
use rehearsal::clock::{ManualClock, SharedClock};
use rehearsal::mock::common::DeliveryReport;
use rehearsal::mock::greenhouse::control as gh;
use rehearsal::mock::greenhouse::{
    Credential, Fidelity, GreenhouseMockConfig, MockGreenhouse, StageIdMode,
};
use rehearsal::transport::{HttpClient, RouterClient, json_request, raw_request};
use serde_json::Value;

const GH: &str = "http://greenhouse.bench";

async fn call(
    http: &RouterClient,
    method: Method,
    path: &str,
    body: Option<&Value>,
    token: &str,
) -> Value {
    let auth = [("authorization", format!("Bearer {token}"))];
    let request = json_request(method, &format!("{GH}{path}"), body, &auth).unwrap();
    let response = http.send(request).await.unwrap();
    assert!(response.status().is_success(), "{path}: {}", response.status());
    serde_json::from_slice(response.body()).unwrap_or(Value::Null)
}

/// A GET's body length, unparsed: the list benches measure the mock, not the client's parser.
async fn page_bytes(http: &RouterClient, path: &str, token: &str) -> usize {
    let auth = [("authorization", format!("Bearer {token}"))];
    let request = json_request(Method::GET, &format!("{GH}{path}"), None, &auth).unwrap();
    let response = http.send(request).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK, "{path}");
    response.body().len()
}

fn setup(runtime: &tokio::runtime::Runtime) -> (RouterClient, String, Vec<i64>, [i64; 2]) {
    let clock: SharedClock = Arc::new(ManualClock::new(ManualClock::scenario_epoch()));
    let http = RouterClient::new();
    let config = GreenhouseMockConfig {
        base_url: GH.into(),
        credentials: vec![Credential {
            client_id: "bench-1".into(),
            client_secret: "s".into(),
            scopes: vec!["*".into()],
        }],
        // The clock stands still, so one window must hold every measured request.
        rate_limit_per_window: u32::MAX,
        ..GreenhouseMockConfig::default()
    };
    // Stage ids in the move body are job stage ids, so the bench needs no extra read.
    let fidelity =
        Fidelity { stage_id_mode: StageIdMode::JobInterviewStage, ..Fidelity::default() };
    let mock = MockGreenhouse::new(config, clock, Arc::new(http.clone())).with_fidelity(fidelity);
    http.register("greenhouse.bench", mock.router());
    http.register("sink.bench", Router::new().fallback(|| async { StatusCode::OK }));
    runtime.block_on(async {
        let seed = gh::Seed {
            users: vec![gh::SeedUser {
                key: "admin".into(),
                id: Some(5),
                first_name: "A".into(),
                last_name: "B".into(),
                email: "a@b.test".into(),
                site_admin: true,
            }],
            jobs: vec![gh::SeedJob {
                key: "job".into(),
                id: None,
                name: "Job".into(),
                stages: ["One", "Two"]
                    .iter()
                    .map(|n| gh::SeedStage { name: (*n).into(), id: None, interviews: Vec::new() })
                    .collect(),
            }],
            candidates: (0..100)
                .map(|i| gh::SeedCandidate {
                    key: format!("c{i}"),
                    id: None,
                    first_name: format!("Ana{i}"),
                    last_name: "Ruiz".into(),
                    email_addresses: vec![gh::TypedValue {
                        value: format!("ana{i}@example.test"),
                        kind: "personal".into(),
                    }],
                    phone_numbers: Vec::new(),
                    time_zone: None,
                    custom_fields: Default::default(),
                    applications: vec![gh::SeedApplication {
                        id: None,
                        job_key: "job".into(),
                        stage: None,
                        status: None,
                        custom_fields: Default::default(),
                    }],
                })
                .collect(),
            rejection_reasons: Vec::new(),
            custom_fields: Vec::new(),
        };
        let seeded: gh::Seeded = serde_json::from_value(
            call(
                &http,
                Method::POST,
                "/_rehearsal/seed",
                Some(&serde_json::to_value(&seed).unwrap()),
                "",
            )
            .await,
        )
        .unwrap();
        let hook = serde_json::json!({"url": "http://sink.bench/hook", "secret": "ghwh_bench"});
        call(&http, Method::PUT, "/_rehearsal/webhook", Some(&hook), "").await;
        let form = raw_request(
            Method::POST,
            &format!("{GH}/token"),
            "grant_type=client_credentials&sub=5".into(),
            Some("application/x-www-form-urlencoded"),
            &[("authorization", "Basic YmVuY2gtMTpz".to_owned())],
        )
        .unwrap();
        let token: Value = serde_json::from_slice(http.send(form).await.unwrap().body()).unwrap();
        let stages = &seeded.jobs["job"].stages;
        let apps = seeded.candidates.values().map(|c| c.applications[0]).collect();
        (
            http.clone(),
            token["access_token"].as_str().unwrap().to_owned(),
            apps,
            [stages["One"].id, stages["Two"].id],
        )
    })
}

fn mock_greenhouse(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let (http, token, apps, stages) = setup(&runtime);
    let page = "/v3/candidates?per_page=100";
    let first = runtime.block_on(call(&http, Method::GET, page, None, &token));
    assert_eq!(first.as_array().map(Vec::len), Some(100));
    let page_len = runtime.block_on(page_bytes(&http, page, &token));
    // Unchanged world: every page after the first is the kept one.
    c.bench_function("mock_greenhouse/list_100_candidates", |b| {
        b.iter(|| {
            runtime.block_on(async { assert_eq!(page_bytes(&http, page, &token).await, page_len) })
        })
    });
    // A candidate PATCH before each read: the kept page is dropped and the page re-rendered.
    let candidate = first[0]["id"].as_i64().unwrap_or_default();
    let mut turn = 0usize;
    c.bench_function("mock_greenhouse/patch_then_list_100_candidates", |b| {
        b.iter(|| {
            runtime.block_on(async {
                turn += 1;
                let patch = serde_json::json!({"first_name": format!("Ana{turn}")});
                let path = format!("/v3/candidates/{candidate}");
                call(&http, Method::PATCH, &path, Some(&patch), &token).await;
                assert!(page_bytes(&http, page, &token).await > 0);
            })
        })
    });
    // The PATCHes queued candidate webhooks; send them so each move below delivers its own.
    runtime.block_on(call(&http, Method::POST, "/_rehearsal/deliver", None, ""));
    let mut turn = 0usize;
    c.bench_function("mock_greenhouse/move_and_deliver_webhook", |b| {
        b.iter(|| {
            runtime.block_on(async {
                let t = turn;
                turn += 1;
                let app = apps[t % apps.len()];
                let round = (t / apps.len()) % 2;
                // Alternate between the two stages so every move is a real change.
                let to = stages[1 - round];
                let body = serde_json::json!({"to_stage_id": to, "from_stage_id": stages[round]});
                call(
                    &http,
                    Method::POST,
                    &format!("/v3/applications/{app}/move"),
                    Some(&body),
                    &token,
                )
                .await;
                let report: DeliveryReport = serde_json::from_value(
                    call(&http, Method::POST, "/_rehearsal/deliver", None, "").await,
                )
                .unwrap();
                assert_eq!(report.delivered, 1);
            })
        })
    });
}

criterion_group!(benches, mock_greenhouse);
criterion_main!(benches);
