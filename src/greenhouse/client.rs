//! The Harvest v3 client the engine uses.
//!
//! It fetches an OAuth token with client credentials (acting as `sub`), refreshes it a minute
//! before expiry and once on a 401, follows `Link: rel="next"` cursors verbatim, and paces
//! itself from `X-RateLimit-Remaining`/`X-RateLimit-Reset`: when the window is spent it answers
//! a transient error carrying the wait instead of sending a request that would draw a 429.

use std::sync::Mutex;
use std::time::Duration;

use base64::Engine as _;
use bytes::Bytes;
use chrono::{DateTime, Utc};
use http::{Method, Response, StatusCode};
use serde_json::Value;

use crate::clock::SharedClock;
use crate::pacing::{RateBudget, Slot};
use crate::transport::{ApiError, SharedHttp, json_request, raw_request};

/// Refresh a token this long before it expires, so no request races its expiry.
const REFRESH_MARGIN_SECS: i64 = 60;
/// Pages to follow at most in one list call: 500 pages of up to 500 records.
const MAX_PAGES: usize = 500;

/// Where and as whom the client talks to Greenhouse.
#[derive(Clone)]
pub struct HarvestSettings {
    /// e.g. `https://harvest.greenhouse.io`; paths are `/v3/...` below it.
    pub base_url: String,
    /// e.g. `https://auth.greenhouse.io/token`.
    pub token_url: String,
    pub client_id: String,
    pub client_secret: String,
    /// The Greenhouse user the engine acts as (the token's `sub`).
    pub acting_user_id: Option<i64>,
}

impl std::fmt::Debug for HarvestSettings {
    // The secret never reaches a log line.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HarvestSettings")
            .field("base_url", &self.base_url)
            .field("token_url", &self.token_url)
            .field("acting_user_id", &self.acting_user_id)
            .finish_non_exhaustive()
    }
}

#[derive(Default)]
struct Session {
    token: Option<String>,
    expires_at: Option<DateTime<Utc>>,
}

/// Counters a caller can read to report pacing.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct HarvestStats {
    pub requests: u64,
    pub token_fetches: u64,
    pub rate_limit_waits: u64,
}

pub struct HarvestClient {
    settings: HarvestSettings,
    http: SharedHttp,
    clock: SharedClock,
    session: Mutex<Session>,
    /// From `X-RateLimit-Remaining` and `X-RateLimit-Reset` (unix seconds), with the requests
    /// in flight.
    budget: RateBudget,
    stats: Mutex<HarvestStats>,
}

impl HarvestClient {
    pub fn new(settings: HarvestSettings, http: SharedHttp, clock: SharedClock) -> Self {
        Self {
            settings,
            http,
            clock,
            session: Mutex::default(),
            budget: RateBudget::default(),
            stats: Mutex::default(),
        }
    }

