//! Checks a parsed scenario before anything runs: every name refers to something `given`
//! defines, every step has exactly one verb with what that verb needs, every duration parses.
//! Errors carry the line of the offending entry.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Duration, TimeZone, Utc};

use super::duration;
use super::expect::TARGETS;
use super::invariants::INVARIANTS;
use crate::mock::greenhouse as gh;

use super::model::{FaultsStep, GreenhouseStep, IopStep, Scenario, Step, WebhookStep};

type Problem = (u64, String);

const RECOMMENDATIONS: &[&str] = &["definitely_not", "no", "yes", "strong_yes", "no_decision"];
const STATUSES: &[&str] = &["in_process", "rejected", "hired"];
const RESPONSES: &[&str] = &["needs_action", "accepted", "declined", "tentative"];
const EMAIL_TYPES: &[&str] = &["personal", "work", "other"];
const PHONE_TYPES: &[&str] = &["mobile", "home", "work", "skype", "other"];

struct Names<'a> {
    users: BTreeSet<&'a str>,
    /// Job name → stage names.
    jobs: BTreeMap<&'a str, Vec<&'a str>>,
    /// Candidate name → job name.
    candidates: BTreeMap<&'a str, &'a str>,
}

/// The latest moment a scenario may name or let virtual time reach. The engine's store keeps
/// four-digit years; this leaves a year for what is due after the last step (reminders,
/// retries, expiries).
pub(crate) fn latest_time() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(9999, 1, 1, 0, 0, 0).single().unwrap_or(DateTime::<Utc>::MAX_UTC)
}

/// Virtual time a step other than `advance` and `expect within` lets pass, at most.
fn step_allowance() -> Duration {
    Duration::minutes(super::harness::QUIET_WINDOW_MINUTES)
}

/// `clock + by`, refused when it passes [`latest_time`]; `what` names the field.
fn later(clock: DateTime<Utc>, by: Duration, what: &str) -> Result<DateTime<Utc>, String> {
    let latest = latest_time();
    match clock.checked_add_signed(by) {
        Some(at) if at < latest => Ok(at),
        reached => Err(format!(
            "{what}: virtual time would reach {}, past {latest}, the latest a scenario can reach",
            reached.map(|t| t.to_rfc3339()).unwrap_or_else(|| "beyond the calendar".into())
        )),
    }
}

/// A time the scenario names, refused past [`latest_time`].
fn in_range(at: DateTime<Utc>, what: &str) -> Result<(), String> {
    let latest = latest_time();
    if at >= latest {
        return Err(format!(
            "{what} {} is past {latest}, the latest time a scenario can name",
            at.to_rfc3339()
        ));
    }
    Ok(())
}

pub fn check(scenario: &Scenario) -> Result<(), Problem> {
    let names = check_given(scenario)?;
    let mut clock = match &scenario.start {
        Some(start) => {
            in_range(start.value, "start:").map_err(|m| (start.referenced.line(), m))?;
            start.value
        }
        None => crate::clock::ManualClock::scenario_epoch(),
    };
    for (index, step) in scenario.steps.iter().enumerate() {
        let line = step.referenced.line();
        let number = index + 1;
        match &step.value {
            Step::Greenhouse(action) => check_greenhouse(action, &names).map_err(|m| (line, m))?,
            Step::Iop(action) => check_iop(action, &names).map_err(|m| (line, m))?,
            Step::Advance(text) => {
                let by = duration::parse(text).map_err(|m| (line, format!("advance: {m}")))?;
                clock = later(clock, by, "advance").map_err(|m| (line, m))?;
            }
            Step::Expect(targets) => {
                check_expect(targets, number, &names).map_err(|m| (line, m))?;
                if let Some(within) = targets.get("within").and_then(|w| w.as_str()) {
                    let by = duration::parse(within)
                        .map_err(|m| (line, format!("expect within: {m}")))?;
                    clock = later(clock, by, "expect within").map_err(|m| (line, m))?;
                }
            }
            Step::Faults(faults) => check_faults(faults).map_err(|m| (line, m))?,
            Step::Webhook(webhook) => check_webhook(webhook).map_err(|m| (line, m))?,
            Step::Engine(_) => {}
        }
        clock = later(clock, step_allowance(), "this step").map_err(|m| (line, m))?;
    }
    for waiver in &scenario.waive {
        let line = waiver.referenced.line();
        let waiver = &waiver.value;
        if !INVARIANTS.contains(&waiver.invariant.as_str()) {
            let known = INVARIANTS.join(", ");
            return Err((
                line,
                format!("waive: unknown invariant `{}`; known: {known}", waiver.invariant),
            ));
        }
        if waiver.reason.trim().is_empty() {
            return Err((
                line,
                format!("waive: say why `{}` is waived (`reason`)", waiver.invariant),
            ));
        }
    }
    Ok(())
}

