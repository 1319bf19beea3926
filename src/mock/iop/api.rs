//! Request, reply and error plumbing of the `/v1` API: the contract's error envelope,
//! body and query parsing with precise field errors, and cursor pagination.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use bytes::Bytes;
use chrono::{DateTime, Utc};
use http::{HeaderMap, Method, StatusCode};
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use crate::clock::iop_timestamp;

/// An error answered with the contract's envelope (§4.2).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    pub details: Option<Value>,
    /// Seconds for a `Retry-After` header (429, 503).
    pub retry_after: Option<u64>,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self { status, code, message: message.into(), details: None, retry_after: None }
    }

    pub fn not_found(kind: &str, id: &str) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", format!("no {kind} with id {id}"))
    }

    pub fn invalid_state(message: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, "invalid_state_transition", message)
    }

    /// A 422 `validation_failed` naming one field.
    pub fn field(field: &str, code: &str, message: impl Into<String>) -> Self {
        let message = message.into();
        let mut error =
            Self::new(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed", message.clone());
        error.details =
            Some(json!({"fields": [{"field": field, "code": code, "message": message}]}));
        error
    }

    pub fn with_details(mut self, details: Value) -> Self {
        self.details = Some(details);
        self
    }

    /// The envelope's `type`, derived from the status.
    pub fn error_type(&self) -> &'static str {
        match self.status.as_u16() {
            401 => "authentication",
            403 => "permission",
            404 => "not_found",
            409 | 410 => "conflict",
            429 => "rate_limit",
            500..=599 => "server",
            _ => "invalid_request",
        }
    }

    pub fn body(&self, request_id: &str) -> Value {
        json!({"error": {
            "type": self.error_type(),
            "code": self.code,
            "message": self.message,
            "request_id": request_id,
            "details": self.details.clone().unwrap_or_else(|| json!({})),
        }})
    }
}

/// A successful answer: status, JSON body and extra headers.
#[derive(Debug, Clone)]
pub(crate) struct ApiReply {
    pub status: StatusCode,
    pub body: Value,
    pub headers: Vec<(&'static str, String)>,
}

impl ApiReply {
    pub fn ok(body: Value) -> Self {
        Self { status: StatusCode::OK, body, headers: Vec::new() }
    }

    pub fn created(body: Value) -> Self {
        Self { status: StatusCode::CREATED, body, headers: Vec::new() }
    }
}

pub(crate) type ApiResult = Result<ApiReply, ApiError>;

/// One inbound request, body already read.
#[derive(Debug, Clone)]
pub(crate) struct ApiRequest {
    pub method: Method,
    pub path: String,
    pub query: Vec<(String, String)>,
    pub headers: HeaderMap,
    pub body: Bytes,
    /// The authenticated API key (`/v1` only).
    pub api_key: String,
}

impl ApiRequest {
    /// Path segments after `/v1/`.
    pub fn segments(&self) -> Vec<&str> {
        let rest = self.path.strip_prefix("/v1").unwrap_or(&self.path);
        rest.split('/').filter(|s| !s.is_empty()).collect()
    }

    pub fn query(&self, name: &str) -> Option<&str> {
        self.query.iter().find(|(key, _)| key == name).map(|(_, value)| value.as_str())
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|value| value.to_str().ok())
    }

    /// Parses the JSON body; an empty body reads as `{}`.
    pub fn json<T: DeserializeOwned>(&self) -> Result<T, ApiError> {
        parse_json(&self.body)
    }

    /// A query parameter parsed as an RFC 3339 instant.
    pub fn query_time(&self, name: &str) -> Result<Option<DateTime<Utc>>, ApiError> {
        let Some(raw) = self.query(name) else { return Ok(None) };
        DateTime::parse_from_rfc3339(raw).map(|at| Some(at.with_timezone(&Utc))).map_err(|_| {
            ApiError::field(
                name,
                "invalid_timestamp",
                format!("{name} must be an RFC 3339 timestamp, got {raw:?}"),
            )
        })
    }

    /// A query parameter parsed as an integer.
    pub fn query_int(&self, name: &str) -> Result<Option<i64>, ApiError> {
        let Some(raw) = self.query(name) else { return Ok(None) };
        raw.parse::<i64>().map(Some).map_err(|_| {
            ApiError::field(
                name,
                "invalid_integer",
                format!("{name} must be an integer, got {raw:?}"),
            )
        })
    }
}

