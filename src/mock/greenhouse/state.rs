//! The mock's world: Greenhouse records, deterministic id allocation and the Harvest v3 JSON
//! shape of every record. Records keep typed fields; JSON is produced only when a list, the
//! control API or a webhook needs it, so one renderer serves all three.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc};
use serde_json::{Value, json};

use super::control::TypedValue;
use super::fidelity::StageIdMode;
use crate::clock::greenhouse_timestamp;

pub(crate) type Id = i64;
pub(crate) type Instant = DateTime<Utc>;

/// The auto-created "Integration Service User" a token without `sub` acts as. Fixed, so
/// seeding order never shifts it.
pub(crate) const SERVICE_USER_ID: Id = 4_000_000_001;

/// Every collection the mock lists under `/v3/<name>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Collection {
    Users,
    Jobs,
    JobInterviewStages,
    JobInterviews,
    InterviewKits,
    DefaultInterviewers,
    Candidates,
    Applications,
    ApplicationStages,
    Interviews,
    Interviewers,
    Scorecards,
    Notes,
    RejectionReasons,
    Offers,
    CustomFields,
}

impl Collection {
    /// New collections go last: a collection's id range follows its place here.
    pub(crate) const ALL: [Collection; 16] = [
        Self::Users,
        Self::Jobs,
        Self::JobInterviewStages,
        Self::JobInterviews,
        Self::InterviewKits,
        Self::DefaultInterviewers,
        Self::Candidates,
        Self::Applications,
        Self::ApplicationStages,
        Self::Interviews,
        Self::Interviewers,
        Self::Scorecards,
        Self::Notes,
        Self::RejectionReasons,
        Self::Offers,
        Self::CustomFields,
    ];

    pub(crate) fn name(self) -> &'static str {
        match self {
            Self::Users => "users",
            Self::Jobs => "jobs",
            Self::JobInterviewStages => "job_interview_stages",
            Self::JobInterviews => "job_interviews",
            Self::InterviewKits => "interview_kits",
            Self::DefaultInterviewers => "default_interviewers",
            Self::Candidates => "candidates",
            Self::Applications => "applications",
            Self::ApplicationStages => "application_stages",
            Self::Interviews => "interviews",
            Self::Interviewers => "interviewers",
            Self::Scorecards => "scorecards",
            Self::Notes => "notes",
            Self::RejectionReasons => "rejection_reasons",
            Self::Offers => "offers",
            Self::CustomFields => "custom_fields",
        }
    }

    pub(crate) fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.name() == name)
    }

    /// Where generated ids of this collection start. Distinct ranges per collection make an
    /// engine that mixes up id kinds fail loudly instead of hitting a neighbour's record.
    fn id_base(self) -> Id {
        let slot = Self::ALL.iter().position(|c| *c == self).unwrap_or(0) as Id;
        4_010_000_000 + slot * 10_000_000
    }
}

#[derive(Debug, Clone)]
pub(crate) struct User {
    pub id: Id,
    pub first_name: String,
    pub last_name: String,
    pub email: String,
    pub site_admin: bool,
    pub deactivated: bool,
    pub created_at: Instant,
    pub updated_at: Instant,
}

impl User {
    pub(crate) fn name(&self) -> String {
        format!("{} {}", self.first_name, self.last_name)
    }
}

#[derive(Debug, Clone)]
pub(crate) struct Job {
    pub id: Id,
    pub name: String,
    pub created_at: Instant,
    pub updated_at: Instant,
}

/// A `/v3/job_interview_stages` record: one step of a job's hiring plan.
#[derive(Debug, Clone)]
pub(crate) struct JobStage {
    pub id: Id,
    pub job_id: Id,
    pub name: String,
    pub sort_order: i64,
    pub created_at: Instant,
    pub updated_at: Instant,
}

#[derive(Debug, Clone)]
pub(crate) struct JobInterview {
    pub id: Id,
    pub job_id: Id,
    pub stage_id: Id,
    pub name: String,
    pub duration_minutes: u32,
    pub sort_order: i64,
    pub created_at: Instant,
    pub updated_at: Instant,
}

