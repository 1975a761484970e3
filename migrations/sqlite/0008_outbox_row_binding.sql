-- Sealed bodies are now bound to their row (kind, recipient, challenge),
-- not only to their kind: mail still queued at the upgrade was sealed the
-- old way and cannot be opened. It is dropped; a code mail among it is
-- asked for again with "Send a new code".
UPDATE outbox
SET status = 'cancelled', body = NULL, lease_until = NULL,
    last_error = 'sealed before an upgrade that binds sealed mail to its row'
WHERE status IN ('queued', 'sending');
