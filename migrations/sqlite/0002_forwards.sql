-- Kept in step with migrations/postgres/0002_forwards.sql. Forwarding between
-- instances needs Postgres (LISTEN/NOTIFY); on SQLite (one instance) this
-- table stays empty.
CREATE TABLE stanza_forwards (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    instance   TEXT    NOT NULL,
    payload    TEXT    NOT NULL,
    created_ms INTEGER NOT NULL
);