#[derive(Debug, Clone)]
pub(crate) struct InterviewKit {
    pub id: Id,
    pub job_id: Id,
    pub job_interview_id: Id,
    pub created_at: Instant,
    pub updated_at: Instant,
}

#[derive(Debug, Clone)]
pub(crate) struct DefaultInterviewer {
    pub id: Id,
    pub interview_kit_id: Id,
    pub user_id: Id,
    pub created_at: Instant,
    pub updated_at: Instant,
}

#[derive(Debug, Clone)]
pub(crate) struct Candidate {
    pub id: Id,
    pub first_name: String,
    pub last_name: String,
    pub email_addresses: Vec<TypedValue>,
    pub phone_numbers: Vec<TypedValue>,
    pub time_zone: Option<String>,
    pub custom_fields: BTreeMap<String, Value>,
    pub created_at: Instant,
    pub updated_at: Instant,
    pub last_activity_at: Instant,
}

/// The response vocabulary of an application's `status`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum AppStatus {
    InProcess,
    Rejected,
    Hired,
}

impl AppStatus {
    pub(crate) fn v3(self) -> &'static str {
        match self {
            Self::InProcess => "in_process",
            Self::Rejected => "rejected",
            Self::Hired => "hired",
        }
    }

    /// Webhooks still speak v1: `active` where v3 says `in_process`.
    pub(crate) fn webhook(self) -> &'static str {
        match self {
            Self::InProcess => "active",
            Self::Rejected => "rejected",
            Self::Hired => "hired",
        }
    }
}

#[derive(Debug, Clone)]
pub(crate) struct Application {
    pub id: Id,
    pub candidate_id: Id,
    pub job_id: Id,
    pub status: AppStatus,
    /// The open `/v3/application_stages` row.
    pub stage_row_id: Id,
    /// The job interview stage the application stands in.
    pub job_stage_id: Id,
    pub rejection_reason_id: Option<Id>,
    pub rejected_at: Option<Instant>,
    /// Values of `application` custom fields by `name_key`.
    pub custom_fields: BTreeMap<String, Value>,
    pub created_at: Instant,
    pub updated_at: Instant,
    pub last_activity_at: Instant,
}

/// One stay of an application in a stage; `exited_at` is `None` for the current stay.
#[derive(Debug, Clone)]
pub(crate) struct ApplicationStage {
    pub id: Id,
    pub application_id: Id,
    pub job_stage_id: Id,
    pub entered_at: Instant,
    pub exited_at: Option<Instant>,
    pub updated_at: Instant,
}

/// When an interview happens: timed, or all day (dates, no time).
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum When {
    Timed { starts_at: Instant, ends_at: Instant },
    AllDay { start_on: NaiveDate, end_on: NaiveDate },
}

#[derive(Debug, Clone)]
pub(crate) struct Interview {
    pub id: Id,
    pub application_id: Id,
    pub job_id: Id,
    pub job_interview_id: Id,
    pub external_event_id: Option<String>,
    pub when: When,
    pub status: String,
    pub location: Option<String>,
    pub video_conferencing_url: Option<String>,
    pub organizer_id: Id,
    /// Only interviews created through Harvest may be changed or deleted through it.
    pub via_api: bool,
    pub created_at: Instant,
    pub updated_at: Instant,
}

#[derive(Debug, Clone)]
pub(crate) struct Interviewer {
    pub id: Id,
    pub interview_id: Id,
    pub user_id: Option<Id>,
    pub email: String,
    pub response_status: String,
    pub scorecard_id: Option<Id>,
    pub created_at: Instant,
    pub updated_at: Instant,
}

#[derive(Debug, Clone)]
pub(crate) struct Scorecard {
    pub id: Id,
    pub application_id: Id,
    pub interview_kit_id: Option<Id>,
    pub interviewer_id: Id,
    pub submitter_id: Id,
    pub candidate_rating: String,
    pub notes: Option<String>,
    pub interviewed_at: Option<Instant>,
    pub submitted_at: Instant,
    pub created_at: Instant,
}