/// Parses a JSON body into `T`, turning serde's messages into the contract's errors: a syntax
/// error is `400 malformed_json`, a shape error is `422 validation_failed` naming the field
/// when serde names it.
pub(crate) fn parse_json<T: DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    let body: &[u8] = if body.iter().all(u8::is_ascii_whitespace) { b"{}" } else { body };
    serde_json::from_slice(body).map_err(|error| {
        use serde_json::error::Category;
        match error.classify() {
            Category::Syntax | Category::Eof | Category::Io => ApiError::new(
                StatusCode::BAD_REQUEST,
                "malformed_json",
                format!("the body is not valid JSON: {error}"),
            ),
            Category::Data => {
                let text = error.to_string();
                let (field, code) = field_of(&text);
                ApiError::field(&field, code, format!("the body does not match the schema: {text}"))
            }
        }
    })
}

/// Best-effort field name and code from a serde data-error message.
// TODO(fidelity): name the full path of nested fields (serde_path_to_error is not a dependency).
fn field_of(message: &str) -> (String, &'static str) {
    let quoted = |prefix: &str| {
        message.split_once(prefix).and_then(|(_, rest)| rest.split('`').next()).map(str::to_owned)
    };
    if let Some(field) = quoted("missing field `") {
        (field, "required")
    } else if let Some(field) = quoted("unknown field `") {
        (field, "unknown_field")
    } else {
        ("body".to_owned(), "invalid")
    }
}

/// Parses `limit` (1–200, default 50) and `cursor`.
pub(crate) struct Page {
    pub limit: usize,
    pub after: Option<(DateTime<Utc>, String)>,
}

impl Page {
    pub fn from_request(request: &ApiRequest) -> Result<Self, ApiError> {
        // The contract caps pages at 200 items.
        let limit = match request.query_int("limit")? {
            None => 50,
            Some(n) if (1..=200).contains(&n) => n as usize,
            Some(n) => {
                return Err(ApiError::field(
                    "limit",
                    "out_of_range",
                    format!("limit must be 1–200, got {n}"),
                ));
            }
        };
        let after = match request.query("cursor") {
            None | Some("") => None,
            Some(cursor) => Some(decode_cursor(cursor).ok_or_else(|| {
                ApiError::field("cursor", "invalid_cursor", "cursor is not one this API issued")
            })?),
        };
        Ok(Self { limit, after })
    }
}

fn encode_cursor(at: DateTime<Utc>, id: &str) -> String {
    URL_SAFE_NO_PAD.encode(format!("{}|{id}", iop_timestamp(at)))
}

fn decode_cursor(cursor: &str) -> Option<(DateTime<Utc>, String)> {
    let text = String::from_utf8(URL_SAFE_NO_PAD.decode(cursor).ok()?).ok()?;
    let (at, id) = text.split_once('|')?;
    Some((DateTime::parse_from_rfc3339(at).ok()?.with_timezone(&Utc), id.to_owned()))
}

/// Answers a list: sorts `items` by (sort time, id), applies the cursor and limit, and builds
/// `{data, next_cursor, has_more}` plus a `Link: rel="next"` header.
pub(crate) fn paginate(
    request: &ApiRequest,
    base_url: &str,
    mut items: Vec<(DateTime<Utc>, String, Value)>,
) -> ApiResult {
    let page = Page::from_request(request)?;
    items.sort_by(|a, b| (a.0, &a.1).cmp(&(b.0, &b.1)));
    let after = |item: &(DateTime<Utc>, String, Value)| match &page.after {
        Some((at, id)) => (item.0, &item.1) > (*at, id),
        None => true,
    };
    let mut rest = items.into_iter().filter(after);
    let data: Vec<_> = rest.by_ref().take(page.limit).collect();
    let has_more = rest.next().is_some();

    let next_cursor = match (has_more, data.last()) {
        (true, Some((at, id, _))) => Some(encode_cursor(*at, id)),
        _ => None,
    };
    let mut reply = ApiReply::ok(json!({
        "data": data.into_iter().map(|(_, _, value)| value).collect::<Vec<_>>(),
        "next_cursor": next_cursor,
        "has_more": has_more,
    }));
    if let Some(cursor) = next_cursor {
        let mut query: Vec<(String, String)> =
            request.query.iter().filter(|(k, _)| k != "cursor").cloned().collect();
        query.push(("cursor".to_owned(), cursor));
        let query = serde_urlencoded::to_string(&query).unwrap_or_default();
        reply.headers.push(("link", format!("<{base_url}{}?{query}>; rel=\"next\"", request.path)));
    }
    Ok(reply)
}

