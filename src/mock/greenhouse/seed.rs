//! `POST /_rehearsal/seed`: builds users, jobs with their hiring plans, candidates with
//! applications, and rejection reasons. A seed applies whole or not at all.

use super::control::{
    Seed, SeedApplication, SeedCandidate, SeedJob, Seeded, SeededCandidate, SeededJob, SeededStage,
};
use super::state::{
    AppStatus, Application, Candidate, Collection, DefaultInterviewer, Id, Instant, InterviewKit,
    Job, JobInterview, JobStage, ReasonType, RejectionReason, State, User,
};
use super::{custom_fields, ops};

/// Minutes a seeded job interview lasts unless the seed says otherwise.
const DEFAULT_DURATION_MINUTES: u32 = 45;

/// Greenhouse's stock reasons, added when a seed names none and none exist yet.
const DEFAULT_REASONS: [(&str, ReasonType); 3] = [
    ("Lacking skill(s)/qualification(s)", ReasonType::WeRejectedThem),
    ("Withdrew", ReasonType::TheyRejectedUs),
    ("Other", ReasonType::NoneSpecified),
];

/// Applies `seed` to `state`; on error `state` is unchanged and the message names the culprit.
pub(crate) fn apply(state: &mut State, seed: &Seed, now: Instant) -> Result<Seeded, String> {
    let mut draft = state.clone();
    let mut seeded = Seeded::default();

    for user in &seed.users {
        if draft.user_keys.contains_key(&user.key) {
            return Err(format!("duplicate user key `{}`", user.key));
        }
        let id = take_id(&mut draft, Collection::Users, user.id, &format!("user `{}`", user.key))?;
        let record = User {
            id,
            first_name: user.first_name.clone(),
            last_name: user.last_name.clone(),
            email: user.email.clone(),
            site_admin: user.site_admin,
            deactivated: false,
            created_at: now,
            updated_at: now,
        };
        draft.users.insert(id, record);
        draft.user_keys.insert(user.key.clone(), id);
        seeded.users.insert(user.key.clone(), id);
    }

    seed_reasons(&mut draft, seed, now, &mut seeded)?;
    custom_fields::seed_definitions(&mut draft, &seed.custom_fields, now)?;
    for job in &seed.jobs {
        let job_seeded = seed_job(&mut draft, job, now)?;
        seeded.jobs.insert(job.key.clone(), job_seeded);
    }
    for candidate in &seed.candidates {
        let candidate_seeded = seed_candidate(&mut draft, candidate, now)?;
        seeded.candidates.insert(candidate.key.clone(), candidate_seeded);
    }

    for field in draft.custom_fields.values() {
        if !state.custom_fields.contains_key(&field.id) {
            seeded
                .custom_fields
                .insert(format!("{}.{}", field.field_type, field.name_key), field.id);
        }
    }
    *state = draft;
    Ok(seeded)
}

pub(super) fn take_id(
    state: &mut State,
    collection: Collection,
    pinned: Option<Id>,
    what: &str,
) -> Result<Id, String> {
    match pinned {
        Some(id) if id <= 0 => Err(format!("{what}: id {id} must be positive")),
        Some(id) if state.in_use(collection, id) => {
            Err(format!("{what}: id {id} is already taken"))
        }
        Some(id) => Ok(id),
        None => Ok(state.allocate(collection)),
    }
}

fn seed_reasons(
    state: &mut State,
    seed: &Seed,
    now: Instant,
    seeded: &mut Seeded,
) -> Result<(), String> {
    let wanted: Vec<(String, ReasonType)> = if seed.rejection_reasons.is_empty() {
        if !state.rejection_reasons.is_empty() {
            return Ok(());
        }
        DEFAULT_REASONS.iter().map(|(name, kind)| ((*name).to_owned(), *kind)).collect()
    } else {
        // TODO(fidelity): the seed format names reasons only, so custom reasons all get the
        // WE_REJECTED_THEM type.
        seed.rejection_reasons
            .iter()
            .map(|name| (name.clone(), ReasonType::WeRejectedThem))
            .collect()
    };
    for (name, kind) in wanted {
        if state.rejection_reasons.values().any(|r| r.name == name) {
            return Err(format!("duplicate rejection reason `{name}`"));
        }
        let id = state.allocate(Collection::RejectionReasons);
        state
            .rejection_reasons
            .insert(id, RejectionReason { id, name: name.clone(), kind, created_at: now });
        seeded.rejection_reasons.insert(name, id);
    }
    Ok(())
}

