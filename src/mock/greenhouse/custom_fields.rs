//! Custom fields: the definitions `GET /v3/custom_fields` lists and the values candidates and
//! applications carry under them.
//!
//! Harvest names a definition's record kind `field_type` (`candidate`, `application`, …) and
//! the kind of its values `value_type` (`short_text`, `yes_no`, …). A record's
//! `custom_fields` maps each `name_key` to its raw value and shows every active field of its
//! kind, `null` where unset, as Harvest's candidate examples do.
//!
//! A world that declares definitions is typed: a seeded value must name a declared field of
//! its record and have that field's shape. A world that declares none seeds as it did before
//! definitions existed: each new key gets a derived definition, its type guessed from the
//! first value, and values go unchecked — so older scenarios and worlds still load, and
//! still show `engine check` the fields their records carry.
//!
//! TODO(fidelity): `/v3/custom_field_options` is not served; a select's options only decide
//! which seeded values are accepted.
//! TODO(fidelity): `PATCH /v3/candidates/{id}` replaces `custom_fields` with the map it is
//! sent, unchecked against the definitions; Harvest takes `[{name_key, value}]` and refuses
//! unknown keys and ill-typed values.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use serde_json::{Map, Value, json};

use super::control::SeedCustomField;
use super::state::{Collection, CustomField, Instant, State, ts};

/// The records a custom field can belong to (Harvest's `field_type`).
pub(crate) const FIELD_TYPES: [&str; 8] = [
    "candidate",
    "application",
    "job",
    "offer",
    "opening",
    "rejection_question",
    "referral_question",
    "user_attribute",
];

/// The kinds of value a custom field holds (Harvest's `value_type`).
pub(crate) const VALUE_TYPES: [&str; 12] = [
    "short_text",
    "long_text",
    "yes_no",
    "single_select",
    "multi_select",
    "currency",
    "currency_range",
    "number",
    "number_range",
    "date",
    "url",
    "user",
];

/// Adds declared definitions; on error the message names the field and what is wrong.
pub(crate) fn seed_definitions(
    state: &mut State,
    fields: &[SeedCustomField],
    now: Instant,
) -> Result<(), String> {
    for field in fields {
        let what = format!("custom field `{}`", field.key);
        check_definition(field).map_err(|message| format!("{what}: {message}"))?;
        if state.custom_field(&field.field_type, &field.key).is_some() {
            return Err(format!("{what}: a {} field with this key exists", field.field_type));
        }
        let id = super::seed::take_id(state, Collection::CustomFields, field.id, &what)?;
        let definition = CustomField {
            id,
            name: field.name.clone().unwrap_or_else(|| name_from_key(&field.key)),
            name_key: field.key.clone(),
            field_type: field.field_type.clone(),
            value_type: field.value_type.clone(),
            options: field.options.clone(),
            active: field.active,
            private: field.private,
            required: field.required,
            description: field.description.clone(),
            sort_order: next_sort_order(state, &field.field_type),
            derived: false,
            created_at: now,
        };
        state.custom_fields.insert(id, definition);
    }
    Ok(())
}

fn check_definition(field: &SeedCustomField) -> Result<(), String> {
    let key_ok = !field.key.is_empty()
        && field.key.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if !key_ok {
        return Err("`key` takes lower-case letters, digits and `_` (Harvest's name_key)".into());
    }
    if !FIELD_TYPES.contains(&field.field_type.as_str()) {
        return Err(format!(
            "field_type `{}` is not one of {}",
            field.field_type,
            FIELD_TYPES.join(", ")
        ));
    }
    if !VALUE_TYPES.contains(&field.value_type.as_str()) {
        return Err(format!(
            "value_type `{}` is not one of {}",
            field.value_type,
            VALUE_TYPES.join(", ")
        ));
    }
    let select = matches!(field.value_type.as_str(), "single_select" | "multi_select");
    if select && field.options.is_empty() {
        return Err(format!("a {} field needs `options`", field.value_type));
    }
    if !select && !field.options.is_empty() {
        return Err(format!("`options` belong to select fields, not {}", field.value_type));
    }
    let mut seen: Vec<&str> = Vec::new();
    for option in &field.options {
        if option.trim().is_empty() || seen.contains(&option.as_str()) {
            return Err(format!("option `{option}` is blank or listed twice"));
        }
        seen.push(option);
    }
    Ok(())
}

