//! The scenario file format: a `given` world, then steps (actions on either side, `advance` of
//! virtual time, expectations). See `docs/scenarios.md`.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_saphyr::Spanned;

#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    pub name: String,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub tags: Vec<String>,
    /// Virtual time the scenario starts at (UTC); a fixed Monday 09:00 when absent.
    #[serde(default)]
    #[schemars(with = "Option<DateTime<Utc>>")]
    pub start: Option<Spanned<DateTime<Utc>>>,
    #[serde(default)]
    pub given: Given,
    #[schemars(with = "Vec<Step>")]
    pub steps: Vec<Spanned<Step>>,
    /// Invariants this scenario knowingly breaks, each with the reason.
    #[serde(default)]
    #[schemars(with = "Vec<Waiver>")]
    pub waive: Vec<Spanned<Waiver>>,
}

#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Waiver {
    pub invariant: String,
    pub reason: String,
}

#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Given {
    #[serde(default)]
    #[schemars(with = "Vec<GivenUser>")]
    pub users: Vec<Spanned<GivenUser>>,
    #[serde(default)]
    #[schemars(with = "Vec<GivenJob>")]
    pub jobs: Vec<Spanned<GivenJob>>,
    #[serde(default)]
    #[schemars(with = "Vec<GivenCandidate>")]
    pub candidates: Vec<Spanned<GivenCandidate>>,
    /// Greenhouse custom field definitions (`GET /v3/custom_fields`). Once any is declared,
    /// every custom-field value of a candidate or application must name a declared field of
    /// its record and fit its type; with none, each key gets a derived `short_text`-like
    /// definition and values go unchecked.
    #[serde(default)]
    #[schemars(with = "Vec<GivenCustomField>")]
    pub custom_fields: Vec<Spanned<GivenCustomField>>,
    /// Overrides merged into the engine configuration for this scenario only, in the TOML
    /// file's structure (e.g. `policies: { on_decline: reject }`, `triggers: [...]`).
    #[serde(default)]
    #[schemars(with = "Option<serde_json::Value>")]
    pub engine: Option<Spanned<serde_json::Value>>,
}

/// A Greenhouse custom field definition.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct GivenCustomField {
    /// Harvest's `name_key`: the key under the records' `custom_fields`.
    pub key: String,
    /// The name shown in Greenhouse; derived from the key when absent.
    #[serde(default)]
    pub name: Option<String>,
    /// The record it belongs to, Harvest's `field_type`: `candidate` or `application` (job,
    /// offer, opening, … exist too, but scenarios set no values on them).
    pub record: String,
    /// Harvest's `value_type`: short_text, long_text, yes_no, single_select, multi_select,
    /// currency, currency_range, number, number_range, date, url or user.
    #[serde(rename = "type")]
    pub kind: String,
    /// The choices of a single_select or multi_select field.
    #[serde(default)]
    pub options: Vec<String>,
    #[serde(default = "yes")]
    pub active: bool,
    #[serde(default)]
    pub private: bool,
    #[serde(default)]
    pub required: bool,
    #[serde(default)]
    pub id: Option<i64>,
}

/// A Greenhouse user who is also an interviewer in the IOP.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct GivenUser {
    pub name: String,
    pub email: String,
    #[serde(default)]
    pub id: Option<i64>,
    #[serde(default = "yes")]
    pub site_admin: bool,
    /// The interviewer's e-mail in the IOP when it differs from Greenhouse's. Such an IOP
    /// account carries no Greenhouse user id, so an engine finds it by e-mail only (through
    /// `mapping.interviewers.email_aliases`).
    #[serde(default)]
    pub iop_email: Option<String>,
}

#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct GivenJob {
    pub name: String,
    #[serde(default)]
    pub id: Option<i64>,
    pub stages: Vec<StageSpec>,
}

/// A stage: just its name, or a name with interviews.
#[derive(Debug, Clone, JsonSchema)]
#[serde(untagged)]
pub enum StageSpec {
    Name(String),
    Full(FullStage),
}

#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FullStage {
    pub name: String,
    #[serde(default)]
    pub id: Option<i64>,
    #[serde(default)]
    pub interviews: Vec<InterviewSpec>,
}

/// A name, or a map read as `T` with the error naming the field inside it (serde's own
/// untagged enums only say that no variant matched).
fn name_or_map<'de, D, T>(
    deserializer: D,
    what: &str,
    name: fn(String) -> T,
    full: fn(serde_json::Value) -> Result<T, String>,
) -> Result<T, D::Error>
where
    D: serde::Deserializer<'de>,
{
    use serde::de::Error;
    match serde_json::Value::deserialize(deserializer)? {
        serde_json::Value::String(text) => Ok(name(text)),
        map @ serde_json::Value::Object(_) => full(map).map_err(D::Error::custom),
        other => Err(D::Error::custom(format!(
            "{what}: write a name, or a map with `name` and its fields; not {other}"
        ))),
    }
}

/// `value` read as `T`; an error names the field (`interviews[0].duration_minutes`) in plain
/// words.
fn read_map<T: serde::de::DeserializeOwned>(
    value: serde_json::Value,
    what: &str,
) -> Result<T, String> {
    let label = value.get("name").and_then(|n| n.as_str()).map(|n| format!("{what} `{n}`"));
    let label = label.unwrap_or_else(|| what.to_owned());
    serde_path_to_error::deserialize(value).map_err(|error| {
        let path = error.path().to_string();
        let message = super::load::plain_types(&error.inner().to_string());
        match path.as_str() {
            // An interview's own error names it already: `stage `X`, interview `Y`: …`.
            _ if message.starts_with("interview ") => format!("{label}, {message}"),
            "." => format!("{label}: {message}"),
            _ => format!("{label}: {path}: {message}"),
        }
    })
}

