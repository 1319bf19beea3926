//! The scenario file format: a `given` world, then steps (actions on either side, `advance` of
//! virtual time, expectations). See `docs/scenarios.md`.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use serde_saphyr::Spanned;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    pub name: String,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub tags: Vec<String>,
    /// Virtual time the scenario starts at (UTC); a fixed Monday 09:00 when absent.
    #[serde(default)]
    pub start: Option<DateTime<Utc>>,
    #[serde(default)]
    pub given: Given,
    pub steps: Vec<Spanned<Step>>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Given {
    #[serde(default)]
    pub users: Vec<Spanned<GivenUser>>,
    #[serde(default)]
    pub jobs: Vec<Spanned<GivenJob>>,
    #[serde(default)]
    pub candidates: Vec<Spanned<GivenCandidate>>,
}

/// A Greenhouse user who is also an interviewer in the IOP.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GivenUser {
    pub name: String,
    pub email: String,
    #[serde(default)]
    pub id: Option<i64>,
    #[serde(default = "yes")]
    pub site_admin: bool,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GivenJob {
    pub name: String,
    #[serde(default)]
    pub id: Option<i64>,
    pub stages: Vec<StageSpec>,
}

/// A stage: just its name, or a name with interviews.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum StageSpec {
    Name(String),
    Full(FullStage),
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FullStage {
    pub name: String,
    #[serde(default)]
    pub id: Option<i64>,
    #[serde(default)]
    pub interviews: Vec<InterviewSpec>,
}

impl StageSpec {
    pub fn name(&self) -> &str {
        match self {
            StageSpec::Name(name) => name,
            StageSpec::Full(full) => &full.name,
        }
    }
}

/// An interview of a stage: just its name, or with duration and interviewers.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum InterviewSpec {
    Name(String),
    Full(FullInterview),
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FullInterview {
    pub name: String,
    #[serde(default)]
    pub id: Option<i64>,
    #[serde(default)]
    pub duration_minutes: Option<u32>,
    /// Names of `given.users`.
    #[serde(default)]
    pub interviewers: Vec<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GivenCandidate {
    /// "First Last"; the first word is the first name.
    pub name: String,
    #[serde(default)]
    pub email: Option<String>,
    #[serde(default)]
    pub phone: Option<String>,
    #[serde(default)]
    pub time_zone: Option<String>,
    #[serde(default)]
    pub id: Option<i64>,
    /// The job (by name) the candidate applied to.
    pub applies_to: String,
    /// Current stage (by name); the job's first stage when absent.
    #[serde(default)]
    pub stage: Option<String>,
    /// `in_process` (default), `rejected` or `hired`.
    #[serde(default)]
    pub status: Option<String>,
    #[serde(default)]
    pub application_id: Option<i64>,
}

/// One step. Exactly one key.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum Step {
    /// Something a person does in Greenhouse.
    Greenhouse(GreenhouseStep),
    /// Something a candidate, interviewer or coordinator does in the IOP.
    Iop(IopStep),
    /// Moves virtual time, e.g. `72h`, `1d`, `1h30m`; everything due meanwhile happens.
    Advance(String),
    /// Checks state; keys are targets such as `greenhouse.interviews`.
    Expect(BTreeMap<String, serde_json::Value>),
}

/// A Greenhouse UI action. Exactly one verb (`move`, `reject`, `unreject`, `hire`, `edit`,
/// `delete_interview`), naming a candidate.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct GreenhouseStep {
    #[serde(default, rename = "move")]
    pub move_: Option<String>,
    /// Stage name, with `move`.
    #[serde(default)]
    pub to: Option<String>,
    #[serde(default)]
    pub reject: Option<String>,
    /// Rejection reason name, with `reject`.
    #[serde(default)]
    pub reason: Option<String>,
    #[serde(default)]
    pub unreject: Option<String>,
    #[serde(default)]
    pub hire: Option<String>,
    /// Edit a candidate: with `first_name`, `last_name`, `email`, `time_zone`.
    #[serde(default)]
    pub edit: Option<String>,
    #[serde(default)]
    pub first_name: Option<String>,
    #[serde(default)]
    pub last_name: Option<String>,
    #[serde(default)]
    pub email: Option<String>,
    #[serde(default)]
    pub time_zone: Option<String>,
    /// A coordinator deletes the candidate's scheduled interview in Greenhouse.
    #[serde(default)]
    pub delete_interview: Option<String>,
}

/// A simulated person in the IOP. Exactly one verb, naming a candidate.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct IopStep {
    /// The candidate submits availability: with `slots`.
    #[serde(default)]
    pub submit_availability: Option<String>,
    #[serde(default)]
    pub slots: Vec<SlotSpec>,
    /// A coordinator books the candidate's interview: with `interview` (name; the first
    /// requested when absent), `at` (timed) or `on` (all-day date), `duration`.
    #[serde(default)]
    pub schedule: Option<String>,
    #[serde(default)]
    pub interview: Option<String>,
    #[serde(default)]
    pub at: Option<DateTime<Utc>>,
    #[serde(default)]
    pub on: Option<NaiveDate>,
    /// e.g. `45m`; the requested duration when absent.
    #[serde(default)]
    pub duration: Option<String>,
    /// Interviewer names (from `given.users`).
    #[serde(default)]
    pub interviewers: Vec<String>,
    /// Same interview, new time: with `at` or `on`.
    #[serde(default)]
    pub reschedule: Option<String>,
    #[serde(default)]
    pub cancel_interview: Option<String>,
    #[serde(default)]
    pub candidate_declines: Option<String>,
    /// With `candidate_declines`.
    #[serde(default)]
    pub reason: Option<String>,
    #[serde(default)]
    pub no_show: Option<String>,
    /// An interviewer submits feedback: with `recommendation`, `notes`, `interviewer`.
    #[serde(default)]
    pub feedback: Option<String>,
    #[serde(default)]
    pub recommendation: Option<String>,
    #[serde(default)]
    pub notes: Option<String>,
    #[serde(default)]
    pub interviewer: Option<String>,
    /// A coordinator cancels the candidate's scheduling request.
    #[serde(default)]
    pub cancel_request: Option<String>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct SlotSpec {
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
}

fn yes() -> bool {
    true
}
