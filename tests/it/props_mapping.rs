//! Property tests of the engine's pure mapping functions: arbitrary Greenhouse candidates
//! (unicode and HTML in names, missing emails and phones, mixed email types, very long
//! strings, ids above 2^32, null time zones) either map to an IOP body that keeps the laws or
//! give a typed error; recommendations and interview times map as the contract says; custom
//! fields of every Greenhouse type, holding any JSON at all, map per their laws or give a typed
//! error naming the field.

use chrono::{DateTime, FixedOffset, NaiveDate, TimeZone, Utc};
use proptest::prelude::*;
use rehearsal::engine::config::{CustomFieldRule, InterviewerMatching, MappingSection};
use rehearsal::engine::field_types::{FieldType, Transform};
use rehearsal::engine::mapping::{
    MappingError, candidate_to_iop, custom_fields_to_iop, interview_times, iop_user_for,
    recommendation_to_rating,
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
        // The primary is the first email of the most preferred type present, as the IOP sees
        // the types (Greenhouse types outside its set arrive as `other`).
        let preferred = mapping.email_type_preference.iter().find_map(|wanted| {
            emails
                .iter()
                .position(|e| e["type"].as_str().is_some_and(|k| k.eq_ignore_ascii_case(wanted)))
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

/// Any JSON a custom field might hold: scalars, numeric strings, lists, the object shapes of
/// currencies, ranges and users, webhook-style `{name, type, value}` wrappers, nesting.
fn any_custom_value() -> impl Strategy<Value = Value> {
    let scalar = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        any::<f64>().prop_map(|f| json!(f)),
        "\\PC{0,40}".prop_map(Value::String),
        "[ ]{0,2}(-?[0-9]{1,6}(\\.[0-9]{1,3})?|NaN|inf)[ ]{0,2}".prop_map(Value::String),
        "(0[1-9]|1[0-2])/[0-3][0-9]/(19|20)[0-9]{2}|20[0-9]{2}-[0-1][0-9]-[0-3][0-9]"
            .prop_map(Value::String),
        "(yes|No|TRUE|n|0|maybe|[A-Z][a-z]{2,8}/[A-Z][a-z_]{2,10})".prop_map(Value::String),
        "[+]?[0-9 ()-]{0,16}".prop_map(Value::String),
    ];
    scalar.prop_recursive(2, 16, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            (prop::option::of("[A-Za-z]{2,4}"), inner.clone(), inner.clone()).prop_map(
                |(unit, a, b)| json!({"unit": unit, "amount": a, "min_value": a, "max_value": b})
            ),
            (any::<i64>(), prop::option::of("[a-z]{1,6}@[a-z]{1,6}\\.test"))
                .prop_map(|(id, email)| json!({"id": id, "name": "X", "email": email})),
            inner.prop_map(|v| json!({"name": "Field", "type": "short_text", "value": v})),
        ]
    })
}

/// The JSON kind a successfully mapped value must have, by type and transform.
fn kind_holds(value: &Value, field_type: FieldType, transform: Transform) -> bool {
    match transform {
        Transform::YesNoToBool => return value.is_boolean(),
        Transform::UserEmail => return value.as_str().is_some_and(|e| e.contains('@')),
        Transform::Phone | Transform::Timezone | Transform::Date => return value.is_string(),
        _ => {}
    }
    let numberish = |v: Option<&Value>| v.is_some_and(|v| v.is_number() || v.is_null());
    match field_type {
        FieldType::ShortText | FieldType::LongText | FieldType::SingleSelect | FieldType::Url => {
            value.is_string()
        }
        FieldType::YesNo => value.is_boolean(),
        FieldType::MultiSelect => value.as_array().is_some_and(|a| a.iter().all(Value::is_string)),
        FieldType::Number => value.is_number(),
        FieldType::NumberRange => {
            numberish(value.get("min_value")) && numberish(value.get("max_value"))
        }
        FieldType::Currency => {
            value["unit"].as_str().is_some_and(|u| u.len() == 3) && value["amount"].is_number()
        }
        FieldType::CurrencyRange => {
            value["unit"].is_string()
                && numberish(value.get("min_value"))
                && numberish(value.get("max_value"))
        }
        FieldType::Date => value.as_str().is_some_and(|d| d.parse::<NaiveDate>().is_ok()),
        FieldType::User => value["user_id"].is_i64(),
    }
}

