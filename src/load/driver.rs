//! Drives candidates through the stages: seeds fake candidates, starts them at the asked rate,
//! and moves each on once the engine's previous action is observed: move into the trigger
//! stage → (request opened) → book the interview in the IOP → (interview in Greenhouse) →
//! submit feedback → (scorecard in Greenhouse).

use std::time::Instant;

use chrono::{DateTime, Duration, Utc};
use fake::Fake;
use fake::faker::internet::en::SafeEmail;
use fake::faker::name::en::{FirstName, LastName};
use fake::faker::phone_number::en::PhoneNumber;
use fake::rand::SeedableRng;
use fake::rand::rngs::ChaCha8Rng;
use http::Method;

use super::record::Phase;
use super::world::{Side, World};
use super::{LoadError, LoadOptions};
use crate::mock::common::{ActionOutcome, DeliveryReport};
use crate::mock::greenhouse::control as gh;
use crate::mock::iop::control as iop;

const JOB: &str = "Load Test Engineer";
/// A stage the default engine config opens a scheduling request for.
const TRIGGER_STAGE: &str = "Onsite";
const ZONES: [&str; 4] = ["Europe/Madrid", "America/New_York", "Asia/Tokyo", "UTC"];
/// Rounds in a row with nothing to do before the real-time loop sleeps a little.
const IDLE_SLEEP: std::time::Duration = std::time::Duration::from_millis(5);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stage {
    Waiting,
    Moved,
    Scheduled,
    FeedbackGiven,
    Done,
    Failed,
}

struct Candidate {
    application_id: i64,
    starts_at: DateTime<Utc>,
    stage: Stage,
    interview_id: Option<String>,
}

/// What the driver counted itself.
#[derive(Debug, Default)]
pub struct Outcome {
    pub started: usize,
    pub completed: usize,
    pub failed: usize,
    pub errors: Vec<String>,
    pub wall_seconds: f64,
    pub clock_seconds: f64,
}

struct Ids {
    trigger_stage_id: i64,
    interviewer: String,
}

pub async fn drive(world: &World, options: &LoadOptions) -> Result<Outcome, LoadError> {
    let (mut candidates, ids) = seed(world, options).await?;
    let wall_start = Instant::now();
    let start = world.now();
    // Arrivals stop at the duration; everyone started may finish within the bounds below.
    let clock_limit = start + Duration::seconds(options.duration_secs as i64) + options.drain;
    let wall_limit = std::time::Duration::from_secs(options.wall_limit_secs);
    let mut outcome = Outcome::default();

    loop {
        let acted = step_candidates(world, &mut candidates, &ids, &mut outcome).await;
        let gh: DeliveryReport =
            world.control(Side::Greenhouse, Method::POST, "/_rehearsal/deliver", &()).await?;
        let iop: DeliveryReport =
            world.control(Side::Iop, Method::POST, "/_rehearsal/deliver", &()).await?;
        let handled = match &world.engine {
            Some(engine) => engine.run_due().await.map_err(|e| LoadError::Setup(e.to_string()))?,
            None => 0,
        };
        let busy = acted + gh.delivered + gh.failed + iop.delivered + iop.failed + handled > 0;
        let open = candidates.iter().any(|c| !matches!(c.stage, Stage::Done | Stage::Failed));
        if !open || world.now() > clock_limit || wall_start.elapsed() > wall_limit {
            break;
        }
        if busy {
            continue;
        }
        match &world.virtual_clock {
            // Virtual time: jump to the next moment anything is due, or stop when nothing is.
            Some(clock) => {
                let engine_next = match &world.engine {
                    Some(engine) => engine.next_due().await.unwrap_or(None),
                    None => None,
                };
                let arrival = candidates
                    .iter()
                    .filter(|c| c.stage == Stage::Waiting)
                    .map(|c| c.starts_at)
                    .min();
                let next =
                    [gh.next_due, iop.next_due, engine_next, arrival].into_iter().flatten().min();
                match next {
                    Some(at) if at <= clock_limit => clock.advance_to(at),
                    _ => break,
                }
            }
            None => tokio::time::sleep(IDLE_SLEEP).await,
        }
    }
    outcome.wall_seconds = wall_start.elapsed().as_secs_f64();
    outcome.clock_seconds = (world.now() - start).num_milliseconds() as f64 / 1000.0;
    Ok(outcome)
}

