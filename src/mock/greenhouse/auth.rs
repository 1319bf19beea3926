//! OAuth client credentials at `POST /token`, bearer-token checks, scopes and the Site Admin
//! rule for lists. Error bodies follow what was measured against the real token host.

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use chrono::Duration;
use http::{HeaderMap, Method, StatusCode};
use rand::RngCore;
use serde_json::{Value, json};

use super::reply::{self, Reply};
use super::server::{Call, Inner, Route};
use super::state::{Id, Instant, SERVICE_USER_ID, State};
use super::{Credential, MockGreenhouse, faults};
use crate::clock::greenhouse_timestamp;
use crate::mock::journal::JournalBody;

/// The grants Greenhouse's token host names in its error message, in its order.
const KNOWN_GRANTS: &[&str] = &[
    "authorization_code",
    "refresh_token",
    "client_credentials",
    "urn:ietf:params:oauth:grant-type:token-exchange",
];

/// What a minted access token stands for.
#[derive(Debug, Clone)]
pub(crate) struct TokenGrant {
    pub client_id: String,
    pub scopes: Vec<String>,
    /// The user the token acts as; `None` = the integration's service user.
    pub sub: Option<Id>,
    pub expires_at: Instant,
}

impl TokenGrant {
    pub(crate) fn acting_user(&self) -> Id {
        self.sub.unwrap_or(SERVICE_USER_ID)
    }
}

/// `POST /token`. Checks run in the order the measured errors imply: credentials present,
/// client-id shape, grant type, then the credential itself, then `sub`.
///
/// TODO(fidelity): Greenhouse meters token requests in a 60 s window of their own; the limit
/// is not published, so the mock does not rate-limit `/token`.
pub(crate) fn token_endpoint(mock: &MockGreenhouse, call: &Call) -> Reply {
    let now = mock.now();
    let mut inner = mock.lock();
    let fault = faults::draw(&mut inner, call);
    faults::around(fault, now, || issue(mock, &mut inner, call, now))
}

/// The token endpoint behind any fault.
fn issue(mock: &MockGreenhouse, inner: &mut Inner, call: &Call, now: Instant) -> Reply {
    let config = &mock.shared.config;
    if call.method != Method::POST {
        return reply::not_found();
    }

    let Some((client_id, secret)) = basic_credentials(&call.headers) else {
        return token_host_error(inner, StatusCode::UNAUTHORIZED, "Unauthorized".to_owned());
    };
    if !has_client_suffix(&client_id) {
        let message = format!("client_id={client_id} does not contain a valid client ID suffix");
        return token_host_error(inner, StatusCode::BAD_REQUEST, message);
    }
    let params = match token_params(call) {
        Ok(params) => params,
        Err(message) => {
            return Reply::json(StatusCode::BAD_REQUEST, &json!({ "message": message }));
        }
    };
    if let Err(answer) = check_grant(param(&params, "grant_type")) {
        return answer;
    }
    let Some(credential) =
        config.credentials.iter().find(|c| c.client_id == client_id && c.client_secret == secret)
    else {
        return Reply::json(StatusCode::UNAUTHORIZED, &json!({"error": "invalid_client"}));
    };
    let sub = match check_sub(&inner.state, param(&params, "sub")) {
        Ok(sub) => sub,
        Err(answer) => return answer,
    };

    mint(inner, credential, sub, now, config.token_ttl_secs)
}

fn mint(
    inner: &mut Inner,
    credential: &Credential,
    sub: Option<Id>,
    now: Instant,
    ttl_secs: i64,
) -> Reply {
    let mut bytes = [0u8; 24];
    inner.rng.fill_bytes(&mut bytes);
    let expires_at = now + Duration::seconds(ttl_secs);
    let grant = TokenGrant {
        client_id: credential.client_id.clone(),
        scopes: credential.scopes.clone(),
        sub,
        expires_at,
    };
    let access_token = jwt(credential, &grant, now, &hex::encode(bytes));
    inner.tokens.insert(access_token.clone(), grant);

    // Sources disagree on expires_at versus expires_in; both are sent so either reading works.
    let mut body = json!({
        "access_token": access_token,
        "token_type": "Bearer",
        "expires_at": greenhouse_timestamp(expires_at),
        "expires_in": ttl_secs,
    });
    let answer = Reply::json(StatusCode::OK, &body);
    body["access_token"] = Value::String("[redacted]".to_owned());
    Reply { journal_body: Some(JournalBody::text(body.to_string())), ..answer }
}

/// The access token as Greenhouse's token host shapes it: a JWT (HS256) whose payload's `sub`
/// is the acting user (reference: harvest-v3 §3.1, "The access token is a JWT; its payload `sub`
/// equals the requested user id"; Greenhouse's example also carries `silo`). The reference
/// names `silo` but not its values, so the mock writes its own. `jti` is random, so tokens
/// cannot be guessed. Clients must treat the token as opaque; the mock looks it up whole.
fn jwt(credential: &Credential, grant: &TokenGrant, now: Instant, jti: &str) -> String {
    use hmac::{Hmac, KeyInit, Mac};

    let encode = |value: &Value| URL_SAFE_NO_PAD.encode(value.to_string());
    let header = encode(&json!({"alg": "HS256", "typ": "JWT"}));
    let payload = encode(&json!({
        "sub": grant.acting_user().to_string(),
        "silo": "rehearsal-mock",
        "iat": now.timestamp(),
        "exp": grant.expires_at.timestamp(),
        "jti": jti,
    }));
    let signed = format!("{header}.{payload}");
    let mut mac =
        <Hmac<sha2::Sha256> as KeyInit>::new_from_slice(credential.client_secret.as_bytes())
            .unwrap_or_else(|_| unreachable!("HMAC accepts keys of any length"));
    mac.update(signed.as_bytes());
    let signature = URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes());
    format!("{signed}.{signature}")
}