fn type_and_transform() -> impl Strategy<Value = (FieldType, Transform)> {
    let pairs: Vec<(FieldType, Transform)> = FieldType::ALL
        .into_iter()
        .flat_map(|t| {
            Transform::ALL.into_iter().filter(move |x| x.applies_to(t)).map(move |x| (t, x))
        })
        .collect();
    prop::sample::select(pairs)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    /// Laws: an arbitrary value of any declared type either lands under its target with the
    /// type's shape, or is skipped with an audit line (optional), or gives a typed error naming
    /// the field (required); text transforms are idempotent; neither an audit line nor an error
    /// repeats the value.
    #[test]
    fn custom_field_values_map_by_the_laws_or_give_a_typed_error(
        (field_type, transform) in type_and_transform(),
        raw in prop::option::of(any_custom_value()),
        required in any::<bool>(),
        from_application in any::<bool>(),
    ) {
        let source = if from_application { "application" } else { "candidate" };
        let rule = CustomFieldRule {
            from: format!("{source}.custom_fields.k"),
            to: "scheduling_request.custom_fields.out".into(),
            field_type: field_type.name().into(),
            transform: transform.name().into(),
            required,
        };
        let fields = raw.clone().map(|v| json!({"k": v})).unwrap_or(json!({}));
        let candidate = json!({"id": 1, "custom_fields": if from_application { json!({}) } else { fields.clone() }});
        let application = json!({"id": 2, "custom_fields": if from_application { fields } else { json!({}) }});
        let field = format!("{source}.custom_fields.k");
        let long_text = raw.as_ref().and_then(Value::as_str).filter(|s| s.chars().count() >= 12);

        match custom_fields_to_iop(std::slice::from_ref(&rule), &candidate, Some(&application)) {
            Ok(mapped) => {
                prop_assert!(mapped.candidate.is_empty());
                match mapped.scheduling_request.get("out") {
                    Some(value) => {
                        prop_assert!(kind_holds(value, field_type, transform), "{:?} {:?} → {}", field_type, transform, value);
                        prop_assert!(mapped.skipped.is_empty());
                        if matches!(transform, Transform::Trim | Transform::Lowercase | Transform::Uppercase) {
                            let again = json!({"id": 2, "custom_fields": {"k": value}});
                            let twice = custom_fields_to_iop(std::slice::from_ref(&rule), &again, Some(&again)).unwrap();
                            prop_assert_eq!(twice.scheduling_request.get("out"), Some(value));
                        }
                    }
                    None => {
                        prop_assert!(!required);
                        for line in &mapped.skipped {
                            prop_assert!(line.contains(&field), "{}", line);
                            if let Some(text) = long_text {
                                prop_assert!(!line.contains(text), "the audit line repeats the value: {}", line);
                            }
                        }
                    }
                }
            }
            Err(error) => {
                prop_assert!(required, "an optional field never fails the record: {}", error);
                let named = match &error {
                    MappingError::WrongType { field: f, .. } | MappingError::MissingField { field: f, .. } => f == &field,
                    _ => false,
                };
                prop_assert!(named, "{:?}", error);
                if let Some(text) = long_text {
                    prop_assert!(!error.to_string().contains(text), "the error repeats the value: {}", error);
                }
            }
        }
    }

    /// A value of each type in its own shape always maps with `none` (the identity law).
    #[test]
    fn well_typed_values_always_map_with_no_transform(
        text in "\\PC{1,30}",
        flag in any::<bool>(),
        number in -1_000_000i64..1_000_000,
        day in 0i64..40_000,
        user_id in 1i64..i64::MAX,
    ) {
        let date = (NaiveDate::from_ymd_opt(1970, 1, 1).unwrap() + chrono::Duration::days(day)).to_string();
        let cases = [
            (FieldType::ShortText, json!(text)),
            (FieldType::LongText, json!(text)),
            (FieldType::SingleSelect, json!(text)),
            (FieldType::Url, json!(text)),
            (FieldType::YesNo, json!(flag)),
            (FieldType::MultiSelect, json!([text, "b"])),
            (FieldType::Number, json!(number)),
            (FieldType::NumberRange, json!({"min_value": number, "max_value": null})),
            (FieldType::Currency, json!({"unit": "usd", "amount": number})),
            (FieldType::CurrencyRange, json!({"unit": "EUR", "min_value": number, "max_value": number})),
            (FieldType::Date, json!(date)),
            (FieldType::User, json!({"id": user_id, "email": "a@b.test"})),
        ];
        prop_assert_eq!(cases.len(), FieldType::ALL.len());
        for (field_type, value) in cases {
            if value.as_str().is_some_and(|s| s.trim().is_empty()) {
                continue;
            }
            let rule = CustomFieldRule {
                from: "candidate.custom_fields.k".into(),
                to: "candidate.custom_fields.k".into(),
                field_type: field_type.name().into(),
                transform: "none".into(),
                required: true,
            };
            let candidate = json!({"id": 1, "custom_fields": {"k": value}});
            let mapped = custom_fields_to_iop(&[rule], &candidate, None);
            prop_assert!(mapped.is_ok(), "{:?}: {:?}", field_type, mapped);
            let mapped = mapped.unwrap();
            prop_assert!(kind_holds(&mapped.candidate["k"], field_type, Transform::None));
        }
    }
}

