-- The mail outbox and the browsers each account has signed in from.

-- Every mail is a row here, written in the same transaction as what caused it;
-- senders on any instance claim due rows, deliver them and record the outcome.
CREATE TABLE outbox (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    kind            TEXT    NOT NULL,            -- code, new_sign_in, budget_spent
    challenge_id    INTEGER REFERENCES challenges (id) ON DELETE SET NULL,
    recipient       TEXT    NOT NULL,
    body            BLOB,                        -- the letter sealed under the secret key; erased once settled
    status          TEXT    NOT NULL DEFAULT 'queued',  -- queued, sending, sent, failed, cancelled
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL,
    lease_until     INTEGER,                     -- a sender holds the row until then
    lease_token     BLOB,                        -- which sender: only it may record the outcome
    created_at      INTEGER NOT NULL,
    sent_at         INTEGER,
    last_error      TEXT
);
CREATE INDEX outbox_by_due ON outbox (status, next_attempt_at);
CREATE INDEX outbox_by_challenge ON outbox (challenge_id);

-- A browser is known to an account once a sign-in from it completed; the
-- browser holds a random token in a long-lived cookie, the table its hash.
CREATE TABLE known_browsers (
    user_id    INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    token_hash BLOB    NOT NULL,
    first_seen INTEGER NOT NULL,
    last_seen  INTEGER NOT NULL,
    PRIMARY KEY (user_id, token_hash)
);