/// The `(updated_at, id, json)` triple `paginate` sorts on, for any resource.
pub(crate) fn list_item(value: Value) -> (DateTime<Utc>, String, Value) {
    let at = value
        .get("updated_at")
        .or_else(|| value.get("created_at"))
        .and_then(Value::as_str)
        .and_then(|s| DateTime::parse_from_rfc3339(s).ok())
        .map(|at| at.with_timezone(&Utc))
        .unwrap_or_default();
    let id = value.get("id").and_then(Value::as_str).unwrap_or_default().to_owned();
    (at, id, value)
}

/// The filters every list shares: `updated_after` / `updated_before` (exclusive), `status`,
/// and any number of `external_ref.<system>.<field>=<value>` (an integer value also matches
/// the same digits stored as a string, and the other way round).
pub(crate) struct ListFilter {
    updated_after: Option<DateTime<Utc>>,
    updated_before: Option<DateTime<Utc>>,
    status: Option<String>,
    external_refs: Vec<(String, String)>,
}

impl ListFilter {
    pub fn from_request(request: &ApiRequest) -> Result<Self, ApiError> {
        let mut external_refs = Vec::new();
        for (name, value) in &request.query {
            let Some(path) = name.strip_prefix("external_ref.") else { continue };
            let parts: Vec<&str> = path.split('.').collect();
            if parts.len() != 2 || parts.iter().any(|p| p.is_empty()) {
                let message = format!(
                    "{name} must be external_ref.<system>.<field>, e.g. external_ref.greenhouse.candidate_id"
                );
                return Err(ApiError::field(name, "invalid_filter", message));
            }
            external_refs.push((format!("/{}/{}", parts[0], parts[1]), value.clone()));
        }
        Ok(Self {
            updated_after: request.query_time("updated_after")?,
            updated_before: request.query_time("updated_before")?,
            status: request.query("status").map(str::to_owned),
            external_refs,
        })
    }

    /// Whether a resource's JSON passes every filter.
    pub fn keeps(&self, value: &Value) -> bool {
        let updated_at = value
            .get("updated_at")
            .and_then(Value::as_str)
            .and_then(|s| DateTime::parse_from_rfc3339(s).ok())
            .map(|at| at.with_timezone(&Utc));
        let time_ok = |bound: Option<DateTime<Utc>>, after: bool| match (bound, updated_at) {
            (None, _) => true,
            (Some(_), None) => false,
            (Some(bound), Some(at)) => (at > bound) == after && at != bound,
        };
        let status_ok = self
            .status
            .as_deref()
            .is_none_or(|s| value.get("status").and_then(Value::as_str) == Some(s));
        let refs = value.get("external_refs");
        let refs_ok = self.external_refs.iter().all(|(pointer, wanted)| {
            refs.and_then(|r| r.pointer(pointer)).is_some_and(|stored| ref_matches(stored, wanted))
        });
        time_ok(self.updated_after, true)
            && time_ok(self.updated_before, false)
            && status_ok
            && refs_ok
    }
}

fn ref_matches(stored: &Value, wanted: &str) -> bool {
    match stored {
        Value::String(text) => text == wanted,
        Value::Number(number) => number.to_string() == wanted,
        Value::Bool(flag) => flag.to_string() == wanted,
        _ => false,
    }
}

/// Keeps the items `filter` passes and answers them as a page.
pub(crate) fn filtered_page(
    request: &ApiRequest,
    base_url: &str,
    values: impl Iterator<Item = Value>,
) -> ApiResult {
    let filter = ListFilter::from_request(request)?;
    let items = values.filter(|v| filter.keeps(v)).map(list_item).collect();
    paginate(request, base_url, items)
}