    pub fn stats(&self) -> HarvestStats {
        *self.stats.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Every record of `collection` matching `query`, following the cursor to the end.
    pub async fn list(
        &self,
        collection: &str,
        query: &[(&str, String)],
    ) -> Result<Vec<Value>, ApiError> {
        let encoded = serde_urlencoded::to_string(query).unwrap_or_default();
        let mut url = format!("{}/v3/{collection}", self.settings.base_url);
        if !encoded.is_empty() {
            url = format!("{url}?{encoded}");
        }

        let mut records = Vec::new();
        for _ in 0..MAX_PAGES {
            let response = self.send(Method::GET, &url, None).await?;
            let page: Vec<Value> =
                serde_json::from_slice(response.body()).map_err(|e| ApiError::Permanent {
                    method: "GET".into(),
                    path: url.clone(),
                    status: response.status().as_u16(),
                    body: format!("not a JSON array: {e}"),
                })?;
            records.extend(page);
            match next_link(&response) {
                // The cursor URL is used verbatim: Greenhouse rejects a cursor with other params.
                Some(next) => url = next,
                None => return Ok(records),
            }
        }
        Err(ApiError::Permanent {
            method: "GET".into(),
            path: url,
            status: 200,
            body: format!("more than {MAX_PAGES} pages"),
        })
    }

    /// One record by id (Harvest v3 has no show routes: a list with `ids=`).
    pub async fn get(&self, collection: &str, id: i64) -> Result<Option<Value>, ApiError> {
        let records = self.list(collection, &[("ids", id.to_string())]).await?;
        Ok(records.into_iter().find(|r| r.get("id").and_then(Value::as_i64) == Some(id)))
    }

    /// A write; returns the parsed body (`Value::Null` for 204).
    pub async fn write(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
    ) -> Result<Value, ApiError> {
        let url = format!("{}{path}", self.settings.base_url);
        let response = self.send(method, &url, body).await?;
        if response.body().is_empty() {
            return Ok(Value::Null);
        }
        Ok(serde_json::from_slice(response.body()).unwrap_or(Value::Null))
    }

    async fn send(
        &self,
        method: Method,
        url: &str,
        body: Option<&Value>,
    ) -> Result<Response<Bytes>, ApiError> {
        let mut slot = self.pace()?;
        let mut refreshed = false;
        loop {
            let token = self.token(refreshed).await?;
            let request = json_request(
                method.clone(),
                url,
                body,
                &[("authorization", format!("Bearer {token}"))],
            )?;
            self.count(|s| s.requests += 1);
            let response = self.http.send(request).await?;
            slot.answered();
            self.remember_rate_limit(&response);

            let status = response.status();
            if status == StatusCode::UNAUTHORIZED && !refreshed {
                // One refresh and one retry: the token may have been revoked or expired early.
                refreshed = true;
                continue;
            }
            if status.is_success() {
                return Ok(response);
            }
            return Err(ApiError::from_response(&method, path_of(url), &response));
        }
    }

    /// Refuses to send while the current window is spent (counting the requests in flight),
    /// telling the caller how long to wait.
    fn pace(&self) -> Result<Slot<'_>, ApiError> {
        let now = self.clock.now();
        self.budget.reserve(now).map_err(|resets_at| {
            self.count(|s| s.rate_limit_waits += 1);
            // To the millisecond: whole seconds rounded down woke the engine before the reset,
            // only to be told to wait again.
            let wait = u64::try_from((resets_at - now).num_milliseconds()).unwrap_or(1).max(1);
            ApiError::RateLimited {
                reason: "Greenhouse rate-limit window spent; waiting for it to reset".into(),
                retry_after: Duration::from_millis(wait),
            }
        })
    }

    fn remember_rate_limit(&self, response: &Response<Bytes>) {
        let header = |name: &str| {
            response
                .headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.trim().parse::<i64>().ok())
        };
        let remaining = header("x-ratelimit-remaining").and_then(|r| u64::try_from(r).ok());
        let resets_at = header("x-ratelimit-reset").and_then(|r| DateTime::from_timestamp(r, 0));
        if let (Some(remaining), Some(resets_at)) = (remaining, resets_at) {
            // The reset is an instant: one window's responses all name the same one.
            self.budget.observe(remaining, resets_at, 0);
        }
    }

    async fn token(&self, force_refresh: bool) -> Result<String, ApiError> {
        let now = self.clock.now();
        {
            let session = self.session.lock().unwrap_or_else(|p| p.into_inner());
            if let (false, Some(token), Some(expires_at)) =
                (force_refresh, &session.token, session.expires_at)
                && now + chrono::Duration::seconds(REFRESH_MARGIN_SECS) < expires_at
            {
                return Ok(token.clone());
            }
        }

        let (token, expires_at) = self.fetch_token(now).await?;
        let mut session = self.session.lock().unwrap_or_else(|p| p.into_inner());
        session.token = Some(token.clone());
        session.expires_at = Some(expires_at);
        Ok(token)
    }

    async fn fetch_token(&self, now: DateTime<Utc>) -> Result<(String, DateTime<Utc>), ApiError> {
        let mut form = vec![("grant_type", "client_credentials".to_owned())];
        if let Some(sub) = self.settings.acting_user_id {
            form.push(("sub", sub.to_string()));
        }
        let body = serde_urlencoded::to_string(&form).unwrap_or_default();
        let basic = base64::engine::general_purpose::STANDARD
            .encode(format!("{}:{}", self.settings.client_id, self.settings.client_secret));
        let request = raw_request(
            Method::POST,
            &self.settings.token_url,
            Bytes::from(body),
            Some("application/x-www-form-urlencoded"),
            &[("authorization", format!("Basic {basic}"))],
        )?;
        self.count(|s| s.token_fetches += 1);
        let response = self.http.send(request).await?;
        if !response.status().is_success() {
            return Err(ApiError::from_response(
                &Method::POST,
                path_of(&self.settings.token_url),
                &response,
            ));
        }
        parse_token(response.body(), now).ok_or_else(|| ApiError::Permanent {
            method: "POST".into(),
            path: path_of(&self.settings.token_url).to_owned(),
            status: response.status().as_u16(),
            body: "token response has no access_token with expires_at or expires_in".into(),
        })
    }

    fn count(&self, update: impl FnOnce(&mut HarvestStats)) {
        update(&mut self.stats.lock().unwrap_or_else(|p| p.into_inner()));
    }
}

