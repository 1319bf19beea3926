//! Measures the engine end to end: Greenhouse stage-change webhooks accepted (signature,
//! SQLite store on disk) → handled by the worker (re-reads Greenhouse, upserts the candidate,
//! opens the IOP scheduling request), over the in-process transport and over real 127.0.0.1
//! sockets, under virtual time, built as `scenario::harness::Harness` builds it. Reported per webhook, against the mapping and
//! signature benches that are its pure parts.
//!
//! `engine_ingest` measures webhook ingest alone: signed Greenhouse webhooks (the 1 KB
//! fixture) POSTed to the engine's router in-process, 32 in flight as under `benches/compare/`
//! (wrk -c32) and one at a time, each verified, stored in the SQLite file on disk (WAL,
//! synchronous FULL) and only then acknowledged. No worker runs and no socket is involved, so
//! this is the handler's own cost and the store's commit path.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use axum::Router;
use axum::body::Body;
use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use http::{Method, Request, StatusCode};
use rehearsal::clock::ManualClock;
use rehearsal::clock::SystemClock;
use rehearsal::engine::Engine;
use rehearsal::engine::config::EngineConfig;
use rehearsal::engine::config::Secrets;
use rehearsal::mock::common::ActionOutcome;
use rehearsal::mock::greenhouse::control as gh;
use rehearsal::mock::iop::control as iop;
use rehearsal::scenario::harness::{Harness, Side, Transport};
use rehearsal::transport::RouterClient;
use serde_json::Value;
use tower::ServiceExt;

/// Webhooks per measured batch.
const BATCH: usize = 25;

struct World {
    harness: Harness,
    applications: Vec<i64>,
    onsite: i64,
}

