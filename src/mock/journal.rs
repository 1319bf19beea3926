//! The request journal both mocks keep: every request in and every webhook out, with secrets
//! redacted, stamped with the injected clock.

use std::sync::{Arc, Mutex};

use bytes::Bytes;
use chrono::{DateTime, Utc};
use http::HeaderMap;
use serde::{Deserialize, Serialize};

/// Which way a journalled exchange went, seen from the mock.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    /// A request the mock served (API or control call).
    Inbound,
    /// A webhook delivery the mock sent.
    Outbound,
}

/// One journalled exchange.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JournalEntry {
    /// Position in this mock's journal, from 1.
    pub seq: u64,
    /// `greenhouse` or `iop`.
    pub service: String,
    pub direction: Direction,
    /// Virtual time at which the exchange happened.
    pub at: DateTime<Utc>,
    pub method: String,
    /// Path and query for inbound requests; the full URL for outbound deliveries.
    pub path: String,
    /// The HTTP status, or `None` when the exchange got no response (timeout, reset).
    pub status: Option<u16>,
    /// Request headers with secrets redacted (see [`redact_headers`]).
    pub headers: Vec<(String, String)>,
    /// Request body as text (UTF-8, lossy), cut at 16 KiB.
    pub request_body: String,
    /// Response body as text, cut at 16 KiB.
    pub response_body: String,
    /// Findings the mock attaches, e.g. `retired_api` for a Harvest v1/v2 path, or the fault
    /// it injected (`fault:429`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
}

/// Headers whose values are secrets and never reach a journal or report.
const SECRET_HEADERS: &[&str] =
    &["authorization", "signature", "iop-signature", "cookie", "set-cookie"];

/// Copies headers, replacing secret values with `[redacted]`.
pub fn redact_headers(headers: &HeaderMap) -> Vec<(String, String)> {
    headers
        .iter()
        .map(|(name, value)| {
            let name = name.as_str().to_ascii_lowercase();
            let value = if SECRET_HEADERS.contains(&name.as_str()) {
                "[redacted]".to_owned()
            } else {
                String::from_utf8_lossy(value.as_bytes()).into_owned()
            };
            (name, value)
        })
        .collect()
}

/// How much of a body a journal keeps: enough to read any webhook or error body, while a long
/// `serve` under load (list pages of ~56 KiB each) cannot exhaust memory.
const BODY_LIMIT: usize = 16 * 1024;

/// Body bytes as journal text, cut at 16 KiB.
pub fn body_text(bytes: &[u8]) -> String {
    let cut = &bytes[..bytes.len().min(BODY_LIMIT)];
    String::from_utf8_lossy(cut).into_owned()
}

/// A response body as a journal keeps it: at most 16 KiB of bytes, turned into text only when
/// the journal is read. A body within the limit is shared with the answer, not copied, so
/// journalling a kept list page (`Bytes` shared by every answer) costs a reference count.
/// Holds no secret: whoever builds one from a body carrying a secret passes the redacted text.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct JournalBody(Bytes);

impl JournalBody {
    /// The first 16 KiB of `bytes`.
    pub fn cut(bytes: &Bytes) -> Self {
        if bytes.len() <= BODY_LIMIT {
            Self(bytes.clone())
        } else {
            Self(Bytes::copy_from_slice(&bytes[..BODY_LIMIT]))
        }
    }

    /// Text that is already what the journal should show (e.g. redacted), cut at 16 KiB.
    pub fn text(text: String) -> Self {
        Self::cut(&Bytes::from(text))
    }

    fn to_text(&self) -> String {
        String::from_utf8_lossy(&self.0).into_owned()
    }
}

/// Entries a journal keeps; older ones are dropped first (their `seq` numbers stay unique).
/// 50,000 entries of at most two 16 KiB bodies bound a journal to about 1.6 GiB in the worst
/// case and far less in practice; a scenario makes a few hundred.
pub const MAX_ENTRIES: usize = 50_000;

/// JSON keys whose values are secrets (a subscription's signing secret, an API key, a token).
const SECRET_KEYS: &[&str] =
    &["secret", "secrets", "client_secret", "api_key", "access_token", "password"];

/// Body bytes as journal text with the values of secret-named JSON keys replaced by
/// `[redacted]`, at any depth (a seeded webhook's `secrets`, a created subscription's `secret`).
/// Bodies that are not JSON are kept as they are.
pub fn redacted_body_text(bytes: &[u8]) -> String {
    if bytes.is_empty() {
        return String::new();
    }
    let Ok(mut value) = serde_json::from_slice::<serde_json::Value>(bytes) else {
        return body_text(bytes);
    };
    redact_value(&mut value);
    body_text(value.to_string().as_bytes())
}

fn redact_value(value: &mut serde_json::Value) {
    match value {
        serde_json::Value::Object(map) => {
            for (key, inner) in map.iter_mut() {
                if SECRET_KEYS.contains(&key.to_ascii_lowercase().as_str()) {
                    *inner = serde_json::Value::String("[redacted]".to_owned());
                } else {
                    redact_value(inner);
                }
            }
        }
        serde_json::Value::Array(items) => items.iter_mut().for_each(redact_value),
        _ => {}
    }
}

