//! What must hold after every scenario, whatever its steps (DESIGN.md, "what correct means").
//! Each check names its invariant so a finding says which rule broke.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::engine::config::{EngineConfig, FeedbackWriteback, TriggerAction};
use crate::report::Finding;

/// Every invariant's name, as findings and waivers spell it.
pub const INVARIANTS: &[&str] = &[
    "no_duplicate_interviews",
    "no_duplicate_requests",
    "nothing_open_for_departed_application",
    "interviews_mirrored",
    "no_retired_api_calls",
    "rate_limit_kept",
    "nothing_lost",
    "no_unexpected_dead_letters",
    "request_for_trigger_stage",
    "feedback_recorded_once",
];

/// IOP request states from which nothing more happens.
pub(crate) const TERMINAL_REQUEST: &[&str] =
    &["completed", "candidate_declined", "expired", "cancelled"];

/// Everything the invariants read, taken once after the last step.
pub struct FinalState<'a> {
    pub greenhouse: &'a Value,
    pub iop: &'a Value,
    pub greenhouse_journal: &'a Value,
    pub dead_letters: &'a Value,
    /// Engine events accepted but not yet handled.
    pub pending_events: u64,
    /// Whether the scenario itself expects dead letters (then they are not a finding).
    pub expects_dead_letters: bool,
    /// The engine configuration the scenario ran against (its trigger rules and policies).
    pub config: &'a EngineConfig,
}

fn list<'a>(value: &'a Value, key: &str) -> &'a [Value] {
    value.get(key).and_then(Value::as_array).map(Vec::as_slice).unwrap_or(&[])
}

fn str_of<'a>(value: &'a Value, key: &str) -> &'a str {
    value.get(key).and_then(Value::as_str).unwrap_or_default()
}

fn finding(invariant: &str, message: String) -> Finding {
    Finding { invariant: invariant.to_owned(), message }
}

pub fn check(state: &FinalState<'_>) -> Vec<Finding> {
    let mut findings = Vec::new();
    no_duplicates(state, &mut findings);
    nothing_open_for_departed_applications(state, &mut findings);
    interviews_mirrored(state, &mut findings);
    journal_rules(state, &mut findings);
    trigger_stages_have_a_request(state, &mut findings);
    feedback_recorded_once(state, &mut findings);
    if state.pending_events > 0 {
        findings.push(finding(
            "nothing_lost",
            format!("{} accepted events were never handled", state.pending_events),
        ));
    }
    let dead = state.dead_letters.as_array().map(Vec::len).unwrap_or(0);
    if dead > 0 && !state.expects_dead_letters {
        let reasons: Vec<&str> = state
            .dead_letters
            .as_array()
            .into_iter()
            .flatten()
            .map(|d| str_of(d, "reason"))
            .collect();
        findings.push(finding(
            "no_unexpected_dead_letters",
            format!("{dead} dead letter(s): {}", reasons.join("; ")),
        ));
    }
    findings
}

fn no_duplicates(state: &FinalState<'_>, findings: &mut Vec<Finding>) {
    let mut by_event: BTreeMap<&str, usize> = BTreeMap::new();
    for interview in list(state.greenhouse, "interviews") {
        if let Some(event) = interview.get("external_event_id").and_then(Value::as_str) {
            *by_event.entry(event).or_default() += 1;
        }
    }
    for (event, count) in by_event.into_iter().filter(|(_, n)| *n > 1) {
        findings.push(finding(
            "no_duplicate_interviews",
            format!("{count} Greenhouse interviews carry external_event_id {event}"),
        ));
    }

    let mut open: BTreeMap<i64, usize> = BTreeMap::new();
    for request in list(state.iop, "scheduling_requests")
        .iter()
        .filter(|r| !TERMINAL_REQUEST.contains(&str_of(r, "status")))
    {
        if let Some(app) =
            request.pointer("/external_refs/greenhouse/application_id").and_then(Value::as_i64)
        {
            *open.entry(app).or_default() += 1;
        }
    }
    for (app, count) in open.into_iter().filter(|(_, n)| *n > 1) {
        findings.push(finding(
            "no_duplicate_requests",
            format!("application {app} has {count} open scheduling requests"),
        ));
    }
}

