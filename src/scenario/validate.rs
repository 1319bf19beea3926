//! Checks a parsed scenario before anything runs: every name refers to something `given`
//! defines, every step has exactly one verb with what that verb needs, every duration parses.
//! Errors carry the line of the offending entry.

use std::collections::{BTreeMap, BTreeSet};

use super::duration;
use super::expect::TARGETS;
use super::model::{GreenhouseStep, IopStep, Scenario, Step};

type Problem = (u64, String);

const RECOMMENDATIONS: &[&str] = &["definitely_not", "no", "yes", "strong_yes", "no_decision"];
const STATUSES: &[&str] = &["in_process", "rejected", "hired"];

struct Names<'a> {
    users: BTreeSet<&'a str>,
    /// Job name → stage names.
    jobs: BTreeMap<&'a str, Vec<&'a str>>,
    /// Candidate name → job name.
    candidates: BTreeMap<&'a str, &'a str>,
}

pub fn check(scenario: &Scenario) -> Result<(), Problem> {
    let names = check_given(scenario)?;
    for step in &scenario.steps {
        let line = step.referenced.line();
        match &step.value {
            Step::Greenhouse(action) => check_greenhouse(action, &names).map_err(|m| (line, m))?,
            Step::Iop(action) => check_iop(action, &names).map_err(|m| (line, m))?,
            Step::Advance(text) => {
                duration::parse(text).map_err(|m| (line, format!("advance: {m}")))?;
            }
            Step::Expect(targets) => {
                if targets.is_empty() {
                    return Err((line, "expect: name at least one target".into()));
                }
                for target in targets.keys() {
                    if !TARGETS.contains(&target.as_str()) {
                        return Err((
                            line,
                            format!(
                                "expect: unknown target `{target}`; known: {}",
                                TARGETS.join(", ")
                            ),
                        ));
                    }
                }
            }
        }
    }
    Ok(())
}

fn check_given(scenario: &Scenario) -> Result<Names<'_>, Problem> {
    let mut names =
        Names { users: BTreeSet::new(), jobs: BTreeMap::new(), candidates: BTreeMap::new() };
    for user in &scenario.given.users {
        if !names.users.insert(user.value.name.as_str()) {
            return Err((
                user.referenced.line(),
                format!("user `{}` is defined twice", user.value.name),
            ));
        }
    }
    for job in &scenario.given.jobs {
        let line = job.referenced.line();
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
    for candidate in &scenario.given.candidates {
        let line = candidate.referenced.line();
        let c = &candidate.value;
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
        if names.candidates.insert(c.name.as_str(), c.applies_to.as_str()).is_some() {
            return Err((line, format!("candidate `{}` is defined twice", c.name)));
        }
    }
    Ok(names)
}

fn candidate<'a>(names: &'a Names<'_>, name: &str) -> Result<&'a str, String> {
    names
        .candidates
        .get(name)
        .copied()
        .ok_or_else(|| format!("unknown candidate `{name}` (not in given.candidates)"))
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
        ],
        "iop",
    )?;
    candidate(names, who)?;
    match verb {
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
    for who in step.interviewers.iter().chain(step.interviewer.iter()) {
        if !names.users.contains(who.as_str()) {
            return Err(format!("unknown user `{who}` (not in given.users)"));
        }
    }
    Ok(())
}
