//! `GET /v3/<collection>`: bare JSON arrays in id-descending order, standard and per-collection
//! filters, sparse fieldsets, and cursor pagination where the cursor alone carries the query.
//!
//! Filters run over the rendered v3 JSON, so a filter names the response field it compares
//! and every collection shares one engine.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, NaiveDate, Utc};
use http::StatusCode;
use serde::Deserialize;
use serde_json::Value;

use super::reply::{self, Reply};
use super::server::Ctx;
use super::state::{Collection, Id, Instant, SERVICE_USER_ID, rejection_reason_json};

/// Greenhouse's page-size bounds and default.
const PER_PAGE_MAX: i64 = 500;
const PER_PAGE_DEFAULT: usize = 100;
/// Id-array filters and `fields` take at most 50 entries.
const MAX_LIST_ITEMS: usize = 50;

const STANDARD_PARAMS: [&str; 5] = ["per_page", "ids", "created_at", "updated_at", "fields"];

/// How a per-collection query parameter filters.
#[derive(Debug, Clone, Copy)]
enum Filter {
    /// Comma list of ids matched against a response field.
    Ids(&'static str),
    /// Exact string match on a response field.
    Text(&'static str),
    /// `true`/`false` match on a response field.
    Bool(&'static str),
    /// Pipe-delimited date operators on a timestamp field.
    Date(&'static str),
    /// The application query vocabulary `active|rejected|hired|converted`.
    ApplicationStatus,
    /// Users: service accounts are listed only when this is true.
    ServiceAccounts,
    /// Validated as a boolean, otherwise without effect in the mock.
    Accepted,
}

fn extra_filters(collection: Collection) -> &'static [(&'static str, Filter)] {
    use Filter::*;
    match collection {
        Collection::Users => &[
            ("primary_email", Text("primary_email")),
            ("deactivated", Bool("deactivated")),
            ("show_service_accounts", ServiceAccounts),
        ],
        Collection::Jobs => &[("status", Text("status"))],
        Collection::JobInterviewStages => &[("job_ids", Ids("job_id")), ("active", Bool("active"))],
        Collection::JobInterviews => &[
            ("job_interview_stage_ids", Ids("job_interview_stage_id")),
            ("job_ids", Ids("job_id")),
            ("active", Bool("active")),
        ],
        Collection::InterviewKits => {
            &[("job_ids", Ids("job_id")), ("job_interview_ids", Ids("job_interview_id"))]
        }
        Collection::DefaultInterviewers => {
            &[("interview_kit_ids", Ids("interview_kit_id")), ("user_ids", Ids("user_id"))]
        }
        Collection::Candidates => &[("last_activity_at", Date("last_activity_at"))],
        Collection::Applications => &[
            ("candidate_ids", Ids("candidate_id")),
            ("job_ids", Ids("job_id")),
            ("stage_ids", Ids("stage_id")),
            ("status", ApplicationStatus),
            ("stage_name", Text("stage_name")),
            ("last_activity_at", Date("last_activity_at")),
        ],
        Collection::ApplicationStages => &[
            ("application_ids", Ids("application_id")),
            ("job_interview_stage_ids", Ids("job_interview_stage_id")),
            ("current", Bool("current")),
        ],
        Collection::Interviews => &[
            ("application_ids", Ids("application_id")),
            ("job_ids", Ids("job_id")),
            ("job_interview_ids", Ids("job_interview_id")),
            ("organizer_ids", Ids("organizer_id")),
            ("external_event_id", Text("external_event_id")),
            ("status", Text("status")),
            ("starts_at", Date("starts_at")),
            ("ends_at", Date("ends_at")),
        ],
        Collection::Interviewers => &[
            ("interview_ids", Ids("interview_id")),
            ("user_ids", Ids("user_id")),
            ("scorecard_ids", Ids("scorecard_id")),
            ("response_status", Text("response_status")),
        ],
        Collection::Scorecards => &[
            ("application_ids", Ids("application_id")),
            ("interviewer_ids", Ids("interviewer_id")),
            ("submitter_ids", Ids("submitter_id")),
            ("status", Text("status")),
        ],
        Collection::Notes => &[
            ("candidate_ids", Ids("candidate_id")),
            ("application_ids", Ids("application_id")),
            ("user_ids", Ids("user_id")),
            ("type", Text("type")),
            ("visibility", Text("visibility")),
        ],
        // TODO(fidelity): Greenhouse hides its built-in reasons unless include_defaults=true;
        // the mock has only organisation reasons, so the flag changes nothing.
        Collection::RejectionReasons => &[("include_defaults", Accepted)],
        Collection::Offers => &[
            ("application_ids", Ids("application_id")),
            ("job_ids", Ids("job_id")),
            ("candidate_ids", Ids("candidate_id")),
        ],
        Collection::CustomFields => &[
            ("field_type", Text("field_type")),
            ("active", Bool("active")),
            ("name", Text("name")),
            ("name_key", Text("name_key")),
        ],
    }
}

#[derive(Debug, Clone, Copy)]
enum Op {
    Gte,
    Lte,
    Gt,
    Lt,
}

#[derive(Debug, Clone)]
enum Predicate {
    InIds(&'static str, Vec<Id>),
    Equals(&'static str, Value),
    Dates(&'static str, Vec<(Op, Instant)>),
    HideServiceAccounts,
}

/// A validated list request.
#[derive(Debug)]
struct ListQuery {
    per_page: usize,
    predicates: Vec<Predicate>,
    fields: Option<Vec<String>>,
    /// Only ids below this (the last id of the previous page).
    before_id: Option<Id>,
    /// The parameters as sent, which the next cursor carries.
    params: Vec<(String, String)>,
}

/// What a cursor encodes (URL-safe base64 of this JSON).
#[derive(Debug, serde::Serialize, Deserialize)]
struct CursorBody {
    /// Collection name.
    c: String,
    /// The first request's parameters.
    q: Vec<(String, String)>,
    /// The last id already served.
    a: Id,
}

/// A list page: the one kept from an earlier identical request while the world is unchanged,
/// else a fresh render (kept for the next request when it succeeded).
pub(crate) fn list(ctx: &mut Ctx<'_>, collection: Collection, raw_query: &str) -> Reply {
    let (world, fidelity) = (&ctx.inner.state, &ctx.inner.fidelity);
    if let Some(page) = world.page(collection, raw_query, fidelity, ctx.now) {
        return page;
    }
    let page = render(ctx, collection, raw_query);
    let inner = &mut *ctx.inner;
    inner.state.keep_page(collection, raw_query, &inner.fidelity, ctx.now, &page);
    page
}

fn render(ctx: &Ctx<'_>, collection: Collection, raw_query: &str) -> Reply {
    let brackets = ctx.inner.fidelity.bracket_date_filters;
    let query = match parse_query(collection, raw_query, brackets) {
        Ok(query) => query,
        Err(answer) => return answer,
    };
    let records = ctx.inner.state.render(collection, ctx.now, ctx.inner.fidelity.stage_id_mode);

    // Records render ascending; Greenhouse pages by id descending.
    let mut page: Vec<Value> = records
        .into_iter()
        .rev()
        .filter(|record| query.before_id.is_none_or(|before| record_id(record) < before))
        .filter(|record| query.predicates.iter().all(|p| keeps(record, p)))
        .take(query.per_page + 1)
        .collect();
    let more = page.len() > query.per_page;
    page.truncate(query.per_page);

    let next = page.last().filter(|_| more).map(|last| {
        let body = CursorBody {
            c: collection.name().to_owned(),
            q: query.params.clone(),
            a: record_id(last),
        };
        let cursor = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&body).unwrap_or_default());
        format!("<{}/v3/{}?cursor={cursor}>; rel=\"next\"", ctx.config.base_url, collection.name())
    });
    let page: Vec<Value> =
        page.into_iter().map(|record| sparse(record, query.fields.as_deref())).collect();
    let answer = Reply::json(StatusCode::OK, &Value::Array(page));
    match next {
        Some(link) => answer.header("Link", link),
        None => answer,
    }
}

/// `GET /v3/rejection_reasons/{id}`, one of the few v3 show routes.
pub(crate) fn show_rejection_reason(ctx: &Ctx<'_>, id: Id, raw_query: &str) -> Reply {
    let pairs = match pairs_of(raw_query) {
        Ok(pairs) => pairs,
        Err(answer) => return answer,
    };
    let unknown: Vec<&str> =
        pairs.iter().map(|(k, _)| k.as_str()).filter(|k| *k != "fields").collect();
    if !unknown.is_empty() {
        return reply::invalid_request(&format!("Invalid query params: {}", unknown.join(", ")));
    }
    let fields = match pairs.iter().find(|(k, _)| k == "fields").map(|(_, v)| parse_fields(v)) {
        Some(Ok(fields)) => Some(fields),
        Some(Err(answer)) => return answer,
        None => None,
    };
    match ctx.inner.state.rejection_reasons.get(&id) {
        Some(reason) => {
            Reply::json(StatusCode::OK, &sparse(rejection_reason_json(reason), fields.as_deref()))
        }
        None => reply::not_found(),
    }
}

fn pairs_of(raw_query: &str) -> Result<Vec<(String, String)>, Reply> {
    serde_urlencoded::from_str(raw_query)
        .map_err(|_| reply::invalid_request("The query string is not valid form encoding"))
}

fn parse_query(
    collection: Collection,
    raw_query: &str,
    brackets: bool,
) -> Result<ListQuery, Reply> {
    let pairs = pairs_of(raw_query)?;
    let Some((_, cursor)) = pairs.iter().find(|(key, _)| key == "cursor") else {
        let pairs = if brackets { pipe_brackets(pairs) } else { pairs };
        return build_query(collection, pairs, None);
    };
    if pairs.len() > 1 {
        return Err(reply::invalid_request(
            "When passing a cursor, do not include other query params.",
        ));
    }
    // Our wording: Greenhouse's text for a bad or expired cursor was not captured.
    let bad_cursor = || reply::invalid_request("The cursor is invalid or has expired.");
    let bytes = URL_SAFE_NO_PAD.decode(cursor.trim_end_matches('=')).map_err(|_| bad_cursor())?;
    let body: CursorBody = serde_json::from_slice(&bytes).map_err(|_| bad_cursor())?;
    if body.c != collection.name() || body.q.iter().any(|(key, _)| key == "cursor") {
        return Err(bad_cursor());
    }
    build_query(collection, body.q, Some(body.a))
}

/// Rewrites `created_at[gte]=t` as `created_at=gte|t` (see
/// [`super::Fidelity::bracket_date_filters`]); several operators on one field join into one
/// pipe-delimited value in the order sent. Other bracketed names pass through and fail later.
fn pipe_brackets(pairs: Vec<(String, String)>) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::new();
    for (key, value) in pairs {
        let bracketed = key.strip_suffix(']').and_then(|key| key.split_once('['));
        match bracketed {
            Some((field, op)) if matches!(op, "gte" | "gt" | "lte" | "lt") => {
                let piece = format!("{op}|{value}");
                match out.iter_mut().find(|(name, _)| name == field) {
                    Some((_, joined)) => {
                        joined.push('|');
                        joined.push_str(&piece);
                    }
                    None => out.push((field.to_owned(), piece)),
                }
            }
            _ => out.push((key, value)),
        }
    }
    out
}

fn build_query(
    collection: Collection,
    params: Vec<(String, String)>,
    before_id: Option<Id>,
) -> Result<ListQuery, Reply> {
    let extras = extra_filters(collection);
    let mut unknown: Vec<&str> = Vec::new();
    for (key, _) in &params {
        let known =
            STANDARD_PARAMS.contains(&key.as_str()) || extras.iter().any(|(name, _)| name == key);
        if !known && !unknown.contains(&key.as_str()) {
            unknown.push(key);
        }
    }
    if !unknown.is_empty() {
        return Err(reply::invalid_request(&format!(
            "Invalid query params: {}",
            unknown.join(", ")
        )));
    }

    let mut query = ListQuery {
        per_page: PER_PAGE_DEFAULT,
        predicates: Vec::new(),
        fields: None,
        before_id,
        params: Vec::new(),
    };
    let mut show_service_accounts = false;
    for (key, value) in &params {
        match key.as_str() {
            "per_page" => query.per_page = parse_per_page(value)?,
            "ids" => query.predicates.push(Predicate::InIds("id", parse_ids("ids", value)?)),
            "created_at" => {
                query.predicates.push(Predicate::Dates("created_at", parse_dates(key, value)?))
            }
            "updated_at" => {
                query.predicates.push(Predicate::Dates("updated_at", parse_dates(key, value)?))
            }
            "fields" => query.fields = Some(parse_fields(value)?),
            _ => {
                let filter = extras.iter().find(|(name, _)| name == key).map(|(_, filter)| *filter);
                match filter {
                    Some(Filter::ServiceAccounts) => {
                        show_service_accounts = parse_bool(key, value)?
                    }
                    Some(filter) => query.predicates.extend(predicate(filter, key, value)?),
                    None => {}
                }
            }
        }
    }
    if collection == Collection::Users && !show_service_accounts {
        query.predicates.push(Predicate::HideServiceAccounts);
    }
    query.params = params;
    Ok(query)
}

fn predicate(filter: Filter, key: &str, value: &str) -> Result<Option<Predicate>, Reply> {
    let predicate = match filter {
        Filter::Ids(field) => Predicate::InIds(field, parse_ids(key, value)?),
        Filter::Text(field) => Predicate::Equals(field, Value::String(value.to_owned())),
        Filter::Bool(field) => Predicate::Equals(field, Value::Bool(parse_bool(key, value)?)),
        Filter::Date(field) => Predicate::Dates(field, parse_dates(key, value)?),
        Filter::ApplicationStatus => {
            // The query speaks v1's vocabulary while responses say `in_process`.
            let status = match value {
                "active" => "in_process",
                "rejected" | "hired" | "converted" => value,
                _ => {
                    let message =
                        format!("`{value}` is not one of: active, rejected, hired, converted");
                    return Err(reply::invalid_field(key, &message));
                }
            };
            Predicate::Equals("status", Value::String(status.to_owned()))
        }
        Filter::ServiceAccounts => return Ok(None),
        Filter::Accepted => {
            parse_bool(key, value)?;
            return Ok(None);
        }
    };
    Ok(Some(predicate))
}

fn parse_per_page(raw: &str) -> Result<usize, Reply> {
    let Ok(number) = raw.trim().parse::<i64>() else {
        return Err(reply::invalid_field("per_page", &format!("`{raw}` is not a valid integer")));
    };
    if number > PER_PAGE_MAX {
        let message = format!("`{number}` number is greater than: {PER_PAGE_MAX}");
        return Err(reply::invalid_field("per_page", &message));
    }
    if number < 1 {
        return Err(reply::invalid_field(
            "per_page",
            &format!("`{number}` number is less than: 1"),
        ));
    }
    usize::try_from(number).map_err(|_| reply::invalid_field("per_page", "is out of range"))
}

fn parse_ids(key: &str, raw: &str) -> Result<Vec<Id>, Reply> {
    let items: Vec<&str> = raw.split(',').map(str::trim).filter(|item| !item.is_empty()).collect();
    if items.len() > MAX_LIST_ITEMS {
        let message = format!("must contain at most {MAX_LIST_ITEMS} ids, got {}", items.len());
        return Err(reply::invalid_field(key, &message));
    }
    items
        .iter()
        .map(|item| {
            item.parse::<Id>()
                .map_err(|_| reply::invalid_field(key, &format!("`{item}` is not a valid integer")))
        })
        .collect()
}

fn parse_bool(key: &str, raw: &str) -> Result<bool, Reply> {
    match raw {
        "true" => Ok(true),
        "false" => Ok(false),
        _ => Err(reply::invalid_field(key, &format!("`{raw}` is not a boolean (true or false)"))),
    }
}

fn parse_fields(raw: &str) -> Result<Vec<String>, Reply> {
    let fields: Vec<String> =
        raw.split(',').map(str::trim).filter(|f| !f.is_empty()).map(str::to_owned).collect();
    if fields.len() > MAX_LIST_ITEMS {
        return Err(reply::invalid_field("fields", "must name at most 50 fields"));
    }
    // TODO(fidelity): unknown field names are ignored; Greenhouse likely answers 422.
    Ok(fields)
}

/// `gte|<iso>` or `gte|<iso>|lte|<iso>`; operators gte, lte, gt, lt.
fn parse_dates(key: &str, raw: &str) -> Result<Vec<(Op, Instant)>, Reply> {
    let parts: Vec<&str> = raw.split('|').collect();
    let shape =
        "must be `<op>|<ISO-8601>` or `<op>|<ISO-8601>|<op>|<ISO-8601>` with op gte, lte, gt or lt";
    if parts.len() != 2 && parts.len() != 4 {
        return Err(reply::invalid_field(key, shape));
    }
    parts
        .chunks(2)
        .map(|pair| {
            let op = match pair[0] {
                "gte" => Op::Gte,
                "lte" => Op::Lte,
                "gt" => Op::Gt,
                "lt" => Op::Lt,
                _ => return Err(reply::invalid_field(key, shape)),
            };
            let at = parse_instant(pair[1]).ok_or_else(|| {
                reply::invalid_field(key, &format!("`{}` is not an ISO-8601 date or time", pair[1]))
            })?;
            Ok((op, at))
        })
        .collect()
}

pub(crate) fn parse_instant(raw: &str) -> Option<Instant> {
    if let Ok(at) = DateTime::parse_from_rfc3339(raw) {
        return Some(at.with_timezone(&Utc));
    }
    let date = NaiveDate::parse_from_str(raw, "%Y-%m-%d").ok()?;
    Some(date.and_hms_opt(0, 0, 0)?.and_utc())
}

fn record_id(record: &Value) -> Id {
    record.get("id").and_then(Value::as_i64).unwrap_or_default()
}

fn keeps(record: &Value, predicate: &Predicate) -> bool {
    match predicate {
        Predicate::InIds(field, ids) => {
            record.get(*field).and_then(Value::as_i64).is_some_and(|id| ids.contains(&id))
        }
        Predicate::Equals(field, expected) => record.get(*field) == Some(expected),
        Predicate::Dates(field, bounds) => {
            let at = record.get(*field).and_then(Value::as_str).and_then(parse_instant);
            at.is_some_and(|at| {
                bounds.iter().all(|(op, bound)| match op {
                    Op::Gte => at >= *bound,
                    Op::Lte => at <= *bound,
                    Op::Gt => at > *bound,
                    Op::Lt => at < *bound,
                })
            })
        }
        Predicate::HideServiceAccounts => record_id(record) != SERVICE_USER_ID,
    }
}

/// Keeps only the requested fields; `id` always stays.
fn sparse(record: Value, fields: Option<&[String]>) -> Value {
    let (Some(fields), Value::Object(map)) = (fields, &record) else { return record };
    let kept = map
        .iter()
        .filter(|(key, _)| *key == "id" || fields.iter().any(|f| f == *key))
        .map(|(key, value)| (key.clone(), value.clone()))
        .collect();
    Value::Object(kept)
}

#[cfg(test)]
mod unit {
    use super::*;

    #[test]
    fn date_filters_take_one_or_two_pairs() {
        assert!(parse_dates("created_at", "gte|2026-01-01T00:00:00Z").is_ok());
        assert!(parse_dates("created_at", "gte|2026-01-01T00:00:00Z|lt|2026-02-01").is_ok());
        assert!(parse_dates("created_at", "after|2026-01-01").is_err());
        assert!(parse_dates("created_at", "gte").is_err());
    }
}
