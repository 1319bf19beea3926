//! Reconciliation catches what a dropped webhook would have done.

use http::Method;
use rehearsal::clock::Clock;
use serde_json::json;

use crate::engine_world::{GH_URL, IOP_URL, InProcess, control, open_requests, seed, seed_world};

#[tokio::test]
async fn reconcile_catches_a_dropped_webhook_both_ways() {
    let world = InProcess::start().await;
    let seeded = seed_world(&world.http, GH_URL, &seed(1, "Application Review")).await;
    let application = seeded.candidates["c0"].applications[0];
    let stages = &seeded.jobs["backend"].stages;

    // Nothing to do yet: the application stands in a stage no rule names.
    let first = world.engine.reconcile().await.unwrap();
    assert_eq!(first.applications, 1);
    assert!(open_requests(&world.http, IOP_URL).await.is_empty());

    // Someone moves it to Onsite; Greenhouse queues a webhook that is never delivered.
    world.clock.advance(chrono::Duration::minutes(5));
    let moved = json!({"action": "move_application", "application_id": application, "to_stage_id": stages["Onsite"].id});
    control(&world.http, Method::POST, &format!("{GH_URL}/_rehearsal/actions"), Some(&moved)).await;
    assert_eq!(world.engine.pending().await.unwrap(), 0, "no webhook reached the engine");

    world.clock.advance(chrono::Duration::minutes(15));
    world.engine.reconcile().await.unwrap();
    assert_eq!(open_requests(&world.http, IOP_URL).await.get(&application), Some(&1));

    // A second sweep converges to the same state: still exactly one request.
    world.clock.advance(chrono::Duration::minutes(15));
    world.engine.reconcile().await.unwrap();
    assert_eq!(open_requests(&world.http, IOP_URL).await.get(&application), Some(&1));

    // It leaves the stage, again without a webhook: the open request is cancelled.
    let moved = json!({"action": "move_application", "application_id": application, "to_stage_id": stages["Offer"].id});
    control(&world.http, Method::POST, &format!("{GH_URL}/_rehearsal/actions"), Some(&moved)).await;
    world.clock.advance(chrono::Duration::minutes(15));
    world.engine.reconcile().await.unwrap();
    assert!(open_requests(&world.http, IOP_URL).await.is_empty());

    let trail = world.engine.audit_trail().await.unwrap();
    assert!(trail.iter().any(|e| e.action == "scheduling_request_opened"));
    assert!(trail.iter().any(|e| e.action == "scheduling_request_cancelled"));
}

#[tokio::test]
async fn the_watermark_narrows_later_sweeps() {
    let world = InProcess::start().await;
    seed_world(&world.http, GH_URL, &seed(3, "Application Review")).await;
    world.clock.advance(chrono::Duration::minutes(10));
    assert_eq!(world.engine.reconcile().await.unwrap().applications, 3);

    // Nothing changed since the last sweep (less its 60 s overlap): nothing is listed again.
    world.clock.advance(chrono::Duration::hours(1));
    let later = world.engine.reconcile().await.unwrap();
    assert_eq!((later.applications, later.open_requests), (0, 0));
}

/// Go-live: applications already stand in a trigger stage and no webhook will ever name them.
/// Harvest allows 50 requests per 30 s window and a sweep spends about four per application,
/// so 60 of them need several windows: the sweep pauses when a window is spent and goes on
/// where it stopped once it resets, until every application has its request.
#[tokio::test]
async fn a_sweep_goes_on_past_spent_rate_limit_windows() {
    let world = InProcess::start().await;
    let count = 60;
    let seeded = seed_world(&world.http, GH_URL, &seed(count, "Onsite")).await;

    let first = world.engine.reconcile().await.unwrap();
    assert!(first.paused_until.is_some(), "60 applications cannot fit one window: {first:?}");
    assert!(first.applications < count, "{first:?}");

    // Let virtual time run to each moment something is due, as the scenario runner does.
    for _ in 0..1000 {
        world.engine.run_due().await.unwrap();
        match world.engine.next_due().await.unwrap() {
            Some(at) => world.clock.advance_to(at),
            None => break,
        }
    }

    let open = open_requests(&world.http, IOP_URL).await;
    for key in (0..count).map(|i| format!("c{i}")) {
        let application = seeded.candidates[&key].applications[0];
        assert_eq!(open.get(&application), Some(&1), "{key} has no single open request");
    }
    assert!(world.engine.harvest_stats().rate_limit_waits >= 3, "several windows were needed");

    assert_eq!(world.engine.next_due().await.unwrap(), None, "the sweep completed");
}

/// A sweep stopped by a spent window keeps its place across a restart of the engine: the
/// next start goes on with the applications it had not reached, not from the newest again, so
/// the legs together converge each application once.
#[tokio::test]
async fn a_paused_sweep_resumes_after_a_restart_where_it_stopped() {
    let world = InProcess::start().await;
    let count = 30;
    seed_world(&world.http, GH_URL, &seed(count, "Onsite")).await;

    let first = world.engine.reconcile().await.unwrap();
    let mut resume_at = first.paused_until.expect("30 applications need more than one window");
    assert_eq!(world.engine.next_due().await.unwrap(), Some(resume_at));

    let engine = world.reopen().await;
    let mut converged = first.applications;
    for _ in 0..100 {
        world.clock.advance_to(resume_at);
        let leg = engine.reconcile().await.unwrap();
        converged += leg.applications;
        match leg.paused_until {
            Some(at) => resume_at = at,
            None => break,
        }
    }
    assert_eq!(converged, count, "every application converged once over the legs");
    assert_eq!(engine.next_due().await.unwrap(), None, "the sweep is complete");
}

/// A 429 from Greenhouse itself (another integration spent the account's window, or the engine
/// restarted without knowing what the last window had left) pauses the sweep until Retry-After,
/// as a window the engine saw spent does; it is not a failure that stops the sweep for a whole
/// `reconcile.interval_secs`.
#[tokio::test]
async fn a_429_pauses_the_sweep_for_its_retry_after_only() {
    let world = InProcess::start().await;
    let seeded = seed_world(&world.http, GH_URL, &seed(3, "Onsite")).await;
    let fault =
        json!({"api": [{"path_prefix": "/v3/applications", "kind": "status_429", "times": 1}]});
    control(&world.http, Method::PUT, &format!("{GH_URL}/_rehearsal/faults"), Some(&fault)).await;

    let now = world.clock.now();
    let first = world.engine.reconcile().await.expect("a 429 pauses the sweep, it does not fail");
    let resume_at = first.paused_until.expect("the sweep waits for Retry-After");
    assert!(
        resume_at > now && resume_at <= now + chrono::Duration::seconds(30),
        "within one 30 s window, not a whole interval: {resume_at} after {now}"
    );
    assert_eq!(world.engine.next_due().await.unwrap(), Some(resume_at));

    world.clock.advance_to(resume_at);
    let leg = world.engine.reconcile().await.unwrap();
    assert_eq!((leg.applications, leg.paused_until), (3, None), "{leg:?}");
    let open = open_requests(&world.http, IOP_URL).await;
    for key in ["c0", "c1", "c2"] {
        assert_eq!(open.get(&seeded.candidates[key].applications[0]), Some(&1), "{key}");
    }
}
