//! The one seam for outbound HTTP.
//!
//! The engine's clients and the mocks' webhook senders call [`HttpClient`]. In production it
//! is reqwest over the network ([`ReqwestClient`]); in a scenario run it calls axum routers
//! in-process ([`RouterClient`]), with no sockets, so virtual time and determinism hold.

use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use axum::Router;
use bytes::Bytes;
use http::{HeaderValue, Method, Request, Response};
use http_body_util::BodyExt;
use tower::ServiceExt;

/// The longest `Retry-After` taken at its word, in seconds: a day. A server asking for more
/// is waited on a day (then asked again); an absurd value must not push a retry past the
/// range of the clock's arithmetic.
const MAX_RETRY_AFTER_SECS: u64 = 86_400;

/// A boxed, sendable future: lets [`HttpClient`] be used as a trait object.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Why a request got no HTTP response at all.
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum TransportError {
    #[error("could not connect to {url}: {reason}")]
    Connect { url: String, reason: String },
    #[error("request to {url} timed out")]
    Timeout { url: String },
    #[error("connection to {url} was reset")]
    Reset { url: String },
    #[error("no service is registered for host {host}")]
    UnknownHost { host: String },
    #[error("could not build the request to {url}: {reason}")]
    Request { url: String, reason: String },
}

/// Sends one HTTP request and returns the whole response.
pub trait HttpClient: Send + Sync {
    fn send(
        &self,
        request: Request<Bytes>,
    ) -> BoxFuture<'_, Result<Response<Bytes>, TransportError>>;
}

/// Shared handle to any client.
pub type SharedHttp = Arc<dyn HttpClient>;

/// A response extension a mock sets to make the in-process transport behave as if the
/// connection failed, so "timeout" and "reset" faults work without sockets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SimulatedFailure {
    Timeout,
    Reset,
}

/// Calls axum routers in-process, chosen by the request's authority (`host:port`).
#[derive(Clone, Default)]
pub struct RouterClient {
    routes: Arc<RwLock<BTreeMap<String, Router>>>,
}

impl RouterClient {
    pub fn new() -> Self {
        Self::default()
    }

    /// Serves requests for `authority` (e.g. `greenhouse.test`) with `router`.
    pub fn register(&self, authority: &str, router: Router) {
        let mut routes = self.routes.write().unwrap_or_else(|poisoned| poisoned.into_inner());
        routes.insert(authority.to_ascii_lowercase(), router);
    }

    fn router_for(&self, authority: &str) -> Option<Router> {
        let routes = self.routes.read().unwrap_or_else(|poisoned| poisoned.into_inner());
        routes.get(&authority.to_ascii_lowercase()).cloned()
    }
}

impl HttpClient for RouterClient {
    fn send(
        &self,
        request: Request<Bytes>,
    ) -> BoxFuture<'_, Result<Response<Bytes>, TransportError>> {
        Box::pin(async move {
            let url = request.uri().to_string();
            let authority =
                request.uri().authority().map(|a| a.as_str().to_owned()).unwrap_or_default();
            let router = self
                .router_for(&authority)
                .ok_or(TransportError::UnknownHost { host: authority })?;

            let response = match router.oneshot(request.map(axum::body::Body::from)).await {
                Ok(response) => response,
                Err(never) => match never {},
            };
            match response.extensions().get::<SimulatedFailure>() {
                Some(SimulatedFailure::Timeout) => return Err(TransportError::Timeout { url }),
                Some(SimulatedFailure::Reset) => return Err(TransportError::Reset { url }),
                None => {}
            }

            let (parts, body) = response.into_parts();
            let bytes = body
                .collect()
                .await
                .map(|collected| collected.to_bytes())
                .map_err(|_| TransportError::Reset { url: url.clone() })?;
            Ok(Response::from_parts(parts, bytes))
        })
    }
}

/// Real HTTP through reqwest. Proxies from the environment are ignored on purpose: an
/// `HTTP_PROXY` in a CI environment must not capture calls to loopback mocks.
#[derive(Clone)]
pub struct ReqwestClient {
    client: reqwest::Client,
}

impl ReqwestClient {
    /// `timeout` bounds a whole request, connect included.
    pub fn new(timeout: Duration) -> Result<Self, TransportError> {
        let client =
            reqwest::Client::builder().no_proxy().timeout(timeout).build().map_err(|e| {
                TransportError::Request { url: String::new(), reason: e.to_string() }
            })?;
        Ok(Self { client })
    }
}

impl HttpClient for ReqwestClient {
    fn send(
        &self,
        request: Request<Bytes>,
    ) -> BoxFuture<'_, Result<Response<Bytes>, TransportError>> {
        Box::pin(async move {
            let url = request.uri().to_string();
            let request = reqwest::Request::try_from(request)
                .map_err(|e| TransportError::Request { url: url.clone(), reason: e.to_string() })?;
            let response = self.client.execute(request).await.map_err(|e| classify(&url, &e))?;

            let mut builder = Response::builder().status(response.status());
            for (name, value) in response.headers() {
                builder = builder.header(name, value);
            }
            let body = response.bytes().await.map_err(|e| classify(&url, &e))?;
            builder.body(body).map_err(|e| TransportError::Request { url, reason: e.to_string() })
        })
    }
}

