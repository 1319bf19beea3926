//! `engine check` for the `[mapping]` section: custom-field rules (paths, types, transforms,
//! duplicate targets), stage workflows and interviewer e-mail aliases, and — when Greenhouse
//! answers — each custom field against `GET /v3/custom_fields` and each workflow stage
//! against the stages there.

use serde_json::Value;

use super::check::{Problem, Sink, closest, key_line};
use super::config::{EngineConfig, FieldSource, FieldTarget};
use super::field_types::{FieldType, Transform};

/// Every problem of `[mapping]` that needs no outside world.
pub(crate) fn mapping_problems(config: &EngineConfig, text: &str, file: &str) -> Vec<Problem> {
    let mut sink = Sink { text, file, problems: Vec::new() };
    custom_field_problems(config, &mut sink);
    workflow_problems(config, &mut sink);
    alias_problems(config, &mut sink);
    sink.problems
}

fn custom_field_problems(config: &EngineConfig, sink: &mut Sink) {
    let mut targets: Vec<(String, usize)> = Vec::new();
    for (index, rule) in config.mapping.custom_fields.iter().enumerate() {
        let table = format!("mapping.custom_fields[{index}]");
        let source = rule.source();
        if source.is_none() {
            sink.push(
                &table,
                "from",
                format!("`{}` is not a custom-field path", rule.from),
                Some(path_suggestion(&rule.from, &["candidate", "application"])),
            );
        }
        match rule.target() {
            None => sink.push(
                &table,
                "to",
                format!("`{}` is not a custom-field path", rule.to),
                Some(path_suggestion(&rule.to, &["candidate", "scheduling_request"])),
            ),
            Some((_, key)) if !is_iop_key(key) => sink.push(
                &table,
                "to",
                format!("`{key}` is not an IOP custom-field key"),
                Some(
                    "use lower-case letters, digits and `_`, starting with a letter (at most 64)"
                        .into(),
                ),
            ),
            Some((target, key)) => {
                if let Some((FieldSource::Application, _)) = source
                    && target == FieldTarget::Candidate
                {
                    sink.push(
                        &table,
                        "to",
                        "an application field cannot fill a candidate field (a candidate edit has no application to read)".into(),
                        Some(format!("write it to `scheduling_request.custom_fields.{key}`")),
                    );
                }
                let normal = rule.to.trim().to_owned();
                match targets.iter().find(|(to, _)| *to == normal) {
                    Some((_, first)) => sink.push(
                        &table,
                        "to",
                        format!("duplicates mapping.custom_fields[{first}] (same target `{normal}`)"),
                        Some(format!("map each IOP field once: merge it into mapping.custom_fields[{first}] or delete one")),
                    ),
                    None => targets.push((normal, index)),
                }
            }
        }

        let field_type = rule.field_type();
        if field_type.is_none() {
            sink.push(
                &table,
                "type",
                format!("unknown type `{}`", rule.field_type),
                Some(type_suggestion(&rule.field_type)),
            );
        }
        match (rule.transform(), field_type) {
            (None, _) => {
                let names: Vec<&str> = match field_type {
                    Some(t) => Transform::valid_for(t),
                    None => Transform::ALL.iter().map(|t| t.name()).collect(),
                };
                let suggestion = closest(&rule.transform, names.iter().copied())
                    .map(|n| format!("did you mean `{n}`?"))
                    .unwrap_or_else(|| format!("transforms: {}", names.join(", ")));
                sink.push(
                    &table,
                    "transform",
                    format!("unknown transform `{}`", rule.transform),
                    Some(suggestion),
                );
            }
            (Some(transform), Some(field_type)) if !transform.applies_to(field_type) => {
                sink.push(
                    &table,
                    "transform",
                    format!(
                        "transform `{}` does not apply to a `{}` field",
                        transform.name(),
                        field_type.name()
                    ),
                    Some(format!(
                        "transforms for {}: {}",
                        field_type.name(),
                        Transform::valid_for(field_type).join(", ")
                    )),
                );
            }
            _ => {}
        }
    }
}

/// `candidate.level` → `candidate.custom_fields.level`; otherwise the accepted shapes.
fn path_suggestion(path: &str, records: &[&str]) -> String {
    let path = path.trim();
    if let Some((record, key)) = path.split_once('.')
        && records.contains(&record)
        && !key.is_empty()
        && !key.contains('.')
    {
        return format!("did you mean `{record}.custom_fields.{key}`?");
    }
    let shapes: Vec<String> =
        records.iter().map(|r| format!("`{r}.custom_fields.<key>`")).collect();
    format!("write {}", shapes.join(" or "))
}

fn type_suggestion(written: &str) -> String {
    let lower = written.trim().to_lowercase();
    if matches!(lower.as_str(), "boolean" | "bool") {
        return "Harvest calls a yes/no field `yes_no` (webhooks say `boolean`)".into();
    }
    let names = FieldType::ALL.map(FieldType::name);
    match closest(written, names.iter().copied()) {
        Some(best) => format!("did you mean `{best}`?"),
        None => format!("types: {}", names.join(", ")),
    }
}