/// Reads a token response; accepts `expires_at` (ISO-8601) or `expires_in` (seconds), since
/// sources disagree on which Greenhouse sends.
fn parse_token(body: &[u8], now: DateTime<Utc>) -> Option<(String, DateTime<Utc>)> {
    let value: Value = serde_json::from_slice(body).ok()?;
    let token = value.get("access_token")?.as_str()?.to_owned();
    let from_at = value
        .get("expires_at")
        .and_then(Value::as_str)
        .and_then(|s| DateTime::parse_from_rfc3339(s).ok());
    let expires_at = match from_at {
        Some(at) => at.with_timezone(&Utc),
        // Checked: a lifetime past chrono's range (e.g. i64::MAX) is no usable expiry.
        None => {
            let secs = value.get("expires_in")?.as_i64()?;
            now.checked_add_signed(chrono::Duration::try_seconds(secs)?)?
        }
    };
    Some((token, expires_at))
}

/// The `rel="next"` target of a `Link` header, if any.
fn next_link(response: &Response<Bytes>) -> Option<String> {
    let link = response.headers().get(http::header::LINK)?.to_str().ok()?;
    link.split(',').find_map(|part| {
        let (target, params) = part.split_once(';')?;
        let is_next = params.split(';').any(|p| p.trim().replace(' ', "") == "rel=\"next\"");
        is_next.then(|| target.trim().trim_start_matches('<').trim_end_matches('>').to_owned())
    })
}

fn path_of(url: &str) -> &str {
    url.find("://").and_then(|i| url[i + 3..].find('/').map(|j| &url[i + 3 + j..])).unwrap_or(url)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_accepts_either_expiry_field() {
        let now = crate::clock::ManualClock::scenario_epoch();
        let (_, at) = parse_token(br#"{"access_token":"t","expires_in":3600}"#, now).unwrap();
        assert_eq!(at - now, chrono::Duration::hours(1));
        let (_, at) =
            parse_token(br#"{"access_token":"t","expires_at":"2026-11-02T10:30:00.000Z"}"#, now)
                .unwrap();
        assert_eq!(at - now, chrono::Duration::minutes(90));
        assert!(parse_token(br#"{"access_token":"t"}"#, now).is_none());
        let huge = format!(r#"{{"access_token":"t","expires_in":{}}}"#, i64::MAX);
        assert!(parse_token(huge.as_bytes(), now).is_none(), "out of range, not a panic");
    }

    #[test]
    fn next_link_is_taken_verbatim() {
        let response = Response::builder()
            .header("link", "<http://gh.test/v3/candidates?cursor=abc%3D>; rel=\"next\"")
            .body(Bytes::new())
            .unwrap();
        assert_eq!(
            next_link(&response).as_deref(),
            Some("http://gh.test/v3/candidates?cursor=abc%3D")
        );
        let none = Response::builder().body(Bytes::new()).unwrap();
        assert_eq!(next_link(&none), None);
    }

    #[test]
    fn path_of_strips_scheme_and_host() {
        assert_eq!(path_of("http://gh.test/v3/x?y=1"), "/v3/x?y=1");
    }
}
