//! The `challenges` table: one row per code mailed for a flow. Every state
//! change is a single conditional UPDATE, so two requests (or two instances)
//! can never both use a code or both get the same guess counted; a
//! challenge is live only while its flow is (not refused, approved,
//! finished, or 15 minutes old).

use super::audit::{NewAuditRow, audit_insert, bind_audit_row};
use super::flows::{NewFlow, insert_flow};
use super::limits::{Limit, counted};
use super::outbox::{NewMail, insert_mail};
use super::{Db, Pool, changed_a_row, first_row, with_pool};
use crate::domain::mail::MailProgress;
use crate::domain::purpose::Purpose;

/// A challenge, with what it takes from its flow.
#[derive(Debug, Clone)]
pub struct Challenge {
    pub id: i64,
    pub flow_id: i64,
    pub code_hash: Vec<u8>,
    pub attempts: i32,
    pub created_at: i64,
    pub expires_at: i64,
    pub used_at: Option<i64>,
    pub replaced_at: Option<i64>,
    pub mail_progress: MailProgress,
    pub mail_sent_at: Option<i64>,
    pub user_id: i64,
    pub purpose: Purpose,
    pub epoch: i64,
    pub return_to: Option<String>,
    pub flow_expires_at: i64,
    /// The flow was refused from the mail.
    pub flow_refused: bool,
    /// The flow was approved from the mail, or finished.
    pub flow_done: bool,
}

#[derive(sqlx::FromRow)]
struct Row {
    id: i64,
    flow_id: i64,
    code_hash: Vec<u8>,
    attempts: i32,
    created_at: i64,
    expires_at: i64,
    used_at: Option<i64>,
    replaced_at: Option<i64>,
    mail_status: String,
    mail_sent_at: Option<i64>,
    user_id: i64,
    purpose: String,
    epoch: i64,
    return_to: Option<String>,
    flow_expires_at: i64,
    refused_at: Option<i64>,
    approved_at: Option<i64>,
    finished_at: Option<i64>,
}

impl TryFrom<Row> for Challenge {
    type Error = sqlx::Error;

    fn try_from(row: Row) -> Result<Self, Self::Error> {
        let decode = |e: String| sqlx::Error::Decode(e.into());
        Ok(Challenge {
            purpose: row.purpose.parse().map_err(decode)?,
            mail_progress: row.mail_status.parse().map_err(decode)?,
            flow_refused: row.refused_at.is_some(),
            flow_done: row.approved_at.is_some() || row.finished_at.is_some(),
            id: row.id,
            flow_id: row.flow_id,
            code_hash: row.code_hash,
            attempts: row.attempts,
            created_at: row.created_at,
            expires_at: row.expires_at,
            used_at: row.used_at,
            replaced_at: row.replaced_at,
            mail_sent_at: row.mail_sent_at,
            user_id: row.user_id,
            epoch: row.epoch,
            return_to: row.return_to,
            flow_expires_at: row.flow_expires_at,
        })
    }
}

/// A challenge to insert for a flow.
pub struct NewChallenge {
    pub code_hash: Vec<u8>,
    pub link_hash: Vec<u8>,
    pub now: i64,
    pub expires_at: i64,
}

macro_rules! select_challenge {
    ($tail:literal) => {
        concat!(
            "SELECT c.id, c.flow_id, c.code_hash, c.attempts, c.created_at, c.expires_at, c.used_at, ",
            "c.replaced_at, c.mail_status, c.mail_sent_at, f.user_id, f.purpose, f.epoch, f.return_to, ",
            "f.expires_at AS flow_expires_at, f.refused_at, f.approved_at, f.finished_at ",
            "FROM challenges c JOIN flows f ON f.id = c.flow_id ",
            $tail
        )
    };
}

/// The condition under which a challenge can still be used or guessed at:
/// it and its flow are live. `$2` is now, `$3` the attempt limit.
macro_rules! live {
    () => {
        "used_at IS NULL AND replaced_at IS NULL AND expires_at > $2 AND attempts < $3 \
         AND EXISTS (SELECT 1 FROM flows f WHERE f.id = challenges.flow_id AND f.expires_at > $2 \
         AND f.refused_at IS NULL AND f.approved_at IS NULL AND f.finished_at IS NULL)"
    };
}

/// Inserts `$new` for flow `$flow_id` through `$executor`; evaluates to the new id.
macro_rules! insert_challenge {
    ($executor:expr, $flow_id:expr, $new:expr) => {
        sqlx::query_scalar::<_, i64>(
            "INSERT INTO challenges (flow_id, code_hash, link_hash, attempts, created_at, expires_at) \
             VALUES ($1, $2, $3, 0, $4, $5) RETURNING id",
        )
        .bind($flow_id)
        .bind(&$new.code_hash)
        .bind(&$new.link_hash)
        .bind($new.now)
        .bind($new.expires_at)
        .fetch_one($executor)
        .await?
    };
}

