//! `Idempotency-Key` handling (IETF httpapi draft semantics): `(api key, key)` maps to the
//! fingerprint of the first request and, once it finished, its status and body, for 24 h of
//! the injected clock.

use chrono::Duration;
use http::StatusCode;
use serde_json::Value;
use sha2::{Digest, Sha256};

use super::api::ApiError;
use super::state::{IdempotencyRecord, State};

/// How long a key is remembered (the contract's 24 h).
const RETENTION_HOURS: i64 = 24;
/// The longest key accepted (the contract's 255 characters).
const MAX_KEY_LEN: usize = 255;

/// What to do with a request carrying a key.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Begin {
    /// First use: handle it (the key is now marked in flight).
    Proceed,
    /// Seen and finished with the same body: answer this again.
    Replay { status: u16, body: Value },
}

/// SHA-256 over method, path and body: what "the same request" means.
pub(crate) fn fingerprint(method: &str, path: &str, body: &[u8]) -> String {
    let mut hasher = Sha256::new();
    hasher.update(method.as_bytes());
    hasher.update(b" ");
    hasher.update(path.as_bytes());
    hasher.update(b"\n");
    hasher.update(body);
    hex::encode(hasher.finalize())
}

pub(crate) fn check_key(key: &str) -> Result<(), ApiError> {
    if key.is_empty() || key.len() > MAX_KEY_LEN {
        let message =
            format!("Idempotency-Key must be 1–{MAX_KEY_LEN} characters, got {}", key.len());
        return Err(ApiError::field("Idempotency-Key", "invalid_length", message));
    }
    Ok(())
}

impl State {
    /// Looks the key up; marks it in flight when new.
    pub fn idempotency_begin(
        &mut self,
        api_key: &str,
        key: &str,
        fingerprint: &str,
    ) -> Result<Begin, ApiError> {
        let now = self.now;
        self.idempotency.retain(|_, record| match record {
            IdempotencyRecord::InFlight { expires_at, .. }
            | IdempotencyRecord::Done { expires_at, .. } => *expires_at > now,
        });

        let slot = (api_key.to_owned(), key.to_owned());
        match self.idempotency.get(&slot) {
            Some(IdempotencyRecord::InFlight { .. }) => Err(ApiError::new(
                StatusCode::CONFLICT,
                "idempotency_in_progress",
                format!(
                    "a request with Idempotency-Key {key:?} is still being processed; retry later"
                ),
            )),
            Some(IdempotencyRecord::Done { fingerprint: first, status, body, .. }) => {
                if first == fingerprint {
                    Ok(Begin::Replay { status: *status, body: body.clone() })
                } else {
                    Err(ApiError::new(
                        StatusCode::UNPROCESSABLE_ENTITY,
                        "idempotency_key_reused",
                        format!(
                            "Idempotency-Key {key:?} was already used with a different request"
                        ),
                    ))
                }
            }
            None => {
                let expires_at = now + Duration::hours(RETENTION_HOURS);
                let record =
                    IdempotencyRecord::InFlight { fingerprint: fingerprint.to_owned(), expires_at };
                self.idempotency.insert(slot, record);
                Ok(Begin::Proceed)
            }
        }
    }

    /// Stores the final answer. A 5xx clears the key instead so a retry runs again, and so does
    /// a request refused before it started executing (malformed JSON, a validation error), as
    /// Stripe-style APIs do: the caller may fix the body and reuse the key.
    pub fn idempotency_finish(&mut self, api_key: &str, key: &str, status: u16, body: &Value) {
        let slot = (api_key.to_owned(), key.to_owned());
        let Some(IdempotencyRecord::InFlight { fingerprint, .. }) = self.idempotency.remove(&slot)
        else {
            return;
        };
        let code = body.pointer("/error/code").and_then(Value::as_str);
        let never_started = status == 400 || (status == 422 && code == Some("validation_failed"));
        if status >= 500 || never_started {
            return;
        }
        let expires_at = self.now + Duration::hours(RETENTION_HOURS);
        self.idempotency.insert(
            slot,
            IdempotencyRecord::Done { fingerprint, status, body: body.clone(), expires_at },
        );
    }
}