/// The IOP's custom-field and workflow key shape (contract §4.8).
pub(crate) fn is_iop_key(key: &str) -> bool {
    let mut chars = key.chars();
    key.len() <= 64
        && chars.next().is_some_and(|c| c.is_ascii_lowercase())
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

/// A workflow key: 1–64 of letters, digits, `_`, `-`, `.`, `:` (contract §4.8).
pub(crate) fn is_workflow_key(key: &str) -> bool {
    (1..=64).contains(&key.len())
        && key.chars().all(|c| c.is_ascii_alphanumeric() || "_-.:".contains(c))
}

fn workflow_problems(config: &EngineConfig, sink: &mut Sink) {
    let table = "mapping.stage_workflows";
    let mut seen: Vec<(String, &str)> = Vec::new();
    for (stage, workflow) in &config.mapping.stage_workflows {
        if !is_workflow_key(workflow) {
            sink.push(
                table,
                stage,
                format!("`{workflow}` is not a workflow key"),
                Some("use 1–64 letters, digits, `_`, `-`, `.` or `:`".into()),
            );
        }
        let normal = stage.trim().to_lowercase();
        if normal.is_empty() {
            sink.push(
                table,
                stage,
                "names no stage".into(),
                Some("write a stage name or id".into()),
            );
        } else if let Some((_, first)) = seen.iter().find(|(s, _)| *s == normal) {
            sink.push(
                table,
                stage,
                format!("duplicates `{first}` (stage names are compared without case)"),
                Some("keep one of them".into()),
            );
        } else {
            seen.push((normal, stage));
        }
    }
}

fn alias_problems(config: &EngineConfig, sink: &mut Sink) {
    let aliases = &config.mapping.interviewers.email_aliases;
    let mut seen: Vec<(String, &str)> = Vec::new();
    for (greenhouse, iop) in aliases {
        let mut push = |message: String, suggestion: Option<String>| {
            let line = key_line(sink.text, "mapping.interviewers.email_aliases", greenhouse)
                .or_else(|| key_line(sink.text, "mapping.interviewers", "email_aliases"));
            sink.problems.push(Problem {
                file: sink.file.to_owned(),
                line,
                field: format!("mapping.interviewers.email_aliases.\"{greenhouse}\""),
                message,
                suggestion,
            });
        };
        for address in [greenhouse, iop] {
            if !address.contains('@') {
                push(format!("`{address}` is not an e-mail address"), None);
            }
        }
        let normal = iop.trim().to_lowercase();
        match seen.iter().find(|(i, _)| *i == normal) {
            Some((_, first)) => push(
                format!("`{iop}` is already the alias of `{first}`"),
                Some("one IOP user stands for one Greenhouse user".into()),
            ),
            None => seen.push((normal, greenhouse)),
        }
    }
}

/// Each custom-field rule against Greenhouse's definitions (`GET /v3/custom_fields`): the key
/// exists for its record (`field_type` candidate or application) with the declared type.
pub(crate) fn custom_fields_against(
    config: &EngineConfig,
    text: &str,
    file: &str,
    definitions: &[Value],
) -> Vec<Problem> {
    let mut sink = Sink { text, file, problems: Vec::new() };
    let str_of =
        |v: &Value, k: &str| v.get(k).and_then(Value::as_str).unwrap_or_default().to_owned();
    for (index, rule) in config.mapping.custom_fields.iter().enumerate() {
        let (Some((source, key)), Some(declared)) = (rule.source(), rule.field_type()) else {
            continue;
        };
        let record = match source {
            FieldSource::Candidate => "candidate",
            FieldSource::Application => "application",
        };
        let of_record: Vec<&Value> =
            definitions.iter().filter(|d| str_of(d, "field_type") == record).collect();
        let table = format!("mapping.custom_fields[{index}]");
        let Some(found) = of_record.iter().find(|d| str_of(d, "name_key") == key) else {
            let keys: Vec<String> = of_record.iter().map(|d| str_of(d, "name_key")).collect();
            sink.push(
                &table,
                "from",
                format!("no {record} custom field `{key}` in the connected Greenhouse"),
                closest(key, keys.iter().map(String::as_str))
                    .map(|k| format!("did you mean `{k}`?")),
            );
            continue;
        };
        let actual = str_of(found, "value_type");
        if actual != declared.name() {
            let mut suggestion = format!("set type = \"{actual}\"");
            if let (Some(t), Some(transform)) = (FieldType::parse(&actual), rule.transform())
                && !transform.applies_to(t)
            {
                suggestion.push_str(&format!(
                    " and a transform for it ({})",
                    Transform::valid_for(t).join(", ")
                ));
            }
            sink.push(
                &table,
                "type",
                format!(
                    "`{key}` is a `{actual}` field in the connected Greenhouse, not `{}`",
                    declared.name()
                ),
                Some(suggestion),
            );
        }
    }
    sink.problems
}

/// Each `stage_workflows` stage against the stages of the connected Greenhouse (any job).
pub(crate) fn workflow_stages_against(
    config: &EngineConfig,
    text: &str,
    file: &str,
    stages: &[Value],
) -> Vec<Problem> {
    let mut sink = Sink { text, file, problems: Vec::new() };
    let mut names: Vec<String> = stages
        .iter()
        .filter_map(|s| s.get("name").and_then(Value::as_str).map(str::to_owned))
        .collect();
    names.sort();
    names.dedup();
    for stage in config.mapping.stage_workflows.keys() {
        let wanted = stage.trim();
        let exists = match wanted.parse::<i64>() {
            Ok(id) => stages.iter().any(|s| s.get("id").and_then(Value::as_i64) == Some(id)),
            Err(_) => names.iter().any(|n| n.trim().eq_ignore_ascii_case(wanted)),
        };
        if exists {
            continue;
        }
        let suggestion = closest(wanted, names.iter().map(String::as_str))
            .map(|n| format!("did you mean `{n}`?"))
            .or_else(|| (!names.is_empty()).then(|| format!("stages there: {}", names.join(", "))));
        let what = if wanted.parse::<i64>().is_ok() {
            format!("id {wanted}")
        } else {
            format!("`{wanted}`")
        };
        sink.push(
            "mapping.stage_workflows",
            stage,
            format!("no stage {what} in any job of the connected Greenhouse"),
            suggestion,
        );
    }
    sink.problems
}

#[cfg(test)]
mod tests {
    use super::super::check::check_text;
    use super::super::check::tests::BASE;

    fn problems(extra: &str) -> Vec<String> {
        let (config, problems) = check_text(&format!("{BASE}{extra}"), "e.toml");
        assert!(config.is_some(), "{problems:?}");
        problems.iter().map(ToString::to_string).collect()
    }

    #[test]
    fn a_valid_mapping_has_no_problems() {
        let found = problems(
            "\n[[mapping.custom_fields]]\nfrom = \"application.custom_fields.budget\"\nto = \"scheduling_request.custom_fields.budget\"\ntype = \"currency\"\nrequired = true\n\n[mapping.stage_workflows]\n\"Phone Screen\" = \"screen\"\n4030000002 = \"onsite:v2\"\n\n[mapping.interviewers]\nmatch_by_email = false\nemail_aliases = { \"ana@gh.test\" = \"ana@iop.test\" }\n",
        );
        assert!(found.is_empty(), "{found:#?}");
    }

    #[test]
    fn an_application_field_cannot_fill_a_candidate_field() {
        let found = problems(
            "\n[[mapping.custom_fields]]\nfrom = \"application.custom_fields.budget\"\nto = \"candidate.custom_fields.budget\"\ntype = \"number\"\n",
        );
        assert_eq!(
            found,
            [
                "e.toml:15: mapping.custom_fields[0].to: an application field cannot fill a candidate field (a candidate edit has no application to read); write it to `scheduling_request.custom_fields.budget`"
            ]
        );
    }

    #[test]
    fn targets_must_be_iop_records_and_keys() {
        let found = problems(
            "\n[[mapping.custom_fields]]\nfrom = \"candidate.custom_fields.a\"\nto = \"job.custom_fields.a\"\ntype = \"url\"\n\n[[mapping.custom_fields]]\nfrom = \"candidate.custom_fields.b\"\nto = \"candidate.custom_fields.Big Key\"\ntype = \"url\"\n",
        );
        assert_eq!(
            found,
            [
                "e.toml:15: mapping.custom_fields[0].to: `job.custom_fields.a` is not a custom-field path; write `candidate.custom_fields.<key>` or `scheduling_request.custom_fields.<key>`",
                "e.toml:20: mapping.custom_fields[1].to: `Big Key` is not an IOP custom-field key; use lower-case letters, digits and `_`, starting with a letter (at most 64)",
            ]
        );
    }

    #[test]
    fn workflows_need_keys_and_one_rule_per_stage() {
        let found = problems(
            "\n[mapping.stage_workflows]\nOnsite = \"onsite loop\"\nonsite = \"onsite\"\n",
        );
        assert_eq!(
            found,
            [
                "e.toml:14: mapping.stage_workflows.Onsite: `onsite loop` is not a workflow key; use 1–64 letters, digits, `_`, `-`, `.` or `:`",
                "e.toml:15: mapping.stage_workflows.onsite: duplicates `Onsite` (stage names are compared without case); keep one of them",
            ]
        );
    }

    #[test]
    fn aliases_need_addresses_and_one_greenhouse_user_per_iop_user() {
        let found = problems(
            "\n[mapping.interviewers.email_aliases]\n\"ana@gh.test\" = \"ana@iop.test\"\n\"anna@gh.test\" = \"ANA@iop.test\"\n\"bob\" = \"bob@iop.test\"\n",
        );
        assert_eq!(
            found,
            [
                "e.toml:15: mapping.interviewers.email_aliases.\"anna@gh.test\": `ANA@iop.test` is already the alias of `ana@gh.test`; one IOP user stands for one Greenhouse user",
                "e.toml:16: mapping.interviewers.email_aliases.\"bob\": `bob` is not an e-mail address",
            ]
        );
    }
}