/// Starts a flow with its first challenge and queues the challenge's mail,
/// which `mail` seals for the new challenge's id, in one transaction.
/// Returns the flow's and the challenge's ids.
pub async fn start(
    db: &Db,
    flow: &NewFlow<'_>,
    new: NewChallenge,
    mail: impl FnOnce(i64) -> anyhow::Result<NewMail>,
) -> anyhow::Result<(i64, i64)> {
    with_pool!(db, pool => {
        let mut tx = pool.begin().await?;
        let flow_id = insert_flow!(&mut *tx, flow);
        let id = insert_challenge!(&mut *tx, flow_id, new);
        let mail = mail(id)?;
        insert_mail!(&mut *tx, &mail, Some(id), new.now).await?;
        tx.commit().await?;
        Ok((flow_id, id))
    })
}

/// Marks `old_id` replaced, inserts `new` for its flow and queues its mail
/// (sealed by `mail` for the new id) in one transaction — unless the old
/// one was created after `created_before`, is used or replaced, or its flow
/// is no longer live; then nothing changes and `None` comes back.
pub async fn replace(
    db: &Db,
    old_id: i64,
    created_before: i64,
    new: NewChallenge,
    mail: impl FnOnce(i64) -> anyhow::Result<NewMail>,
) -> anyhow::Result<Option<i64>> {
    let sql = "UPDATE challenges SET replaced_at = $2 \
               WHERE id = $1 AND used_at IS NULL AND replaced_at IS NULL AND created_at <= $3 \
               AND EXISTS (SELECT 1 FROM flows f WHERE f.id = challenges.flow_id AND f.expires_at > $2 \
               AND f.refused_at IS NULL AND f.approved_at IS NULL AND f.finished_at IS NULL) RETURNING flow_id";
    with_pool!(db, pool => {
        let mut tx = pool.begin().await?;
        let flow_id: Option<i64> = sqlx::query_scalar(sql)
            .bind(old_id)
            .bind(new.now)
            .bind(created_before)
            .fetch_optional(&mut *tx)
            .await?;
        let Some(flow_id) = flow_id else { return Ok(None) };
        let id = insert_challenge!(&mut *tx, flow_id, new);
        let mail = mail(id)?;
        insert_mail!(&mut *tx, &mail, Some(id), new.now).await?;
        tx.commit().await?;
        Ok(Some(id))
    })
}

pub async fn find(db: &Db, id: i64) -> Result<Option<Challenge>, sqlx::Error> {
    let sql = select_challenge!("WHERE c.id = $1");
    let row: Option<Row> = with_pool!(db, pool => sqlx::query_as(sql).bind(id).fetch_optional(pool).await)?;
    row.map(Challenge::try_from).transpose()
}

pub async fn find_by_link(db: &Db, link_hash: &[u8]) -> Result<Option<Challenge>, sqlx::Error> {
    let sql = select_challenge!("WHERE c.link_hash = $1");
    let row: Option<Row> =
        with_pool!(db, pool => sqlx::query_as(sql).bind(link_hash).fetch_optional(pool).await)?;
    row.map(Challenge::try_from).transpose()
}

/// The newest challenge of a flow.
pub async fn newest_of_flow(db: &Db, flow_id: i64) -> Result<Option<Challenge>, sqlx::Error> {
    let sql = select_challenge!("WHERE c.flow_id = $1 ORDER BY c.id DESC LIMIT 1");
    let row: Option<Row> =
        with_pool!(db, pool => sqlx::query_as(sql).bind(flow_id).fetch_optional(pool).await)?;
    row.map(Challenge::try_from).transpose()
}

/// Code hashes of the replaced challenges of a flow, newest first.
pub async fn replaced_code_hashes(db: &Db, flow_id: i64) -> Result<Vec<Vec<u8>>, sqlx::Error> {
    let sql = "SELECT code_hash FROM challenges WHERE flow_id = $1 AND replaced_at IS NOT NULL ORDER BY id DESC LIMIT 20";
    with_pool!(db, pool => sqlx::query_scalar(sql).bind(flow_id).fetch_all(pool).await)
}

