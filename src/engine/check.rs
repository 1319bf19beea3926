//! `rehearsal engine check`: everything that can be wrong with a configuration, found before
//! the engine starts, each problem with its file, line, field and, where one is likely, a
//! suggestion.
//!
//! Three layers: the TOML itself (unknown fields, wrong types; every bad line is reported, not
//! only the first), the rules between fields (an option on the wrong action, duplicate rules,
//! URLs), and the world outside (secret environment variables, and stage names checked against
//! the connected Greenhouse when it can be reached).

use std::fmt;

use serde_json::Value;

use super::config::{
    EngineConfig, JobRef, MAX_CONCURRENCY, OutcomePolicy, SecretSource, StageRef, TriggerAction,
};
use crate::clock::SharedClock;
use crate::greenhouse::client::{HarvestClient, HarvestSettings};
use crate::transport::{ApiError, SharedHttp};

/// One thing to fix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub file: String,
    pub line: Option<usize>,
    /// Dotted path, e.g. `policies.feedback_writeback` or `triggers[2].stage`.
    pub field: String,
    pub message: String,
    /// A likely fix, e.g. the field name the author probably meant.
    pub suggestion: Option<String>,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file)?;
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
        }
        write!(f, ": {}: {}", self.field, self.message)?;
        if let Some(suggestion) = &self.suggestion {
            write!(f, "; {suggestion}")?;
        }
        Ok(())
    }
}

/// Parses and checks `text` as far as it can without the outside world. Returns the config when
/// it could be read at all (so later checks can run) and every problem found.
pub fn check_text(text: &str, file: &str) -> (Option<EngineConfig>, Vec<Problem>) {
    let mut problems = Vec::new();
    // Each bad line is blanked out (line numbers kept) and the text parsed again, so one run
    // reports every unknown field and wrong type rather than only the first.
    let mut patched = text.to_owned();
    // Enough for any real file; a bound so a pathological one cannot loop for long.
    for _ in 0..100 {
        match toml::from_str::<EngineConfig>(&patched) {
            Ok(config) => {
                problems.extend(semantic_problems(&config, text, file));
                return (Some(config), problems);
            }
            Err(error) => {
                let line = error.span().map(|span| line_of(&patched, span.start)).unwrap_or(1);
                let problem = parse_problem(&patched, file, line, error.message());
                let repeated = problems.last() == Some(&problem);
                if !repeated {
                    problems.push(problem);
                }
                if repeated || !blank_line(&mut patched, line) {
                    return (None, problems);
                }
            }
        }
    }
    (None, problems)
}

/// The first parse problem of `text`, for [`EngineConfig::parse`].
pub(crate) fn first_parse_problem(text: &str, file: &str, error: &toml::de::Error) -> Problem {
    let line = error.span().map(|span| line_of(text, span.start)).unwrap_or(1);
    parse_problem(text, file, line, error.message())
}

fn parse_problem(text: &str, file: &str, line: usize, message: &str) -> Problem {
    let message = message.trim().to_owned();
    let suggestion = unknown_name(&message).and_then(|(unknown, expected)| {
        closest(&unknown, expected.iter().map(String::as_str))
            .map(|best| format!("did you mean `{best}`?"))
    });
    Problem {
        file: file.to_owned(),
        line: Some(line),
        field: field_at(text, line),
        message,
        suggestion,
    }
}

/// From serde's "unknown field `x`, expected one of `a`, `b`" (or "unknown variant ..."), the
/// unknown name and the expected ones.
fn unknown_name(message: &str) -> Option<(String, Vec<String>)> {
    let rest = message
        .strip_prefix("unknown field `")
        .or_else(|| message.strip_prefix("unknown variant `"))?;
    let (unknown, expected) = rest.split_once('`')?;
    let names = expected.split('`').skip(1).step_by(2).map(str::to_owned).collect();
    Some((unknown.to_owned(), names))
}