#[derive(Debug, Clone)]
pub(crate) struct Note {
    pub id: Id,
    pub candidate_id: Id,
    pub application_id: Option<Id>,
    pub user_id: Id,
    pub body: String,
    /// Upper-case type, e.g. `NOTE`.
    pub note_type: String,
    /// Read vocabulary, e.g. `admin_only_visible`.
    pub visibility: String,
    pub created_at: Instant,
}

/// `type.key` of a rejection reason.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ReasonType {
    WeRejectedThem,
    TheyRejectedUs,
    NoneSpecified,
}

impl ReasonType {
    pub(crate) fn json(self) -> Value {
        let (id, key, name) = match self {
            Self::WeRejectedThem => (1, "WE_REJECTED_THEM", "We rejected them"),
            Self::TheyRejectedUs => (2, "THEY_REJECTED_US", "They rejected us"),
            Self::NoneSpecified => (3, "NONE_SPECIFIED", "None specified"),
        };
        json!({"id": id, "key": key, "name": name})
    }
}

/// A `/v3/custom_fields` definition: a field an organisation adds to one kind of record.
#[derive(Debug, Clone)]
pub(crate) struct CustomField {
    pub id: Id,
    pub name: String,
    /// The immutable key records' `custom_fields` are keyed by.
    pub name_key: String,
    /// The record it belongs to (`candidate`, `application`, …), as Harvest names it.
    pub field_type: String,
    /// What its values are (`short_text`, `yes_no`, …).
    pub value_type: String,
    /// Choices of a select field, in order.
    pub options: Vec<String>,
    pub active: bool,
    pub private: bool,
    pub required: bool,
    pub description: Option<String>,
    /// Position among the fields of its `field_type`, from 0.
    pub sort_order: i64,
    /// Made up from a value seeded without any declared definition (see
    /// [`super::custom_fields`]); such a field types nothing.
    pub derived: bool,
    pub created_at: Instant,
}

#[derive(Debug, Clone)]
pub(crate) struct RejectionReason {
    pub id: Id,
    pub name: String,
    pub kind: ReasonType,
    pub created_at: Instant,
}

/// Every record, plus the seed keys scenarios refer to them by.
#[derive(Debug, Clone, Default)]
pub(crate) struct State {
    pub users: BTreeMap<Id, User>,
    pub jobs: BTreeMap<Id, Job>,
    pub stages: BTreeMap<Id, JobStage>,
    pub job_interviews: BTreeMap<Id, JobInterview>,
    pub interview_kits: BTreeMap<Id, InterviewKit>,
    pub default_interviewers: BTreeMap<Id, DefaultInterviewer>,
    pub candidates: BTreeMap<Id, Candidate>,
    pub applications: BTreeMap<Id, Application>,
    pub application_stages: BTreeMap<Id, ApplicationStage>,
    pub interviews: BTreeMap<Id, Interview>,
    pub interviewers: BTreeMap<Id, Interviewer>,
    pub scorecards: BTreeMap<Id, Scorecard>,
    pub notes: BTreeMap<Id, Note>,
    pub rejection_reasons: BTreeMap<Id, RejectionReason>,
    pub custom_fields: BTreeMap<Id, CustomField>,
    pub user_keys: BTreeMap<String, Id>,
    pub job_keys: BTreeMap<String, Id>,
    pub candidate_keys: BTreeMap<String, Id>,
    next_ids: BTreeMap<Collection, Id>,
}

impl State {
    /// An empty organisation holding only the integration's service user.
    pub(crate) fn new(now: Instant) -> Self {
        let mut state = Self::default();
        let service = User {
            id: SERVICE_USER_ID,
            first_name: "Integration Service".to_owned(),
            last_name: "User".to_owned(),
            // Greenhouse shows service accounts with an empty primary email.
            email: String::new(),
            site_admin: true,
            deactivated: false,
            created_at: now,
            updated_at: now,
        };
        state.users.insert(SERVICE_USER_ID, service);
        state
    }

