//! Greenhouse custom-field value types and the transforms a mapping rule may apply to them.
//!
//! A value is first read as its declared type (Harvest's `value_type`: `short_text`, `yes_no`,
//! `currency`, …) into one canonical JSON shape, then transformed. Which transform applies to
//! which type is one table ([`Transform::applies_to`]); `engine check` reads the same table, so
//! a rule the checker accepts never meets a transform it cannot run. Everything here is pure.

use chrono::NaiveDate;
use serde_json::{Map, Value, json};

/// A Greenhouse custom field's `value_type` (Harvest custom-field definitions).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FieldType {
    ShortText,
    LongText,
    YesNo,
    SingleSelect,
    MultiSelect,
    Currency,
    CurrencyRange,
    Number,
    NumberRange,
    Date,
    Url,
    User,
}

impl FieldType {
    pub const ALL: [FieldType; 12] = [
        Self::ShortText,
        Self::LongText,
        Self::YesNo,
        Self::SingleSelect,
        Self::MultiSelect,
        Self::Currency,
        Self::CurrencyRange,
        Self::Number,
        Self::NumberRange,
        Self::Date,
        Self::Url,
        Self::User,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Self::ShortText => "short_text",
            Self::LongText => "long_text",
            Self::YesNo => "yes_no",
            Self::SingleSelect => "single_select",
            Self::MultiSelect => "multi_select",
            Self::Currency => "currency",
            Self::CurrencyRange => "currency_range",
            Self::Number => "number",
            Self::NumberRange => "number_range",
            Self::Date => "date",
            Self::Url => "url",
            Self::User => "user",
        }
    }

    /// The type named `name` exactly as Harvest spells it.
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.name() == name)
    }

    /// What a value of this type looks like, for messages (never the value itself).
    fn expected(self) -> &'static str {
        match self {
            Self::ShortText | Self::LongText | Self::SingleSelect | Self::Url => "a string",
            Self::YesNo => "true or false",
            Self::MultiSelect => "a list of strings",
            Self::Currency => "an object with `unit` and `amount`",
            Self::CurrencyRange => "an object with `unit`, `min_value` and `max_value`",
            Self::Number => "a number",
            Self::NumberRange => "an object with `min_value` and `max_value`",
            Self::Date => "a YYYY-MM-DD date",
            Self::User => "a user id or an object with `id`",
        }
    }
}

/// What a rule does to a value after reading it as its type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Transform {
    None,
    Trim,
    Lowercase,
    Uppercase,
    Phone,
    Timezone,
    Date,
    YesNoToBool,
    UserEmail,
}

impl Transform {
    pub const ALL: [Transform; 9] = [
        Self::None,
        Self::Trim,
        Self::Lowercase,
        Self::Uppercase,
        Self::Phone,
        Self::Timezone,
        Self::Date,
        Self::YesNoToBool,
        Self::UserEmail,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Self::None => "none",
            Self::Trim => "trim",
            Self::Lowercase => "lowercase",
            Self::Uppercase => "uppercase",
            Self::Phone => "phone",
            Self::Timezone => "timezone",
            Self::Date => "date",
            Self::YesNoToBool => "yes_no_to_bool",
            Self::UserEmail => "user_email",
        }
    }

    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.name() == name)
    }

    /// Whether this transform means anything for a field of type `field_type`.
    pub fn applies_to(self, field_type: FieldType) -> bool {
        use FieldType as T;
        match self {
            Self::None => true,
            Self::Trim | Self::Lowercase | Self::Uppercase => matches!(
                field_type,
                T::ShortText | T::LongText | T::SingleSelect | T::MultiSelect | T::Url
            ),
            Self::Phone => field_type == T::ShortText,
            Self::Timezone => matches!(field_type, T::ShortText | T::SingleSelect),
            Self::Date => matches!(field_type, T::Date | T::ShortText),
            Self::YesNoToBool => matches!(field_type, T::YesNo | T::ShortText | T::SingleSelect),
            Self::UserEmail => field_type == T::User,
        }
    }

    /// The transforms valid for `field_type`, in the order they are documented.
    pub fn valid_for(field_type: FieldType) -> Vec<&'static str> {
        Self::ALL.into_iter().filter(|t| t.applies_to(field_type)).map(Self::name).collect()
    }
}

/// A value that is not what its rule expects. It says what was expected, never what came.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Mismatch {
    pub expected: &'static str,
}

fn mismatch(expected: &'static str) -> Mismatch {
    Mismatch { expected }
}