/// An append-only journal shared by a mock's routes, keeping the newest [`MAX_ENTRIES`].
#[derive(Debug, Clone, Default)]
pub struct Journal {
    inner: Arc<Mutex<Inner>>,
}

#[derive(Debug, Default)]
struct Inner {
    entries: std::collections::VecDeque<Kept>,
    /// The last `seq` handed out.
    last_seq: u64,
}

/// An entry as stored: the response body stays bytes until the journal is read.
#[derive(Debug)]
struct Kept {
    entry: JournalEntry,
    /// Replaces `entry.response_body` when read.
    response: Option<JournalBody>,
}

impl Journal {
    /// Appends `entry`, assigning its `seq`.
    pub fn record(&self, entry: JournalEntry) {
        self.keep(Kept { entry, response: None });
    }

    /// Appends `entry` with `response` as its response body (`entry.response_body` is
    /// ignored): the cheap way for a server journalling every answer under load.
    pub fn record_with_response(&self, entry: JournalEntry, response: JournalBody) {
        self.keep(Kept { entry, response: Some(response) });
    }

    fn keep(&self, mut kept: Kept) {
        let mut inner = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        inner.last_seq += 1;
        kept.entry.seq = inner.last_seq;
        if inner.entries.len() >= MAX_ENTRIES {
            inner.entries.pop_front();
        }
        inner.entries.push_back(kept);
    }

    pub fn entries(&self) -> Vec<JournalEntry> {
        let inner = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        inner
            .entries
            .iter()
            .map(|kept| {
                let mut entry = kept.entry.clone();
                if let Some(response) = &kept.response {
                    entry.response_body = response.to_text();
                }
                entry
            })
            .collect()
    }

    /// The `seq` of the newest entry (0 when none was ever recorded).
    pub fn last_seq(&self) -> u64 {
        self.inner.lock().unwrap_or_else(|p| p.into_inner()).last_seq
    }

    /// Empties the journal; `seq` numbering starts again from 1.
    pub fn clear(&self) {
        *self.inner.lock().unwrap_or_else(|p| p.into_inner()) = Inner::default();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry() -> JournalEntry {
        JournalEntry {
            seq: 0,
            service: "greenhouse".into(),
            direction: Direction::Inbound,
            at: chrono::DateTime::default(),
            method: "GET".into(),
            path: "/v3/candidates".into(),
            status: Some(200),
            headers: Vec::new(),
            request_body: String::new(),
            response_body: String::new(),
            notes: Vec::new(),
        }
    }

    #[test]
    fn secret_keys_in_json_bodies_are_redacted_at_any_depth() {
        let body = br#"{"webhook":{"url":"http://e.test","secrets":["s1","s2"]},"users":[{"api_key":"k","name":"A"}]}"#;
        let text = redacted_body_text(body);
        assert!(!text.contains("s1") && !text.contains("\"k\""), "{text}");
        assert!(text.contains("http://e.test") && text.contains("\"name\":\"A\""), "{text}");
        assert_eq!(redacted_body_text(b"not json"), "not json");
    }

    #[test]
    fn the_journal_keeps_the_newest_entries_with_unique_seqs() {
        let journal = Journal::default();
        for _ in 0..MAX_ENTRIES + 5 {
            journal.record(entry());
        }
        let entries = journal.entries();
        assert_eq!(entries.len(), MAX_ENTRIES);
        assert_eq!(entries.first().map(|e| e.seq), Some(6));
        assert_eq!(journal.last_seq(), (MAX_ENTRIES + 5) as u64);
        assert_eq!(body_text(&vec![b'x'; 100_000]).len(), 16 * 1024);
    }

    #[test]
    fn response_bytes_are_cut_shared_and_read_as_text() {
        let journal = Journal::default();
        let page = Bytes::from(vec![b'x'; 100_000]);
        let small = Bytes::from_static(b"{\"ok\":true}");
        journal.record_with_response(entry(), JournalBody::cut(&page));
        journal.record_with_response(entry(), JournalBody::cut(&small));
        let entries = journal.entries();
        assert_eq!(entries[0].response_body.len(), 16 * 1024);
        assert_eq!(entries[1].response_body, r#"{"ok":true}"#);
        // A body within the limit is the answer's own allocation, not a copy.
        assert_eq!(JournalBody::cut(&small).0.as_ptr(), small.as_ptr());
    }

    #[test]
    fn secrets_are_redacted() {
        let mut headers = HeaderMap::new();
        headers.insert("Authorization", "Bearer abc".parse().unwrap());
        headers.insert("Signature", "sha256 00".parse().unwrap());
        headers.insert("Greenhouse-Event-ID", "e1".parse().unwrap());
        let redacted = redact_headers(&headers);
        assert!(redacted.contains(&("authorization".into(), "[redacted]".into())));
        assert!(redacted.contains(&("signature".into(), "[redacted]".into())));
        assert!(redacted.contains(&("greenhouse-event-id".into(), "e1".into())));
    }
}
