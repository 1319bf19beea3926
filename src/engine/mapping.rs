//! Field mapping between Greenhouse and the IOP: pure functions, so their laws can be tested
//! (and property-tested) without any server.

use chrono::{DateTime, NaiveDate, Utc};
use serde_json::{Map, Value, json};

use super::config::{
    CustomFieldRule, FieldSource, FieldTarget, InterviewerMatching, MappingSection,
};
use crate::clock::greenhouse_timestamp;

/// Why a record could not be mapped. The message names the field, never its value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MappingError {
    #[error("{record} {id}: {field} is missing or empty")]
    Missing { record: &'static str, id: String, field: &'static str },
    #[error("{record} {id}: {field} has an unknown value")]
    Unknown { record: &'static str, id: String, field: &'static str },
    /// A required custom field holds a value that is not of its declared type.
    #[error("{record} {id}: required custom field {field} is not {expected}")]
    WrongType { record: &'static str, id: String, field: String, expected: &'static str },
    /// A required custom field is absent or empty.
    #[error("{record} {id}: required custom field {field} is missing")]
    MissingField { record: &'static str, id: String, field: String },
    /// A rule the engine cannot run (a config that skipped `engine check`).
    #[error("mapping.custom_fields[{index}]: {problem}")]
    BadRule { index: usize, problem: String },
}

fn text(value: &Value, key: &str) -> String {
    value.get(key).and_then(Value::as_str).unwrap_or_default().trim().to_owned()
}

fn id_text(value: &Value) -> String {
    value.get("id").map(|id| id.to_string().trim_matches('"').to_owned()).unwrap_or_default()
}

/// A Greenhouse candidate (Harvest v3 record) → the IOP candidate upsert body.
///
/// Laws: names are trimmed and never lost (a candidate with neither name is an error, not an
/// empty string); every email is kept, lower-cased, and exactly one is primary, chosen by
/// `email_type_preference`; phones keep their digits with a leading `+`.
pub fn candidate_to_iop(
    candidate: &Value,
    mapping: &MappingSection,
) -> Result<Value, MappingError> {
    let id = id_text(candidate);
    let first_name = text(candidate, "first_name");
    let last_name = text(candidate, "last_name");
    if first_name.is_empty() && last_name.is_empty() {
        return Err(MappingError::Missing {
            record: "candidate",
            id,
            field: "first_name/last_name",
        });
    }

    let emails: Vec<(String, String)> = candidate
        .get("email_addresses")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|e| {
            let address = text(e, "value").to_lowercase();
            (!address.is_empty()).then(|| (address, text(e, "type")))
        })
        .collect();
    let primary = mapping
        .email_type_preference
        .iter()
        // Compare with the type the IOP will see (`home` becomes `other`), so the first email
        // of the preferred type in the output is the primary one.
        .find_map(|wanted| {
            emails.iter().position(|(_, kind)| email_type(kind).eq_ignore_ascii_case(wanted))
        })
        .or((!emails.is_empty()).then_some(0));
    let emails: Vec<Value> = emails
        .iter()
        .enumerate()
        .map(|(i, (address, kind))| json!({"address": address, "type": email_type(kind), "primary": Some(i) == primary}))
        .collect();

    let phones: Vec<Value> = candidate
        .get("phone_numbers")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|p| {
            let number = normalise_phone(&text(p, "value"))?;
            Some(json!({"number": number, "type": phone_type(&text(p, "type"))}))
        })
        .collect();

    let timezone = candidate_timezone(candidate, mapping).zone;

    Ok(json!({
        "first_name": first_name,
        "last_name": last_name,
        "emails": emails,
        "phones": phones,
        "timezone": timezone,
    }))
}

/// The zone the IOP gets for a candidate, and the one it was given instead of, if any.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CandidateZone {
    pub zone: String,
    /// The candidate's own `time_zone` when it is not an IANA zone (agency imports carry
    /// `GMT+2`, `CEST`, free text); the engine sends the default instead and audits it.
    pub replaced: Option<String>,
}

