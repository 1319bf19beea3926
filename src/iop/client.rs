//! The IOP client the engine uses: bearer API key, `Idempotency-Key` on every create and
//! transition it may retry, `If-Match` on updates, and pacing from `X-RateLimit-*`.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use bytes::Bytes;
use http::{Method, Response, StatusCode};
use serde_json::Value;

use crate::clock::SharedClock;
use crate::pacing::{RateBudget, Slot};
use crate::transport::{ApiError, SharedHttp, json_request};

/// Where and with which key the client talks to the IOP.
#[derive(Clone)]
pub struct IopSettings {
    /// e.g. `https://iop.example.com`; paths are `/v1/...` below it.
    pub base_url: String,
    pub api_key: String,
}

impl std::fmt::Debug for IopSettings {
    // The key never reaches a log line.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IopSettings").field("base_url", &self.base_url).finish_non_exhaustive()
    }
}

pub struct IopClient {
    settings: IopSettings,
    http: SharedHttp,
    clock: SharedClock,
    /// From `X-RateLimit-Remaining` and `X-RateLimit-Reset` (seconds from the answer), with
    /// the requests in flight.
    budget: RateBudget,
    /// Calls refused by our own pacing because the window was spent.
    rate_limit_waits: AtomicU64,
}

impl IopClient {
    pub fn new(settings: IopSettings, http: SharedHttp, clock: SharedClock) -> Self {
        Self {
            settings,
            http,
            clock,
            budget: RateBudget::default(),
            rate_limit_waits: AtomicU64::new(0),
        }
    }

    /// How often a call waited for a spent rate-limit window instead of drawing a 429.
    pub fn rate_limit_waits(&self) -> u64 {
        self.rate_limit_waits.load(Ordering::Relaxed)
    }

    /// `GET`; `None` on 404.
    pub async fn get(&self, path: &str) -> Result<Option<Value>, ApiError> {
        match self.send(Method::GET, path, None, &[]).await {
            Ok(value) => Ok(Some(value)),
            Err(ApiError::Permanent { status: 404, .. }) => Ok(None),
            Err(other) => Err(other),
        }
    }

    /// Every item of a paginated list, following `next_cursor`.
    pub async fn list(&self, path: &str, query: &[(&str, String)]) -> Result<Vec<Value>, ApiError> {
        let mut items = Vec::new();
        let mut cursor: Option<String> = None;
        // 1,000 pages of 200 is far beyond any one application's requests.
        for _ in 0..1000 {
            let mut params: Vec<(&str, String)> = query.to_vec();
            params.push(("limit", "200".into()));
            if let Some(cursor) = &cursor {
                params.push(("cursor", cursor.clone()));
            }
            let url =
                format!("{path}?{}", serde_urlencoded::to_string(&params).unwrap_or_default());
            let page = self.send(Method::GET, &url, None, &[]).await?;
            if let Some(data) = page.get("data").and_then(Value::as_array) {
                items.extend(data.iter().cloned());
            }
            cursor = page.get("next_cursor").and_then(Value::as_str).map(str::to_owned);
            let has_more = page.get("has_more").and_then(Value::as_bool).unwrap_or(false);
            if !has_more || cursor.is_none() {
                return Ok(items);
            }
        }
        Err(ApiError::Permanent {
            method: "GET".into(),
            path: path.into(),
            status: 200,
            body: "too many pages".into(),
        })
    }

    /// `POST` with an `Idempotency-Key`, so a retry after a lost response changes nothing.
    pub async fn post(
        &self,
        path: &str,
        body: &Value,
        idempotency_key: &str,
    ) -> Result<Value, ApiError> {
        self.send(
            Method::POST,
            path,
            Some(body),
            &[("idempotency-key", idempotency_key.to_owned())],
        )
        .await
    }

    /// `PUT` (upserts are idempotent by nature).
    pub async fn put(&self, path: &str, body: &Value) -> Result<Value, ApiError> {
        self.send(Method::PUT, path, Some(body), &[]).await
    }

    /// `PATCH` guarded by the object's `version`.
    pub async fn patch(&self, path: &str, body: &Value, version: i64) -> Result<Value, ApiError> {
        self.send(Method::PATCH, path, Some(body), &[("if-match", version.to_string())]).await
    }

    async fn send(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
        extra: &[(&str, String)],
    ) -> Result<Value, ApiError> {
        let mut slot = self.pace()?;
        let url = format!("{}{path}", self.settings.base_url);
        let mut headers = vec![("authorization", format!("Bearer {}", self.settings.api_key))];
        headers.extend(extra.iter().cloned());
        let request = json_request(method.clone(), &url, body, &headers)?;
        let response = self.http.send(request).await?;
        slot.answered();
        self.remember_rate_limit(&response);

        if !response.status().is_success() {
            return Err(ApiError::from_response(&method, path, &response));
        }
        if response.status() == StatusCode::NO_CONTENT || response.body().is_empty() {
            return Ok(Value::Null);
        }
        serde_json::from_slice(response.body()).map_err(|e| ApiError::Permanent {
            method: method.to_string(),
            path: path.to_owned(),
            status: response.status().as_u16(),
            body: format!("response is not JSON: {e}"),
        })
    }

    fn pace(&self) -> Result<Slot<'_>, ApiError> {
        let now = self.clock.now();
        self.budget.reserve(now).map_err(|until| {
            self.rate_limit_waits.fetch_add(1, Ordering::Relaxed);
            let wait_secs = u64::try_from((until - now).num_seconds()).unwrap_or(1).max(1);
            ApiError::RateLimited {
                reason: "IOP rate-limit window spent; waiting for it to reset".into(),
                retry_after: Duration::from_secs(wait_secs),
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
        // The IOP's reset header counts seconds from now, not an epoch, so answers of one
        // window may name instants a second apart. Checked: a reset past chrono's range is
        // treated as no header rather than a panic.
        let resets_at = header("x-ratelimit-reset").and_then(|reset_secs| {
            let wait = chrono::Duration::try_seconds(reset_secs.max(1))?;
            self.clock.now().checked_add_signed(wait)
        });
        match (header("x-ratelimit-remaining"), resets_at) {
            (Some(remaining), Some(resets_at)) => {
                self.budget.observe(u64::try_from(remaining).unwrap_or(0), resets_at, 1)
            }
            _ => self.budget.forget(),
        }
    }
}