    /// The next free generated id of `collection`; pinned ids in the way are skipped.
    pub(crate) fn allocate(&mut self, collection: Collection) -> Id {
        let mut candidate =
            self.next_ids.get(&collection).copied().unwrap_or(collection.id_base()) + 1;
        while self.in_use(collection, candidate) {
            candidate += 1;
        }
        self.next_ids.insert(collection, candidate);
        candidate
    }

    pub(crate) fn in_use(&self, collection: Collection, id: Id) -> bool {
        match collection {
            Collection::Users => self.users.contains_key(&id),
            Collection::Jobs => self.jobs.contains_key(&id),
            Collection::JobInterviewStages => self.stages.contains_key(&id),
            Collection::JobInterviews => self.job_interviews.contains_key(&id),
            Collection::InterviewKits => self.interview_kits.contains_key(&id),
            Collection::DefaultInterviewers => self.default_interviewers.contains_key(&id),
            Collection::Candidates => self.candidates.contains_key(&id),
            Collection::Applications => self.applications.contains_key(&id),
            Collection::ApplicationStages => self.application_stages.contains_key(&id),
            Collection::Interviews => self.interviews.contains_key(&id),
            Collection::Interviewers => self.interviewers.contains_key(&id),
            Collection::Scorecards => self.scorecards.contains_key(&id),
            Collection::Notes => self.notes.contains_key(&id),
            Collection::RejectionReasons => self.rejection_reasons.contains_key(&id),
            Collection::Offers => false,
            Collection::CustomFields => self.custom_fields.contains_key(&id),
        }
    }

    /// The application's `stage_id` as the active [`StageIdMode`] defines it.
    pub(crate) fn stage_id_of(app: &Application, mode: StageIdMode) -> Id {
        match mode {
            StageIdMode::ApplicationStageRow => app.stage_row_id,
            StageIdMode::JobInterviewStage => app.job_stage_id,
        }
    }

    /// Every record of `collection` in its v3 shape, id ascending.
    pub(crate) fn render(
        &self,
        collection: Collection,
        now: Instant,
        mode: StageIdMode,
    ) -> Vec<Value> {
        match collection {
            Collection::Users => self.users.values().map(user_json).collect(),
            Collection::Jobs => self.jobs.values().map(job_json).collect(),
            Collection::JobInterviewStages => self.stages.values().map(stage_json).collect(),
            Collection::JobInterviews => {
                self.job_interviews.values().map(job_interview_json).collect()
            }
            Collection::InterviewKits => self.interview_kits.values().map(kit_json).collect(),
            Collection::DefaultInterviewers => {
                self.default_interviewers.values().map(default_interviewer_json).collect()
            }
            Collection::Candidates => {
                self.candidates.values().map(|c| self.candidate_json(c)).collect()
            }
            Collection::Applications => {
                self.applications.values().map(|a| self.application_json(a, mode)).collect()
            }
            Collection::ApplicationStages => {
                self.application_stages.values().map(|s| application_stage_json(s, now)).collect()
            }
            Collection::Interviews => self.interviews.values().map(interview_json).collect(),
            Collection::Interviewers => self.interviewers.values().map(interviewer_json).collect(),
            Collection::Scorecards => self.scorecards.values().map(scorecard_json).collect(),
            Collection::Notes => self.notes.values().map(note_json).collect(),
            Collection::RejectionReasons => {
                self.rejection_reasons.values().map(rejection_reason_json).collect()
            }
            Collection::Offers => Vec::new(),
            Collection::CustomFields => {
                self.custom_fields.values().map(super::custom_fields::definition_json).collect()
            }
        }
    }

    /// A candidate in its v3 shape, `custom_fields` showing every active candidate field.
    pub(crate) fn candidate_json(&self, candidate: &Candidate) -> Value {
        let mut record = candidate_json(candidate);
        record["custom_fields"] = self.custom_values("candidate", &candidate.custom_fields);
        record
    }