fn check_expect(
    targets: &BTreeMap<String, serde_json::Value>,
    step: usize,
    names: &Names<'_>,
) -> Result<(), String> {
    if targets.keys().all(|k| k == "within") {
        return Err("expect: name at least one target".into());
    }
    for (target, value) in targets {
        if target == "within" {
            let text = value.as_str().ok_or("expect: `within` takes a duration such as `2h`")?;
            duration::parse(text).map_err(|m| format!("expect within: {m}"))?;
        } else if !TARGETS.contains(&target.as_str()) {
            return Err(format!(
                "expect: unknown target `{target}`; known: {}",
                TARGETS.join(", ")
            ));
        } else {
            let matchers: Vec<&serde_json::Value> = match value {
                serde_json::Value::Array(items) => items.iter().collect(),
                other => vec![other],
            };
            for matcher in matchers {
                check_matcher(target, matcher, step)?;
                if let Some(who) = matcher.get("candidate").and_then(|c| c.as_str()) {
                    candidate(names, who).map_err(|m| format!("expect {target}: {m}"))?;
                }
            }
        }
    }
    Ok(())
}

/// The special keys of a matcher take the values they need.
fn check_matcher(target: &str, matcher: &serde_json::Value, step: usize) -> Result<(), String> {
    let Some(fields) = matcher.as_object() else {
        return Err(format!(
            "expect {target}: a matcher is a map of fields (or a list of such maps)"
        ));
    };
    if let Some(count) = fields.get("count")
        && count.as_u64().is_none()
    {
        return Err(format!("expect {target}: `count` takes a whole number from 0, not {count}"));
    }
    if let Some(since) = fields.get("since_step") {
        if !target.starts_with("journal.") {
            return Err(format!(
                "expect {target}: `since_step` only applies to journal.greenhouse and journal.iop"
            ));
        }
        match since.as_u64() {
            Some(n) if n >= 1 && (n as usize) <= step => {}
            _ => {
                return Err(format!(
                    "expect {target}: `since_step` takes an earlier step's number, 1 to {step}, not {since}"
                ));
            }
        }
    }
    if fields.get("candidate").is_some_and(|c| !c.is_string()) {
        return Err(format!("expect {target}: `candidate` takes a candidate's name"));
    }
    Ok(())
}

fn check_faults(faults: &FaultsStep) -> Result<(), String> {
    if faults.greenhouse.is_none() && faults.iop.is_none() {
        return Err(
            "faults: name `greenhouse:` and/or `iop:` (an empty map `{}` clears them)".into()
        );
    }
    if let Some(value) = &faults.greenhouse {
        let faults =
            serde_json::from_value::<crate::mock::greenhouse::control::Faults>(value.clone())
                .map_err(|e| super::load::plain_types(&format!("faults.greenhouse: {e}")))?;
        crate::mock::greenhouse::validate_faults(&faults)
            .map_err(|e| format!("faults.greenhouse: {e}"))?;
    }
    if let Some(value) = &faults.iop {
        let faults = serde_json::from_value::<crate::mock::iop::control::Faults>(value.clone())
            .map_err(|e| super::load::plain_types(&format!("faults.iop: {e}")))?;
        crate::mock::iop::validate_faults(&faults).map_err(|e| format!("faults.iop: {e}"))?;
    }
    Ok(())
}

