//! The engine's configuration: one TOML file a customer owns (connections, secrets by
//! environment-variable name, store, retries, field mapping, trigger rules, policies).
//!
//! Every error names the file, the line when known, and the field.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EngineConfig {
    pub greenhouse: GreenhouseSection,
    pub iop: IopSection,
    #[serde(default)]
    pub store: StoreSection,
    #[serde(default)]
    pub service: ServiceSection,
    #[serde(default)]
    pub retry: RetrySection,
    #[serde(default)]
    pub reconcile: ReconcileSection,
    #[serde(default)]
    pub mapping: MappingSection,
    #[serde(default)]
    pub triggers: Vec<TriggerRule>,
    #[serde(default)]
    pub policies: Policies,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GreenhouseSection {
    /// e.g. `https://harvest.greenhouse.io`.
    pub base_url: String,
    /// e.g. `https://auth.greenhouse.io/token`.
    pub token_url: String,
    /// Names of environment variables holding the OAuth client id and secret.
    pub client_id_env: String,
    pub client_secret_env: String,
    /// The Greenhouse user the engine acts as (a Site Admin; the token's `sub`).
    #[serde(default)]
    pub acting_user_id: Option<i64>,
    /// Environment variables holding webhook secrets; several during a rotation.
    pub webhook_secret_envs: Vec<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IopSection {
    pub base_url: String,
    pub api_key_env: String,
    pub webhook_secret_envs: Vec<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StoreSection {
    /// SQLite database file; created with its schema when missing.
    #[serde(default = "default_sqlite_path")]
    pub sqlite_path: String,
}

impl Default for StoreSection {
    fn default() -> Self {
        Self { sqlite_path: default_sqlite_path() }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServiceSection {
    /// Where `rehearsal engine` listens; loopback unless you mean otherwise.
    #[serde(default = "default_listen")]
    pub listen: String,
    /// Webhook bodies above this many bytes are refused with 413.
    #[serde(default = "default_max_body_bytes")]
    pub max_body_bytes: usize,
    /// Seconds the service loop sleeps when nothing is due.
    #[serde(default = "default_poll_secs")]
    pub poll_interval_secs: u64,
    /// Seed for retry jitter; a fixed seed makes retry times reproducible.
    #[serde(default)]
    pub seed: u64,
    /// Due events the worker handles at once (1 to [`MAX_CONCURRENCY`]). Events for the same
    /// candidate never overlap and keep their order, whatever the setting; 1 handles one event
    /// at a time. Most of an event's time is spent waiting on Greenhouse and the IOP, so a few
    /// in flight multiply the worker's rate; the rate limits still bound it.
    #[serde(default = "default_concurrency")]
    pub concurrency: u32,
}

/// The most events `service.concurrency` lets the worker handle at once: past a few dozen the
/// rate limits (Greenhouse allows 50 requests per 30 s) and the one SQLite writer bind long
/// before the number in flight does, and each in flight holds its event and its HTTP calls.
pub const MAX_CONCURRENCY: u32 = 64;

impl Default for ServiceSection {
    fn default() -> Self {
        Self {
            listen: default_listen(),
            max_body_bytes: default_max_body_bytes(),
            poll_interval_secs: default_poll_secs(),
            seed: 0,
            concurrency: default_concurrency(),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RetrySection {
    /// Attempts per event before it becomes a dead letter.
    #[serde(default = "default_max_attempts")]
    pub max_attempts: u32,
    /// First backoff in seconds; doubles each attempt.
    #[serde(default = "default_base_delay")]
    pub base_delay_secs: u64,
    /// Backoff cap in seconds.
    #[serde(default = "default_max_delay")]
    pub max_delay_secs: u64,
    /// How long a read that lags behind its webhook is waited for without spending attempts;
    /// an event older than this whose read still lags retries as an ordinary failure.
    #[serde(default = "default_max_read_lag")]
    pub max_read_lag_secs: u64,
}

impl Default for RetrySection {
    fn default() -> Self {
        Self {
            max_attempts: default_max_attempts(),
            base_delay_secs: default_base_delay(),
            max_delay_secs: default_max_delay(),
            max_read_lag_secs: default_max_read_lag(),
        }
    }
}

/// The periodic sweep that catches webhooks that never arrived.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReconcileSection {
    /// Seconds between sweeps.
    #[serde(default = "default_reconcile_interval")]
    pub interval_secs: u64,
    /// How far back the very first sweep looks, in seconds (later sweeps start at the last
    /// sweep's watermark).
    #[serde(default = "default_initial_lookback")]
    pub initial_lookback_secs: u64,
}

impl Default for ReconcileSection {
    fn default() -> Self {
        Self {
            interval_secs: default_reconcile_interval(),
            initial_lookback_secs: default_initial_lookback(),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MappingSection {
    /// Which Greenhouse email type becomes the IOP primary email, in order of preference.
    #[serde(default = "default_email_preference")]
    pub email_type_preference: Vec<String>,
    /// IANA zone for candidates without one.
    #[serde(default = "default_timezone")]
    pub default_timezone: String,
    /// Minutes for interviews whose job interview has no duration.
    #[serde(default = "default_duration")]
    pub default_duration_minutes: u32,
    /// Greenhouse custom fields copied to the IOP, each with its type and transform.
    #[serde(default)]
    pub custom_fields: Vec<CustomFieldRule>,
    /// Stage (name, case-insensitive, or id written as digits) → IOP workflow key, sent as the
    /// scheduling request's `workflow`.
    #[serde(default)]
    pub stage_workflows: BTreeMap<String, String>,
    /// How Greenhouse users and IOP users are matched (interviewer pools, interviewers).
    #[serde(default)]
    pub interviewers: InterviewerMatching,
}

impl Default for MappingSection {
    fn default() -> Self {
        Self {
            email_type_preference: default_email_preference(),
            default_timezone: default_timezone(),
            default_duration_minutes: default_duration(),
            custom_fields: Vec::new(),
            stage_workflows: BTreeMap::new(),
            interviewers: InterviewerMatching::default(),
        }
    }
}

impl MappingSection {
    /// The workflow for a stage: a rule naming its id wins over one naming it by name.
    pub fn workflow_for(&self, stage_id: i64, stage_name: &str) -> Option<&str> {
        let by_id = self.stage_workflows.get(&stage_id.to_string());
        let by_name = || {
            self.stage_workflows
                .iter()
                .find(|(stage, _)| stage.trim().eq_ignore_ascii_case(stage_name.trim()))
                .map(|(_, workflow)| workflow)
        };
        by_id.or_else(by_name).map(String::as_str)
    }
}

/// One custom field copied from Greenhouse to the IOP. `type` and `transform` are kept as the
/// author wrote them so `engine check` can point at a misspelling; [`Self::field_type`] and
/// [`Self::transform`] read them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CustomFieldRule {
    /// `candidate.custom_fields.<name_key>` or `application.custom_fields.<name_key>`.
    pub from: String,
    /// `candidate.custom_fields.<key>` or `scheduling_request.custom_fields.<key>`.
    pub to: String,
    /// The Greenhouse `value_type`: `short_text`, `yes_no`, `currency`, ….
    #[serde(rename = "type")]
    pub field_type: String,
    #[serde(default = "no_transform")]
    pub transform: String,
    /// A missing or ill-typed value fails the sync instead of skipping the field.
    #[serde(default)]
    pub required: bool,
}

/// Where a custom-field rule reads from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldSource {
    Candidate,
    Application,
}

/// Where a custom-field rule writes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldTarget {
    Candidate,
    SchedulingRequest,
}

impl CustomFieldRule {
    pub fn field_type(&self) -> Option<super::field_types::FieldType> {
        super::field_types::FieldType::parse(self.field_type.trim())
    }

    pub fn transform(&self) -> Option<super::field_types::Transform> {
        super::field_types::Transform::parse(self.transform.trim())
    }

    /// The record and custom-field key `from` names, if it names one.
    pub fn source(&self) -> Option<(FieldSource, &str)> {
        let (record, key) = custom_field_path(&self.from)?;
        match record {
            "candidate" => Some((FieldSource::Candidate, key)),
            "application" => Some((FieldSource::Application, key)),
            _ => None,
        }
    }

    /// The IOP record and key `to` names, if it names one.
    pub fn target(&self) -> Option<(FieldTarget, &str)> {
        let (record, key) = custom_field_path(&self.to)?;
        match record {
            "candidate" => Some((FieldTarget::Candidate, key)),
            "scheduling_request" => Some((FieldTarget::SchedulingRequest, key)),
            _ => None,
        }
    }
}

/// `<record>.custom_fields.<key>` → (record, key), the key non-empty and without dots.
fn custom_field_path(path: &str) -> Option<(&str, &str)> {
    let (record, rest) = path.trim().split_once('.')?;
    let key = rest.strip_prefix("custom_fields.")?;
    (!key.is_empty() && !key.contains('.')).then_some((record, key))
}

/// How a Greenhouse user is found among IOP users: by the Greenhouse user id in the IOP
/// user's `external_refs.greenhouse.user_id`, then (when `match_by_email`) by e-mail, an
/// address listed in `email_aliases` standing for its IOP twin.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InterviewerMatching {
    #[serde(default = "yes")]
    pub match_by_email: bool,
    /// Greenhouse e-mail → the IOP e-mail of the same person (compared case-insensitively).
    #[serde(default)]
    pub email_aliases: BTreeMap<String, String>,
}

impl Default for InterviewerMatching {
    fn default() -> Self {
        Self { match_by_email: true, email_aliases: BTreeMap::new() }
    }
}

impl InterviewerMatching {
    /// The IOP e-mail of a Greenhouse address.
    pub fn iop_email(&self, greenhouse_email: &str) -> String {
        self.translate(greenhouse_email, true)
    }

    /// The Greenhouse e-mail of an IOP address (the aliases read backwards).
    pub fn greenhouse_email(&self, iop_email: &str) -> String {
        self.translate(iop_email, false)
    }

    /// `email` through the aliases (Greenhouse → IOP when `forward`), lower-cased; itself when
    /// no alias names it.
    fn translate(&self, email: &str, forward: bool) -> String {
        let wanted = email.trim().to_lowercase();
        self.email_aliases
            .iter()
            .map(|(gh, iop)| if forward { (gh, iop) } else { (iop, gh) })
            .find(|(from, _)| from.trim().eq_ignore_ascii_case(&wanted))
            .map(|(_, to)| to.trim().to_lowercase())
            .unwrap_or(wanted)
    }
}

/// A stage named by name (case-insensitive) or by job interview stage id.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum StageRef {
    Id(i64),
    Name(String),
}

/// A job named by name or id.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum JobRef {
    Id(i64),
    Name(String),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TriggerAction {
    OpenSchedulingRequest,
    /// Entering the stage cancels whatever is open (the default for unnamed stages anyway).
    Cancel,
    Nothing,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SchedulingMode {
    Availability,
    SelfSchedule,
    Coordinator,
}

impl SchedulingMode {
    pub fn as_str(self) -> &'static str {
        match self {
            SchedulingMode::Availability => "availability",
            SchedulingMode::SelfSchedule => "self_schedule",
            SchedulingMode::Coordinator => "coordinator",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TriggerRule {
    pub stage: StageRef,
    /// Jobs the rule applies to; all jobs when empty.
    #[serde(default)]
    pub jobs: Vec<JobRef>,
    pub action: TriggerAction,
    /// Only with `open_scheduling_request`; `availability` when absent.
    #[serde(default)]
    pub mode: Option<SchedulingMode>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OutcomePolicy {
    /// Add a note on the candidate and change nothing else.
    NoteOnly,
    /// Add the note and reject the application with `rejection_reason`.
    Reject,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FeedbackWriteback {
    Scorecard,
    Note,
    None,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Policies {
    #[serde(default = "note_only")]
    pub on_decline: OutcomePolicy,
    #[serde(default = "note_only")]
    pub on_no_show: OutcomePolicy,
    /// Rejection reason (by name) used when a policy rejects.
    #[serde(default)]
    pub rejection_reason: Option<String>,
    #[serde(default = "scorecard")]
    pub feedback_writeback: FeedbackWriteback,
}

impl Default for Policies {
    fn default() -> Self {
        Self {
            on_decline: OutcomePolicy::NoteOnly,
            on_no_show: OutcomePolicy::NoteOnly,
            rejection_reason: None,
            feedback_writeback: FeedbackWriteback::Scorecard,
        }
    }
}

/// A configuration problem, precise enough to fix without reading code.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    #[error("{file}: cannot read: {reason}")]
    Read { file: String, reason: String },
    #[error("{file}:{line}: {message}")]
    Parse { file: String, line: usize, message: String },
    #[error("{file}{}: {field}: {message}", line.map(|l| format!(":{l}")).unwrap_or_default())]
    Invalid { file: String, line: Option<usize>, field: String, message: String },
    #[error("{field}: environment variable {name} is not set")]
    MissingSecret { field: String, name: String },
}

impl EngineConfig {
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let file = path.display().to_string();
        let text = std::fs::read_to_string(path)
            .map_err(|e| ConfigError::Read { file: file.clone(), reason: e.to_string() })?;
        Self::parse(&text, &file)
    }

    /// Parses and validates `text`; `file` names it in errors. Stops at the first problem;
    /// `engine check` (see [`super::check`]) reports all of them.
    pub fn parse(text: &str, file: &str) -> Result<Self, ConfigError> {
        let config: EngineConfig = toml::from_str(text).map_err(|e| {
            let problem = super::check::first_parse_problem(text, file, &e);
            let hint = problem.suggestion.map(|s| format!("; {s}")).unwrap_or_default();
            ConfigError::Parse {
                file: file.to_owned(),
                line: problem.line.unwrap_or(1),
                message: format!("{}: {}{hint}", problem.field, problem.message),
            }
        })?;
        if let Some(problem) =
            super::check::semantic_problems(&config, text, file).into_iter().next()
        {
            let hint = problem.suggestion.map(|s| format!("; {s}")).unwrap_or_default();
            return Err(ConfigError::Invalid {
                file: file.to_owned(),
                line: problem.line,
                field: problem.field,
                message: format!("{}{hint}", problem.message),
            });
        }
        Ok(config)
    }

    /// The rule that applies to an application of job (`job_id`, `job_name`) standing in stage
    /// (`stage_id`, `stage_name`); a job-specific rule wins over an all-jobs rule.
    pub fn trigger_for(
        &self,
        job_id: i64,
        job_name: &str,
        stage_id: i64,
        stage_name: &str,
    ) -> Option<&TriggerRule> {
        let stage_matches = |rule: &TriggerRule| match &rule.stage {
            StageRef::Id(id) => *id == stage_id,
            StageRef::Name(name) => name.trim().eq_ignore_ascii_case(stage_name.trim()),
        };
        let job_matches = |job: &JobRef| match job {
            JobRef::Id(id) => *id == job_id,
            JobRef::Name(name) => name.trim().eq_ignore_ascii_case(job_name.trim()),
        };
        let specific =
            self.triggers.iter().find(|r| stage_matches(r) && r.jobs.iter().any(job_matches));
        specific.or_else(|| self.triggers.iter().find(|r| stage_matches(r) && r.jobs.is_empty()))
    }
}

/// Where secret values come from: the process environment in production, a map in tests and
/// scenario runs.
pub trait SecretSource {
    fn get(&self, name: &str) -> Option<String>;
}

/// Reads secrets from environment variables.
pub struct EnvSecrets;

impl SecretSource for EnvSecrets {
    fn get(&self, name: &str) -> Option<String> {
        std::env::var(name).ok().filter(|v| !v.is_empty())
    }
}

impl SecretSource for HashMap<String, String> {
    fn get(&self, name: &str) -> Option<String> {
        HashMap::get(self, name).cloned()
    }
}

/// Secret values, resolved once at start-up. `Debug` never shows them.
#[derive(Clone)]
pub struct Secrets {
    pub greenhouse_client_id: String,
    pub greenhouse_client_secret: String,
    pub greenhouse_webhook_secrets: Vec<String>,
    pub iop_api_key: String,
    pub iop_webhook_secrets: Vec<String>,
}

impl std::fmt::Debug for Secrets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secrets([redacted])")
    }
}

impl Secrets {
    pub fn resolve(config: &EngineConfig, source: &dyn SecretSource) -> Result<Self, ConfigError> {
        let one = |field: &str, name: &str| {
            source.get(name).ok_or_else(|| ConfigError::MissingSecret {
                field: field.to_owned(),
                name: name.to_owned(),
            })
        };
        let many = |field: &str, names: &[String]| {
            names.iter().map(|name| one(field, name)).collect::<Result<Vec<_>, _>>()
        };
        Ok(Self {
            greenhouse_client_id: one(
                "greenhouse.client_id_env",
                &config.greenhouse.client_id_env,
            )?,
            greenhouse_client_secret: one(
                "greenhouse.client_secret_env",
                &config.greenhouse.client_secret_env,
            )?,
            greenhouse_webhook_secrets: many(
                "greenhouse.webhook_secret_envs",
                &config.greenhouse.webhook_secret_envs,
            )?,
            iop_api_key: one("iop.api_key_env", &config.iop.api_key_env)?,
            iop_webhook_secrets: many("iop.webhook_secret_envs", &config.iop.webhook_secret_envs)?,
        })
    }
}

fn default_sqlite_path() -> String {
    "rehearsal-engine.db".into()
}
fn default_listen() -> String {
    "127.0.0.1:8090".into()
}
fn default_max_body_bytes() -> usize {
    // Real recruiting webhooks with full candidate payloads stay well under 256 KiB.
    256 * 1024
}
fn default_poll_secs() -> u64 {
    5
}

fn default_concurrency() -> u32 {
    4
}

fn default_max_attempts() -> u32 {
    8
}
fn default_base_delay() -> u64 {
    2
}
fn default_max_delay() -> u64 {
    600
}
fn default_max_read_lag() -> u64 {
    // A read replica minutes behind is an incident, not lag; by then the attempts count.
    600
}
fn default_reconcile_interval() -> u64 {
    // Every 15 minutes: a missed webhook is repaired well within a working hour, and a sweep
    // of one window's updates costs a handful of Harvest calls.
    900
}
fn default_initial_lookback() -> u64 {
    // One day: a fresh engine repairs what happened since yesterday, not all of history.
    86_400
}
fn default_email_preference() -> Vec<String> {
    vec!["personal".into(), "work".into(), "other".into()]
}
fn default_timezone() -> String {
    "UTC".into()
}
fn default_duration() -> u32 {
    45
}
fn no_transform() -> String {
    "none".into()
}
fn yes() -> bool {
    true
}
fn note_only() -> OutcomePolicy {
    OutcomePolicy::NoteOnly
}
fn scorecard() -> FeedbackWriteback {
    FeedbackWriteback::Scorecard
}

#[cfg(test)]
mod tests {
    use super::*;

    const BASE: &str = r#"
[greenhouse]
base_url = "http://greenhouse.test"
token_url = "http://greenhouse.test/token"
client_id_env = "GH_ID"
client_secret_env = "GH_SECRET"
webhook_secret_envs = ["GH_HOOK"]

[iop]
base_url = "http://iop.test"
api_key_env = "IOP_KEY"
webhook_secret_envs = ["IOP_HOOK"]
"#;

    #[test]
    fn unknown_field_names_line_and_field() {
        let text = format!("{BASE}\n[policies]\non_decline = \"note_only\"\nfeedback = \"note\"\n");
        let error = EngineConfig::parse(&text, "engine.toml").unwrap_err();
        let message = error.to_string();
        assert!(message.starts_with("engine.toml:16:"), "{message}");
        assert!(message.contains("unknown field `feedback`"), "{message}");
    }

    #[test]
    fn duplicate_rules_and_misplaced_mode_are_refused() {
        let text = format!(
            "{BASE}\n[[triggers]]\nstage = \"Onsite\"\naction = \"open_scheduling_request\"\n\n[[triggers]]\nstage = \" onsite\"\naction = \"cancel\"\n"
        );
        let message = EngineConfig::parse(&text, "e.toml").unwrap_err().to_string();
        assert!(message.contains("triggers[1].stage: duplicates triggers[0]"), "{message}");

        let text = format!(
            "{BASE}\n[[triggers]]\nstage = 7\naction = \"nothing\"\nmode = \"availability\"\n"
        );
        let message = EngineConfig::parse(&text, "e.toml").unwrap_err().to_string();
        assert!(message.contains("triggers[0].mode"), "{message}");
    }

    #[test]
    fn job_specific_rule_wins() {
        let text = format!(
            "{BASE}\n[[triggers]]\nstage = \"Onsite\"\naction = \"open_scheduling_request\"\n\n[[triggers]]\nstage = \"Onsite\"\njobs = [\"Designer\"]\naction = \"nothing\"\n"
        );
        let config = EngineConfig::parse(&text, "e.toml").unwrap();
        assert_eq!(
            config.trigger_for(1, "designer", 2, "ONSITE").map(|r| r.action),
            Some(TriggerAction::Nothing)
        );
        assert_eq!(
            config.trigger_for(1, "Backend", 2, "Onsite").map(|r| r.action),
            Some(TriggerAction::OpenSchedulingRequest)
        );
        assert!(config.trigger_for(1, "Backend", 2, "Offer").is_none());
    }

    #[test]
    fn workflows_go_by_stage_id_first_then_by_name_without_case() {
        let text = format!(
            "{BASE}\n[mapping.stage_workflows]\n\" onsite \" = \"onsite-loop\"\n4030000002 = \"onsite-eng\"\n"
        );
        let mapping = EngineConfig::parse(&text, "e.toml").unwrap().mapping;
        assert_eq!(mapping.workflow_for(4030000002, "Onsite"), Some("onsite-eng"));
        assert_eq!(mapping.workflow_for(7, "ONSITE"), Some("onsite-loop"));
        assert_eq!(mapping.workflow_for(7, "Offer"), None);
    }

    #[test]
    fn old_configs_without_the_new_mapping_fields_still_load() {
        let text = format!("{BASE}\n[mapping]\ndefault_timezone = \"Europe/Madrid\"\n");
        let mapping = EngineConfig::parse(&text, "e.toml").unwrap().mapping;
        assert!(mapping.custom_fields.is_empty() && mapping.stage_workflows.is_empty());
        assert!(mapping.interviewers.match_by_email);
        let fixture = include_str!("../../fixtures/engine.toml");
        assert!(EngineConfig::parse(fixture, "fixtures/engine.toml").is_ok());
    }

    #[test]
    fn a_config_with_a_transform_on_the_wrong_type_does_not_load() {
        let text = format!(
            "{BASE}\n[[mapping.custom_fields]]\nfrom = \"candidate.custom_fields.a\"\nto = \"candidate.custom_fields.a\"\ntype = \"number\"\ntransform = \"lowercase\"\n"
        );
        let message = EngineConfig::parse(&text, "e.toml").unwrap_err().to_string();
        assert_eq!(
            message,
            "e.toml:18: mapping.custom_fields[0].transform: transform `lowercase` does not apply to a `number` field; transforms for number: none"
        );
    }

    #[test]
    fn missing_secret_names_the_variable_not_a_value() {
        let config = EngineConfig::parse(BASE, "e.toml").unwrap();
        let source: HashMap<String, String> = HashMap::from([("GH_ID".into(), "x".into())]);
        let error = Secrets::resolve(&config, &source).unwrap_err();
        assert_eq!(
            error.to_string(),
            "greenhouse.client_secret_env: environment variable GH_SECRET is not set"
        );
    }
}
