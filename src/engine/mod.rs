//! The sync engine.
