//! The real sync engine: what goes live between Greenhouse and an IOP.
//!
//! Webhooks from both sides are verified and stored before they are acknowledged (`ingest`);
//! the worker (`core`) takes stored events in order and converges the other side on the
//! current state it re-reads (`sync_greenhouse`, `sync_iop`), retrying transient failures with
//! backoff on the injected clock and dead-lettering permanent ones. Field mapping is pure
//! (`mapping`); configuration is one TOML file (`config`), checked before go-live by `check`.
//! A periodic sweep (`reconcile`) repairs what missed webhooks left behind; `metrics` serves
//! Prometheus counters at `/metrics`. Nothing here depends on the mocks or the scenario runner.

pub mod check;
mod check_mapping;
mod check_values;
pub mod config;
mod core;
pub mod field_types;
mod ingest;
pub mod mapping;
mod metrics;
mod ordering;
mod reconcile;
pub mod store;
mod sync_greenhouse;
mod sync_iop;
mod user_map;

pub use core::{Engine, HandlerError, WorkerStats};
pub use reconcile::ReconcileReport;
