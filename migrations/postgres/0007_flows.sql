-- Flows: a pending sign-in (or, later, a password reset) from the password
-- step on. The codes mailed for it are its challenges (a resend adds one and
-- replaces the last); the waiting browser's session names the flow.
CREATE TABLE flows (
    id           BIGINT  GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id      BIGINT  NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    purpose      TEXT    NOT NULL,           -- login, reset
    epoch        BIGINT  NOT NULL,           -- users.auth_epoch at the password step
    return_to    TEXT,
    started_at   BIGINT  NOT NULL,           -- the password step
    expires_at   BIGINT  NOT NULL,           -- at most 15 minutes after it
    browser      TEXT    NOT NULL,           -- "Firefox on Windows 10": what an approval names
    client_ip    TEXT,
    match_number INTEGER NOT NULL,           -- the two digits the waiting page shows
    approved_at  BIGINT,                     -- approved from the mail on another device
    refused_at   BIGINT,                     -- a wrong number, or "This wasn't me"
    finished_at  BIGINT                      -- the waiting browser signed in
);
CREATE INDEX flows_by_user ON flows (user_id);
CREATE INDEX flows_by_expiry ON flows (expires_at);

-- Moves on with every change of credentials (a new password, disabling):
-- flows and sessions issued under an older epoch are void.
ALTER TABLE users ADD COLUMN auth_epoch BIGINT NOT NULL DEFAULT 0;

-- A challenge now belongs to its flow, which holds the user, the purpose and
-- return_to. Sign-ins in progress during the upgrade start over: their code
-- mails lose their challenge (outbox.challenge_id becomes NULL) and are dropped.
DELETE FROM challenges;
ALTER TABLE challenges
    DROP COLUMN user_id,
    DROP COLUMN purpose,
    DROP COLUMN return_to,
    ADD CONSTRAINT challenges_flow FOREIGN KEY (flow_id) REFERENCES flows (id) ON DELETE CASCADE;