/// Moves every candidate whose next step is possible now; returns how many moved.
async fn step_candidates(
    world: &World,
    candidates: &mut [Candidate],
    ids: &Ids,
    outcome: &mut Outcome,
) -> usize {
    let now = world.now();
    let mut acted = 0;
    for candidate in candidates.iter_mut() {
        let app = candidate.application_id;
        let (request_id, done) = {
            let observed = world.recorder.lock();
            let done = |phase: Phase| observed.acted.contains_key(&(phase, app));
            let done = match candidate.stage {
                Stage::Moved => done(Phase::Request),
                Stage::Scheduled => done(Phase::Interview),
                Stage::FeedbackGiven => done(Phase::Feedback),
                _ => false,
            };
            (observed.request_ids.get(&app).cloned(), done)
        };
        let result = match candidate.stage {
            Stage::Waiting if candidate.starts_at <= now => {
                outcome.started += 1;
                move_to_trigger(world, app, ids).await.map(|()| Stage::Moved)
            }
            Stage::Moved if done => match request_id {
                Some(request_id) => schedule(world, candidate, &request_id, ids, now).await,
                None => Err(LoadError::Setup(format!("no request id for application {app}"))),
            },
            Stage::Scheduled if done => feedback(world, candidate, ids).await,
            Stage::FeedbackGiven if done => {
                outcome.completed += 1;
                Ok(Stage::Done)
            }
            _ => continue,
        };
        acted += 1;
        candidate.stage = result.unwrap_or_else(|error| {
            outcome.failed += 1;
            outcome.errors.push(format!("application {app}: {error}"));
            Stage::Failed
        });
    }
    acted
}

async fn move_to_trigger(world: &World, application_id: i64, ids: &Ids) -> Result<(), LoadError> {
    let action = gh::Action::MoveApplication { application_id, to_stage_id: ids.trigger_stage_id };
    let _: ActionOutcome =
        world.control(Side::Greenhouse, Method::POST, "/_rehearsal/actions", &action).await?;
    Ok(())
}

async fn schedule(
    world: &World,
    candidate: &mut Candidate,
    request_id: &str,
    ids: &Ids,
    now: DateTime<Utc>,
) -> Result<Stage, LoadError> {
    // Tomorrow, 45 minutes: far enough ahead that the interview is still upcoming.
    let start_at = now + Duration::days(1);
    let action = iop::Action::ScheduleInterview {
        scheduling_request_id: request_id.to_owned(),
        interview_name: None,
        start_at: Some(start_at),
        end_at: Some(start_at + Duration::minutes(45)),
        start_date: None,
        end_date: None,
        interviewer_ids: vec![ids.interviewer.clone()],
        timezone: None,
        location: None,
    };
    let outcome: ActionOutcome =
        world.control(Side::Iop, Method::POST, "/_rehearsal/actions", &action).await?;
    let interview_id = outcome.created_id.unwrap_or_default();
    world.recorder.own(&interview_id, candidate.application_id);
    candidate.interview_id = Some(interview_id);
    Ok(Stage::Scheduled)
}

async fn feedback(world: &World, candidate: &Candidate, ids: &Ids) -> Result<Stage, LoadError> {
    let action = iop::Action::SubmitFeedback {
        interview_id: candidate.interview_id.clone().unwrap_or_default(),
        interviewer_id: Some(ids.interviewer.clone()),
        overall_recommendation: "yes".into(),
        notes: Some("Clear thinking; would hire.".into()),
    };
    let outcome: ActionOutcome =
        world.control(Side::Iop, Method::POST, "/_rehearsal/actions", &action).await?;
    if let Some(id) = outcome.created_id {
        world.recorder.own(&id, candidate.application_id);
    }
    Ok(Stage::FeedbackGiven)
}