fn check_webhook(webhook: &WebhookStep) -> Result<(), String> {
    match (&webhook.body, &webhook.file) {
        (Some(_), None) => Ok(()),
        (None, Some(file)) if std::path::Path::new(file).is_file() => Ok(()),
        (None, Some(file)) => Err(format!(
            "webhook: file `{file}` not found (paths are relative to where rehearsal runs)"
        )),
        _ => Err("webhook: give exactly one of `body` (inline JSON) or `file`".into()),
    }
}

fn check_given(scenario: &Scenario) -> Result<Names<'_>, Problem> {
    let mut names =
        Names { users: BTreeSet::new(), jobs: BTreeMap::new(), candidates: BTreeMap::new() };
    for user in &scenario.given.users {
        positive(user.value.id, &format!("user `{}`", user.value.name), "id")
            .map_err(|m| (user.referenced.line(), m))?;
        if !names.users.insert(user.value.name.as_str()) {
            return Err((
                user.referenced.line(),
                format!("user `{}` is defined twice", user.value.name),
            ));
        }
    }
    for job in &scenario.given.jobs {
        let line = job.referenced.line();
        let what = format!("job `{}`", job.value.name);
        positive(job.value.id, &what, "id").map_err(|m| (line, m))?;
        for stage in &job.value.stages {
            if let super::model::StageSpec::Full(full) = stage {
                let what = format!("{what}, stage `{}`", full.name);
                positive(full.id, &what, "id").map_err(|m| (line, m))?;
                for interview in &full.interviews {
                    if let super::model::InterviewSpec::Full(i) = interview {
                        positive(i.id, &format!("{what}, interview `{}`", i.name), "id")
                            .map_err(|m| (line, m))?;
                    }
                }
            }
        }
        let stages: Vec<&str> = job.value.stages.iter().map(|s| s.name()).collect();
        if stages.is_empty() {
            return Err((line, format!("job `{}` has no stages", job.value.name)));
        }
        let unique: BTreeSet<&str> = stages.iter().copied().collect();
        if unique.len() != stages.len() {
            return Err((line, format!("job `{}` names a stage twice", job.value.name)));
        }
        for stage in &job.value.stages {
            if let super::model::StageSpec::Full(full) = stage {
                for interview in &full.interviews {
                    if let super::model::InterviewSpec::Full(i) = interview {
                        for who in &i.interviewers {
                            if !names.users.contains(who.as_str()) {
                                return Err((
                                    line,
                                    format!("interview `{}` names unknown user `{who}`", i.name),
                                ));
                            }
                        }
                    }
                }
            }
        }
        if names.jobs.insert(job.value.name.as_str(), stages).is_some() {
            return Err((line, format!("job `{}` is defined twice", job.value.name)));
        }
    }
    // Ids given by hand, per kind (Greenhouse numbers candidates and applications apart).
    let mut candidate_ids: BTreeMap<i64, &str> = BTreeMap::new();
    let mut application_ids: BTreeMap<i64, &str> = BTreeMap::new();
    for candidate in &scenario.given.candidates {
        let line = candidate.referenced.line();
        let c = &candidate.value;
        let what = format!("candidate `{}`", c.name);
        positive(c.id, &what, "id").map_err(|m| (line, m))?;
        positive(c.application_id, &what, "application_id").map_err(|m| (line, m))?;
        for (field, id, taken) in [
            ("id", c.id, &mut candidate_ids),
            ("application_id", c.application_id, &mut application_ids),
        ] {
            if let Some(id) = id
                && let Some(owner) = taken.insert(id, c.name.as_str())
            {
                return Err((line, format!("{what}: `{field}` {id} is already `{owner}`'s")));
            }
        }
        let Some(stages) = names.jobs.get(c.applies_to.as_str()) else {
            return Err((
                line,
                format!("candidate `{}` applies to unknown job `{}`", c.name, c.applies_to),
            ));
        };
        if let Some(stage) = &c.stage
            && !stages.contains(&stage.as_str())
        {
            return Err((
                line,
                format!("candidate `{}`: job `{}` has no stage `{stage}`", c.name, c.applies_to),
            ));
        }
        if let Some(status) = &c.status
            && !STATUSES.contains(&status.as_str())
        {
            return Err((
                line,
                format!(
                    "candidate `{}`: status `{status}` is not one of {}",
                    c.name,
                    STATUSES.join(", ")
                ),
            ));
        }
        for email in &c.emails {
            if !EMAIL_TYPES.contains(&email.kind.as_str()) {
                return Err((
                    line,
                    format!(
                        "candidate `{}`: email type `{}` is not one of {}",
                        c.name,
                        email.kind,
                        EMAIL_TYPES.join(", ")
                    ),
                ));
            }
        }
        for phone in &c.phones {
            if !PHONE_TYPES.contains(&phone.kind.as_str()) {
                return Err((
                    line,
                    format!(
                        "candidate `{}`: phone type `{}` is not one of {}",
                        c.name,
                        phone.kind,
                        PHONE_TYPES.join(", ")
                    ),
                ));
            }
        }
        if names.candidates.insert(c.name.as_str(), c.applies_to.as_str()).is_some() {
            return Err((line, format!("candidate `{}` is defined twice", c.name)));
        }
    }
    check_custom_fields(scenario)?;
    Ok(names)
}