/// Checks definitions as [`seed_definitions`] would, without a world: for a scenario's
/// validation before anything runs.
pub fn check_definitions(fields: &[SeedCustomField]) -> Result<(), String> {
    seed_definitions(&mut State::default(), fields, Instant::default())
}

/// Checks the custom-field values of one `field_type` record against `fields` as seeding
/// would, without a world (see [`check_definitions`]).
pub fn check_record_values(
    fields: &[SeedCustomField],
    field_type: &str,
    values: &BTreeMap<String, Value>,
    what: &str,
) -> Result<(), String> {
    let mut state = State::default();
    seed_definitions(&mut state, fields, Instant::default())?;
    check_values(&mut state, field_type, values, what, Instant::default())
}

/// Checks the values a `field_type` record is seeded with, deriving definitions in an untyped
/// world. `what` names the record's values in messages, e.g. ``candidate `ana`: custom_fields``.
pub(crate) fn check_values(
    state: &mut State,
    field_type: &str,
    values: &BTreeMap<String, Value>,
    what: &str,
    now: Instant,
) -> Result<(), String> {
    let typed = state.custom_fields.values().any(|f| !f.derived);
    for (key, value) in values {
        let at = format!("{what}.{key}");
        match state.custom_field(field_type, key) {
            Some(field) if !field.derived => {
                check_value(field, value).map_err(|message| format!("{at}: {message}"))?;
            }
            Some(_) => {}
            None if typed => {
                let declared: Vec<&str> = state
                    .custom_fields
                    .values()
                    .filter(|f| f.field_type == field_type)
                    .map(|f| f.name_key.as_str())
                    .collect();
                let known = if declared.is_empty() { "none".into() } else { declared.join(", ") };
                return Err(format!(
                    "{at}: no {field_type} custom field `{key}` is declared (declared: {known})"
                ));
            }
            None => derive(state, field_type, key, value, now),
        }
    }
    Ok(())
}

/// Whether `value` is something Harvest could hold in `field`; the message says what the
/// field takes, never the value.
fn check_value(field: &CustomField, value: &Value) -> Result<(), String> {
    let number = |key: &str| value.get(key).is_some_and(Value::is_number);
    let unit = || {
        value
            .get("unit")
            .and_then(Value::as_str)
            .is_some_and(|u| u.len() == 3 && u.chars().all(|c| c.is_ascii_uppercase()))
    };
    let fits = match field.value_type.as_str() {
        // Harvest shows an unset field as null, whatever its type.
        _ if value.is_null() => true,
        "short_text" | "long_text" | "url" => value.is_string(),
        "yes_no" => value.is_boolean(),
        "number" => value.is_number(),
        "date" => value.as_str().is_some_and(|s| NaiveDate::parse_from_str(s, "%Y-%m-%d").is_ok()),
        "single_select" => is_option(field, value),
        "multi_select" => {
            value.as_array().is_some_and(|items| items.iter().all(|i| is_option(field, i)))
        }
        "currency" => unit() && number("amount"),
        "currency_range" => unit() && number("min_value") && number("max_value"),
        "number_range" => number("min_value") && number("max_value"),
        "user" => value.as_i64().is_some_and(|id| id > 0),
        _ => false,
    };
    if fits {
        return Ok(());
    }
    let takes = match field.value_type.as_str() {
        "short_text" | "long_text" | "url" => "a string".to_owned(),
        "yes_no" => "true or false".to_owned(),
        "number" => "a number".to_owned(),
        "date" => "a YYYY-MM-DD date".to_owned(),
        "single_select" => format!("one of its options ({})", field.options.join(", ")),
        "multi_select" => format!("a list of its options ({})", field.options.join(", ")),
        "currency" => "`{unit, amount}` with a three-letter upper-case unit".to_owned(),
        "currency_range" => "`{unit, min_value, max_value}`".to_owned(),
        "number_range" => "`{min_value, max_value}`".to_owned(),
        _ => "a user id".to_owned(),
    };
    Err(format!("`{}` is a {} field and takes {takes}", field.name_key, field.value_type))
}

fn is_option(field: &CustomField, value: &Value) -> bool {
    value.as_str().is_some_and(|v| field.options.iter().any(|o| o == v))
}

