//! Greenhouse vocabulary: Harvest v3 records and writes, recruiting-webhook payloads, the
//! Harvest v3 client the engine uses, and webhook signing and verification.

pub mod client;
pub mod signature;
pub mod webhook;
