//! One entry point for every request: it reads the whole request, picks the surface (control
//! API, token endpoint, retired v1/v2, Harvest v3), and journals what it answered. Routing is
//! done by hand rather than with axum's router because Greenhouse's ordering matters: unknown
//! v3 routes are 404 before authentication, known ones authenticate, count against the rate
//! limit, and only then meet faults, scopes and handlers.

use std::collections::BTreeMap;
use std::time::Duration;

use axum::extract::{Request, State};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use http::{HeaderMap, Method, StatusCode};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use super::auth::{self, TokenGrant};
use super::control::{WebhookEndpoint, WebhookFaults};
use super::faults::{self, ArmedFault};
use super::fidelity::Fidelity;
use super::pages::CachedWorld;
use super::rate::{self, RateWindow};
use super::reply::{self, Reply};
use super::stale::StaleReads;
use super::state::{Collection, Id, Instant, State as World};
use super::webhooks::Delivery;
use super::{GreenhouseMockConfig, MockGreenhouse, control_routes, lists, stale, writes};
use crate::mock::journal::{
    Direction, Journal, JournalBody, JournalEntry, redact_headers, redacted_body_text,
};

/// Request bodies above 1 MiB are refused; no Greenhouse write comes near it.
const MAX_BODY_BYTES: usize = 1024 * 1024;

/// Everything mutable, behind the one mutex all routes share.
pub(crate) struct Inner {
    /// The records, with the list pages rendered from them since they last changed.
    pub state: CachedWorld,
    pub tokens: BTreeMap<String, TokenGrant>,
    /// Rate-limit windows by OAuth client id.
    pub windows: BTreeMap<String, RateWindow>,
    pub rate_limit: u32,
    pub api_faults: Vec<ArmedFault>,
    pub webhook_faults: WebhookFaults,
    pub webhook: Option<WebhookEndpoint>,
    pub queue: Vec<Delivery>,
    pub rng: ChaCha8Rng,
    /// Counter behind the token host's `errorId`s.
    pub error_seq: u64,
    /// Counter that orders deliveries due at the same instant.
    pub delivery_seq: u64,
    pub fidelity: Fidelity,
    /// The `stale_read_secs` fault's kept worlds.
    pub stale: StaleReads,
}

impl Inner {
    pub(crate) fn new(config: &GreenhouseMockConfig, fidelity: Fidelity, now: Instant) -> Self {
        Self {
            state: CachedWorld::new(World::new(now)),
            tokens: BTreeMap::new(),
            windows: BTreeMap::new(),
            rate_limit: config.rate_limit_per_window,
            api_faults: Vec::new(),
            webhook_faults: WebhookFaults::default(),
            webhook: None,
            queue: Vec::new(),
            rng: ChaCha8Rng::seed_from_u64(config.seed),
            error_seq: 0,
            delivery_seq: 0,
            fidelity,
            stale: StaleReads::default(),
        }
    }
}

/// A whole inbound request.
pub(crate) struct Call {
    pub method: Method,
    pub path: String,
    pub query: String,
    pub headers: HeaderMap,
    pub body: Bytes,
}

/// What a v3 handler gets: the locked world, the time, and who is acting.
pub(crate) struct Ctx<'a> {
    pub inner: &'a mut Inner,
    pub config: &'a GreenhouseMockConfig,
    pub journal: &'a Journal,
    pub now: Instant,
    /// The token's `sub`, or the service user.
    pub actor: Id,
}

/// A known Harvest v3 route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Route {
    List(Collection),
    ShowRejectionReason(Id),
    Move(Id),
    Reject(Id),
    Unreject(Id),
    Hire(Id),
    PatchCandidate(Id),
    CreateNote,
    CreateInterview,
    PatchInterview(Id),
    DeleteInterview(Id),
    CreateScorecard,
}

impl Route {
    pub(crate) fn parse(method: &Method, path: &str) -> Option<Self> {
        let rest = path.strip_prefix("/v3/")?;
        let segments: Vec<&str> = rest.strip_suffix('/').unwrap_or(rest).split('/').collect();
        let id = |raw: &str| raw.parse::<Id>().ok();
        let route = match (method.as_str(), segments.as_slice()) {
            ("GET", [name]) => Self::List(Collection::from_name(name)?),
            ("GET", ["rejection_reasons", raw]) => Self::ShowRejectionReason(id(raw)?),
            ("POST", ["applications", raw, verb]) => {
                let app = id(raw)?;
                match *verb {
                    "move" => Self::Move(app),
                    "reject" => Self::Reject(app),
                    "unreject" => Self::Unreject(app),
                    "hire" => Self::Hire(app),
                    _ => return None,
                }
            }
            ("PATCH", ["candidates", raw]) => Self::PatchCandidate(id(raw)?),
            ("POST", ["notes"]) => Self::CreateNote,
            ("POST", ["interviews"]) => Self::CreateInterview,
            ("PATCH", ["interviews", raw]) => Self::PatchInterview(id(raw)?),
            ("DELETE", ["interviews", raw]) => Self::DeleteInterview(id(raw)?),
            ("POST", ["scorecards"]) => Self::CreateScorecard,
            _ => return None,
        };
        Some(route)
    }