/// The candidate's `time_zone` when it is an IANA zone, else `mapping.default_timezone`
/// (blank and absent zones are no zone, not a replacement).
pub fn candidate_timezone(candidate: &Value, mapping: &MappingSection) -> CandidateZone {
    let own = candidate.get("time_zone").and_then(Value::as_str).map(str::trim);
    match own.filter(|zone| !zone.is_empty()) {
        Some(zone) if crate::timezone::is_iana_zone(zone) => {
            CandidateZone { zone: zone.to_owned(), replaced: None }
        }
        own => CandidateZone {
            zone: mapping.default_timezone.trim().to_owned(),
            replaced: own.map(str::to_owned),
        },
    }
}

fn email_type(kind: &str) -> &'static str {
    match kind.to_ascii_lowercase().as_str() {
        "personal" => "personal",
        "work" => "work",
        _ => "other",
    }
}

fn phone_type(kind: &str) -> &'static str {
    match kind.to_ascii_lowercase().as_str() {
        "mobile" => "mobile",
        "home" => "home",
        "work" => "work",
        // The IOP has no skype or fax type.
        _ => "other",
    }
}

/// Keeps digits and one leading `+`; `None` when no digit is left.
pub fn normalise_phone(raw: &str) -> Option<String> {
    let digits: String = raw.chars().filter(char::is_ascii_digit).collect();
    if digits.is_empty() {
        return None;
    }
    Some(if raw.trim_start().starts_with('+') { format!("+{digits}") } else { digits })
}

/// The custom fields a set of rules produces, per IOP record, and the fields it skipped.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MappedCustomFields {
    pub candidate: Map<String, Value>,
    pub scheduling_request: Map<String, Value>,
    /// One line per optional field skipped because its value had the wrong type; each names
    /// the field and what was expected, never the value (it may be personal data).
    pub skipped: Vec<String>,
}

/// Applies `rules` to a Greenhouse candidate and, when there is one, its application.
///
/// Laws: a field that is absent, `null` or blank is left out (an error when `required`); a
/// value of the wrong type is left out with a line in `skipped` (an error naming the field
/// when `required`); every other value lands under its target key in its canonical shape.
/// Rules reading the application are skipped when no application is given (a candidate
/// edit), which is why a candidate target may only read the candidate.
pub fn custom_fields_to_iop(
    rules: &[CustomFieldRule],
    candidate: &Value,
    application: Option<&Value>,
) -> Result<MappedCustomFields, MappingError> {
    let mut mapped = MappedCustomFields::default();
    for (index, rule) in rules.iter().enumerate() {
        let bad = |problem: &str| MappingError::BadRule { index, problem: problem.to_owned() };
        let (source, key) =
            rule.source().ok_or_else(|| bad("`from` is not a custom-field path"))?;
        let (target, target_key) =
            rule.target().ok_or_else(|| bad("`to` is not a custom-field path"))?;
        let field_type = rule.field_type().ok_or_else(|| bad("unknown `type`"))?;
        let transform = rule.transform().ok_or_else(|| bad("unknown `transform`"))?;
        let (record_name, record) = match source {
            FieldSource::Candidate => ("candidate", candidate),
            FieldSource::Application => match application {
                Some(application) => ("application", application),
                None => continue,
            },
        };
        let id = id_text(record);
        let field = rule.from.trim().to_owned();

        let raw = custom_field_value(record, key);
        let Some(raw) = raw else {
            if rule.required {
                return Err(MappingError::MissingField { record: record_name, id, field });
            }
            continue;
        };
        let value = match super::field_types::convert(raw, field_type, transform) {
            Ok(value) => value,
            Err(mismatch) if rule.required => {
                return Err(MappingError::WrongType {
                    record: record_name,
                    id,
                    field,
                    expected: mismatch.expected,
                });
            }
            Err(mismatch) => {
                mapped.skipped.push(format!(
                    "{record_name} {id}: custom field {field} skipped: not {}",
                    mismatch.expected
                ));
                continue;
            }
        };
        let into = match target {
            FieldTarget::Candidate => &mut mapped.candidate,
            FieldTarget::SchedulingRequest => &mut mapped.scheduling_request,
        };
        into.insert(target_key.to_owned(), value);
    }
    Ok(mapped)
}