/// Each definition where it is written, then each candidate's values against them all.
fn check_custom_fields(scenario: &Scenario) -> Result<(), Problem> {
    let given = &scenario.given;
    let definitions = super::world::custom_field_seeds(given);
    for (index, field) in given.custom_fields.iter().enumerate() {
        positive(field.value.id, &format!("given.custom_fields `{}`", field.value.key), "id")
            .map_err(|m| (field.referenced.line(), m))?;
        // Checked together with the earlier ones, so a key declared twice is caught here.
        gh::check_custom_field_definitions(&definitions[..=index]).map_err(|message| {
            (field.referenced.line(), format!("given.custom_fields: {message}"))
        })?;
    }
    for candidate in &given.candidates {
        let c = &candidate.value;
        let records = [
            ("candidate", &c.custom_fields, format!("candidate `{}`: custom_fields", c.name)),
            (
                "application",
                &c.application_custom_fields,
                format!("candidate `{}`: application_custom_fields", c.name),
            ),
        ];
        for (record, values, what) in records {
            gh::check_custom_field_values(&definitions, record, values, &what)
                .map_err(|message| (candidate.referenced.line(), message))?;
        }
    }
    Ok(())
}

/// Greenhouse ids are positive.
fn positive(id: Option<i64>, what: &str, field: &str) -> Result<(), String> {
    match id {
        Some(id) if id < 1 => {
            Err(format!("{what}: `{field}` must be a positive whole number, not {id}"))
        }
        _ => Ok(()),
    }
}

fn candidate<'a>(names: &'a Names<'_>, name: &str) -> Result<&'a str, String> {
    names.candidates.get(name).copied().ok_or_else(|| {
        let hint = crate::engine::check::closest(name, names.candidates.keys().copied())
            .map(|best| format!("; did you mean `{best}`?"))
            .unwrap_or_default();
        format!("unknown candidate `{name}` (not in given.candidates){hint}")
    })
}

fn one_verb<'a>(
    verbs: &[(&'a str, &'a Option<String>)],
    side: &str,
) -> Result<(&'a str, &'a str), String> {
    let set: Vec<(&str, &str)> =
        verbs.iter().filter_map(|(verb, value)| value.as_deref().map(|v| (*verb, v))).collect();
    match set.as_slice() {
        [one] => Ok(*one),
        [] => Err(format!(
            "{side} step needs one of: {}",
            verbs.iter().map(|(verb, _)| *verb).collect::<Vec<_>>().join(", ")
        )),
        many => Err(format!(
            "{side} step has several verbs ({}); use one step per action",
            many.iter().map(|(verb, _)| *verb).collect::<Vec<_>>().join(", ")
        )),
    }
}