    pub(crate) fn application_json(&self, app: &Application, mode: StageIdMode) -> Value {
        let stage_name = self.stages.get(&app.job_stage_id).map(|s| s.name.clone());
        json!({
            "id": app.id,
            "candidate_id": app.candidate_id,
            "job_id": app.job_id,
            "stage_id": Self::stage_id_of(app, mode),
            "stage_name": stage_name,
            "status": app.status.v3(),
            "created_at": ts(app.created_at),
            "updated_at": ts(app.updated_at),
            "last_activity_at": ts(app.last_activity_at),
            "rejected_at": app.rejected_at.map(ts),
            "prospect": false,
            "recruiter_id": null,
            "coordinator_id": null,
            "source_id": null,
            "referrer_id": null,
            "location_address": null,
            "custom_fields": self.custom_values("application", &app.custom_fields),
            "job_post_id": null,
            "prospective_job_ids": [],
            "needs_decision": false,
            "agency_note_id": null,
            "answers": [],
        })
    }
}

pub(crate) fn ts(at: Instant) -> String {
    greenhouse_timestamp(at)
}

pub(crate) fn user_json(user: &User) -> Value {
    let emails: Vec<&str> = if user.email.is_empty() { Vec::new() } else { vec![&user.email] };
    json!({
        "id": user.id,
        "first_name": user.first_name,
        "last_name": user.last_name,
        "name": user.name(),
        "primary_email": user.email,
        "emails": emails,
        "site_admin": user.site_admin,
        "deactivated": user.deactivated,
        "employee_id": null,
        "agency_id": null,
        "job_title": null,
        "custom_fields": {},
        "department_ids": [],
        "office_ids": [],
        "interviewer_tags": [],
        "linked_candidate_ids": [],
        "created_at": ts(user.created_at),
        "updated_at": ts(user.updated_at),
    })
}

fn job_json(job: &Job) -> Value {
    json!({
        "id": job.id,
        "name": job.name,
        "status": "open",
        "confidential": false,
        "is_template": false,
        "copied_from_id": null,
        "requisition_id": null,
        "notes": null,
        "department_id": null,
        "office_ids": [],
        "custom_fields": {},
        "opened_at": ts(job.created_at),
        "closed_at": null,
        "created_at": ts(job.created_at),
        "updated_at": ts(job.updated_at),
    })
}

fn stage_json(stage: &JobStage) -> Value {
    json!({
        "id": stage.id,
        "job_id": stage.job_id,
        "name": stage.name,
        "sort_order": stage.sort_order,
        "active": true,
        "created_at": ts(stage.created_at),
        "updated_at": ts(stage.updated_at),
    })
}

fn job_interview_json(interview: &JobInterview) -> Value {
    json!({
        "id": interview.id,
        "job_id": interview.job_id,
        "job_interview_stage_id": interview.stage_id,
        "name": interview.name,
        "duration": interview.duration_minutes,
        "active": true,
        "require_scorecard": true,
        // TODO(fidelity): the scheduling_type vocabulary was not captured; every seeded
        // interview claims the plain "scheduled" kind.
        "scheduling_type": "scheduled",
        "sort_order": interview.sort_order,
        "summary": null,
        "instructions": null,
        "created_at": ts(interview.created_at),
        "updated_at": ts(interview.updated_at),
    })
}

fn kit_json(kit: &InterviewKit) -> Value {
    json!({
        "id": kit.id,
        "job_id": kit.job_id,
        "job_interview_id": kit.job_interview_id,
        "anonymize_candidate": false,
        "anonymize_resumes": false,
        "exercises": [],
        "created_at": ts(kit.created_at),
        "updated_at": ts(kit.updated_at),
    })
}

fn default_interviewer_json(row: &DefaultInterviewer) -> Value {
    json!({
        "id": row.id,
        "interview_kit_id": row.interview_kit_id,
        "user_id": row.user_id,
        "created_at": ts(row.created_at),
        "updated_at": ts(row.updated_at),
    })
}

/// A candidate's own fields; [`State::candidate_json`] adds what depends on the world.
fn candidate_json(candidate: &Candidate) -> Value {
    json!({
        "id": candidate.id,
        "first_name": candidate.first_name,
        "last_name": candidate.last_name,
        "preferred_name": null,
        "company": null,
        "title": null,
        "private": false,
        "can_email": true,
        "email_addresses": candidate.email_addresses,
        "phone_numbers": candidate.phone_numbers,
        "addresses": [],
        "website_addresses": [],
        "social_media_addresses": [],
        "tags": [],
        "time_zone": candidate.time_zone,
        "custom_fields": candidate.custom_fields,
        "linked_user_ids": [],
        "message": null,
        "created_at": ts(candidate.created_at),
        "updated_at": ts(candidate.updated_at),
        "last_activity_at": ts(candidate.last_activity_at),
    })
}