/// A record's custom-field value by `name_key`: Harvest's raw value, or the `value` of a
/// webhook-style `{name, type, value}` object. `None` when absent, `null` or blank text.
fn custom_field_value<'a>(record: &'a Value, key: &str) -> Option<&'a Value> {
    let raw = record.get("custom_fields")?.get(key)?;
    let keyed = raw.as_object().filter(|o| o.contains_key("type") && o.contains_key("value"));
    let value = match keyed {
        Some(object) => object.get("value")?,
        None => raw,
    };
    let blank = value.is_null() || value.as_str().is_some_and(|s| s.trim().is_empty());
    (!blank).then_some(value)
}

/// The IOP user standing for a Greenhouse user among `iop_users`: the active one whose
/// `external_refs.greenhouse.user_id` is the Greenhouse id, else (when matching by e-mail)
/// the active one whose e-mail is one of the Greenhouse user's addresses (through the
/// aliases).
pub fn iop_user_for<'a>(
    gh_user_id: i64,
    gh_emails: &[String],
    iop_users: &'a [Value],
    matching: &InterviewerMatching,
) -> Option<&'a str> {
    let active =
        |u: &&Value| u.get("status").and_then(Value::as_str).unwrap_or("active") == "active";
    let linked = |u: &&Value| {
        let id = u.pointer("/external_refs/greenhouse/user_id");
        id.and_then(|v| v.as_i64().or_else(|| v.as_str().and_then(|s| s.parse().ok())))
            == Some(gh_user_id)
    };
    let by_id = iop_users.iter().filter(active).find(linked);
    let by_email = || {
        if !matching.match_by_email {
            return None;
        }
        let wanted: Vec<String> = gh_emails.iter().map(|e| matching.iop_email(e)).collect();
        iop_users.iter().filter(active).find(|u| {
            let email = u.get("email").and_then(Value::as_str).unwrap_or_default();
            !email.is_empty() && wanted.iter().any(|w| w.eq_ignore_ascii_case(email.trim()))
        })
    };
    by_id.or_else(by_email).and_then(|u| u.get("id")).and_then(Value::as_str)
}

/// Each job interview's `interviewer_pool`: its default interviewers (Greenhouse user ids, in
/// order) mapped through `iop_user`, duplicates and unknown users left out. Returns the pools
/// by job interview id and the Greenhouse users no IOP user stands for.
pub fn interviewer_pools(
    defaults: &[(i64, i64)],
    iop_user: impl Fn(i64) -> Option<String>,
) -> (std::collections::BTreeMap<i64, Vec<String>>, Vec<i64>) {
    let mut pools: std::collections::BTreeMap<i64, Vec<String>> = Default::default();
    let mut unknown = Vec::new();
    for &(job_interview_id, gh_user_id) in defaults {
        match iop_user(gh_user_id) {
            Some(iop_id) => {
                let pool = pools.entry(job_interview_id).or_default();
                if !pool.contains(&iop_id) {
                    pool.push(iop_id);
                }
            }
            None if !unknown.contains(&gh_user_id) => unknown.push(gh_user_id),
            None => {}
        }
    }
    (pools, unknown)
}

/// IOP recommendation → Greenhouse v3 scorecard `candidate_rating`.
pub fn recommendation_to_rating(
    recommendation: &str,
    feedback_id: &str,
) -> Result<&'static str, MappingError> {
    match recommendation {
        "definitely_not" => Ok("strong_no"),
        "no" => Ok("no"),
        "yes" => Ok("yes"),
        "strong_yes" => Ok("strong_yes"),
        "no_decision" => Ok("no_decision"),
        _ => Err(MappingError::Unknown {
            record: "feedback",
            id: feedback_id.to_owned(),
            field: "overall_recommendation",
        }),
    }
}