/// Every open IOP request belongs to an active application standing in the request's stage.
fn nothing_open_for_departed_applications(state: &FinalState<'_>, findings: &mut Vec<Finding>) {
    let applications: BTreeMap<i64, &Value> = list(state.greenhouse, "applications")
        .iter()
        .filter_map(|a| Some((a.get("id")?.as_i64()?, a)))
        .collect();
    let current_stage: BTreeMap<i64, i64> = list(state.greenhouse, "application_stages")
        .iter()
        .filter(|row| row.get("current").and_then(Value::as_bool) == Some(true))
        .filter_map(|row| {
            Some((
                row.get("application_id")?.as_i64()?,
                row.get("job_interview_stage_id")?.as_i64()?,
            ))
        })
        .collect();

    for request in list(state.iop, "scheduling_requests")
        .iter()
        .filter(|r| !TERMINAL_REQUEST.contains(&str_of(r, "status")))
    {
        let id = str_of(request, "id");
        let Some(app_id) =
            request.pointer("/external_refs/greenhouse/application_id").and_then(Value::as_i64)
        else {
            continue;
        };
        let stage = request.pointer("/external_refs/greenhouse/stage_id").and_then(Value::as_i64);
        let problem = match applications.get(&app_id) {
            None => Some(format!("application {app_id} no longer exists")),
            Some(app) if !matches!(str_of(app, "status"), "in_process" | "active") => {
                Some(format!("application {app_id} is {}", str_of(app, "status")))
            }
            Some(_)
                if current_stage.get(&app_id).copied() != stage
                    && current_stage.contains_key(&app_id) =>
            {
                Some(format!("application {app_id} left stage {}", stage.unwrap_or_default()))
            }
            Some(_) => None,
        };
        if let Some(problem) = problem {
            findings.push(finding(
                "nothing_open_for_departed_application",
                format!("{id} is still open: {problem}"),
            ));
        }
    }
}

/// A scheduled IOP interview has exactly one Greenhouse interview, and a Greenhouse interview
/// made by the engine points at an IOP interview that is not cancelled.
fn interviews_mirrored(state: &FinalState<'_>, findings: &mut Vec<Finding>) {
    let gh_by_event: BTreeMap<&str, &Value> = list(state.greenhouse, "interviews")
        .iter()
        .filter_map(|i| Some((i.get("external_event_id")?.as_str()?, i)))
        .collect();
    let iop_by_id: BTreeMap<&str, &Value> =
        list(state.iop, "interviews").iter().map(|i| (str_of(i, "id"), i)).collect();

    for (id, interview) in &iop_by_id {
        if str_of(interview, "status") == "scheduled" && !gh_by_event.contains_key(id) {
            findings.push(finding(
                "interviews_mirrored",
                format!("IOP interview {id} is scheduled but Greenhouse has no interview for it"),
            ));
        }
    }
    for (event, gh) in &gh_by_event {
        let gh_id = gh.get("id").cloned().unwrap_or(Value::Null);
        match iop_by_id.get(event) {
            Some(iop) if str_of(iop, "status") == "cancelled" => findings.push(finding(
                "interviews_mirrored",
                format!(
                    "Greenhouse interview {gh_id} still stands for cancelled IOP interview {event}"
                ),
            )),
            Some(_) => {}
            None => findings.push(finding(
                "interviews_mirrored",
                format!("Greenhouse interview {gh_id} points at unknown IOP interview {event}"),
            )),
        }
    }
}

