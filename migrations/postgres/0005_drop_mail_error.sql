-- challenges.mail_error was only ever set to NULL: the outbox keeps each
-- mail's last error (outbox.last_error), which `gatehouse outbox` shows.
ALTER TABLE challenges DROP COLUMN mail_error;