/// Greenhouse interviewer entries for the IOP interview's interviewers, through the same user
/// map as pools: `gh_user_id` gives the Greenhouse user of an IOP user when it is known;
/// otherwise the interviewer goes by e-mail, an aliased IOP address turned back into its
/// Greenhouse one.
pub fn interviewers_to_greenhouse(
    interview: &Value,
    gh_user_id: impl Fn(&str) -> Option<i64>,
    matching: &InterviewerMatching,
) -> Vec<Value> {
    interview
        .get("interviewers")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter(|i| i.get("role").and_then(Value::as_str).unwrap_or("interviewer") != "shadow")
        .filter_map(|i| {
            let status = i.get("response_status").and_then(Value::as_str).unwrap_or("needs_action");
            let user = i.get("user_id").and_then(Value::as_str).unwrap_or_default();
            match gh_user_id(user) {
                Some(id) => Some(json!({"user_id": id, "response_status": status})),
                None => {
                    let email = text(i, "email");
                    (!email.is_empty()).then(|| {
                        let email = matching.greenhouse_email(&email);
                        json!({"email": email, "response_status": status})
                    })
                }
            }
        })
        .collect()
}

/// The time fields of a Greenhouse interview for an IOP interview: instants for timed
/// interviews, dates (never shifted through a time zone) for all-day ones.
pub fn interview_times(interview: &Value) -> Result<Value, MappingError> {
    let id = id_text(interview);
    let all_day = interview.get("all_day").and_then(Value::as_bool).unwrap_or(false);
    if all_day {
        let date = |field: &'static str| {
            interview
                .get(field)
                .and_then(Value::as_str)
                .and_then(|d| d.parse::<NaiveDate>().ok())
                .ok_or(MappingError::Missing { record: "interview", id: id.clone(), field })
        };
        let (start, end) = (date("start_date")?, date("end_date")?);
        return Ok(json!({
            "starts_at": null, "ends_at": null,
            "all_day_start_on": start.to_string(), "all_day_end_on": end.to_string(),
        }));
    }
    let instant = |field: &'static str| {
        interview
            .get(field)
            .and_then(Value::as_str)
            .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
            .map(|t| t.with_timezone(&Utc))
            .ok_or(MappingError::Missing { record: "interview", id: id.clone(), field })
    };
    let (start, end) = (instant("start_at")?, instant("end_at")?);
    Ok(json!({
        "starts_at": greenhouse_timestamp(start), "ends_at": greenhouse_timestamp(end),
        "all_day_start_on": null, "all_day_end_on": null,
    }))
}

