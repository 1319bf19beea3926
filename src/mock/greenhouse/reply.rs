//! What a route answers, before it becomes an HTTP response: status, headers, body bytes, the
//! notes the journal keeps, and a simulated transport failure for fault injection.

use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use http::{HeaderName, HeaderValue, StatusCode};
use serde::Serialize;
use serde_json::{Value, json};

use crate::mock::journal::JournalBody;
use crate::transport::SimulatedFailure;

#[derive(Debug, Clone)]
pub(crate) struct Reply {
    pub status: StatusCode,
    pub headers: Vec<(&'static str, String)>,
    pub body: Bytes,
    pub notes: Vec<String>,
    pub failure: Option<SimulatedFailure>,
    /// What the journal keeps instead of `body`: redacted text when the body carries a secret
    /// (a token), or a kept page's cut prepared once for all the answers sharing it.
    pub journal_body: Option<JournalBody>,
}

impl Reply {
    pub(crate) fn json(status: StatusCode, body: &Value) -> Self {
        let bytes = serde_json::to_vec(body).unwrap_or_default();
        Self {
            status,
            headers: Vec::new(),
            body: Bytes::from(bytes),
            notes: Vec::new(),
            failure: None,
            journal_body: None,
        }
    }

    /// A typed body (control API shapes). Serialising our own types cannot fail in practice;
    /// if it did the client gets `null` rather than a panic.
    pub(crate) fn typed<T: Serialize>(status: StatusCode, body: &T) -> Self {
        Self::json(status, &serde_json::to_value(body).unwrap_or(Value::Null))
    }

    pub(crate) fn empty(status: StatusCode) -> Self {
        Self {
            status,
            headers: Vec::new(),
            body: Bytes::new(),
            notes: Vec::new(),
            failure: None,
            journal_body: None,
        }
    }

    pub(crate) fn header(mut self, name: &'static str, value: impl Into<String>) -> Self {
        self.headers.push((name, value.into()));
        self
    }

    pub(crate) fn note(mut self, note: impl Into<String>) -> Self {
        self.notes.push(note.into());
        self
    }
}

impl IntoResponse for Reply {
    fn into_response(self) -> Response {
        let has_body = !self.body.is_empty();
        let mut response = (self.status, self.body).into_response();
        let headers = response.headers_mut();
        if has_body {
            headers
                .insert(http::header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
        }
        for (name, value) in &self.headers {
            // Our own header names and values are ASCII; anything else is skipped, not panicked on.
            if let (Ok(name), Ok(value)) =
                (HeaderName::from_bytes(name.as_bytes()), HeaderValue::from_str(value))
            {
                headers.append(name, value);
            }
        }
        if let Some(failure) = self.failure {
            response.extensions_mut().insert(failure);
        }
        response
    }
}

/// Unknown route or unknown record, as Greenhouse words both.
pub(crate) fn not_found() -> Reply {
    Reply::json(StatusCode::NOT_FOUND, &json!({"message": "Resource not found"}))
}

pub(crate) fn unauthorized() -> Reply {
    Reply::json(
        StatusCode::UNAUTHORIZED,
        &json!({
            "message": "Unauthorized",
            "errors": ["Token could not be decoded. Please ensure your token is from a trusted source."],
        }),
    )
}

/// TODO(fidelity): Greenhouse's 403 body was never observed; this shape mirrors its 401.
pub(crate) fn forbidden(reason: &str) -> Reply {
    Reply::json(StatusCode::FORBIDDEN, &json!({"message": "Forbidden", "errors": [reason]}))
}

/// 422 with one `{field: message}` error, the shape of write validation and bad values.
pub(crate) fn invalid_field(field: &str, message: &str) -> Reply {
    let mut error = serde_json::Map::new();
    error.insert(field.to_owned(), Value::String(message.to_owned()));
    Reply::json(
        StatusCode::UNPROCESSABLE_ENTITY,
        &json!({"message": "Unprocessable Content", "errors": [Value::Object(error)]}),
    )
}

/// 422 with one plain-string error, the shape of query-parameter and cursor complaints.
pub(crate) fn invalid_request(message: &str) -> Reply {
    Reply::json(
        StatusCode::UNPROCESSABLE_ENTITY,
        &json!({"message": "Unprocessable Content", "errors": [message]}),
    )
}

/// A control-API error: `{"message": ...}` with a 4xx status.
pub(crate) fn control_error(status: StatusCode, message: impl Into<String>) -> Reply {
    Reply::typed(status, &crate::mock::common::ControlError { message: message.into() })
}