/// Reads `value` as `field_type` and applies `transform`. A transform that does not apply to
/// the type (a config the checker would refuse) is a mismatch too, never a panic.
pub fn convert(
    value: &Value,
    field_type: FieldType,
    transform: Transform,
) -> Result<Value, Mismatch> {
    if !transform.applies_to(field_type) {
        return Err(mismatch("a type this transform applies to"));
    }
    let value = canonical(value, field_type)?;
    apply(&value, transform)
}

/// The one JSON shape each type is carried in.
fn canonical(value: &Value, field_type: FieldType) -> Result<Value, Mismatch> {
    let wrong = || mismatch(field_type.expected());
    match field_type {
        FieldType::ShortText | FieldType::LongText | FieldType::SingleSelect | FieldType::Url => {
            value.as_str().map(|s| json!(s)).ok_or_else(wrong)
        }
        FieldType::YesNo => value.as_bool().map(Value::Bool).ok_or_else(wrong),
        FieldType::MultiSelect => {
            let items = value.as_array().ok_or_else(wrong)?;
            let texts: Option<Vec<Value>> =
                items.iter().map(|i| i.as_str().map(|s| json!(s))).collect();
            texts.map(Value::Array).ok_or_else(wrong)
        }
        FieldType::Number => number(value).ok_or_else(wrong),
        FieldType::NumberRange => {
            let object = value.as_object().ok_or_else(wrong)?;
            let (min, max) = (bound(object, "min_value"), bound(object, "max_value"));
            match (min, max) {
                (Some(min), Some(max)) => Ok(json!({"min_value": min, "max_value": max})),
                _ => Err(wrong()),
            }
        }
        FieldType::Currency => {
            let object = value.as_object().ok_or_else(wrong)?;
            let unit = currency_unit(object).ok_or_else(wrong)?;
            let amount = object.get("amount").and_then(number).ok_or_else(wrong)?;
            Ok(json!({"unit": unit, "amount": amount}))
        }
        FieldType::CurrencyRange => {
            let object = value.as_object().ok_or_else(wrong)?;
            let unit = currency_unit(object).ok_or_else(wrong)?;
            let (min, max) = (bound(object, "min_value"), bound(object, "max_value"));
            match (min, max) {
                (Some(min), Some(max)) => {
                    Ok(json!({"unit": unit, "min_value": min, "max_value": max}))
                }
                _ => Err(wrong()),
            }
        }
        FieldType::Date => {
            let text = value.as_str().ok_or_else(wrong)?;
            parse_date(text).map(|d| json!(d.to_string())).ok_or_else(wrong)
        }
        FieldType::User => user(value).ok_or_else(wrong),
    }
}

/// A JSON number, or a string holding one (Harvest is not consistent about which).
fn number(value: &Value) -> Option<Value> {
    match value {
        Value::Number(n) if n.as_f64().is_some_and(f64::is_finite) => Some(value.clone()),
        Value::String(s) => {
            let s = s.trim();
            if let Ok(n) = s.parse::<i64>() {
                return Some(json!(n));
            }
            s.parse::<f64>().ok().filter(|f| f.is_finite()).map(|f| json!(f))
        }
        _ => None,
    }
}

/// A range end: a number, or `null` for an open end. `None` when present and not a number.
fn bound(object: &Map<String, Value>, key: &str) -> Option<Value> {
    match object.get(key) {
        None | Some(Value::Null) => Some(Value::Null),
        Some(value) => number(value),
    }
}

/// An ISO 4217-looking code: three letters, upper-cased.
fn currency_unit(object: &Map<String, Value>) -> Option<String> {
    let unit = object.get("unit")?.as_str()?.trim();
    (unit.len() == 3 && unit.chars().all(|c| c.is_ascii_alphabetic()))
        .then(|| unit.to_ascii_uppercase())
}

/// A user field: a bare id, or an object with `id` (or `user_id`) and perhaps `email`, `name`.
fn user(value: &Value) -> Option<Value> {
    let as_id = |v: &Value| v.as_i64().or_else(|| v.as_str().and_then(|s| s.trim().parse().ok()));
    if let Some(id) = as_id(value) {
        return Some(json!({"user_id": id}));
    }
    let object = value.as_object()?;
    let id = object.get("id").or_else(|| object.get("user_id")).and_then(as_id)?;
    let mut out = json!({"user_id": id});
    for key in ["email", "name"] {
        if let Some(text) = object.get(key).and_then(Value::as_str) {
            out[key] = json!(text);
        }
    }
    Some(out)
}

