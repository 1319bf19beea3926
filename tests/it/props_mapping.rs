//! Property tests of the engine's pure mapping functions: arbitrary Greenhouse candidates
//! (unicode and HTML in names, missing emails and phones, mixed email types, very long
//! strings, ids above 2^32, null time zones) either map to an IOP body that keeps the laws or
//! give a typed error; recommendations and interview times map as the contract says.

use chrono::{DateTime, FixedOffset, NaiveDate, TimeZone, Utc};
use proptest::prelude::*;
use rehearsal::engine::config::MappingSection;
use rehearsal::engine::mapping::{
    MappingError, candidate_to_iop, interview_times, recommendation_to_rating,
};
use serde_json::{Value, json};

/// The values the IOP's `overall_recommendation` takes (contract §4.3).
const IOP_RECOMMENDATIONS: [&str; 5] = ["definitely_not", "no", "yes", "strong_yes", "no_decision"];

/// Whitespace `str::trim` removes, ASCII and not, to pad names with.
fn padding() -> impl Strategy<Value = String> {
    prop::collection::vec(prop::sample::select(vec![' ', '\t', '\n', '\u{a0}', '\u{2003}']), 0..3)
        .prop_map(|chars| chars.into_iter().collect())
}

/// A name: empty, plain, HTML, arbitrary unicode, or very long; padded with whitespace.
fn name() -> impl Strategy<Value = String> {
    let core = prop_oneof![
        Just(String::new()),
        "[A-Za-z][a-z]{0,12}",
        Just("<b>Ana</b> & \"Co\"".to_owned()),
        "\\PC{1,24}",
        "[a-zé]{2000,5000}",
    ];
    (padding(), core, padding()).prop_map(|(before, core, after)| format!("{before}{core}{after}"))
}

/// An email type as Greenhouse may send it, including odd casings, unknown types and none.
fn email_type() -> impl Strategy<Value = Option<String>> {
    prop::option::weighted(
        0.9,
        prop::sample::select(vec!["personal", "work", "other", "Personal", "WORK", "OTHER"])
            .prop_map(str::to_owned),
    )
}

fn email() -> impl Strategy<Value = Value> {
    let address = prop_oneof![
        "[A-Za-z0-9.]{1,12}@[A-Za-z]{1,8}\\.(test|COM)",
        Just(String::new()),
        Just("   ".to_owned()),
        "\\PC{1,16}@ÉXAMPLE\\.test",
    ];
    (padding(), address, email_type()).prop_map(|(pad, address, kind)| {
        let mut email = json!({"value": format!("{pad}{address}")});
        if let Some(kind) = kind {
            email["type"] = json!(kind);
        }
        email
    })
}

fn phone() -> impl Strategy<Value = Value> {
    ("[+]?[0-9 ()-]{0,20}|n/a|\\PC{0,8}", "mobile|home|work|skype|fax|")
        .prop_map(|(value, kind)| json!({"value": value, "type": kind}))
}

fn id() -> impl Strategy<Value = Value> {
    prop_oneof![
        (1i64..1_000_000).prop_map(|n| json!(n)),
        ((1i64 << 32)..i64::MAX).prop_map(|n| json!(n)),
        Just(Value::Null),
    ]
}

/// A Greenhouse v3 candidate record, fields sometimes missing.
fn candidate() -> impl Strategy<Value = Value> {
    (
        id(),
        prop::option::of(name()),
        prop::option::of(name()),
        prop::option::of(prop::collection::vec(email(), 0..6)),
        prop::option::of(prop::collection::vec(phone(), 0..4)),
        prop_oneof![
            Just(Value::Null),
            Just(json!("  ")),
            Just(json!("Europe/Madrid")),
            Just(json!(" America/New_York ")),
        ],
    )
        .prop_map(|(id, first, last, emails, phones, zone)| {
            let mut record = json!({"id": id, "time_zone": zone});
            if let Some(first) = first {
                record["first_name"] = json!(first);
            }
            if let Some(last) = last {
                record["last_name"] = json!(last);
            }
            if let Some(emails) = emails {
                record["email_addresses"] = Value::Array(emails);
            }
            if let Some(phones) = phones {
                record["phone_numbers"] = Value::Array(phones);
            }
            record
        })
}

fn field(record: &Value, key: &str) -> String {
    record.get(key).and_then(Value::as_str).unwrap_or_default().to_owned()
}

/// The emails the law expects, in order: every non-blank address, trimmed and lower-cased.
fn expected_addresses(candidate: &Value) -> Vec<(String, String)> {
    candidate
        .get("email_addresses")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .map(|e| (field(e, "value").trim().to_lowercase(), field(e, "type")))
        .filter(|(address, _)| !address.is_empty())
        .collect()
}