fn application_stage_json(row: &ApplicationStage, now: Instant) -> Value {
    let until = row.exited_at.unwrap_or(now);
    json!({
        "id": row.id,
        "application_id": row.application_id,
        "job_interview_stage_id": row.job_stage_id,
        "current": row.exited_at.is_none(),
        "entered_at": ts(row.entered_at),
        "exited_at": row.exited_at.map(ts),
        "days_in_stage": (until - row.entered_at).num_days(),
        "created_at": ts(row.entered_at),
        "updated_at": ts(row.updated_at),
    })
}

pub(crate) fn interview_json(interview: &Interview) -> Value {
    let (starts_at, ends_at, start_on, end_on) = match &interview.when {
        When::Timed { starts_at, ends_at } => {
            (Some(ts(*starts_at)), Some(ts(*ends_at)), None, None)
        }
        When::AllDay { start_on, end_on } => {
            (None, None, Some(start_on.to_string()), Some(end_on.to_string()))
        }
    };
    json!({
        "id": interview.id,
        "application_id": interview.application_id,
        "job_id": interview.job_id,
        "job_interview_id": interview.job_interview_id,
        "external_event_id": interview.external_event_id,
        "starts_at": starts_at,
        "ends_at": ends_at,
        "all_day_start_on": start_on,
        "all_day_end_on": end_on,
        "status": interview.status,
        "location": interview.location,
        "video_conferencing_url": interview.video_conferencing_url,
        "organizer_id": interview.organizer_id,
        "scheduled_at": ts(interview.created_at),
        "availability_received_at": null,
        "created_at": ts(interview.created_at),
        "updated_at": ts(interview.updated_at),
    })
}

fn interviewer_json(row: &Interviewer) -> Value {
    json!({
        "id": row.id,
        "interview_id": row.interview_id,
        "user_id": row.user_id,
        "email": row.email,
        "response_status": row.response_status,
        "scorecard_id": row.scorecard_id,
        "created_at": ts(row.created_at),
        "updated_at": ts(row.updated_at),
    })
}

pub(crate) fn scorecard_json(card: &Scorecard) -> Value {
    json!({
        "id": card.id,
        "application_id": card.application_id,
        "interview_kit_id": card.interview_kit_id,
        "interviewer_id": card.interviewer_id,
        "submitter_id": card.submitter_id,
        "candidate_rating": card.candidate_rating,
        "status": "complete",
        "notes": card.notes,
        "notes_with_tags": card.notes,
        "private_notes": null,
        "private_notes_with_tags": null,
        "public_notes": null,
        "public_notes_with_tags": null,
        "interviewed_at": card.interviewed_at.map(ts),
        "submitted_at": ts(card.submitted_at),
        "created_at": ts(card.created_at),
        "updated_at": ts(card.submitted_at),
    })
}

pub(crate) fn note_json(note: &Note) -> Value {
    json!({
        "id": note.id,
        "candidate_id": note.candidate_id,
        "application_id": note.application_id,
        "user_id": note.user_id,
        "body": note.body,
        "body_with_tags": note.body,
        "type": note.note_type,
        "visibility": note.visibility,
        "subject": null,
        "email_from": null,
        "email_to": null,
        "email_cc": null,
        "email_attachment_file_names": [],
        "import_hash": null,
        "created_at": ts(note.created_at),
        "updated_at": ts(note.created_at),
    })
}

pub(crate) fn rejection_reason_json(reason: &RejectionReason) -> Value {
    json!({
        "id": reason.id,
        "name": reason.name,
        "type": reason.kind.json(),
        "created_at": ts(reason.created_at),
        "updated_at": ts(reason.created_at),
    })
}