/// Every active application standing in a stage a trigger rule names got a scheduling request
/// for that stay in the stage (whatever became of it since).
fn trigger_stages_have_a_request(state: &FinalState<'_>, findings: &mut Vec<Finding>) {
    let name_of = |key: &str, id: i64| {
        list(state.greenhouse, key)
            .iter()
            .find(|r| r.get("id").and_then(Value::as_i64) == Some(id))
            .map(|r| str_of(r, "name").to_owned())
            .unwrap_or_default()
    };
    for application in list(state.greenhouse, "applications") {
        let (Some(app_id), Some(job_id)) = (
            application.get("id").and_then(Value::as_i64),
            application.get("job_id").and_then(Value::as_i64),
        ) else {
            continue;
        };
        if !matches!(str_of(application, "status"), "in_process" | "active") {
            continue;
        }
        let Some(row) = list(state.greenhouse, "application_stages").iter().find(|r| {
            r.get("application_id").and_then(Value::as_i64) == Some(app_id)
                && r.get("current").and_then(Value::as_bool) == Some(true)
        }) else {
            continue;
        };
        let Some(stage_id) = row.get("job_interview_stage_id").and_then(Value::as_i64) else {
            continue;
        };
        let rule = state.config.trigger_for(
            job_id,
            &name_of("jobs", job_id),
            stage_id,
            &name_of("job_interview_stages", stage_id),
        );
        if rule.map(|r| r.action) != Some(TriggerAction::OpenSchedulingRequest) {
            continue;
        }
        // The IOP stamps whole seconds and Greenhouse milliseconds: compare at the second.
        let entered = instant(row.get("entered_at"))
            .map(|at| at - chrono::Duration::milliseconds(i64::from(at.timestamp_subsec_millis())));
        let for_this_stay = list(state.iop, "scheduling_requests").iter().any(|r| {
            r.pointer("/external_refs/greenhouse/application_id").and_then(Value::as_i64)
                == Some(app_id)
                && r.pointer("/external_refs/greenhouse/stage_id").and_then(Value::as_i64)
                    == Some(stage_id)
                && instant(r.get("created_at")) >= entered
        });
        if !for_this_stay {
            findings.push(finding(
                "request_for_trigger_stage",
                format!("application {app_id} stands in trigger stage {stage_id} but no scheduling request was opened for it"),
            ));
        }
    }
}

/// Each feedback ever submitted became exactly one Greenhouse scorecard (when that is the
/// policy). Withdrawn feedback counts too: a scorecard, once written, stays (Harvest cannot
/// delete one), so a withdrawal must neither remove nor duplicate it. A withdrawn feedback is
/// gone from the IOP's state, its application with it, so withdrawals are checked in total:
/// each application has at least its standing feedback's scorecards and at most that plus the
/// withdrawals, and all scorecards add up to all feedback ever submitted.
fn feedback_recorded_once(state: &FinalState<'_>, findings: &mut Vec<Finding>) {
    if state.config.policies.feedback_writeback != FeedbackWriteback::Scorecard {
        return;
    }
    let standing = list(state.iop, "feedback");
    let mut submitted: BTreeMap<i64, usize> = BTreeMap::new();
    for feedback in standing.iter().filter(|f| str_of(f, "status") == "submitted") {
        if let Some(app) =
            feedback.pointer("/external_refs/greenhouse/application_id").and_then(Value::as_i64)
        {
            *submitted.entry(app).or_default() += 1;
        }
    }
    let withdrawn: std::collections::BTreeSet<&str> = list(state.iop, "events")
        .iter()
        .filter(|e| str_of(e, "type") == "feedback.deleted")
        .map(|e| str_of(e, "object_id"))
        .filter(|id| !standing.iter().any(|f| str_of(f, "id") == *id))
        .collect();
    let withdrawn = withdrawn.len();
    let mut recorded: BTreeMap<i64, usize> = BTreeMap::new();
    for scorecard in list(state.greenhouse, "scorecards") {
        if let Some(app) = scorecard.get("application_id").and_then(Value::as_i64) {
            *recorded.entry(app).or_default() += 1;
        }
    }
    for (app, count) in &submitted {
        let have = recorded.get(app).copied().unwrap_or(0);
        if have < *count || have > count + withdrawn {
            let also = match withdrawn {
                0 => String::new(),
                n => format!(" (and {n} withdrawn in all)"),
            };
            findings.push(finding(
                "feedback_recorded_once",
                format!("application {app}: {count} feedback submitted in the IOP{also}, {have} scorecard(s) in Greenhouse"),
            ));
        }
    }
    let ever: usize = submitted.values().sum::<usize>() + withdrawn;
    let written: usize = recorded.values().sum();
    if withdrawn > 0 && ever != written {
        findings.push(finding(
            "feedback_recorded_once",
            format!("{ever} feedback ever submitted in the IOP ({withdrawn} since withdrawn), {written} scorecard(s) in Greenhouse"),
        ));
    }
}

