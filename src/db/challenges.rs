//! The `challenges` table: one row per code sent. Every state change is a
//! single conditional UPDATE, so two requests (or two instances) can never
//! both use a code or both get the same guess counted.

use super::outbox::{NewMail, insert_mail};
use super::{Db, with_pool};
use crate::domain::mail::MailProgress;
use crate::domain::purpose::Purpose;

#[derive(Debug, Clone)]
pub struct Challenge {
    pub id: i64,
    pub flow_id: i64,
    pub user_id: i64,
    pub purpose: Purpose,
    pub code_hash: Vec<u8>,
    pub return_to: Option<String>,
    pub attempts: i32,
    pub created_at: i64,
    pub expires_at: i64,
    pub used_at: Option<i64>,
    pub replaced_at: Option<i64>,
    pub mail_progress: MailProgress,
    pub mail_sent_at: Option<i64>,
}

/// A row as stored; its words become types in `Challenge`.
#[derive(sqlx::FromRow)]
struct Row {
    id: i64,
    flow_id: i64,
    user_id: i64,
    purpose: String,
    code_hash: Vec<u8>,
    return_to: Option<String>,
    attempts: i32,
    created_at: i64,
    expires_at: i64,
    used_at: Option<i64>,
    replaced_at: Option<i64>,
    mail_status: String,
    mail_sent_at: Option<i64>,
}

impl TryFrom<Row> for Challenge {
    type Error = sqlx::Error;

    fn try_from(row: Row) -> Result<Self, Self::Error> {
        let decode = |e: String| sqlx::Error::Decode(e.into());
        Ok(Challenge {
            purpose: row.purpose.parse().map_err(decode)?,
            mail_progress: row.mail_status.parse().map_err(decode)?,
            id: row.id,
            flow_id: row.flow_id,
            user_id: row.user_id,
            code_hash: row.code_hash,
            return_to: row.return_to,
            attempts: row.attempts,
            created_at: row.created_at,
            expires_at: row.expires_at,
            used_at: row.used_at,
            replaced_at: row.replaced_at,
            mail_sent_at: row.mail_sent_at,
        })
    }
}

pub struct NewChallenge<'a> {
    pub flow_id: i64,
    pub user_id: i64,
    pub purpose: Purpose,
    pub code_hash: Vec<u8>,
    pub link_hash: Vec<u8>,
    pub return_to: Option<&'a str>,
    pub now: i64,
    pub expires_at: i64,
}

macro_rules! select_challenge {
    ($tail:literal) => {
        concat!(
            "SELECT id, flow_id, user_id, purpose, code_hash, return_to, attempts, created_at, ",
            "expires_at, used_at, replaced_at, mail_status, mail_sent_at FROM challenges ",
            $tail
        )
    };
}

/// The condition under which a challenge can still be used or guessed at.
/// `$2` is now, `$3` the attempt limit.
macro_rules! live {
    () => {
        "used_at IS NULL AND replaced_at IS NULL AND expires_at > $2 AND attempts < $3"
    };
}

/// Inserts `$new` through `$executor`; evaluates to the new id.
macro_rules! insert_challenge {
    ($executor:expr, $new:expr) => {
        sqlx::query_scalar::<_, i64>(
            "INSERT INTO challenges \
             (flow_id, user_id, purpose, code_hash, link_hash, return_to, attempts, created_at, expires_at) \
             VALUES ($1, $2, $3, $4, $5, $6, 0, $7, $8) RETURNING id",
        )
        .bind($new.flow_id)
        .bind($new.user_id)
        .bind($new.purpose.as_str())
        .bind(&$new.code_hash)
        .bind(&$new.link_hash)
        .bind($new.return_to)
        .bind($new.now)
        .bind($new.expires_at)
        .fetch_one($executor)
        .await?
    };
}

/// Inserts a challenge and queues its code mail, in one transaction.
pub async fn insert(db: &Db, new: NewChallenge<'_>, mail: &NewMail) -> Result<i64, sqlx::Error> {
    with_pool!(db, pool => {
        let mut tx = pool.begin().await?;
        let id = insert_challenge!(&mut *tx, new);
        insert_mail!(&mut *tx, mail, Some(id), new.now).await?;
        tx.commit().await?;
        Ok(id)
    })
}

