//! The request journal both mocks keep: every request in and every webhook out, with secrets
//! redacted, stamped with the injected clock.

use std::sync::{Arc, Mutex};

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
    /// Request body as text (UTF-8, lossy), cut at 64 KiB.
    pub request_body: String,
    /// Response body as text, cut at 64 KiB.
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

/// Body bytes as journal text, cut at 64 KiB so a load run cannot exhaust memory.
pub fn body_text(bytes: &[u8]) -> String {
    const LIMIT: usize = 64 * 1024;
    let cut = &bytes[..bytes.len().min(LIMIT)];
    String::from_utf8_lossy(cut).into_owned()
}

/// An append-only journal shared by a mock's routes.
#[derive(Debug, Clone, Default)]
pub struct Journal {
    entries: Arc<Mutex<Vec<JournalEntry>>>,
}

impl Journal {
    /// Appends `entry`, assigning its `seq`.
    pub fn record(&self, mut entry: JournalEntry) {
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        entry.seq = entries.len() as u64 + 1;
        entries.push(entry);
    }

    pub fn entries(&self) -> Vec<JournalEntry> {
        self.entries.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    pub fn clear(&self) {
        self.entries.lock().unwrap_or_else(|p| p.into_inner()).clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
