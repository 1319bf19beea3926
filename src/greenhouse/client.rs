//! Harvest v3 client (engine side).