/// Seeds one job, one interviewer on both sides and the planned number of fake candidates
/// (from the seed), each with an application in the first stage.
async fn seed(world: &World, options: &LoadOptions) -> Result<(Vec<Candidate>, Ids), LoadError> {
    let mut rng = ChaCha8Rng::seed_from_u64(options.seed);
    let candidates: Vec<gh::SeedCandidate> = (0..options.planned())
        .map(|i| {
            let first: String = FirstName().fake_with_rng(&mut rng);
            let last: String = LastName().fake_with_rng(&mut rng);
            let email: String = SafeEmail().fake_with_rng(&mut rng);
            let phone: String = PhoneNumber().fake_with_rng(&mut rng);
            let zone = ZONES[(0..ZONES.len()).fake_with_rng::<usize, _>(&mut rng)];
            gh::SeedCandidate {
                key: format!("candidate-{i}"),
                id: None,
                first_name: first,
                last_name: last,
                email_addresses: vec![gh::TypedValue { value: email, kind: "personal".into() }],
                phone_numbers: vec![gh::TypedValue { value: phone, kind: "mobile".into() }],
                time_zone: Some(zone.to_owned()),
                custom_fields: Default::default(),
                applications: vec![gh::SeedApplication {
                    id: None,
                    job_key: JOB.into(),
                    stage: None,
                    status: None,
                    custom_fields: Default::default(),
                }],
            }
        })
        .collect();
    let stage = |name: &str, interviews: Vec<gh::SeedInterview>| gh::SeedStage {
        name: name.into(),
        id: None,
        interviews,
    };
    let mut users = vec![gh::SeedUser {
        key: "interviewer".into(),
        id: None,
        first_name: "Priya".into(),
        last_name: "Shah".into(),
        email: "priya.shah@example.test".into(),
        site_admin: true,
    }];
    if let Some(id) = options.acting_user_id {
        users.push(gh::SeedUser {
            key: "__integration".into(),
            id: Some(id),
            first_name: "Rehearsal".into(),
            last_name: "Integration".into(),
            email: "integration@rehearsal.test".into(),
            site_admin: true,
        });
    }
    let seed = gh::Seed {
        users,
        jobs: vec![gh::SeedJob {
            key: JOB.into(),
            id: None,
            name: JOB.into(),
            stages: vec![
                stage("Application Review", Vec::new()),
                stage(
                    TRIGGER_STAGE,
                    vec![gh::SeedInterview {
                        name: "System Design".into(),
                        id: None,
                        duration_minutes: Some(45),
                        interviewer_keys: vec!["interviewer".into()],
                    }],
                ),
                stage("Offer", Vec::new()),
            ],
        }],
        candidates,
        rejection_reasons: Vec::new(),
        custom_fields: Vec::new(),
    };
    let seeded: gh::Seeded =
        world.control(Side::Greenhouse, Method::POST, "/_rehearsal/seed", &seed).await?;
    let trigger_stage_id = seeded
        .jobs
        .get(JOB)
        .and_then(|job| job.stages.get(TRIGGER_STAGE))
        .map(|stage| stage.id)
        .ok_or_else(|| LoadError::Setup("the mock did not seed the trigger stage".into()))?;

    let iop_seed = iop::Seed {
        users: vec![iop::SeedUser {
            key: "interviewer".into(),
            name: "Priya Shah".into(),
            email: "priya.shah@example.test".into(),
            timezone: "UTC".into(),
            greenhouse_user_id: seeded.users.get("interviewer").copied(),
        }],
        webhook: Some(iop::SeedWebhook {
            url: format!("{}/webhooks/iop", options.engine_base()),
            secrets: vec![world.iop_webhook_secret.clone()],
        }),
    };
    let iop_seeded: iop::Seeded =
        world.control(Side::Iop, Method::POST, "/_rehearsal/seed", &iop_seed).await?;
    let interviewer = iop_seeded.users.get("interviewer").cloned().unwrap_or_default();

    let start = world.now();
    let gap_micros = (1e6 / options.rate_per_sec).max(1.0) as i64;
    let list = (0..options.planned())
        .filter_map(|i| {
            let application_id =
                *seeded.candidates.get(&format!("candidate-{i}"))?.applications.first()?;
            Some(Candidate {
                application_id,
                starts_at: start + Duration::microseconds(gap_micros.saturating_mul(i as i64)),
                stage: Stage::Waiting,
                interview_id: None,
            })
        })
        .collect();
    Ok((list, Ids { trigger_stage_id, interviewer }))
}