fn check_candidate_laws(candidate: &Value, mapping: &MappingSection) -> Result<(), TestCaseError> {
    let first = field(candidate, "first_name").trim().to_owned();
    let last = field(candidate, "last_name").trim().to_owned();
    let mapped = match candidate_to_iop(candidate, mapping) {
        Ok(mapped) => mapped,
        Err(error) => {
            // The only refusal is a candidate with no name at all, named as such.
            prop_assert!(first.is_empty() && last.is_empty(), "refused a named candidate");
            let named =
                matches!(error, MappingError::Missing { field: "first_name/last_name", .. });
            prop_assert!(named, "unexpected error: {}", error);
            return Ok(());
        }
    };
    prop_assert!(!(first.is_empty() && last.is_empty()), "mapped a candidate without a name");
    prop_assert_eq!(&mapped["first_name"], &json!(first));
    prop_assert_eq!(&mapped["last_name"], &json!(last));

    let expected = expected_addresses(candidate);
    let emails = mapped["emails"].as_array().cloned().unwrap_or_default();
    let addresses: Vec<&str> = emails.iter().filter_map(|e| e["address"].as_str()).collect();
    let wanted: Vec<&str> = expected.iter().map(|(a, _)| a.as_str()).collect();
    prop_assert_eq!(addresses, wanted, "every address kept, lower-cased, in order");

    let primaries: Vec<usize> =
        (0..emails.len()).filter(|&i| emails[i]["primary"] == true).collect();
    if expected.is_empty() {
        prop_assert!(primaries.is_empty());
    } else {
        prop_assert_eq!(primaries.len(), 1, "exactly one primary email");
        // The primary is the first email of the most preferred type present, ranked by the
        // type the IOP sees: anything but personal or work (no type included) is `other`.
        let iop_type = |kind: &str| match kind.to_ascii_lowercase().as_str() {
            "personal" => "personal",
            "work" => "work",
            _ => "other",
        };
        let preferred = mapping.email_type_preference.iter().find_map(|wanted| {
            expected.iter().position(|(_, kind)| iop_type(kind).eq_ignore_ascii_case(wanted))
        });
        prop_assert_eq!(primaries[0], preferred.unwrap_or(0));
    }

    let zone = field(candidate, "time_zone").trim().to_owned();
    let zone = if zone.is_empty() { mapping.default_timezone.clone() } else { zone };
    prop_assert_eq!(&mapped["timezone"], &json!(zone));
    for phone in mapped["phones"].as_array().into_iter().flatten() {
        let number = phone["number"].as_str().unwrap_or_default();
        let digits = number.strip_prefix('+').unwrap_or(number);
        prop_assert!(!digits.is_empty() && digits.chars().all(|c| c.is_ascii_digit()));
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn candidates_map_by_the_laws_or_give_a_typed_error(candidate in candidate()) {
        check_candidate_laws(&candidate, &MappingSection::default())?;
    }

    #[test]
    fn a_different_preference_order_picks_its_own_primary(
        candidate in candidate(),
        order in Just(vec!["work".to_owned(), "other".to_owned(), "personal".to_owned()]).prop_shuffle(),
    ) {
        let mapping = MappingSection { email_type_preference: order, ..MappingSection::default() };
        check_candidate_laws(&candidate, &mapping)?;
    }

    #[test]
    fn every_iop_recommendation_maps_and_nothing_else_does(other in "\\PC{0,20}") {
        for value in IOP_RECOMMENDATIONS {
            prop_assert!(recommendation_to_rating(value, "fb_1").is_ok());
        }
        let known = IOP_RECOMMENDATIONS.contains(&other.as_str());
        prop_assert_eq!(recommendation_to_rating(&other, "fb_1").is_ok(), known);
    }

    #[test]
    fn timed_interviews_keep_their_instants_in_utc(
        start_secs in 0i64..4_102_444_800,
        length_mins in 1i64..600,
        offset_mins in -14 * 60i32..=14 * 60,
    ) {
        let zone = FixedOffset::east_opt(offset_mins * 60).unwrap();
        let start = zone.timestamp_opt(start_secs, 0).unwrap();
        let end = start + chrono::Duration::minutes(length_mins);
        let times = interview_times(&json!({
            "id": "int_1", "start_at": start.to_rfc3339(), "end_at": end.to_rfc3339(),
        })).unwrap();
        for (key, at) in [("starts_at", start), ("ends_at", end)] {
            let text = times[key].as_str().unwrap();
            prop_assert!(text.ends_with('Z'), "{} is not in UTC: {}", key, text);
            let back = DateTime::parse_from_rfc3339(text).unwrap().with_timezone(&Utc);
            prop_assert_eq!(back.timestamp(), at.timestamp());
        }
        prop_assert_eq!(&times["all_day_start_on"], &Value::Null);
    }

    #[test]
    fn all_day_interviews_keep_their_dates(day in 0i64..200_000, days in 0i64..5) {
        let start = NaiveDate::from_ymd_opt(1970, 1, 1).unwrap() + chrono::Duration::days(day);
        let end = start + chrono::Duration::days(days);
        let times = interview_times(&json!({
            "id": "int_2", "all_day": true,
            "start_date": start.to_string(), "end_date": end.to_string(),
        })).unwrap();
        prop_assert_eq!(&times["all_day_start_on"], &json!(start.to_string()));
        prop_assert_eq!(&times["all_day_end_on"], &json!(end.to_string()));
        prop_assert_eq!(&times["starts_at"], &Value::Null);
    }
}

/// Regression: Greenhouse types outside the IOP's set (`home`, none at all) become IOP `other`;
/// the primary used to be chosen by Greenhouse's raw type, so with a preference for `other`
/// the IOP saw an `other` email that was not primary ahead of the one that was.
#[test]
fn primary_follows_the_mapped_type() {
    let mapping =
        MappingSection { email_type_preference: vec!["other".into()], ..MappingSection::default() };
    let candidate = json!({"id": 1, "first_name": "Ana", "email_addresses": [
        {"value": "a@x.test", "type": "home"},
        {"value": "b@x.test", "type": "other"}
    ]});
    let mapped = candidate_to_iop(&candidate, &mapping).unwrap();
    assert_eq!(mapped["emails"][0]["type"], "other");
    assert_eq!(mapped["emails"][0]["primary"], true, "the first `other` email is primary");
}