/// `{"message": ..., "errorId": "err-<n>"}`, the token host's own error shape.
fn token_host_error(inner: &mut Inner, status: StatusCode, message: String) -> Reply {
    inner.error_seq += 1;
    let error_id = format!("err-{}", inner.error_seq);
    Reply::json(status, &json!({"message": message, "errorId": error_id}))
}

fn basic_credentials(headers: &HeaderMap) -> Option<(String, String)> {
    let value = headers.get(http::header::AUTHORIZATION)?.to_str().ok()?;
    let encoded = value.strip_prefix("Basic ").or_else(|| value.strip_prefix("basic "))?;
    let decoded = STANDARD.decode(encoded.trim()).ok()?;
    let text = String::from_utf8(decoded).ok()?;
    let (id, secret) = text.split_once(':')?;
    Some((id.to_owned(), secret.to_owned()))
}

/// Greenhouse client ids end in `-<digits>`, e.g. `rehearsal-1`.
fn has_client_suffix(client_id: &str) -> bool {
    client_id.rsplit_once('-').is_some_and(|(head, digits)| {
        !head.is_empty() && !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit())
    })
}

/// Form parameters from the query string and the body; the body wins on a clash. Both places
/// were seen accepted for `grant_type`.
fn token_params(call: &Call) -> Result<Vec<(String, String)>, String> {
    let mut params: Vec<(String, String)> = serde_urlencoded::from_str(&call.query)
        .map_err(|_| "The query string is not valid form encoding".to_owned())?;
    let body: Vec<(String, String)> = serde_urlencoded::from_bytes(&call.body)
        .map_err(|_| "The body must be application/x-www-form-urlencoded".to_owned())?;
    params.extend(body);
    Ok(params)
}

fn param<'a>(params: &'a [(String, String)], name: &str) -> Option<&'a str> {
    params.iter().rev().find(|(key, _)| key == name).map(|(_, value)| value.as_str())
}

fn check_grant(grant_type: Option<&str>) -> Result<(), Reply> {
    let bad =
        |message: String| Reply::json(StatusCode::BAD_REQUEST, &json!({ "message": message }));
    match grant_type {
        None | Some("") => {
            Err(bad("Must include `grant_type` parameter in /token request".to_owned()))
        }
        Some("client_credentials") => Ok(()),
        // A real grant the mock does not implement (partners only): say so the OAuth way.
        Some(known) if KNOWN_GRANTS.contains(&known) => {
            Err(Reply::json(StatusCode::BAD_REQUEST, &json!({"error": "unsupported_grant_type"})))
        }
        Some(other) => Err(bad(format!(
            "grant_type={other} is invalid, please use one of: {}",
            KNOWN_GRANTS.join(", ")
        ))),
    }
}

/// `sub` must name a user of the organisation. The wording is ours (Greenhouse's was not
/// captured): 400 `{"error":"invalid_request","error_description":"sub=<x> ..."}`.
fn check_sub(state: &State, sub: Option<&str>) -> Result<Option<Id>, Reply> {
    let Some(raw) = sub.filter(|raw| !raw.is_empty()) else { return Ok(None) };
    let known = raw.parse::<Id>().ok().filter(|id| state.users.contains_key(id));
    known.map(Some).ok_or_else(|| {
        let description = format!("sub={raw} is not the id of a user in this organization");
        Reply::json(
            StatusCode::BAD_REQUEST,
            &json!({"error": "invalid_request", "error_description": description}),
        )
    })
}

/// The grant behind `Authorization: Bearer <token>`, if it is known and unexpired.
pub(crate) fn bearer(
    inner: &Inner,
    headers: &HeaderMap,
    now: Instant,
) -> Result<TokenGrant, Reply> {
    let token = headers
        .get(http::header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.strip_prefix("Bearer ").or_else(|| value.strip_prefix("bearer ")))
        .map(str::trim);
    let grant = token.and_then(|token| inner.tokens.get(token));
    match grant {
        Some(grant) if now < grant.expires_at => Ok(grant.clone()),
        _ => Err(reply::unauthorized()),
    }
}

/// Scopes first, then the Site Admin rule that every v3 read carries.
pub(crate) fn authorize(state: &State, grant: &TokenGrant, route: Route) -> Result<(), Reply> {
    let scope = route.scope();
    if !grant.scopes.iter().any(|granted| granted == "*" || *granted == scope) {
        return Err(reply::forbidden(&format!("Missing required scope: {scope}")));
    }
    if route.is_read() {
        let admin =
            state.users.get(&grant.acting_user()).is_some_and(|u| u.site_admin && !u.deactivated);
        if !admin {
            return Err(reply::forbidden("Harvest list endpoints require a Site Admin user"));
        }
    }
    Ok(())
}
