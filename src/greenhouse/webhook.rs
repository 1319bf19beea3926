//! Recruiting webhook payloads (v1-shaped).