/// A definition for a key seeded without one, its type guessed from the value.
fn derive(state: &mut State, field_type: &str, key: &str, value: &Value, now: Instant) {
    let has = |k: &str| value.get(k).is_some();
    let (value_type, options) = match value {
        Value::Bool(_) => ("yes_no", Vec::new()),
        Value::Number(_) => ("number", Vec::new()),
        Value::Array(items) => {
            let options = items.iter().filter_map(Value::as_str).map(str::to_owned).collect();
            ("multi_select", options)
        }
        Value::Object(_) if has("unit") && has("amount") => ("currency", Vec::new()),
        Value::Object(_) if has("unit") => ("currency_range", Vec::new()),
        Value::Object(_) if has("min_value") => ("number_range", Vec::new()),
        _ => ("short_text", Vec::new()),
    };
    let id = state.allocate(Collection::CustomFields);
    let definition = CustomField {
        id,
        name: name_from_key(key),
        name_key: key.to_owned(),
        field_type: field_type.to_owned(),
        value_type: value_type.to_owned(),
        options,
        active: true,
        private: false,
        required: false,
        description: None,
        sort_order: next_sort_order(state, field_type),
        derived: true,
        created_at: now,
    };
    state.custom_fields.insert(id, definition);
}

fn next_sort_order(state: &State, field_type: &str) -> i64 {
    state.custom_fields.values().filter(|f| f.field_type == field_type).count() as i64
}

/// `start_date` → `Start date`.
fn name_from_key(key: &str) -> String {
    let spaced = key.replace('_', " ");
    let mut chars = spaced.trim().chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

impl State {
    /// The definition of `key` on `field_type` records.
    pub(crate) fn custom_field(&self, field_type: &str, key: &str) -> Option<&CustomField> {
        self.custom_fields.values().find(|f| f.field_type == field_type && f.name_key == key)
    }

    /// A record's `custom_fields` as Harvest returns it: its values, and `null` for every
    /// other active field of its kind.
    pub(crate) fn custom_values(
        &self,
        field_type: &str,
        values: &BTreeMap<String, Value>,
    ) -> Value {
        let mut shown: Map<String, Value> =
            values.iter().map(|(key, value)| (key.clone(), value.clone())).collect();
        for field in self.custom_fields.values() {
            if field.active && field.field_type == field_type {
                shown.entry(field.name_key.clone()).or_insert(Value::Null);
            }
        }
        Value::Object(shown)
    }

    /// A record's `custom_fields` as webhooks carry them: `{name, type, value}` per key, the
    /// yes/no type named `boolean` as the webhook docs name it.
    pub(crate) fn webhook_custom_values(
        &self,
        field_type: &str,
        values: &BTreeMap<String, Value>,
    ) -> Value {
        let Value::Object(shown) = self.custom_values(field_type, values) else {
            return json!({});
        };
        let keyed = shown
            .into_iter()
            .map(|(key, value)| {
                let field = self.custom_field(field_type, &key);
                let name = field.map_or_else(|| key.clone(), |f| f.name.clone());
                let kind = match field.map(|f| f.value_type.as_str()) {
                    Some("yes_no") => "boolean",
                    Some(other) => other,
                    None => "short_text",
                };
                (key, json!({"name": name, "type": kind, "value": value}))
            })
            .collect();
        Value::Object(keyed)
    }
}

/// A definition in its `/v3/custom_fields` shape.
pub(crate) fn definition_json(field: &CustomField) -> Value {
    json!({
        "id": field.id,
        "name": field.name,
        "name_key": field.name_key,
        "field_type": field.field_type,
        "value_type": field.value_type,
        "active": field.active,
        "private": field.private,
        "required": field.required,
        "description": field.description,
        "sort_order": field.sort_order,
        "api_only": false,
        "expose_in_job_board_api": false,
        "require_approval": false,
        "trigger_new_version": false,
        "use_for_job_approvals": false,
        "use_for_offer_approvals": false,
        // TODO(fidelity): what `application_type`, `internal_type`, `default_value` and
        // `placeholder` hold was not captured; they stay null.
        "application_type": null,
        "internal_type": null,
        "default_value": null,
        "placeholder": null,
        "template_token_string": format!("{{{{{}}}}}", field.name_key.to_uppercase()),
        "updated_by_id": null,
        "created_at": ts(field.created_at),
        "updated_at": ts(field.created_at),
    })
}
