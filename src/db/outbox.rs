//! The `outbox` table: one row per mail. A sender claims a due row with one
//! conditional UPDATE that takes a lease (on Postgres it also skips rows
//! another instance has locked), and only the holder of the lease may record
//! the outcome — so no row is sent twice while its sender is alive, and a
//! row whose sender died is taken up again when the lease runs out.

use super::{Db, Pool, changed_a_row, first_row, with_pool};
use crate::domain::mail::{MailKind, MailProgress, OutboxStatus};

/// A mail to queue: the letter is already sealed.
#[derive(Debug)]
pub struct NewMail {
    pub kind: MailKind,
    pub recipient: String,
    pub body: Vec<u8>,
}

/// `INSERT INTO outbox … SELECT` of one mail, its values the placeholders
/// (or literals) given, for statements that queue a mail with another
/// write: a `VALUES` list would not take Postgres's `FROM` after it.
macro_rules! mail_insert {
    ($kind:literal, $challenge_id:literal, $recipient:literal, $body:literal, $now:literal) => {
        concat!(
            "INSERT INTO outbox (kind, challenge_id, recipient, body, next_attempt_at, created_at) SELECT ",
            $kind,
            ", ",
            $challenge_id,
            ", ",
            $recipient,
            ", ",
            $body,
            ", ",
            $now,
            ", ",
            $now
        )
    };
}
pub(crate) use mail_insert;

/// Inserts `$mail` (a `&NewMail`) for challenge `$challenge_id` at `$now`
/// through `$executor`, so that callers can queue a mail inside their own
/// transaction.
macro_rules! insert_mail {
    ($executor:expr, $mail:expr, $challenge_id:expr, $now:expr) => {
        sqlx::query($crate::db::outbox::mail_insert!("$1", "$2", "$3", "$4", "$5"))
            .bind($mail.kind.as_str())
            .bind($challenge_id)
            .bind(&$mail.recipient)
            .bind(&$mail.body)
            .bind($now)
            .execute($executor)
    };
}
pub(crate) use insert_mail;

/// Queues a mail on its own.
pub async fn enqueue(db: &Db, mail: &NewMail, now: i64) -> Result<(), sqlx::Error> {
    with_pool!(db, pool => insert_mail!(pool, mail, None::<i64>, now).await.map(|_| ()))
}

/// A row a sender holds the lease on.
#[derive(Debug)]
pub struct Claimed {
    pub id: i64,
    pub kind: MailKind,
    pub recipient: String,
    pub challenge_id: Option<i64>,
    pub body: Option<Vec<u8>>,
    /// Attempts so far, this one included.
    pub attempts: i32,
    pub created_at: i64,
    /// The code it carries was neither used nor replaced when it was
    /// claimed (false for a mail without a code).
    pub code_pending: bool,
}

#[derive(sqlx::FromRow)]
struct ClaimedRow {
    id: i64,
    kind: String,
    recipient: String,
    challenge_id: Option<i64>,
    body: Option<Vec<u8>>,
    attempts: i32,
    created_at: i64,
    code_pending: Option<bool>,
}

impl TryFrom<ClaimedRow> for Claimed {
    type Error = sqlx::Error;

    fn try_from(row: ClaimedRow) -> Result<Self, Self::Error> {
        Ok(Claimed {
            kind: row.kind.parse().map_err(|e: String| sqlx::Error::Decode(e.into()))?,
            id: row.id,
            recipient: row.recipient,
            challenge_id: row.challenge_id,
            body: row.body,
            attempts: row.attempts,
            created_at: row.created_at,
            code_pending: row.code_pending.unwrap_or(false),
        })
    }
}

/// Rows that are due: queued and waiting for no retry, or held by a sender
/// whose lease ran out (it crashed or was cut off).
macro_rules! due {
    () => {
        "((status = 'queued' AND next_attempt_at <= $1) OR (status = 'sending' AND lease_until <= $1))"
    };
}

/// The claim, with the row lock Postgres takes (SQLite's single writer
/// needs none), and whether the claimed mail's code is still pending, so
/// that a sender reads nothing more before sending.
macro_rules! claim_sql {
    ($lock:literal) => {
        concat!(
            "UPDATE outbox SET status = 'sending', attempts = attempts + 1, lease_until = $2, lease_token = $3 ",
            "WHERE id = (SELECT id FROM outbox WHERE ",
            due!(),
            " ORDER BY next_attempt_at, id LIMIT 1",
            $lock,
            ") AND ",
            due!(),
            " RETURNING id, kind, recipient, challenge_id, body, attempts, created_at, ",
            "(SELECT used_at IS NULL AND replaced_at IS NULL FROM challenges WHERE challenges.id = outbox.challenge_id) ",
            "AS code_pending"
        )
    };
}

const CLAIM_SQLITE: &str = claim_sql!("");
const CLAIM_POSTGRES: &str = claim_sql!(" FOR UPDATE SKIP LOCKED");

/// Takes the lease on the oldest due row until `lease_until`, under `token`.
pub async fn claim(
    db: &Db,
    now: i64,
    lease_until: i64,
    token: &[u8],
) -> Result<Option<Claimed>, sqlx::Error> {
    let sql = match db.pool() {
        Pool::Sqlite(_) => CLAIM_SQLITE,
        Pool::Postgres(_) => CLAIM_POSTGRES,
    };
    let row: Option<ClaimedRow> = with_pool!(db, pool => sqlx::query_as(sql)
        .bind(now)
        .bind(lease_until)
        .bind(token)
        .fetch_all(pool)
        .await
        .map(first_row))?;
    row.map(Claimed::try_from).transpose()
}