/// The candidate most like `wanted`, when one is close enough to be a plausible typo or
/// abbreviation (`feedback` → `feedback_writeback`, `Onsight` → `Onsite`).
pub(crate) fn closest<'a>(
    wanted: &str,
    candidates: impl Iterator<Item = &'a str>,
) -> Option<&'a str> {
    let wanted_lower = wanted.trim().to_lowercase();
    candidates
        .map(|candidate| {
            let lower = candidate.to_lowercase();
            (
                strsim::jaro_winkler(&wanted_lower, &lower),
                strsim::levenshtein(&wanted_lower, &lower),
                candidate,
                lower,
            )
        })
        .filter(|(similarity, distance, _, lower)| {
            *distance <= 2
                || *similarity >= 0.85
                || (wanted_lower.len() >= 4 && lower.contains(&wanted_lower))
        })
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, _, candidate, _)| candidate)
}

/// Blanks line `line` (1-based); `false` when there is nothing there to remove, or the line is
/// a table header (removing it would move its keys into another table).
fn blank_line(text: &mut String, line: usize) -> bool {
    let mut lines: Vec<&str> = text.split('\n').collect();
    let Some(target) = lines.get(line - 1).copied() else { return false };
    if target.trim().is_empty() || target.trim_start().starts_with('[') {
        return false;
    }
    lines[line - 1] = "";
    *text = lines.join("\n");
    true
}

/// The dotted field a line belongs to: its table (with the index of an array of tables) and
/// the key on that line, if any.
fn field_at(text: &str, line: usize) -> String {
    let mut table = String::new();
    let mut counts: std::collections::BTreeMap<String, usize> = Default::default();
    let mut key = None;
    for (index, raw) in text.split('\n').take(line).enumerate() {
        let trimmed = raw.trim();
        if let Some(name) =
            trimmed.strip_prefix("[[").and_then(|r| r.split_once("]]")).map(|(n, _)| n.trim())
        {
            let count = counts.entry(name.to_owned()).or_insert(0);
            table = format!("{name}[{count}]");
            *count += 1;
        } else if let Some(name) =
            trimmed.strip_prefix('[').and_then(|r| r.split_once(']')).map(|(n, _)| n.trim())
        {
            table = name.to_owned();
        }
        if index + 1 == line {
            key = trimmed.split_once('=').map(|(k, _)| k.trim().trim_matches('"').to_owned());
        }
    }
    match (table.is_empty(), key) {
        (true, Some(key)) => key,
        (false, Some(key)) => format!("{table}.{key}"),
        (false, None) => table,
        (true, None) => "(top level)".to_owned(),
    }
}

pub(crate) fn line_of(text: &str, offset: usize) -> usize {
    text.get(..offset).map(|before| before.matches('\n').count() + 1).unwrap_or(1)
}

/// Where the problems of one config file go, each with the line of its field when it can be
/// found.
pub(crate) struct Sink<'a> {
    pub(crate) text: &'a str,
    pub(crate) file: &'a str,
    pub(crate) problems: Vec<Problem>,
}

impl Sink<'_> {
    pub(crate) fn push(
        &mut self,
        table: &str,
        key: &str,
        message: String,
        suggestion: Option<String>,
    ) {
        self.problems.push(Problem {
            file: self.file.to_owned(),
            line: key_line(self.text, table, key),
            field: format!("{table}.{key}"),
            message,
            suggestion,
        });
    }
}

