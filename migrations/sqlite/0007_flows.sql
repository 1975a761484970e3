-- Flows: a pending sign-in (or, later, a password reset) from the password
-- step on. The codes mailed for it are its challenges (a resend adds one and
-- replaces the last); the waiting browser's session names the flow.
CREATE TABLE flows (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id      INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    purpose      TEXT    NOT NULL,           -- login, reset
    epoch        INTEGER NOT NULL,           -- users.auth_epoch at the password step
    return_to    TEXT,
    started_at   INTEGER NOT NULL,           -- the password step
    expires_at   INTEGER NOT NULL,           -- at most 15 minutes after it
    browser      TEXT    NOT NULL,           -- "Firefox on Windows 10": what an approval names
    client_ip    TEXT,
    match_number INTEGER NOT NULL,           -- the two digits the waiting page shows
    approved_at  INTEGER,                    -- approved from the mail on another device
    refused_at   INTEGER,                    -- a wrong number, or "This wasn't me"
    finished_at  INTEGER                     -- the waiting browser signed in
);
CREATE INDEX flows_by_user ON flows (user_id);
CREATE INDEX flows_by_expiry ON flows (expires_at);

-- Moves on with every change of credentials (a new password, disabling):
-- flows and sessions issued under an older epoch are void.
ALTER TABLE users ADD COLUMN auth_epoch INTEGER NOT NULL DEFAULT 0;

-- A challenge now belongs to its flow, which holds the user, the purpose and
-- return_to. Sign-ins in progress during the upgrade start over: their code
-- mails lose their challenge (outbox.challenge_id becomes NULL) and are dropped.
DROP TABLE challenges;
CREATE TABLE challenges (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    flow_id      INTEGER NOT NULL REFERENCES flows (id) ON DELETE CASCADE,
    code_hash    BLOB    NOT NULL,           -- HMAC-SHA-256 under the secret key
    link_hash    BLOB    NOT NULL UNIQUE,    -- HMAC-SHA-256 of the link token
    attempts     INTEGER NOT NULL DEFAULT 0,
    created_at   INTEGER NOT NULL,
    expires_at   INTEGER NOT NULL,
    used_at      INTEGER,
    replaced_at  INTEGER,
    mail_status  TEXT    NOT NULL DEFAULT 'sending',
    mail_sent_at INTEGER
);
CREATE INDEX challenges_by_flow ON challenges (flow_id);
CREATE INDEX challenges_by_expiry ON challenges (expires_at);
