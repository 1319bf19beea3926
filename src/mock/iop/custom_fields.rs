//! Customer-defined data the IOP stores without interpreting it (§4.8): `custom_fields` on
//! candidates and scheduling requests, and a scheduling request's `workflow` key.

use serde_json::{Map, Value};

use super::api::ApiError;

/// Keys per `custom_fields` object; more is a data model, not a handful of fields.
const MAX_FIELDS: usize = 50;
/// Characters per text value (a long-text answer fits; a document does not).
const MAX_TEXT_CHARS: usize = 10_000;
/// Items per list value (a multi-select).
const MAX_LIST_ITEMS: usize = 100;

/// A key: a lower-case letter, then lower-case letters, digits and `_`; at most 64.
fn is_key(key: &str) -> bool {
    let mut chars = key.chars();
    key.len() <= 64
        && chars.next().is_some_and(|c| c.is_ascii_lowercase())
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

fn scalar(value: &Value) -> bool {
    match value {
        Value::String(s) => s.chars().count() <= MAX_TEXT_CHARS,
        Value::Null | Value::Bool(_) | Value::Number(_) => true,
        _ => false,
    }
}

/// `custom_fields`: at most 50 keys, each value a scalar, a list of scalars or a flat object
/// of scalars (currencies and ranges); `422` naming `custom_fields.<key>` otherwise.
pub(crate) fn validate(fields: &Map<String, Value>) -> Result<(), ApiError> {
    if fields.len() > MAX_FIELDS {
        let message =
            format!("custom_fields takes at most {MAX_FIELDS} keys, got {}", fields.len());
        return Err(ApiError::field("custom_fields", "too_many", message));
    }
    for (key, value) in fields {
        let field = format!("custom_fields.{key}");
        if !is_key(key) {
            let message = format!(
                "{key:?} is not a key: a lower-case letter, then lower-case letters, digits and _ (at most 64)"
            );
            return Err(ApiError::field(&field, "invalid_key", message));
        }
        let ok = match value {
            Value::Array(items) => items.len() <= MAX_LIST_ITEMS && items.iter().all(scalar),
            Value::Object(object) => {
                object.len() <= MAX_FIELDS
                    && object.keys().all(|k| is_key(k))
                    && object.values().all(scalar)
            }
            other => scalar(other),
        };
        if !ok {
            let message = format!(
                "{field} must be a string (at most {MAX_TEXT_CHARS} characters), number, boolean, null, a list of those (at most {MAX_LIST_ITEMS}) or an object of those"
            );
            return Err(ApiError::field(&field, "invalid_value", message));
        }
    }
    Ok(())
}

/// `workflow`: 1–64 letters, digits, `_`, `-`, `.` or `:`.
pub(crate) fn validate_workflow(workflow: &str) -> Result<(), ApiError> {
    let ok = (1..=64).contains(&workflow.len())
        && workflow.chars().all(|c| c.is_ascii_alphanumeric() || "_-.:".contains(c));
    if ok {
        return Ok(());
    }
    let message = format!("workflow must be 1–64 letters, digits, _, -, . or :, got {workflow:?}");
    Err(ApiError::field("workflow", "invalid", message))
}
