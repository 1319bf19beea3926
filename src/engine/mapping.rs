//! Field mapping between Greenhouse and the IOP: pure functions, so their laws can be tested
//! (and property-tested) without any server.

use chrono::{DateTime, NaiveDate, Utc};
use serde_json::{Value, json};

use super::config::MappingSection;
use crate::clock::greenhouse_timestamp;

/// Why a record could not be mapped. The message names the field, never its value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MappingError {
    #[error("{record} {id}: {field} is missing or empty")]
    Missing { record: &'static str, id: String, field: &'static str },
    #[error("{record} {id}: {field} has an unknown value")]
    Unknown { record: &'static str, id: String, field: &'static str },
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

    let timezone = candidate
        .get("time_zone")
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|tz| !tz.is_empty())
        .unwrap_or(&mapping.default_timezone);

    Ok(json!({
        "first_name": first_name,
        "last_name": last_name,
        "emails": emails,
        "phones": phones,
        "timezone": timezone,
    }))
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

/// Greenhouse interviewer entries for the IOP interview's interviewers. `gh_user_id` gives the
/// Greenhouse user of an IOP user when it is known; otherwise the interviewer goes by email.
pub fn interviewers_to_greenhouse(
    interview: &Value,
    gh_user_id: impl Fn(&str) -> Option<i64>,
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
                    (!email.is_empty()).then(|| json!({"email": email, "response_status": status}))
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
        let mapped = interviewers_to_greenhouse(&interview, |u| (u == "usr_1").then_some(11));
        assert_eq!(
            mapped,
            vec![
                json!({"user_id": 11, "response_status": "accepted"}),
                json!({"email": "b@x.test", "response_status": "needs_action"})
            ]
        );
    }
}
