-- Accounts, sessions and one-time-code challenges. Instants are unix seconds.

CREATE TABLE users (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    email         TEXT    NOT NULL UNIQUE,  -- stored lower-cased: unique regardless of case
    password_hash TEXT    NOT NULL,         -- argon2id PHC string
    disabled      BOOLEAN NOT NULL DEFAULT FALSE,
    created_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL
);

CREATE TABLE sessions (
    key_hash   BLOB    PRIMARY KEY,          -- SHA-256 of the cookie's session key
    state      TEXT    NOT NULL,             -- JSON map of the session's entries
    user_id    INTEGER REFERENCES users (id) ON DELETE CASCADE,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
);
CREATE INDEX sessions_by_expiry ON sessions (expires_at);
CREATE INDEX sessions_by_user ON sessions (user_id);

CREATE TABLE challenges (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    flow_id      INTEGER NOT NULL,           -- one pending sign-in; resends share it
    user_id      INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    purpose      TEXT    NOT NULL,
    code_hash    BLOB    NOT NULL,           -- HMAC-SHA-256 under the secret key
    link_hash    BLOB    NOT NULL UNIQUE,    -- HMAC-SHA-256 of the link token
    return_to    TEXT,
    attempts     INTEGER NOT NULL DEFAULT 0,
    created_at   INTEGER NOT NULL,
    expires_at   INTEGER NOT NULL,
    used_at      INTEGER,
    replaced_at  INTEGER,
    mail_status  TEXT    NOT NULL DEFAULT 'sending',
    mail_sent_at INTEGER,
    mail_error   TEXT
);
CREATE INDEX challenges_by_flow ON challenges (flow_id);
CREATE INDEX challenges_by_expiry ON challenges (expires_at);