/// Takes one of the challenge's attempts before a wrong guess is told, so
/// no more than `max_attempts` guesses are ever answered, however many
/// arrive at once. Returns the attempts used so far, this one included.
pub async fn reserve_attempt(
    db: &Db,
    id: i64,
    now: i64,
    max_attempts: i32,
) -> Result<Option<i32>, sqlx::Error> {
    let sql = concat!(
        "UPDATE challenges SET attempts = attempts + 1 WHERE id = $1 AND ",
        live!(),
        " RETURNING attempts"
    );
    with_pool!(db, pool => sqlx::query_scalar(sql)
        .bind(id)
        .bind(now)
        .bind(max_attempts)
        .fetch_all(pool)
        .await
        .map(first_row))
}

/// Gives back an attempt that turned out not to be a guess at this code.
pub async fn return_attempt(db: &Db, id: i64) -> Result<(), sqlx::Error> {
    let sql = "UPDATE challenges SET attempts = attempts - 1 WHERE id = $1 AND attempts > 0";
    with_pool!(db, pool => sqlx::query(sql).bind(id).execute(pool).await.map(|_| ()))
}

/// How using a code or link ends its flow.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FlowEnd {
    /// Used in the waiting browser itself.
    Finish,
    /// Approved from another browser: the waiting browser may now finish it.
    Approve,
    /// Refused from another browser.
    Refuse,
}

impl FlowEnd {
    /// The column of `flows` that records this end.
    fn column(self) -> &'static str {
        match self {
            FlowEnd::Finish => "finished_at",
            FlowEnd::Approve => "approved_at",
            FlowEnd::Refuse => "refused_at",
        }
    }
}

/// Uses the live challenge whose `key` column is `$1` (`$2` is now, `$3`
/// the attempt limit), if `also` (a condition starting with `AND`) holds,
/// ends its flow as `end` says, and runs `record` (an `INSERT … SELECT`
/// without `FROM`), if given, in one round trip:
/// one statement on Postgres; on SQLite a batch, each statement after the
/// first only if the one before changed a row. Should the process stop
/// within that batch, the challenge is used and its flow merely runs out:
/// nothing can use either any more. Changes rows (on Postgres: returns
/// one) only when this call won.
fn use_and_end_sql(pool: &Pool, key: &str, also: &str, end: FlowEnd, record: Option<&str>) -> String {
    let (live, column) = (live!(), end.column());
    let used = format!("UPDATE challenges SET used_at = $2 WHERE {key} = $1 AND {live}{also}");
    match pool {
        Pool::Postgres(_) => format!(
            "WITH used AS ({used} RETURNING flow_id), \
             ended AS (UPDATE flows SET {column} = $2 FROM used WHERE flows.id = used.flow_id) \
             {} FROM used",
            record.unwrap_or("SELECT 1")
        ),
        Pool::Sqlite(_) => {
            let ended = format!(
                "{used}; UPDATE flows SET {column} = $2 \
                 WHERE changes() = 1 AND id = (SELECT flow_id FROM challenges WHERE {key} = $1)"
            );
            match record {
                Some(record) => format!("{ended}; {record} WHERE changes() = 1"),
                None => ended,
            }
        }
    }
}

/// Uses challenge `id` after a right code, while it is live with attempts
/// left and `budget` (the account's wrong codes) has room, finishes its
/// flow and writes `record`, the event, to the audit log; true when this
/// call won. The room is a condition of the same statement, so a right
/// code costs no round trip of its own for it, nor for its record, which
/// is written exactly when the code is used.
pub async fn consume(
    db: &Db,
    id: i64,
    now: i64,
    max_attempts: i32,
    budget: &Limit,
    record: &NewAuditRow<'_>,
) -> Result<bool, sqlx::Error> {
    let room = concat!(" AND ", counted!("$4", "$5"), " < $6");
    let insert = audit_insert!("$7, $8, $9, $10, $11, $12, $13, $14");
    let sql = use_and_end_sql(db.pool(), "id", room, FlowEnd::Finish, Some(insert));
    let (bucket, first, max) = (&budget.bucket, budget.first_counted(now), budget.max);
    with_pool!(db, pool => {
        let query = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(id).bind(now).bind(max_attempts);
        bind_audit_row!(query.bind(bucket).bind(first).bind(max), record)
            .execute(pool)
            .await
            .map(|done| done.rows_affected() > 0)
    })
}

/// Uses the live challenge whose link hashes to `link_hash` and ends its
/// flow as `end` says; true when this call won.
pub async fn use_link(
    db: &Db,
    link_hash: &[u8],
    now: i64,
    max_attempts: i32,
    end: FlowEnd,
) -> Result<bool, sqlx::Error> {
    changed_a_row!(db, use_and_end_sql(db.pool(), "link_hash", "", end, None), link_hash, now, max_attempts)
}
