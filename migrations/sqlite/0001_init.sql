-- Events accepted from either side, stored before the webhook is acknowledged.
CREATE TABLE inbox (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    source          TEXT    NOT NULL,          -- greenhouse | iop
    event_id        TEXT    NOT NULL,
    kind            TEXT    NOT NULL,          -- Greenhouse action or IOP event type
    payload         TEXT    NOT NULL,
    received_at     TEXT    NOT NULL,
    status          TEXT    NOT NULL,          -- pending | done | dead
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TEXT    NOT NULL,
    last_error      TEXT,
    UNIQUE (source, event_id)
);
CREATE INDEX inbox_due ON inbox (status, next_attempt_at, id);

-- Greenhouse application (in a stage) <-> IOP scheduling request.
CREATE TABLE request_links (
    request_id     TEXT    PRIMARY KEY,
    application_id INTEGER NOT NULL,
    candidate_id   INTEGER NOT NULL,
    stage_id       INTEGER NOT NULL,
    stage_name     TEXT    NOT NULL,
    status         TEXT    NOT NULL,           -- open | closed | declined
    created_at     TEXT    NOT NULL
);
CREATE INDEX request_links_application ON request_links (application_id);

-- IOP interview <-> Greenhouse interview.
CREATE TABLE interview_links (
    iop_interview_id TEXT    PRIMARY KEY,
    gh_interview_id  INTEGER,
    application_id   INTEGER NOT NULL,
    status           TEXT    NOT NULL          -- active | deleted
);

-- IOP feedback <-> what it became in Greenhouse.
CREATE TABLE feedback_links (
    feedback_id TEXT    PRIMARY KEY,
    gh_kind     TEXT    NOT NULL,              -- scorecard | note
    gh_id       INTEGER NOT NULL,
    version     INTEGER NOT NULL
);

CREATE TABLE dead_letters (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    inbox_id    INTEGER NOT NULL,
    source      TEXT    NOT NULL,
    event_id    TEXT    NOT NULL,
    kind        TEXT    NOT NULL,
    reason      TEXT    NOT NULL,
    created_at  TEXT    NOT NULL
);

-- What the engine did and why, one row per decision.
CREATE TABLE audit (
    id       INTEGER PRIMARY KEY AUTOINCREMENT,
    at       TEXT    NOT NULL,
    inbox_id INTEGER,
    action   TEXT    NOT NULL,
    detail   TEXT    NOT NULL
);