impl<'de> Deserialize<'de> for StageSpec {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        name_or_map(deserializer, "stage", StageSpec::Name, |map| {
            read_map(map, "stage").map(StageSpec::Full)
        })
    }
}

impl<'de> Deserialize<'de> for InterviewSpec {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        name_or_map(deserializer, "interview", InterviewSpec::Name, |map| {
            read_map(map, "interview").map(InterviewSpec::Full)
        })
    }
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
#[derive(Debug, Clone, JsonSchema)]
#[serde(untagged)]
pub enum InterviewSpec {
    Name(String),
    Full(FullInterview),
}

#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FullInterview {
    pub name: String,
    #[serde(default)]
    pub id: Option<i64>,
    // TODO(correctness): any u32 is accepted; an interview of months is refused only at run
    // time, by the engine, as an unopened request rather than a validation error.
    #[serde(default)]
    pub duration_minutes: Option<u32>,
    /// Names of `given.users`.
    #[serde(default)]
    pub interviewers: Vec<String>,
}

#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct GivenCandidate {
    /// "First Last"; the first word is the first name.
    pub name: String,
    /// One personal email; use `emails` for several typed ones.
    #[serde(default)]
    pub email: Option<String>,
    #[serde(default)]
    pub emails: Vec<TypedSpec>,
    /// One mobile number; use `phones` for several typed ones.
    #[serde(default)]
    pub phone: Option<String>,
    #[serde(default)]
    pub phones: Vec<TypedSpec>,
    #[serde(default)]
    pub time_zone: Option<String>,
    /// Values of candidate custom fields by key, as Harvest returns them (a select holds
    /// its option's name, a date `YYYY-MM-DD`, a currency `{unit, amount}`).
    #[serde(default)]
    pub custom_fields: BTreeMap<String, serde_json::Value>,
    /// Values of application custom fields by key, on the candidate's one application.
    #[serde(default)]
    pub application_custom_fields: BTreeMap<String, serde_json::Value>,
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

/// `{value, type}`, as Greenhouse types emails (`personal`, `work`, `other`) and phones
/// (`mobile`, `home`, `work`, `skype`, `other`).
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TypedSpec {
    pub value: String,
    #[serde(rename = "type")]
    pub kind: String,
}

/// One step. Exactly one key.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum Step {
    /// Something a person does in Greenhouse.
    Greenhouse(GreenhouseStep),
    /// Something a candidate, interviewer or coordinator does in the IOP.
    Iop(Box<IopStep>),
    /// Moves virtual time, e.g. `72h`, `1d`, `1h30m`; everything due meanwhile happens.
    Advance(String),
    /// Checks state; keys are targets such as `greenhouse.interviews`, plus an optional
    /// `within: <duration>` to wait (in virtual time) until the expectation holds.
    Expect(BTreeMap<String, serde_json::Value>),
    /// Switches faults on (or off, with `{}`) in either mock.
    Faults(FaultsStep),
    /// Sends a hand-written or fixture webhook straight to the engine.
    Webhook(WebhookStep),
    /// Acts on the engine itself: `restart` (same store) or `reconcile`.
    Engine(EngineAction),
}

#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FaultsStep {
    /// The mock Greenhouse's fault set (replaces the previous one).
    #[serde(default)]
    pub greenhouse: Option<serde_json::Value>,
    /// The mock IOP's fault set (replaces the previous one).
    #[serde(default)]
    pub iop: Option<serde_json::Value>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum WebhookSource {
    Greenhouse,
    Iop,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum SignatureMode {
    /// Signed with the secret the engine knows.
    #[default]
    Valid,
    /// Signed with another secret.
    Invalid,
    /// No signature header at all.
    Missing,
}

#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct WebhookStep {
    /// Which side the webhook claims to come from.
    pub from: WebhookSource,
    /// The JSON body, written inline.
    #[serde(default)]
    pub body: Option<serde_json::Value>,
    /// Or a file holding the body, relative to the package root (e.g. `fixtures/…json`).
    #[serde(default)]
    pub file: Option<String>,
    #[serde(default)]
    pub signature: SignatureMode,
    /// `Greenhouse-Event-ID` / `IOP-Event-Id`; a fresh one when absent.
    #[serde(default)]
    pub event_id: Option<String>,
    /// The HTTP status the engine must answer.
    #[serde(default)]
    pub expect_status: Option<u16>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum EngineAction {
    /// Stops the engine and starts a new one on the same store (nothing accepted may be lost).
    Restart,
    /// Runs the engine's reconciliation sweep now.
    Reconcile,
}

/// A Greenhouse UI action. Exactly one verb (`move`, `reject`, `unreject`, `hire`, `edit`,
/// `delete_interview`), naming a candidate.
#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
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
#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
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
    /// An interviewer answers the invitation: with `interviewer` and `response`
    /// (`accepted`, `declined`, `tentative`, `needs_action`).
    #[serde(default)]
    pub interviewer_responds: Option<String>,
    #[serde(default)]
    pub response: Option<String>,
    #[serde(default)]
    pub revert_no_show: Option<String>,
    /// The interviewer edits submitted feedback: with `recommendation` and/or `notes`.
    #[serde(default)]
    pub edit_feedback: Option<String>,
    /// The interviewer withdraws submitted feedback.
    #[serde(default)]
    pub withdraw_feedback: Option<String>,
    /// An interviewer (by user name) is deactivated in the IOP.
    #[serde(default)]
    pub deactivate_user: Option<String>,
    /// An interviewer (by user name) disconnects their calendar.
    #[serde(default)]
    pub disconnect_calendar: Option<String>,
}

#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SlotSpec {
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
}

fn yes() -> bool {
    true
}
