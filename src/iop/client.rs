//! IOP API client (engine side).