/// Whether a Greenhouse interview record already has these times (compared as instants).
pub fn same_times(greenhouse_interview: &Value, times: &Value) -> bool {
    let instant = |v: &Value, k: &str| {
        v.get(k)
            .and_then(Value::as_str)
            .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
            .map(|t| t.timestamp())
    };
    let date = |v: &Value, k: &str| v.get(k).and_then(Value::as_str).map(str::to_owned);
    ["starts_at", "ends_at"].iter().all(|k| instant(greenhouse_interview, k) == instant(times, k))
        && ["all_day_start_on", "all_day_end_on"]
            .iter()
            .all(|k| date(greenhouse_interview, k) == date(times, k))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn candidate_maps_names_emails_phones_and_zone() {
        let candidate = json!({
            "id": 4_300_000_001_i64, "first_name": "  Ana ", "last_name": "Ruiz",
            "email_addresses": [
                {"value": "Ana@Work.test", "type": "work"},
                {"value": "ana@home.test", "type": "personal"}
            ],
            "phone_numbers": [{"value": "+34 (600) 123-456", "type": "skype"}, {"value": "n/a", "type": "home"}],
            "time_zone": null
        });
        let mapped = candidate_to_iop(&candidate, &MappingSection::default()).unwrap();
        assert_eq!(mapped["first_name"], "Ana");
        assert_eq!(
            mapped["emails"][0],
            json!({"address": "ana@work.test", "type": "work", "primary": false})
        );
        assert_eq!(
            mapped["emails"][1],
            json!({"address": "ana@home.test", "type": "personal", "primary": true})
        );
        assert_eq!(mapped["phones"], json!([{"number": "+34600123456", "type": "other"}]));
        assert_eq!(mapped["timezone"], "UTC");
    }

    #[test]
    fn a_candidate_zone_outside_the_tz_database_falls_back_to_the_default() {
        let mapping =
            MappingSection { default_timezone: "Europe/Madrid".into(), ..Default::default() };
        let zone = |tz: Value| {
            let candidate = json!({"id": 7, "first_name": "Ana", "time_zone": tz});
            (candidate_to_iop(&candidate, &mapping).unwrap()["timezone"].clone(), {
                candidate_timezone(&candidate, &mapping).replaced
            })
        };
        assert_eq!(zone(json!("America/New_York")), (json!("America/New_York"), None));
        assert_eq!(zone(json!(null)), (json!("Europe/Madrid"), None));
        assert_eq!(zone(json!("   ")), (json!("Europe/Madrid"), None));
        assert_eq!(
            zone(json!("Mars/Olympus")),
            (json!("Europe/Madrid"), Some("Mars/Olympus".into()))
        );
        assert_eq!(zone(json!("CEST")), (json!("Europe/Madrid"), Some("CEST".into())));
    }

    #[test]
    fn candidate_without_names_is_an_error_naming_the_field() {
        let error =
            candidate_to_iop(&json!({"id": 7, "first_name": " "}), &MappingSection::default())
                .unwrap_err();
        assert_eq!(error.to_string(), "candidate 7: first_name/last_name is missing or empty");
    }

    #[test]
    fn recommendations_follow_greenhouse_ratings() {
        assert_eq!(recommendation_to_rating("definitely_not", "fb_1"), Ok("strong_no"));
        assert_eq!(recommendation_to_rating("strong_yes", "fb_1"), Ok("strong_yes"));
        assert!(recommendation_to_rating("maybe", "fb_1").is_err());
    }

    #[test]
    fn all_day_interviews_keep_their_dates() {
        let times = interview_times(&json!({"id": "int_1", "all_day": true, "start_date": "2026-03-10", "end_date": "2026-03-11"}))
            .unwrap();
        assert_eq!(times["all_day_start_on"], "2026-03-10");
        assert_eq!(times["starts_at"], Value::Null);

        let timed = interview_times(&json!({"id": "int_2", "start_at": "2026-03-10T14:00:00Z", "end_at": "2026-03-10T15:00:00Z"}))
            .unwrap();
        assert_eq!(timed["starts_at"], "2026-03-10T14:00:00.000Z");
        assert!(same_times(
            &json!({"starts_at": "2026-03-10T14:00:00Z", "ends_at": "2026-03-10T15:00:00.000Z"}),
            &timed
        ));
    }

    #[test]
    fn interviewers_go_by_greenhouse_id_else_email_and_skip_shadows() {
        let interview = json!({"interviewers": [
            {"user_id": "usr_1", "email": "a@x.test", "response_status": "accepted"},
            {"user_id": "usr_2", "email": "b@x.test"},
            {"user_id": "usr_3", "email": "c@x.test", "role": "shadow"}
        ]});
        let matching = InterviewerMatching {
            email_aliases: [("bee@gh.test".to_owned(), "B@x.test".to_owned())].into(),
            ..Default::default()
        };
        let mapped =
            interviewers_to_greenhouse(&interview, |u| (u == "usr_1").then_some(11), &matching);
        assert_eq!(
            mapped,
            vec![
                json!({"user_id": 11, "response_status": "accepted"}),
                json!({"email": "bee@gh.test", "response_status": "needs_action"})
            ]
        );
    }

    fn rule(from: &str, to: &str, kind: &str, transform: &str, required: bool) -> CustomFieldRule {
        CustomFieldRule {
            from: from.into(),
            to: to.into(),
            field_type: kind.into(),
            transform: transform.into(),
            required,
        }
    }

    #[test]
    fn custom_fields_land_under_their_targets_in_canonical_shape() {
        let rules = [
            rule(
                "candidate.custom_fields.level",
                "candidate.custom_fields.seniority",
                "single_select",
                "lowercase",
                false,
            ),
            rule(
                "application.custom_fields.salary",
                "scheduling_request.custom_fields.budget",
                "currency",
                "none",
                false,
            ),
            rule(
                "candidate.custom_fields.relocate",
                "candidate.custom_fields.relocate",
                "yes_no",
                "none",
                false,
            ),
        ];
        let candidate = json!({"id": 5, "custom_fields": {
            "level": "Senior",
            "relocate": {"name": "Relocate?", "type": "boolean", "value": true}
        }});
        let application =
            json!({"id": 9, "custom_fields": {"salary": {"unit": "eur", "amount": 90000}}});
        let mapped = custom_fields_to_iop(&rules, &candidate, Some(&application)).unwrap();
        assert_eq!(
            Value::Object(mapped.candidate),
            json!({"seniority": "senior", "relocate": true})
        );
        assert_eq!(
            Value::Object(mapped.scheduling_request),
            json!({"budget": {"unit": "EUR", "amount": 90000}})
        );
        assert!(mapped.skipped.is_empty());

        let without_application = custom_fields_to_iop(&rules, &candidate, None).unwrap();
        assert!(without_application.scheduling_request.is_empty());
    }

    #[test]
    fn a_wrong_type_skips_an_optional_field_and_fails_a_required_one_without_the_value() {
        let candidate = json!({"id": 5, "custom_fields": {"phone2": "call me maybe"}});
        let optional = [rule(
            "candidate.custom_fields.phone2",
            "candidate.custom_fields.phone",
            "short_text",
            "phone",
            false,
        )];
        let mapped = custom_fields_to_iop(&optional, &candidate, None).unwrap();
        assert!(mapped.candidate.is_empty());
        assert_eq!(
            mapped.skipped,
            [
                "candidate 5: custom field candidate.custom_fields.phone2 skipped: not a phone number"
            ]
        );

        let required = [CustomFieldRule { required: true, ..optional[0].clone() }];
        let error = custom_fields_to_iop(&required, &candidate, None).unwrap_err();
        assert_eq!(
            error.to_string(),
            "candidate 5: required custom field candidate.custom_fields.phone2 is not a phone number"
        );
        assert!(!error.to_string().contains("maybe"));

        let missing = [rule(
            "candidate.custom_fields.gone",
            "candidate.custom_fields.gone",
            "number",
            "none",
            true,
        )];
        let error =
            custom_fields_to_iop(&missing, &json!({"id": 5, "custom_fields": {"gone": " "}}), None)
                .unwrap_err();
        assert_eq!(
            error.to_string(),
            "candidate 5: required custom field candidate.custom_fields.gone is missing"
        );
    }

    #[test]
    fn users_match_by_greenhouse_id_then_by_aliased_email_and_only_when_active() {
        let users = [
            json!({"id": "usr_1", "email": "old@iop.test", "status": "deactivated", "external_refs": {"greenhouse": {"user_id": 7}}}),
            json!({"id": "usr_2", "email": "priya@iop.test", "status": "active", "external_refs": {}}),
            json!({"id": "usr_3", "email": "marco@acme.test", "status": "active", "external_refs": {"greenhouse": {"user_id": 8}}}),
        ];
        let matching = InterviewerMatching {
            email_aliases: [("Priya@Acme.test".to_owned(), "priya@iop.test".to_owned())].into(),
            ..Default::default()
        };
        let emails = |e: &str| vec![e.to_owned()];
        assert_eq!(iop_user_for(8, &emails("x@y.test"), &users, &matching), Some("usr_3"));
        assert_eq!(iop_user_for(7, &emails("priya@acme.test"), &users, &matching), Some("usr_2"));
        assert_eq!(iop_user_for(7, &emails("nobody@acme.test"), &users, &matching), None);
        let by_id_only = InterviewerMatching { match_by_email: false, ..matching };
        assert_eq!(iop_user_for(7, &emails("priya@acme.test"), &users, &by_id_only), None);
    }

    #[test]
    fn pools_keep_order_drop_duplicates_and_report_unknown_users() {
        let defaults = [(1, 10), (1, 11), (1, 10), (2, 12), (2, 13)];
        let (pools, unknown) =
            interviewer_pools(&defaults, |u| (u != 13).then(|| format!("usr_{u}")));
        assert_eq!(pools[&1], ["usr_10", "usr_11"]);
        assert_eq!(pools[&2], ["usr_12"]);
        assert_eq!(unknown, [13]);
    }
}