fn seed_job(state: &mut State, job: &SeedJob, now: Instant) -> Result<SeededJob, String> {
    if state.job_keys.contains_key(&job.key) {
        return Err(format!("duplicate job key `{}`", job.key));
    }
    let job_id = take_id(state, Collection::Jobs, job.id, &format!("job `{}`", job.key))?;
    state.jobs.insert(
        job_id,
        Job { id: job_id, name: job.name.clone(), created_at: now, updated_at: now },
    );
    state.job_keys.insert(job.key.clone(), job_id);

    let mut seeded = SeededJob { id: job_id, ..SeededJob::default() };
    for (order, stage) in job.stages.iter().enumerate() {
        let what = format!("job `{}` stage `{}`", job.key, stage.name);
        if seeded.stages.contains_key(&stage.name) {
            return Err(format!("duplicate stage name in {what}"));
        }
        let stage_id = take_id(state, Collection::JobInterviewStages, stage.id, &what)?;
        let record = JobStage {
            id: stage_id,
            job_id,
            name: stage.name.clone(),
            sort_order: order as i64,
            created_at: now,
            updated_at: now,
        };
        state.stages.insert(stage_id, record);

        let mut stage_seeded = SeededStage { id: stage_id, ..SeededStage::default() };
        for (step_order, interview) in stage.interviews.iter().enumerate() {
            let what = format!("{what} interview `{}`", interview.name);
            if stage_seeded.interviews.contains_key(&interview.name) {
                return Err(format!("duplicate interview name in {what}"));
            }
            let interviewer_ids = interview
                .interviewer_keys
                .iter()
                .map(|key| {
                    state
                        .user_keys
                        .get(key)
                        .copied()
                        .ok_or(format!("unknown user key `{key}` in {what}"))
                })
                .collect::<Result<Vec<Id>, String>>()?;
            let interview_id = take_id(state, Collection::JobInterviews, interview.id, &what)?;
            let record = JobInterview {
                id: interview_id,
                job_id,
                stage_id,
                name: interview.name.clone(),
                duration_minutes: interview.duration_minutes.unwrap_or(DEFAULT_DURATION_MINUTES),
                sort_order: step_order as i64,
                created_at: now,
                updated_at: now,
            };
            state.job_interviews.insert(interview_id, record);
            add_kit(state, job_id, interview_id, &interviewer_ids, now);
            stage_seeded.interviews.insert(interview.name.clone(), interview_id);
        }
        seeded.stages.insert(stage.name.clone(), stage_seeded);
    }
    Ok(seeded)
}

/// Each job interview gets one interview kit, whose default interviewers are the seed's.
fn add_kit(state: &mut State, job_id: Id, job_interview_id: Id, user_ids: &[Id], now: Instant) {
    let kit_id = state.allocate(Collection::InterviewKits);
    let kit =
        InterviewKit { id: kit_id, job_id, job_interview_id, created_at: now, updated_at: now };
    state.interview_kits.insert(kit_id, kit);
    for user_id in user_ids {
        let id = state.allocate(Collection::DefaultInterviewers);
        let row = DefaultInterviewer {
            id,
            interview_kit_id: kit_id,
            user_id: *user_id,
            created_at: now,
            updated_at: now,
        };
        state.default_interviewers.insert(id, row);
    }
}

fn seed_candidate(
    state: &mut State,
    seed: &SeedCandidate,
    now: Instant,
) -> Result<SeededCandidate, String> {
    if state.candidate_keys.contains_key(&seed.key) {
        return Err(format!("duplicate candidate key `{}`", seed.key));
    }
    let what = format!("candidate `{}`", seed.key);
    let at = format!("{what}: custom_fields");
    custom_fields::check_values(state, "candidate", &seed.custom_fields, &at, now)?;
    let candidate_id = take_id(state, Collection::Candidates, seed.id, &what)?;
    let record = Candidate {
        id: candidate_id,
        first_name: seed.first_name.clone(),
        last_name: seed.last_name.clone(),
        email_addresses: seed.email_addresses.clone(),
        phone_numbers: seed.phone_numbers.clone(),
        time_zone: seed.time_zone.clone(),
        custom_fields: seed.custom_fields.clone(),
        created_at: now,
        updated_at: now,
        last_activity_at: now,
    };
    state.candidates.insert(candidate_id, record);
    state.candidate_keys.insert(seed.key.clone(), candidate_id);

    let mut seeded = SeededCandidate { id: candidate_id, applications: Vec::new() };
    for (index, application) in seed.applications.iter().enumerate() {
        let what = format!("{what} application {index}");
        let app_id = seed_application(state, candidate_id, application, &what, now)?;
        seeded.applications.push(app_id);
    }
    Ok(seeded)
}

fn seed_application(
    state: &mut State,
    candidate_id: Id,
    application: &SeedApplication,
    what: &str,
    now: Instant,
) -> Result<Id, String> {
    let job_id = *state
        .job_keys
        .get(&application.job_key)
        .ok_or(format!("unknown job key `{}` in {what}", application.job_key))?;
    let stage_id = match &application.stage {
        Some(name) => {
            state.stages.values().find(|s| s.job_id == job_id && s.name == *name).map(|s| s.id)
        }
        None => ops::first_stage(state, job_id),
    }
    .ok_or(format!(
        "unknown stage `{}` in {what}",
        application.stage.as_deref().unwrap_or("<first>")
    ))?;
    let status = match application.status.as_deref() {
        None | Some("in_process") => AppStatus::InProcess,
        Some("rejected") => AppStatus::Rejected,
        Some("hired") => AppStatus::Hired,
        Some(other) => {
            return Err(format!(
                "unknown status `{other}` in {what}; use in_process, rejected or hired"
            ));
        }
    };
    let at = format!("{what}: custom_fields");
    custom_fields::check_values(state, "application", &application.custom_fields, &at, now)?;
    let rejected = status == AppStatus::Rejected;
    let app_id = take_id(state, Collection::Applications, application.id, what)?;
    let record = Application {
        id: app_id,
        candidate_id,
        job_id,
        status,
        stage_row_id: 0,
        job_stage_id: stage_id,
        rejection_reason_id: if rejected {
            state.rejection_reasons.keys().next().copied()
        } else {
            None
        },
        rejected_at: rejected.then_some(now),
        custom_fields: application.custom_fields.clone(),
        created_at: now,
        updated_at: now,
        last_activity_at: now,
    };
    state.applications.insert(app_id, record);
    ops::enter_stage(state, app_id, stage_id, now);
    Ok(app_id)
}