/// The line of `key` inside table `table` (`triggers[2]` for the third `[[triggers]]`).
pub(crate) fn key_line(text: &str, table: &str, key: &str) -> Option<usize> {
    let mut current = String::new();
    let mut counts: std::collections::BTreeMap<String, usize> = Default::default();
    for (index, raw) in text.split('\n').enumerate() {
        let trimmed = raw.trim();
        if let Some(name) =
            trimmed.strip_prefix("[[").and_then(|r| r.split_once("]]")).map(|(n, _)| n.trim())
        {
            let count = counts.entry(name.to_owned()).or_insert(0);
            current = format!("{name}[{count}]");
            *count += 1;
            continue;
        }
        if let Some(name) =
            trimmed.strip_prefix('[').and_then(|r| r.split_once(']')).map(|(n, _)| n.trim())
        {
            current = name.to_owned();
            continue;
        }
        let on_line = trimmed.split_once('=').map(|(k, _)| k.trim().trim_matches('"'));
        if current == table && on_line == Some(key) {
            return Some(index + 1);
        }
    }
    None
}

/// Rules between fields: absolute URLs, webhook secrets named, options only where they apply,
/// no two rules for the same stage and jobs, values the engine can run with (see
/// [`super::check_values`]), and the `[mapping]` rules (each transform against
/// its field's type; see [`super::check_mapping`]).
pub(crate) fn semantic_problems(config: &EngineConfig, text: &str, file: &str) -> Vec<Problem> {
    let mut problems = Vec::new();
    let mut problem = |table: &str, key: &str, message: String, suggestion: Option<String>| {
        let field = if key.is_empty() { table.to_owned() } else { format!("{table}.{key}") };
        problems.push(Problem {
            file: file.to_owned(),
            line: key_line(text, table, key),
            field,
            message,
            suggestion,
        });
    };

    for (table, key, url) in [
        ("greenhouse", "base_url", &config.greenhouse.base_url),
        ("greenhouse", "token_url", &config.greenhouse.token_url),
        ("iop", "base_url", &config.iop.base_url),
    ] {
        if url.parse::<http::Uri>().ok().and_then(|u| u.authority().map(|_| ())).is_none() {
            problem(
                table,
                key,
                format!("`{url}` is not an absolute URL"),
                Some("write it as `https://host/...`".into()),
            );
        }
    }
    for (table, names) in [
        ("greenhouse", &config.greenhouse.webhook_secret_envs),
        ("iop", &config.iop.webhook_secret_envs),
    ] {
        if names.is_empty() {
            problem(
                table,
                "webhook_secret_envs",
                "names no environment variable holding a webhook secret".into(),
                Some("name at least one, e.g. `[\"WEBHOOK_SECRET\"]`".into()),
            );
        }
    }

    let concurrency = config.service.concurrency;
    if !(1..=MAX_CONCURRENCY).contains(&concurrency) {
        problem(
            "service",
            "concurrency",
            format!("{concurrency} events at once is outside 1 to {MAX_CONCURRENCY}"),
            Some("use 1 to handle one event at a time, or a few (the default is 4)".into()),
        );
    }

    let mut seen: Vec<(StageRef, Vec<JobRef>, usize)> = Vec::new();
    for (index, rule) in config.triggers.iter().enumerate() {
        let table = format!("triggers[{index}]");
        if rule.mode.is_some() && rule.action != TriggerAction::OpenSchedulingRequest {
            problem(
                &table,
                "mode",
                format!(
                    "`mode` only applies to action `open_scheduling_request`, not `{}`",
                    action_name(rule.action)
                ),
                Some("remove `mode` or change the action".into()),
            );
        }
        let key = (normalise_stage(&rule.stage), normalise_jobs(&rule.jobs));
        if let Some((_, _, first)) =
            seen.iter().find(|(stage, jobs, _)| (stage, jobs) == (&key.0, &key.1))
        {
            problem(
                &table,
                "stage",
                format!("duplicates triggers[{first}] (same stage and jobs)"),
                Some(format!("merge it into triggers[{first}] or delete one")),
            );
        } else {
            seen.push((key.0, key.1, index));
        }
    }

    let policies = &config.policies;
    let rejects = [policies.on_decline, policies.on_no_show].contains(&OutcomePolicy::Reject);
    if policies.rejection_reason.is_some() && !rejects {
        problem(
            "policies",
            "rejection_reason",
            "`rejection_reason` only applies when `on_decline` or `on_no_show` is \"reject\""
                .into(),
            Some("remove it, or set a policy to \"reject\"".into()),
        );
    }
    problems.extend(super::check_values::value_problems(config, text, file));
    problems.extend(super::check_mapping::mapping_problems(config, text, file));
    problems
}