proptest! {
    /// Laws of the user map: only active users; a user linked by Greenhouse id wins over any
    /// e-mail match; an e-mail match honours the aliases; with e-mail matching off, nothing
    /// but a link matches.
    #[test]
    fn the_user_map_prefers_links_and_never_picks_an_inactive_user(
        users in prop::collection::vec(
            (prop::option::of(1i64..5), 0usize..4, any::<bool>()), 0..8),
        gh_user_id in 1i64..5,
        gh_email in 0usize..4,
        aliased in any::<bool>(),
        by_email in any::<bool>(),
    ) {
        let addresses = ["a@gh.test", "b@gh.test", "a@iop.test", "c@iop.test"];
        let users: Vec<Value> = users
            .iter()
            .enumerate()
            .map(|(i, (link, email, active))| {
                let refs = link.map(|id| json!({"greenhouse": {"user_id": id}})).unwrap_or(json!({}));
                json!({"id": format!("usr_{i}"), "email": addresses[*email].to_uppercase(),
                       "status": if *active { "active" } else { "deactivated" }, "external_refs": refs})
            })
            .collect();
        let mut matching = InterviewerMatching { match_by_email: by_email, ..Default::default() };
        if aliased {
            matching.email_aliases.insert("A@gh.test".into(), "a@iop.test".into());
        }
        let emails = vec![addresses[gh_email].to_owned()];
        let picked = iop_user_for(gh_user_id, &emails, &users, &matching);

        let active = |u: &&Value| u["status"] == "active";
        let linked = users.iter().filter(active).find(|u| u["external_refs"]["greenhouse"]["user_id"] == gh_user_id);
        match (picked, linked) {
            (Some(id), Some(first)) => prop_assert_eq!(id, first["id"].as_str().unwrap()),
            (None, Some(_)) => prop_assert!(false, "a linked active user was not picked"),
            (Some(id), None) => {
                prop_assert!(by_email);
                let user = users.iter().find(|u| u["id"] == id).unwrap();
                prop_assert_eq!(&user["status"], "active");
                let wanted = matching.iop_email(&emails[0]);
                prop_assert!(user["email"].as_str().unwrap().eq_ignore_ascii_case(&wanted));
            }
            (None, None) => {
                let wanted = matching.iop_email(&emails[0]);
                let by_address = users.iter().filter(active)
                    .any(|u| u["email"].as_str().unwrap().eq_ignore_ascii_case(&wanted));
                prop_assert!(!(by_email && by_address), "an active user with the address was missed");
            }
        }
    }
}