fn check_greenhouse(step: &GreenhouseStep, names: &Names<'_>) -> Result<(), String> {
    let (verb, who) = one_verb(
        &[
            ("move", &step.move_),
            ("reject", &step.reject),
            ("unreject", &step.unreject),
            ("hire", &step.hire),
            ("edit", &step.edit),
            ("delete_interview", &step.delete_interview),
        ],
        "greenhouse",
    )?;
    let job = candidate(names, who)?;
    if verb == "move" {
        let to = step.to.as_deref().ok_or("greenhouse move needs `to: <stage name>`")?;
        let stages = names.jobs.get(job).cloned().unwrap_or_default();
        if !stages.contains(&to) {
            return Err(format!(
                "greenhouse move: job `{job}` has no stage `{to}`; its stages: {}",
                stages.join(", ")
            ));
        }
    }
    Ok(())
}

fn check_iop(step: &IopStep, names: &Names<'_>) -> Result<(), String> {
    let (verb, who) = one_verb(
        &[
            ("submit_availability", &step.submit_availability),
            ("schedule", &step.schedule),
            ("reschedule", &step.reschedule),
            ("cancel_interview", &step.cancel_interview),
            ("candidate_declines", &step.candidate_declines),
            ("no_show", &step.no_show),
            ("feedback", &step.feedback),
            ("cancel_request", &step.cancel_request),
            ("interviewer_responds", &step.interviewer_responds),
            ("revert_no_show", &step.revert_no_show),
            ("edit_feedback", &step.edit_feedback),
            ("withdraw_feedback", &step.withdraw_feedback),
            ("deactivate_user", &step.deactivate_user),
            ("disconnect_calendar", &step.disconnect_calendar),
        ],
        "iop",
    )?;
    if matches!(verb, "deactivate_user" | "disconnect_calendar") {
        if !names.users.contains(who) {
            return Err(format!("iop {verb}: unknown user `{who}` (not in given.users)"));
        }
    } else {
        candidate(names, who)?;
    }
    match verb {
        "interviewer_responds" => {
            step.interviewer
                .as_deref()
                .ok_or("iop interviewer_responds needs `interviewer: <user name>`")?;
            let response =
                step.response.as_deref().ok_or("iop interviewer_responds needs `response`")?;
            if !RESPONSES.contains(&response) {
                return Err(format!(
                    "iop interviewer_responds: response `{response}` is not one of {}",
                    RESPONSES.join(", ")
                ));
            }
        }
        "edit_feedback" if step.recommendation.is_none() && step.notes.is_none() => {
            return Err("iop edit_feedback needs `recommendation` and/or `notes`".into());
        }
        "schedule" | "reschedule" if step.at.is_some() == step.on.is_some() => {
            return Err(format!(
                "iop {verb} needs exactly one of `at: <UTC time>` (timed) or `on: <date>` (all-day)"
            ));
        }
        "submit_availability" if step.slots.is_empty() => {
            return Err("iop submit_availability needs `slots: [{start, end}]`".into());
        }
        "feedback" => {
            let recommendation =
                step.recommendation.as_deref().ok_or("iop feedback needs `recommendation`")?;
            if !RECOMMENDATIONS.contains(&recommendation) {
                return Err(format!(
                    "iop feedback: recommendation `{recommendation}` is not one of {}",
                    RECOMMENDATIONS.join(", ")
                ));
            }
        }
        _ => {}
    }
    if let Some(text) = &step.duration {
        duration::parse(text).map_err(|m| format!("duration: {m}"))?;
    }
    if let Some(at) = step.at {
        in_range(at, &format!("iop {verb}: `at`"))?;
    }
    if let Some(on) = step.on {
        in_range(on.and_time(chrono::NaiveTime::MIN).and_utc(), &format!("iop {verb}: `on`"))?;
    }
    for slot in &step.slots {
        in_range(slot.start, &format!("iop {verb}: slot `start`"))?;
        in_range(slot.end, &format!("iop {verb}: slot `end`"))?;
    }
    for who in step.interviewers.iter().chain(step.interviewer.iter()) {
        if !names.users.contains(who.as_str()) {
            return Err(format!("unknown user `{who}` (not in given.users)"));
        }
    }
    Ok(())
}
