//! Measures the engine end to end: Greenhouse stage-change webhooks accepted (signature,
//! SQLite store on disk) → handled by the worker (re-reads Greenhouse, upserts the candidate,
//! opens the IOP scheduling request), over the in-process transport and over real 127.0.0.1
//! sockets, under virtual time, built as `scenario::harness::Harness` builds it. Reported per webhook, against the mapping and
//! signature benches that are its pure parts.

use std::path::Path;

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use http::Method;
use rehearsal::clock::ManualClock;
use rehearsal::engine::config::EngineConfig;
use rehearsal::mock::common::ActionOutcome;
use rehearsal::mock::greenhouse::control as gh;
use rehearsal::mock::iop::control as iop;
use rehearsal::scenario::harness::{Harness, Side, Transport};
use serde_json::Value;

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

criterion_group!(benches, engine);
criterion_main!(benches);