async fn world(config: &EngineConfig, transport: Transport) -> World {
    let harness =
        Harness::start(config, 7, ManualClock::scenario_epoch(), transport).await.unwrap();
    let stage = |name: &str| gh::SeedStage {
        name: name.into(),
        id: None,
        interviews: vec![gh::SeedInterview {
            name: format!("{name} chat"),
            id: None,
            duration_minutes: None,
            interviewer_keys: Vec::new(),
        }],
    };
    let seed = gh::Seed {
        users: vec![gh::SeedUser {
            key: "integration".into(),
            id: config.greenhouse.acting_user_id,
            first_name: "Rehearsal".into(),
            last_name: "Integration".into(),
            email: "integration@rehearsal.test".into(),
            site_admin: true,
        }],
        jobs: vec![gh::SeedJob {
            key: "job".into(),
            id: None,
            name: "Backend Engineer".into(),
            stages: vec![stage("Application Review"), stage("Onsite")],
        }],
        candidates: (0..BATCH)
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
                time_zone: Some("Europe/Madrid".into()),
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
    let seeded: gh::Seeded = harness
        .control(Side::Greenhouse, Method::POST, "/_rehearsal/seed", Some(&seed))
        .await
        .unwrap();
    let webhook = iop::Seed {
        users: Vec::new(),
        webhook: Some(iop::SeedWebhook {
            url: format!("{}/webhooks/iop", harness.engine_url),
            secrets: vec![harness.iop_webhook_secret()],
        }),
    };
    let _: iop::Seeded =
        harness.control(Side::Iop, Method::POST, "/_rehearsal/seed", Some(&webhook)).await.unwrap();
    World {
        applications: seeded.candidates.values().map(|c| c.applications[0]).collect(),
        onsite: seeded.jobs["job"].stages["Onsite"].id,
        harness,
    }
}

/// Moves every application into Onsite and waits until the engine is quiet.
async fn push(world: &World) -> usize {
    for &application_id in &world.applications {
        let action = gh::Action::MoveApplication { application_id, to_stage_id: world.onsite };
        let _: ActionOutcome = world
            .harness
            .control(Side::Greenhouse, Method::POST, "/_rehearsal/actions", Some(&action))
            .await
            .unwrap();
    }
    world.harness.quiesce().await.unwrap();
    let state: Value = world
        .harness
        .control(Side::Iop, Method::GET, "/_rehearsal/state", None::<&()>)
        .await
        .unwrap();
    state["scheduling_requests"].as_array().map_or(0, Vec::len)
}

fn engine(c: &mut Criterion) {
    let config = EngineConfig::load(Path::new("fixtures/engine.toml")).unwrap();
    // Multi-threaded so the loopback servers run beside the driver, as they would for real.
    let runtime =
        tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let mut group = c.benchmark_group("engine_end_to_end");
    group.throughput(Throughput::Elements(BATCH as u64));
    group.sample_size(10);
    for (name, transport) in [
        ("stage_change_to_iop_request", Transport::Inproc),
        ("stage_change_to_iop_request_loopback", Transport::Loopback),
    ] {
        // Once outside the measurement: the batch does what the bench claims.
        let opened = runtime.block_on(async { push(&world(&config, transport).await).await });
        assert_eq!(opened, BATCH, "every webhook opens one scheduling request");
        group.bench_function(name, |b| {
            b.iter_batched(
                || runtime.block_on(world(&config, transport)),
                |world| runtime.block_on(push(&world)),
                BatchSize::PerIteration,
            )
        });
    }
    group.finish();
}

/// Webhooks per measured ingest iteration.
const PER_ITERATION: usize = 256;
const SECRET: &str = "bench-hook";

struct Poster {
    router: Router,
    body: bytes::Bytes,
    signature: String,
    sent: AtomicU64,
}

impl Poster {
    /// Posts `count` webhooks one after another, each a new event.
    async fn post(&self, count: usize) {
        for _ in 0..count {
            let event_id = format!("bench-{}", self.sent.fetch_add(1, Ordering::Relaxed));
            let request = Request::post("/webhooks/greenhouse")
                .header("content-type", "application/json")
                .header("signature", &self.signature)
                .header("greenhouse-event-id", event_id)
                .body(Body::from(self.body.clone()))
                .expect("a valid request");
            let response = self.router.clone().oneshot(request).await.expect("infallible");
            assert_eq!(response.status(), StatusCode::OK);
        }
    }
}

async fn poster(dir: &Path) -> Arc<Poster> {
    let mut config = EngineConfig::load(Path::new("fixtures/engine.toml")).unwrap();
    config.store.sqlite_path = dir.join("engine.db").display().to_string();
    let values: HashMap<String, String> = [
        ("GREENHOUSE_CLIENT_ID", "id"),
        ("GREENHOUSE_CLIENT_SECRET", "secret"),
        ("GREENHOUSE_WEBHOOK_SECRET", SECRET),
        ("IOP_API_KEY", "key"),
        ("IOP_WEBHOOK_SECRET", "unused"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect();
    let secrets = Secrets::resolve(&config, &values).unwrap();
    let engine =
        Engine::open(config, secrets, Arc::new(RouterClient::new()), Arc::new(SystemClock))
            .await
            .unwrap();
    let body = std::fs::read("fixtures/webhooks/stage-change-onsite.json").unwrap();
    Arc::new(Poster {
        router: engine.router(),
        signature: rehearsal::greenhouse::signature::sign(SECRET, &body),
        body: body.into(),
        sent: AtomicU64::new(0),
    })
}

fn ingest(c: &mut Criterion) {
    // Two worker threads, as `rehearsal engine serve` runs.
    let runtime =
        tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let poster = runtime.block_on(poster(dir.path()));
    let mut group = c.benchmark_group("engine_ingest");
    group.throughput(Throughput::Elements(PER_ITERATION as u64));
    group.sample_size(10);
    for in_flight in [32, 1] {
        group.bench_function(format!("accept_{in_flight}_in_flight"), |b| {
            b.iter(|| {
                runtime.block_on(async {
                    let posters: Vec<_> = (0..in_flight)
                        .map(|_| {
                            let poster = poster.clone();
                            tokio::spawn(
                                async move { poster.post(PER_ITERATION / in_flight).await },
                            )
                        })
                        .collect();
                    for posting in posters {
                        posting.await.unwrap();
                    }
                })
            })
        });
    }
    group.finish();
}

criterion_group!(benches, engine, ingest);
criterion_main!(benches);