fn action_name(action: TriggerAction) -> &'static str {
    match action {
        TriggerAction::OpenSchedulingRequest => "open_scheduling_request",
        TriggerAction::Cancel => "cancel",
        TriggerAction::Nothing => "nothing",
    }
}

pub(crate) fn normalise_stage(stage: &StageRef) -> StageRef {
    match stage {
        StageRef::Name(name) => StageRef::Name(name.trim().to_lowercase()),
        other => other.clone(),
    }
}

fn normalise_jobs(jobs: &[JobRef]) -> Vec<JobRef> {
    let mut jobs: Vec<JobRef> = jobs
        .iter()
        .map(|job| match job {
            JobRef::Name(name) => JobRef::Name(name.trim().to_lowercase()),
            other => other.clone(),
        })
        .collect();
    jobs.sort_by_key(|job| format!("{job:?}"));
    jobs
}

/// Every secret environment variable the config names and `source` lacks.
pub fn secret_problems(
    config: &EngineConfig,
    text: &str,
    file: &str,
    source: &dyn SecretSource,
) -> Vec<Problem> {
    let mut names: Vec<(&str, &str, &String)> = vec![
        ("greenhouse", "client_id_env", &config.greenhouse.client_id_env),
        ("greenhouse", "client_secret_env", &config.greenhouse.client_secret_env),
        ("iop", "api_key_env", &config.iop.api_key_env),
    ];
    names.extend(
        config
            .greenhouse
            .webhook_secret_envs
            .iter()
            .map(|n| ("greenhouse", "webhook_secret_envs", n)),
    );
    names.extend(config.iop.webhook_secret_envs.iter().map(|n| ("iop", "webhook_secret_envs", n)));
    names
        .into_iter()
        .filter(|(_, _, name)| source.get(name).is_none())
        .map(|(table, key, name)| Problem {
            file: file.to_owned(),
            line: key_line(text, table, key),
            field: format!("{table}.{key}"),
            message: format!("environment variable {name} is not set"),
            suggestion: Some(format!("export {name}=... before starting the engine")),
        })
        .collect()
}

/// The outcome of checking the config against the connected Greenhouse.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StageCheck {
    /// Greenhouse answered; these are the rules naming what it does not have, and notes on
    /// what could not be checked there (e.g. custom fields on a Greenhouse without them).
    Checked { problems: Vec<Problem>, notes: Vec<String> },
    /// Not checked, and why (not an error: the config may be for another environment).
    NotChecked(String),
}

