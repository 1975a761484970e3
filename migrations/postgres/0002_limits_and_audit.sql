-- Rate limits and the audit log. Every limit lives here, so it holds across instances.

-- One row per counted event (a code sent, a wrong code, a sign-in start) in a bucket
-- such as 'code-send:user:42'; limits count the rows of a bucket inside a rolling window.
CREATE TABLE limit_events (
    id     BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    bucket TEXT    NOT NULL,
    at     BIGINT  NOT NULL
);
CREATE INDEX limit_events_by_bucket ON limit_events (bucket, at);

-- A row per bucket, upserted first in every limit transaction: it serialises
-- concurrent takers of one bucket, so check-then-insert cannot overshoot.
CREATE TABLE limit_locks (
    bucket TEXT PRIMARY KEY
);

-- Consecutive password failures per account or client IP, and the delay they earned.
CREATE TABLE password_failures (
    bucket       TEXT    PRIMARY KEY,
    failures     INTEGER NOT NULL,
    locked_until BIGINT  NOT NULL
);

CREATE TABLE audit_events (
    id         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at         BIGINT  NOT NULL,
    user_id    BIGINT,
    email      TEXT,
    event      TEXT    NOT NULL,
    result     TEXT    NOT NULL,
    client_ip  TEXT,
    user_agent TEXT
);
CREATE INDEX audit_events_by_time ON audit_events (at);
CREATE INDEX audit_events_by_email ON audit_events (email, at);