/// The SMTP server accepted the mail: the row is settled and its body
/// erased, and a code's validity clock starts now. False when the lease was
/// lost meanwhile, and nothing was recorded.
pub async fn mark_sent(
    db: &Db,
    id: i64,
    token: &[u8],
    now: i64,
    code_ttl_secs: i64,
) -> Result<bool, sqlx::Error> {
    let settle = "UPDATE outbox SET status = 'sent', sent_at = $3, body = NULL, lease_until = NULL, last_error = NULL \
                  WHERE id = $1 AND lease_token = $2 AND status = 'sending'";
    let start_clock = "UPDATE challenges SET mail_status = 'sent', mail_sent_at = $3, expires_at = $4";
    let sql = settle_and_show(db.pool(), settle, start_clock, "used_at IS NULL AND replaced_at IS NULL");
    changed_a_row!(db, sql, id, token, now, now + code_ttl_secs)
}

/// Settles an outbox row (`settle`, an UPDATE of row `$1`) and, if it did
/// and the mail carries a code, shows it on the challenge (`show`, an
/// UPDATE of `challenges` with its `SET` and no `WHERE`, applied `when`),
/// in one round trip: one statement on Postgres; on SQLite two in one
/// batch, the second only after the first. Should the process stop between
/// those two, the code page shows the mail's progress as it was, and the
/// code's clock runs from its creation, not its sending: never longer.
/// Changes rows only when the row was settled.
fn settle_and_show(pool: &Pool, settle: &str, show: &str, when: &str) -> String {
    match pool {
        Pool::Postgres(_) => format!(
            "WITH settled AS ({settle} RETURNING challenge_id), \
             shown AS ({show} FROM settled WHERE challenges.id = settled.challenge_id AND {when}) \
             SELECT 1 FROM settled"
        ),
        Pool::Sqlite(_) => format!(
            "{settle}; {show} WHERE changes() = 1 AND id = (SELECT challenge_id FROM outbox WHERE id = $1) AND {when}"
        ),
    }
}

/// How an attempt that did not deliver ends.
pub enum Setback<'a> {
    /// Try again at this instant.
    Retry { at: i64, error: &'a str },
    /// Give up: the mail is marked failed.
    GiveUp { error: &'a str },
    /// Not worth sending any more (the code it carries was used or replaced).
    Cancel { reason: &'a str },
}

/// Records a failed or pointless attempt (and, for a code mail, the state the
/// code page shows). False when the lease was lost meanwhile.
pub async fn mark_setback(db: &Db, id: i64, token: &[u8], setback: Setback<'_>) -> Result<bool, sqlx::Error> {
    // A cancelled code mail leaves the code page as it was: its code is used or replaced.
    let (status, next_at, error, keep_body, progress) = match setback {
        Setback::Retry { at, error } => {
            (OutboxStatus::Queued, Some(at), error, true, Some(MailProgress::Retrying))
        }
        Setback::GiveUp { error } => (OutboxStatus::Failed, None, error, false, Some(MailProgress::Failed)),
        Setback::Cancel { reason } => (OutboxStatus::Cancelled, None, reason, false, None),
    };
    let settle = "UPDATE outbox SET status = $3, next_attempt_at = COALESCE($4, next_attempt_at), \
                  last_error = $5, lease_until = NULL, body = CASE WHEN $6 THEN body ELSE NULL END \
                  WHERE id = $1 AND lease_token = $2 AND status = 'sending'";
    let show = "UPDATE challenges SET mail_status = $7";
    let sql = settle_and_show(db.pool(), settle, show, "$7 IS NOT NULL AND mail_status <> 'sent'");
    let progress = progress.map(MailProgress::as_str);
    changed_a_row!(db, sql, id, token, status.as_str(), next_at, error, keep_body, progress)
}

/// How many rows are in each status.
pub async fn counts(db: &Db) -> Result<Vec<(OutboxStatus, i64)>, sqlx::Error> {
    let sql = "SELECT status, COUNT(*) FROM outbox GROUP BY status ORDER BY status";
    let rows: Vec<(String, i64)> = with_pool!(db, pool => sqlx::query_as(sql).fetch_all(pool).await)?;
    let typed = rows.into_iter().map(|(status, n)| status.parse().map(|s| (s, n)));
    typed.collect::<Result<_, String>>().map_err(|e| sqlx::Error::Decode(e.into()))
}

/// A row with an error on record, for operators.
#[derive(Debug, sqlx::FromRow)]
pub struct Trouble {
    pub id: i64,
    pub kind: String,
    pub recipient: String,
    pub status: String,
    pub attempts: i32,
    pub created_at: i64,
    pub last_error: String,
}

/// The newest rows with an error on record (failed, or queued for a retry).
pub async fn troubles(db: &Db, limit: i64) -> Result<Vec<Trouble>, sqlx::Error> {
    let sql = "SELECT id, kind, recipient, status, attempts, created_at, last_error FROM outbox \
               WHERE last_error IS NOT NULL AND status <> 'cancelled' ORDER BY id DESC LIMIT $1";
    with_pool!(db, pool => sqlx::query_as(sql).bind(limit).fetch_all(pool).await)
}