    /// The scope Greenhouse names for this route.
    pub(crate) fn scope(self) -> String {
        let (resource, action) = match self {
            Self::List(collection) => (collection.name(), "list"),
            Self::ShowRejectionReason(_) => ("rejection_reasons", "list"),
            Self::Move(_) | Self::Reject(_) | Self::Unreject(_) | Self::Hire(_) => {
                ("applications", "update")
            }
            Self::PatchCandidate(_) => ("candidates", "update"),
            Self::CreateNote => ("notes", "create"),
            Self::CreateInterview => ("interviews", "create"),
            Self::PatchInterview(_) => ("interviews", "update"),
            Self::DeleteInterview(_) => ("interviews", "destroy"),
            Self::CreateScorecard => ("scorecards", "create"),
        };
        format!("harvest:{resource}:{action}")
    }

    pub(crate) fn is_read(self) -> bool {
        matches!(self, Self::List(_) | Self::ShowRejectionReason(_))
    }
}

/// The fallback handler behind [`MockGreenhouse::router`].
pub(crate) async fn serve(State(mock): State<MockGreenhouse>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let call_body = match axum::body::to_bytes(body, MAX_BODY_BYTES).await {
        Ok(bytes) => bytes,
        Err(_) => {
            let message = "request body is larger than 1 MiB or could not be read";
            return reply::control_error(StatusCode::PAYLOAD_TOO_LARGE, message).into_response();
        }
    };
    let call = Call {
        method: parts.method,
        path: parts.uri.path().to_owned(),
        query: parts.uri.query().unwrap_or_default().to_owned(),
        headers: parts.headers,
        body: call_body,
    };

    let answer = mock.dispatch(&call).await;
    mock.journal_inbound(&call, &answer);
    answer.into_response()
}

impl MockGreenhouse {
    async fn dispatch(&self, call: &Call) -> Reply {
        if call.path.starts_with("/_rehearsal/") {
            return control_routes::handle(self, call).await.note("control");
        }
        if call.path == "/token" {
            return auth::token_endpoint(self, call);
        }
        if ["/v1/", "/v2/"].iter().any(|prefix| call.path.starts_with(prefix)) {
            return reply::not_found().note("retired_api");
        }
        let (answer, delay) = self.v3(call);
        if let Some(delay) = delay {
            // Real time, outside the lock: the virtual clock stays where the runner put it.
            tokio::time::sleep(delay).await;
        }
        answer
    }

    /// The answer, and how long to hold it back (a `latency` fault).
    fn v3(&self, call: &Call) -> (Reply, Option<Duration>) {
        let now = self.now();
        let mut inner = self.lock();
        let Some(route) = Route::parse(&call.method, &call.path) else {
            // Unknown routes answer before authentication, still with rate-limit headers.
            return (rate::anonymous_headers(reply::not_found(), inner.rate_limit, now), None);
        };

        let grant = match auth::bearer(&inner, &call.headers, now) {
            Ok(grant) => grant,
            Err(answer) => return (rate::anonymous_headers(answer, inner.rate_limit, now), None),
        };
        let usage = rate::count(&mut inner, &grant.client_id, now);
        if usage.exceeded {
            return (rate::with_headers(rate::exceeded(&usage), &usage), None);
        }
        let fault = faults::draw(&mut inner, call);
        let delay = fault.as_ref().and_then(faults::latency);
        let answer = faults::around(fault, now, || {
            stale::around(&mut inner, route.is_read(), now, |inner| {
                self.handle(inner, call, route, &grant, now)
            })
        });
        (rate::with_headers(answer, &usage), delay)
    }

    /// Scopes and the Site Admin rule, then the route's handler.
    fn handle(
        &self,
        inner: &mut Inner,
        call: &Call,
        route: Route,
        grant: &TokenGrant,
        now: Instant,
    ) -> Reply {
        if let Err(denied) = auth::authorize(&inner.state, grant, route) {
            return denied;
        }
        let actor = grant.acting_user();
        let config = &self.shared.config;
        let journal = &self.shared.journal;
        let mut ctx = Ctx { inner, config, journal, now, actor };
        match route {
            Route::List(collection) => lists::list(&mut ctx, collection, &call.query),
            Route::ShowRejectionReason(id) => lists::show_rejection_reason(&ctx, id, &call.query),
            write => writes::handle(&mut ctx, write, &call.body),
        }
    }

    fn journal_inbound(&self, call: &Call, answer: &Reply) {
        let path = if call.query.is_empty() {
            call.path.clone()
        } else {
            format!("{}?{}", call.path, call.query)
        };
        let response =
            answer.journal_body.clone().unwrap_or_else(|| JournalBody::cut(&answer.body));
        let entry = JournalEntry {
            seq: 0,
            service: "greenhouse".to_owned(),
            direction: Direction::Inbound,
            at: self.now(),
            method: call.method.to_string(),
            path,
            status: answer.failure.is_none().then_some(answer.status.as_u16()),
            headers: redact_headers(&call.headers),
            request_body: journal_request_body(call),
            response_body: String::new(),
            notes: answer.notes.clone(),
        };
        self.shared.journal.record_with_response(entry, response);
    }
}

/// The token request's form body can carry `client_secret`, and a webhook endpoint its signing
/// secret; the journal keeps neither.
fn journal_request_body(call: &Call) -> String {
    if call.path != "/token" {
        return redacted_body_text(&call.body);
    }
    let pairs: Vec<(String, String)> = serde_urlencoded::from_bytes(&call.body).unwrap_or_default();
    let kept: Vec<(String, String)> = pairs
        .into_iter()
        .map(|(k, v)| if k.contains("secret") { (k, "[redacted]".to_owned()) } else { (k, v) })
        .collect();
    serde_urlencoded::to_string(kept).unwrap_or_default()
}
