-- Stanzas one instance passes to the instance that owns their call, when they
-- are too long for a NOTIFY payload (8000 bytes): the NOTIFY carries the row id,
-- the owner reads and deletes the row.
CREATE TABLE stanza_forwards (
    id         BIGSERIAL PRIMARY KEY,
    instance   TEXT   NOT NULL,
    payload    TEXT   NOT NULL,
    created_ms BIGINT NOT NULL
);