/// `YYYY-MM-DD`, or Greenhouse's webhook style `MM/DD/YYYY`.
fn parse_date(text: &str) -> Option<NaiveDate> {
    let text = text.trim();
    NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .or_else(|_| NaiveDate::parse_from_str(text, "%m/%d/%Y"))
        .ok()
}

fn apply(value: &Value, transform: Transform) -> Result<Value, Mismatch> {
    let each_text = |f: &dyn Fn(&str) -> String| match value {
        Value::String(s) => Ok(json!(f(s))),
        Value::Array(items) => {
            Ok(Value::Array(items.iter().map(|i| json!(f(i.as_str().unwrap_or("")))).collect()))
        }
        _ => Err(mismatch("text")),
    };
    let text = || value.as_str().ok_or(mismatch("text"));
    match transform {
        Transform::None => Ok(value.clone()),
        Transform::Trim => each_text(&|s| s.trim().to_owned()),
        Transform::Lowercase => each_text(&str::to_lowercase),
        Transform::Uppercase => each_text(&str::to_uppercase),
        Transform::Phone => super::mapping::normalise_phone(text()?)
            .map(Value::String)
            .ok_or(mismatch("a phone number")),
        Transform::Timezone => {
            let zone = text()?.trim();
            crate::timezone::is_iana_zone(zone)
                .then(|| json!(zone))
                .ok_or(mismatch("an IANA time zone name"))
        }
        Transform::Date => parse_date(text()?)
            .map(|d| json!(d.to_string()))
            .ok_or(mismatch("a YYYY-MM-DD or MM/DD/YYYY date")),
        Transform::YesNoToBool => match value {
            Value::Bool(b) => Ok(Value::Bool(*b)),
            Value::String(s) => match s.trim().to_ascii_lowercase().as_str() {
                "yes" | "y" | "true" | "1" => Ok(Value::Bool(true)),
                "no" | "n" | "false" | "0" => Ok(Value::Bool(false)),
                _ => Err(mismatch("yes or no")),
            },
            _ => Err(mismatch("yes or no")),
        },
        Transform::UserEmail => value
            .get("email")
            .and_then(Value::as_str)
            .map(|e| e.trim().to_lowercase())
            .filter(|e| e.contains('@'))
            .map(Value::String)
            .ok_or(mismatch("a user with an email")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(value: Value, field_type: FieldType, transform: Transform) -> Value {
        convert(&value, field_type, transform).unwrap()
    }

    fn err(value: Value, field_type: FieldType, transform: Transform) -> &'static str {
        convert(&value, field_type, transform).unwrap_err().expected
    }

    #[test]
    fn names_round_trip() {
        for t in FieldType::ALL {
            assert_eq!(FieldType::parse(t.name()), Some(t));
        }
        for t in Transform::ALL {
            assert_eq!(Transform::parse(t.name()), Some(t));
        }
        assert_eq!(FieldType::parse("boolean"), None);
    }

    #[test]
    fn text_types_read_strings_only() {
        for t in
            [FieldType::ShortText, FieldType::LongText, FieldType::SingleSelect, FieldType::Url]
        {
            assert_eq!(ok(json!(" a "), t, Transform::None), json!(" a "));
            assert_eq!(err(json!(5), t, Transform::None), "a string");
        }
    }

    #[test]
    fn trim_lowercase_uppercase_work_on_text_and_lists() {
        assert_eq!(ok(json!("  Senior "), FieldType::ShortText, Transform::Trim), json!("Senior"));
        assert_eq!(ok(json!("ÉCOLE"), FieldType::LongText, Transform::Lowercase), json!("école"));
        assert_eq!(
            ok(json!(["go", "Rust"]), FieldType::MultiSelect, Transform::Uppercase),
            json!(["GO", "RUST"])
        );
        assert_eq!(
            err(json!(["go", 1]), FieldType::MultiSelect, Transform::Trim),
            "a list of strings"
        );
    }

    #[test]
    fn phone_keeps_digits_and_refuses_text_without_any() {
        assert_eq!(
            ok(json!("+1 (415) 555-0100"), FieldType::ShortText, Transform::Phone),
            json!("+14155550100")
        );
        assert_eq!(err(json!("n/a"), FieldType::ShortText, Transform::Phone), "a phone number");
    }

    #[test]
    fn timezone_accepts_zone_names_only() {
        assert_eq!(
            ok(json!(" Europe/Madrid "), FieldType::ShortText, Transform::Timezone),
            json!("Europe/Madrid")
        );
        assert_eq!(ok(json!("UTC"), FieldType::SingleSelect, Transform::Timezone), json!("UTC"));
        assert_eq!(
            err(json!("somewhere nice"), FieldType::ShortText, Transform::Timezone),
            "an IANA time zone name"
        );
        // Well-formed but not in the tz database.
        assert_eq!(
            err(json!("Mars/Olympus"), FieldType::ShortText, Transform::Timezone),
            "an IANA time zone name"
        );
    }

    #[test]
    fn dates_normalise_both_greenhouse_styles() {
        assert_eq!(ok(json!("2026-11-04"), FieldType::Date, Transform::None), json!("2026-11-04"));
        assert_eq!(
            ok(json!("11/04/2026"), FieldType::ShortText, Transform::Date),
            json!("2026-11-04")
        );
        assert_eq!(err(json!("2026-02-30"), FieldType::Date, Transform::Date), "a YYYY-MM-DD date");
        assert_eq!(
            err(json!("soon"), FieldType::ShortText, Transform::Date),
            "a YYYY-MM-DD or MM/DD/YYYY date"
        );
    }

    #[test]
    fn yes_no_is_a_boolean_and_text_can_become_one() {
        assert_eq!(ok(json!(true), FieldType::YesNo, Transform::None), json!(true));
        assert_eq!(ok(json!(false), FieldType::YesNo, Transform::YesNoToBool), json!(false));
        assert_eq!(ok(json!(" Yes"), FieldType::SingleSelect, Transform::YesNoToBool), json!(true));
        assert_eq!(err(json!("maybe"), FieldType::ShortText, Transform::YesNoToBool), "yes or no");
        assert_eq!(err(json!("yes"), FieldType::YesNo, Transform::None), "true or false");
    }

    #[test]
    fn numbers_and_ranges_accept_numeric_strings() {
        assert_eq!(ok(json!("42"), FieldType::Number, Transform::None), json!(42));
        assert_eq!(ok(json!(1.5), FieldType::Number, Transform::None), json!(1.5));
        assert_eq!(err(json!("NaN"), FieldType::Number, Transform::None), "a number");
        assert_eq!(
            ok(
                json!({"min_value": "1", "max_value": null}),
                FieldType::NumberRange,
                Transform::None
            ),
            json!({"min_value": 1, "max_value": null})
        );
        assert!(
            convert(&json!({"min_value": "x"}), FieldType::NumberRange, Transform::None).is_err()
        );
    }

    #[test]
    fn currencies_need_a_unit_and_amounts() {
        assert_eq!(
            ok(json!({"unit": "eur", "amount": "95000"}), FieldType::Currency, Transform::None),
            json!({"unit": "EUR", "amount": 95000})
        );
        assert!(convert(&json!({"amount": 1}), FieldType::Currency, Transform::None).is_err());
        assert_eq!(
            ok(
                json!({"unit": "USD", "min_value": 1, "max_value": 2}),
                FieldType::CurrencyRange,
                Transform::None
            ),
            json!({"unit": "USD", "min_value": 1, "max_value": 2})
        );
        assert!(
            convert(
                &json!({"unit": "dollars", "min_value": 1}),
                FieldType::CurrencyRange,
                Transform::None
            )
            .is_err()
        );
    }

    #[test]
    fn users_give_their_id_or_their_email() {
        assert_eq!(ok(json!(77), FieldType::User, Transform::None), json!({"user_id": 77}));
        let user = json!({"id": 77, "name": "Priya", "email": "Priya@Acme.test"});
        assert_eq!(
            ok(user.clone(), FieldType::User, Transform::UserEmail),
            json!("priya@acme.test")
        );
        assert_eq!(err(json!(77), FieldType::User, Transform::UserEmail), "a user with an email");
        assert_eq!(
            err(json!("someone"), FieldType::User, Transform::None),
            "a user id or an object with `id`"
        );
    }

    #[test]
    fn a_transform_on_the_wrong_type_is_a_mismatch_not_a_panic() {
        assert!(!Transform::Phone.applies_to(FieldType::YesNo));
        assert_eq!(Transform::valid_for(FieldType::YesNo), ["none", "yes_no_to_bool"]);
        assert!(convert(&json!(true), FieldType::YesNo, Transform::Phone).is_err());
    }
}