/// Marks `old_id` replaced, inserts `new` and queues its mail in one
/// transaction — unless the old one was created after `created_before`, is
/// used, or already replaced, in which case nothing changes and `None` comes back.
pub async fn replace(
    db: &Db,
    old_id: i64,
    created_before: i64,
    new: NewChallenge<'_>,
    mail: &NewMail,
) -> Result<Option<i64>, sqlx::Error> {
    let sql = "UPDATE challenges SET replaced_at = $2 \
               WHERE id = $1 AND used_at IS NULL AND replaced_at IS NULL AND created_at <= $3";
    with_pool!(db, pool => {
        let mut tx = pool.begin().await?;
        let done = sqlx::query(sql).bind(old_id).bind(new.now).bind(created_before).execute(&mut *tx).await?;
        if done.rows_affected() != 1 {
            return Ok(None);
        }
        let id = insert_challenge!(&mut *tx, new);
        insert_mail!(&mut *tx, mail, Some(id), new.now).await?;
        tx.commit().await?;
        Ok(Some(id))
    })
}

pub async fn find(db: &Db, id: i64) -> Result<Option<Challenge>, sqlx::Error> {
    let sql = select_challenge!("WHERE id = $1");
    let row: Option<Row> = with_pool!(db, pool => sqlx::query_as(sql).bind(id).fetch_optional(pool).await)?;
    row.map(Challenge::try_from).transpose()
}

pub async fn find_by_link(db: &Db, link_hash: &[u8]) -> Result<Option<Challenge>, sqlx::Error> {
    let sql = select_challenge!("WHERE link_hash = $1");
    let row: Option<Row> =
        with_pool!(db, pool => sqlx::query_as(sql).bind(link_hash).fetch_optional(pool).await)?;
    row.map(Challenge::try_from).transpose()
}

/// Code hashes of the replaced challenges of a flow, newest first.
pub async fn replaced_code_hashes(db: &Db, flow_id: i64) -> Result<Vec<Vec<u8>>, sqlx::Error> {
    let sql = "SELECT code_hash FROM challenges WHERE flow_id = $1 AND replaced_at IS NOT NULL ORDER BY id DESC LIMIT 20";
    with_pool!(db, pool => sqlx::query_scalar(sql).bind(flow_id).fetch_all(pool).await)
}

/// Takes one of the challenge's attempts before a guess is compared, so no
/// more than `max_attempts` guesses are ever evaluated, however many arrive
/// at once. Returns the attempts used so far, this one included.
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
    with_pool!(db, pool => sqlx::query_scalar(sql).bind(id).bind(now).bind(max_attempts).fetch_optional(pool).await)
}

/// Gives back an attempt that turned out not to be a guess at this code.
pub async fn return_attempt(db: &Db, id: i64) -> Result<(), sqlx::Error> {
    let sql = "UPDATE challenges SET attempts = attempts - 1 WHERE id = $1 AND attempts > 0";
    with_pool!(db, pool => sqlx::query(sql).bind(id).execute(pool).await.map(|_| ()))
}

/// Uses challenge `id` after a right guess that holds a reserved attempt;
/// returns it when this call won.
pub async fn consume(db: &Db, id: i64, now: i64) -> Result<Option<i64>, sqlx::Error> {
    let sql = "UPDATE challenges SET used_at = $2 \
               WHERE id = $1 AND used_at IS NULL AND replaced_at IS NULL AND expires_at > $2 RETURNING id";
    with_pool!(db, pool => sqlx::query_scalar(sql).bind(id).bind(now).fetch_optional(pool).await)
}

/// Uses the challenge whose link hashes to `link_hash` if it is still live.
pub async fn consume_link(
    db: &Db,
    link_hash: &[u8],
    now: i64,
    max_attempts: i32,
) -> Result<Option<i64>, sqlx::Error> {
    let sql =
        concat!("UPDATE challenges SET used_at = $2 WHERE link_hash = $1 AND ", live!(), " RETURNING id");
    with_pool!(db, pool => sqlx::query_scalar(sql).bind(link_hash).bind(now).bind(max_attempts).fetch_optional(pool).await)
}
