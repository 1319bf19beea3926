//! The log test in a process of its own. tracing caches, per call site and for the whole
//! process, whether any subscriber wants it; other tests logging on their own threads without a
//! subscriber can settle that cache before this test's thread-local subscriber exists, and its
//! INFO lines then go missing (seen in CI as a flaky failure). Alone here, nothing races it.

#[allow(dead_code)]
#[path = "../it/engine_world.rs"]
mod engine_world;

mod engine_logs;