fn instant(value: Option<&Value>) -> Option<chrono::DateTime<chrono::Utc>> {
    value
        .and_then(Value::as_str)
        .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
        .map(|t| t.with_timezone(&chrono::Utc))
}

fn journal_rules(state: &FinalState<'_>, findings: &mut Vec<Finding>) {
    for entry in state.greenhouse_journal.as_array().into_iter().flatten() {
        let notes: Vec<&str> = entry
            .get("notes")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .collect();
        let what = format!("{} {}", str_of(entry, "method"), str_of(entry, "path"));
        if notes.contains(&"retired_api") {
            findings.push(finding(
                "no_retired_api_calls",
                format!("{what} called a retired Harvest v1/v2 path"),
            ));
        }
        let injected = notes.iter().any(|n| n.starts_with("fault:"));
        if entry.get("status").and_then(Value::as_u64) == Some(429) && !injected {
            findings.push(finding(
                "rate_limit_kept",
                format!("{what} was refused with 429: the engine exceeded the rate limit"),
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// A consistent final state: one open request for an application standing in its stage,
    /// one scheduled interview mirrored once.
    fn healthy() -> (Value, Value) {
        let greenhouse = json!({
            "applications": [{"id": 1, "status": "in_process"}],
            "application_stages": [{"application_id": 1, "job_interview_stage_id": 20, "current": true}],
            "interviews": [{"id": 7, "external_event_id": "int_1"}]
        });
        let iop = json!({
            "scheduling_requests": [{"id": "sreq_1", "status": "scheduled",
                "external_refs": {"greenhouse": {"application_id": 1, "stage_id": 20}}}],
            "interviews": [{"id": "int_1", "status": "scheduled"}]
        });
        (greenhouse, iop)
    }

    fn run(
        greenhouse: &Value,
        iop: &Value,
        journal: &Value,
        dead: &Value,
        pending: u64,
    ) -> Vec<String> {
        let config = test_config();
        let state = FinalState {
            config: &config,
            greenhouse,
            iop,
            greenhouse_journal: journal,
            dead_letters: dead,
            pending_events: pending,
            expects_dead_letters: false,
        };
        check(&state).into_iter().map(|f| f.invariant).collect()
    }

    fn test_config() -> EngineConfig {
        let text = include_str!("../../fixtures/engine.toml");
        EngineConfig::parse(text, "fixtures/engine.toml").unwrap()
    }

    #[test]
    fn a_healthy_state_has_no_findings() {
        let (gh, iop) = healthy();
        assert!(run(&gh, &iop, &json!([]), &json!([]), 0).is_empty());
    }

    #[test]
    fn each_invariant_fires_on_the_breakage_it_names() {
        // Every invariant in the list must fire below, so none is a name without a check.
        let mut seen = std::collections::BTreeSet::new();
        let fires =
            |seen: &mut std::collections::BTreeSet<String>, found: Vec<String>, name: &str| {
                assert!(found.contains(&name.to_owned()), "{name} did not fire: {found:?}");
                seen.insert(name.to_owned());
            };
        let (gh, iop) = healthy();
        let none = json!([]);

        let mut dup = gh.clone();
        dup["interviews"] = json!([{"id": 7, "external_event_id": "int_1"}, {"id": 8, "external_event_id": "int_1"}]);
        fires(&mut seen, run(&dup, &iop, &none, &none, 0), "no_duplicate_interviews");

        let mut two = iop.clone();
        two["scheduling_requests"] = json!([
            {"id": "sreq_1", "status": "scheduled", "external_refs": {"greenhouse": {"application_id": 1, "stage_id": 20}}},
            {"id": "sreq_2", "status": "pending", "external_refs": {"greenhouse": {"application_id": 1, "stage_id": 20}}}
        ]);
        fires(&mut seen, run(&gh, &two, &none, &none, 0), "no_duplicate_requests");

        let mut moved = gh.clone();
        moved["application_stages"] =
            json!([{"application_id": 1, "job_interview_stage_id": 30, "current": true}]);
        fires(
            &mut seen,
            run(&moved, &iop, &none, &none, 0),
            "nothing_open_for_departed_application",
        );
        let mut rejected = gh.clone();
        rejected["applications"] = json!([{"id": 1, "status": "rejected"}]);
        fires(
            &mut seen,
            run(&rejected, &iop, &none, &none, 0),
            "nothing_open_for_departed_application",
        );

        let mut unmirrored = gh.clone();
        unmirrored["interviews"] = json!([]);
        fires(&mut seen, run(&unmirrored, &iop, &none, &none, 0), "interviews_mirrored");
        let mut cancelled = iop.clone();
        cancelled["interviews"] = json!([{"id": "int_1", "status": "cancelled"}]);
        fires(&mut seen, run(&gh, &cancelled, &none, &none, 0), "interviews_mirrored");

        let retired = json!([{"method": "GET", "path": "/v1/candidates", "status": 404, "notes": ["retired_api"]}]);
        fires(&mut seen, run(&gh, &iop, &retired, &none, 0), "no_retired_api_calls");

        let refused = json!([{"method": "GET", "path": "/v3/applications", "status": 429}]);
        fires(&mut seen, run(&gh, &iop, &refused, &none, 0), "rate_limit_kept");
        let injected = json!([{"method": "GET", "path": "/v3/applications", "status": 429, "notes": ["fault:status_429"]}]);
        assert!(!run(&gh, &iop, &injected, &none, 0).contains(&"rate_limit_kept".to_owned()));

        fires(&mut seen, run(&gh, &iop, &none, &none, 3), "nothing_lost");

        let dead = json!([{"reason": "POST /v3/interviews answered 422"}]);
        fires(&mut seen, run(&gh, &iop, &none, &dead, 0), "no_unexpected_dead_letters");

        // An application entering Onsite (a trigger stage) after its last request.
        let mut onsite = gh.clone();
        onsite["jobs"] = json!([{"id": 5, "name": "Backend"}]);
        onsite["job_interview_stages"] = json!([{"id": 20, "name": "Onsite"}]);
        onsite["applications"] = json!([{"id": 1, "job_id": 5, "status": "in_process"}]);
        onsite["application_stages"] = json!([{"application_id": 1, "job_interview_stage_id": 20, "current": true, "entered_at": "2026-11-03T09:00:00.000Z"}]);
        let mut old = iop.clone();
        old["scheduling_requests"][0]["created_at"] = json!("2026-11-02T09:00:00Z");
        fires(&mut seen, run(&onsite, &old, &none, &none, 0), "request_for_trigger_stage");
        old["scheduling_requests"][0]["created_at"] = json!("2026-11-03T09:00:01Z");
        assert!(
            !run(&onsite, &old, &none, &none, 0).contains(&"request_for_trigger_stage".to_owned())
        );

        let mut feedback = iop.clone();
        feedback["feedback"] = json!([{"id": "fb_1", "status": "submitted", "external_refs": {"greenhouse": {"application_id": 1}}}]);
        fires(&mut seen, run(&gh, &feedback, &none, &none, 0), "feedback_recorded_once");
        let mut twice = gh.clone();
        twice["scorecards"] = json!([{"id": 1, "application_id": 1}]);
        assert!(
            !run(&twice, &feedback, &none, &none, 0).contains(&"feedback_recorded_once".to_owned())
        );
        // A withdrawn feedback keeps its scorecard: still recorded once, not a finding.
        let mut withdrawn = feedback.clone();
        withdrawn["events"] = json!([
            {"id": "evt_1", "type": "feedback.submitted", "object_id": "fb_2"},
            {"id": "evt_2", "type": "feedback.deleted", "object_id": "fb_2"}
        ]);
        let recorded = |scorecards: usize| {
            let mut gh = gh.clone();
            gh["scorecards"] = json!(
                (0..scorecards).map(|i| json!({"id": i, "application_id": 1})).collect::<Vec<_>>()
            );
            run(&gh, &withdrawn, &none, &none, 0).contains(&"feedback_recorded_once".to_owned())
        };
        assert!(!recorded(2), "one standing and one withdrawn feedback, two scorecards");
        assert!(recorded(1), "the withdrawn feedback's scorecard is missing");
        assert!(recorded(3), "a scorecard too many");
        let all: std::collections::BTreeSet<String> =
            INVARIANTS.iter().map(|s| (*s).to_owned()).collect();
        assert_eq!(seen, all, "an invariant has no breakage test");
    }
}