/// Lists `job_interview_stages` (and `jobs`) from the Greenhouse the config names, with the
/// OAuth `credentials` (client id, secret), and reports every trigger rule and stage workflow
/// whose stage or job does not exist there; with custom-field rules, also lists
/// `custom_fields` and reports each rule whose field is missing or of another type.
pub async fn check_stages(
    config: &EngineConfig,
    text: &str,
    file: &str,
    credentials: (String, String),
    http: SharedHttp,
    clock: SharedClock,
) -> StageCheck {
    let (client_id, client_secret) = credentials;
    let client = HarvestClient::new(
        HarvestSettings {
            base_url: config.greenhouse.base_url.trim_end_matches('/').to_owned(),
            token_url: config.greenhouse.token_url.clone(),
            client_id,
            client_secret,
            acting_user_id: config.greenhouse.acting_user_id,
        },
        http,
        clock,
    );
    let fetched = async {
        Ok::<_, ApiError>((
            client.list("job_interview_stages", &[]).await?,
            client.list("jobs", &[]).await?,
        ))
    };
    let (stages, jobs) = match fetched.await {
        Ok(found) => found,
        Err(ApiError::Transient { reason, .. } | ApiError::RateLimited { reason, .. }) => {
            return StageCheck::NotChecked(format!("Greenhouse unreachable ({reason})"));
        }
        Err(ApiError::Permanent { status, .. }) if status == 401 || status == 403 => {
            return StageCheck::Checked {
                notes: Vec::new(),
                problems: vec![Problem {
                    file: file.to_owned(),
                    line: key_line(text, "greenhouse", "client_secret_env"),
                    field: "greenhouse.client_secret_env".into(),
                    message: format!("Greenhouse refused these credentials ({status})"),
                    suggestion: Some(
                        "check the client id and secret, and the token's scopes".into(),
                    ),
                }],
            };
        }
        Err(other) => {
            return StageCheck::NotChecked(format!(
                "Greenhouse answered unexpectedly: {}",
                super::core::log_safe(&other.to_string())
            ));
        }
    };
    let mut problems = rule_problems(config, text, file, &stages, &jobs);
    problems.extend(super::check_mapping::workflow_stages_against(config, text, file, &stages));
    let mut notes = Vec::new();
    if !config.mapping.custom_fields.is_empty() {
        match client.list("custom_fields", &[]).await {
            Ok(definitions) => {
                notes.push("custom fields checked against the connected Greenhouse".into());
                problems.extend(super::check_mapping::custom_fields_against(
                    config,
                    text,
                    file,
                    &definitions,
                ));
            }
            Err(error) => notes.push(format!(
                "custom fields not checked: {}",
                super::core::log_safe(&error.to_string())
            )),
        }
    }
    StageCheck::Checked { problems, notes }
}

fn rule_problems(
    config: &EngineConfig,
    text: &str,
    file: &str,
    stages: &[Value],
    jobs: &[Value],
) -> Vec<Problem> {
    let name_of = |v: &Value| v.get("name").and_then(Value::as_str).unwrap_or_default().to_owned();
    let id_of = |v: &Value| v.get("id").and_then(Value::as_i64);
    let mut problems = Vec::new();
    for (index, rule) in config.triggers.iter().enumerate() {
        let table = format!("triggers[{index}]");
        let mut job_ids = Vec::new();
        for job in &rule.jobs {
            let found = jobs.iter().find(|j| match job {
                JobRef::Id(id) => id_of(j) == Some(*id),
                JobRef::Name(name) => name_of(j).eq_ignore_ascii_case(name.trim()),
            });
            match found.and_then(id_of) {
                Some(id) => job_ids.push(id),
                None => {
                    let names: Vec<String> = jobs.iter().map(name_of).collect();
                    let suggestion = match job {
                        JobRef::Name(name) => closest(name, names.iter().map(String::as_str))
                            .map(|n| format!("did you mean `{n}`?")),
                        JobRef::Id(_) => None,
                    };
                    problems.push(Problem {
                        file: file.to_owned(),
                        line: key_line(text, &table, "jobs"),
                        field: format!("{table}.jobs"),
                        message: format!(
                            "no job {} in the connected Greenhouse",
                            describe_job(job)
                        ),
                        suggestion,
                    });
                }
            }
        }
        let in_scope: Vec<&Value> = stages
            .iter()
            .filter(|s| {
                job_ids.is_empty()
                    || s.get("job_id").and_then(Value::as_i64).is_some_and(|j| job_ids.contains(&j))
            })
            .collect();
        let exists = in_scope.iter().any(|s| match &rule.stage {
            StageRef::Id(id) => id_of(s) == Some(*id),
            StageRef::Name(name) => name_of(s).trim().eq_ignore_ascii_case(name.trim()),
        });
        if exists {
            continue;
        }
        let mut names: Vec<String> = in_scope.iter().map(|s| name_of(s)).collect();
        names.sort();
        names.dedup();
        let (what, suggestion) = match &rule.stage {
            StageRef::Id(id) => (format!("id {id}"), None),
            StageRef::Name(name) => (
                format!("`{name}`"),
                closest(name, names.iter().map(String::as_str))
                    .map(|n| format!("did you mean `{n}`?")),
            ),
        };
        let scope =
            if rule.jobs.is_empty() { "any job".to_owned() } else { "the rule's jobs".to_owned() };
        problems.push(Problem {
            file: file.to_owned(),
            line: key_line(text, &table, "stage"),
            field: format!("{table}.stage"),
            message: format!("no stage {what} in {scope} of the connected Greenhouse"),
            suggestion: suggestion.or_else(|| {
                (!names.is_empty()).then(|| format!("stages there: {}", names.join(", ")))
            }),
        });
    }
    problems
}

