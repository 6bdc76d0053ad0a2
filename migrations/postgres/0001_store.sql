-- stox durable store, Postgres dialect (keep in step with ../sqlite/).
-- Times are epoch milliseconds; everything else is text, so the same rows read
-- the same from both dialects and from `stox calls` / `stox cdr`.

-- One row per call in progress: the latest snapshot of `Call` (JSON) plus the
-- columns that operators and fail-over look calls up by.
CREATE TABLE calls (
    id          TEXT PRIMARY KEY,          -- correlation id
    owner       TEXT NOT NULL,             -- instance that runs the call
    direction   TEXT NOT NULL,             -- outbound | inbound
    state       TEXT NOT NULL,
    sip_call_id TEXT NOT NULL,
    xmpp_sid    TEXT NOT NULL,
    xmpp_user   TEXT NOT NULL,             -- bare JID
    trunk       TEXT NULL,
    caller      TEXT NOT NULL,
    callee      TEXT NOT NULL,
    created_ms  BIGINT NOT NULL,
    answered_ms BIGINT NULL,
    updated_ms  BIGINT NOT NULL,
    snapshot    TEXT NOT NULL              -- serde_json of stox::call::Call
);
CREATE INDEX calls_owner ON calls (owner);
CREATE INDEX calls_session ON calls (xmpp_user, xmpp_sid);

-- Call detail records, one per call (the id is the call's), written when it ends.
CREATE TABLE cdrs (
    id            TEXT PRIMARY KEY,
    direction     TEXT NOT NULL,
    caller        TEXT NOT NULL,
    callee        TEXT NOT NULL,
    trunk         TEXT NULL,
    start_ms      BIGINT NOT NULL,
    answer_ms     BIGINT NULL,
    end_ms        BIGINT NOT NULL,
    duration_ms   BIGINT NOT NULL,         -- end - answer; 0 when unanswered
    sip_status    INTEGER NULL,
    jingle_reason TEXT NULL,
    ended_by      TEXT NOT NULL,           -- xmpp | sip | gateway
    instance      TEXT NOT NULL
);
CREATE INDEX cdrs_end ON cdrs (end_ms);

-- Leases of the gateway instances sharing this database.
CREATE TABLE instances (
    instance         TEXT PRIMARY KEY,
    sent_by          TEXT NOT NULL,        -- its SIP host:port (Via sent-by, Contact)
    lease_expires_ms BIGINT NOT NULL,
    started_ms       BIGINT NOT NULL
);
