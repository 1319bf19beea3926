-- Small named values the engine keeps between runs, e.g. the reconciliation watermark.
CREATE TABLE engine_state (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
CREATE INDEX request_links_status ON request_links (status);