fn describe_job(job: &JobRef) -> String {
    match job {
        JobRef::Id(id) => format!("with id {id}"),
        JobRef::Name(name) => format!("named `{name}`"),
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A minimal valid config (11 lines) that tests append to.
    pub(crate) const BASE: &str = "[greenhouse]
base_url = \"http://127.0.0.1:9\"
token_url = \"http://127.0.0.1:9/token\"
client_id_env = \"GH_ID\"
client_secret_env = \"GH_SECRET\"
webhook_secret_envs = [\"GH_HOOK\"]

[iop]
base_url = \"http://127.0.0.1:9\"
api_key_env = \"IOP_KEY\"
webhook_secret_envs = [\"IOP_HOOK\"]
";

    #[test]
    fn every_unknown_field_is_reported_with_a_suggestion() {
        let text = format!(
            "{BASE}\n[policies]\nfeedback_writebak = \"note\"\non_declin = \"note_only\"\n"
        );
        let (config, problems) = check_text(&text, "e.toml");
        assert!(config.is_some(), "the rest of the file still parses");
        let lines: Vec<String> = problems.iter().map(ToString::to_string).collect();
        assert_eq!(problems.len(), 2, "{lines:#?}");
        assert!(
            lines[0].starts_with("e.toml:14: policies.feedback_writebak: unknown field"),
            "{lines:#?}"
        );
        assert!(lines[0].ends_with("did you mean `feedback_writeback`?"), "{lines:#?}");
        assert!(lines[1].ends_with("did you mean `on_decline`?"), "{lines:#?}");
    }

    #[test]
    fn options_without_effect_and_duplicate_rules_are_all_reported() {
        let text = format!(
            "{BASE}\n[policies]\nrejection_reason = \"Withdrew\"\n\n[[triggers]]\nstage = 4\naction = \"nothing\"\n\n[[triggers]]\nstage = 4\naction = \"cancel\"\nmode = \"coordinator\"\n"
        );
        let (_, problems) = check_text(&text, "e.toml");
        let fields: Vec<&str> = problems.iter().map(|p| p.field.as_str()).collect();
        assert_eq!(fields, ["triggers[1].mode", "triggers[1].stage", "policies.rejection_reason"]);
        assert_eq!(problems[2].line, Some(14));
    }

    #[test]
    fn closest_prefers_plausible_names_only() {
        let names = ["on_decline", "on_no_show", "rejection_reason", "feedback_writeback"];
        assert_eq!(closest("feedback", names.into_iter()), Some("feedback_writeback"));
        assert_eq!(closest("zzz", names.into_iter()), None);
        assert_eq!(closest("Onsight", ["Offer", "Onsite"].into_iter()), Some("Onsite"));
    }

    #[test]
    fn field_paths_count_arrays_of_tables() {
        let text = "[[triggers]]\nstage = 1\n\n[[triggers]]\nstage = 2\nmode = 3\n";
        assert_eq!(field_at(text, 6), "triggers[1].mode");
        assert_eq!(key_line(text, "triggers[1]", "stage"), Some(5));
    }
}