fn classify(url: &str, error: &reqwest::Error) -> TransportError {
    let url = url.to_owned();
    if error.is_timeout() {
        TransportError::Timeout { url }
    } else if error.is_connect() {
        TransportError::Connect { url, reason: error.to_string() }
    } else {
        TransportError::Reset { url }
    }
}

/// How an API call failed, as the engine needs to know it: try again later, or never.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ApiError {
    /// Worth retrying: no response, a 5xx, a 429, or our own pacing before a rate limit.
    #[error("{reason}")]
    Transient {
        reason: String,
        /// How long the server asked us to wait (`Retry-After`), if it said.
        retry_after: Option<Duration>,
    },
    /// Not sent: the client is pacing itself because the rate-limit window is spent. Waiting
    /// for the window is not a failed attempt.
    #[error("{reason}")]
    RateLimited { reason: String, retry_after: Duration },
    /// Retrying the same request cannot help: a 4xx other than 408/429, or an unusable body.
    #[error("{method} {path} answered {status}: {body}")]
    Permanent { method: String, path: String, status: u16, body: String },
}

impl ApiError {
    /// Sorts a response status into transient or permanent, reading `Retry-After` (seconds).
    pub fn from_response(method: &Method, path: &str, response: &Response<Bytes>) -> Self {
        let status = response.status();
        let body = String::from_utf8_lossy(response.body()).chars().take(2048).collect::<String>();
        if status.is_server_error()
            || status == http::StatusCode::TOO_MANY_REQUESTS
            || status == http::StatusCode::REQUEST_TIMEOUT
        {
            let retry_after = response
                .headers()
                .get(http::header::RETRY_AFTER)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.trim().parse::<u64>().ok())
                .map(|secs| Duration::from_secs(secs.min(MAX_RETRY_AFTER_SECS)));
            ApiError::Transient {
                reason: format!("{method} {path} answered {status}"),
                retry_after,
            }
        } else {
            ApiError::Permanent {
                method: method.to_string(),
                path: path.to_owned(),
                status: status.as_u16(),
                body,
            }
        }
    }
}

impl From<TransportError> for ApiError {
    fn from(error: TransportError) -> Self {
        match error {
            TransportError::Request { .. } | TransportError::UnknownHost { .. } => {
                ApiError::Permanent {
                    method: String::new(),
                    path: String::new(),
                    status: 0,
                    body: error.to_string(),
                }
            }
            other => ApiError::Transient { reason: other.to_string(), retry_after: None },
        }
    }
}

/// Builds a request with a JSON body (or none) and the given extra headers.
pub fn json_request(
    method: Method,
    url: &str,
    body: Option<&serde_json::Value>,
    headers: &[(&str, String)],
) -> Result<Request<Bytes>, TransportError> {
    let bytes = match body {
        Some(value) => Bytes::from(serde_json::to_vec(value).unwrap_or_default()),
        None => Bytes::new(),
    };
    raw_request(method, url, bytes, body.is_some().then_some("application/json"), headers)
}

/// Builds a request with raw body bytes, e.g. a signed webhook whose bytes must not change.
pub fn raw_request(
    method: Method,
    url: &str,
    body: Bytes,
    content_type: Option<&str>,
    headers: &[(&str, String)],
) -> Result<Request<Bytes>, TransportError> {
    let bad = |reason: String| TransportError::Request { url: url.to_owned(), reason };
    let mut builder = Request::builder().method(method).uri(url);
    if let Some(content_type) = content_type {
        builder = builder.header(http::header::CONTENT_TYPE, content_type);
    }
    for (name, value) in headers {
        let value = HeaderValue::from_str(value).map_err(|e| bad(format!("header {name}: {e}")))?;
        builder = builder.header(*name, value);
    }
    builder.body(body).map_err(|e| bad(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::routing::get;

    #[test]
    fn retry_after_is_read_and_capped_at_a_day() {
        let answer = |value: &str| {
            let response = Response::builder()
                .status(503)
                .header("retry-after", value)
                .body(Bytes::new())
                .unwrap();
            match ApiError::from_response(&Method::GET, "/x", &response) {
                ApiError::Transient { retry_after, .. } => retry_after,
                other => panic!("{other:?}"),
            }
        };
        assert_eq!(answer("7"), Some(Duration::from_secs(7)));
        assert_eq!(answer("1000000000000000"), Some(Duration::from_secs(86_400)));
        assert_eq!(answer("soon"), None);
    }

    #[tokio::test]
    async fn router_client_routes_by_authority() {
        let client = RouterClient::new();
        client.register("a.test", Router::new().route("/x", get(|| async { "from a" })));
        client.register("b.test", Router::new().route("/x", get(|| async { "from b" })));

        let request = json_request(Method::GET, "http://b.test/x", None, &[]).unwrap();
        let response = client.send(request).await.unwrap();
        assert_eq!(response.body().as_ref(), b"from b");

        let request = json_request(Method::GET, "http://c.test/x", None, &[]).unwrap();
        let error = client.send(request).await.unwrap_err();
        assert_eq!(error, TransportError::UnknownHost { host: "c.test".into() });
    }
}
