//! The `flows` table: one row per pending sign-in (or reset), from the
//! password step until it is finished, refused or 15 minutes old. Each
//! change of state is one conditional UPDATE, so two requests (or two
//! instances) can never both approve, refuse or finish a flow.

use super::{Db, first_row, with_pool};
use crate::domain::purpose::Purpose;

/// A flow to start.
pub struct NewFlow<'a> {
    pub user_id: i64,
    pub purpose: Purpose,
    pub epoch: i64,
    pub return_to: Option<&'a str>,
    pub started_at: i64,
    pub expires_at: i64,
    pub browser: &'a str,
    pub client_ip: Option<&'a str>,
    pub match_number: i32,
}

#[derive(Debug, Clone)]
pub struct Flow {
    pub id: i64,
    pub user_id: i64,
    pub purpose: Purpose,
    pub epoch: i64,
    pub return_to: Option<String>,
    pub started_at: i64,
    pub expires_at: i64,
    pub browser: String,
    pub client_ip: Option<String>,
    pub match_number: i32,
    pub approved_at: Option<i64>,
    pub refused_at: Option<i64>,
    pub finished_at: Option<i64>,
}

#[derive(sqlx::FromRow)]
struct Row {
    id: i64,
    user_id: i64,
    purpose: String,
    epoch: i64,
    return_to: Option<String>,
    started_at: i64,
    expires_at: i64,
    browser: String,
    client_ip: Option<String>,
    match_number: i32,
    approved_at: Option<i64>,
    refused_at: Option<i64>,
    finished_at: Option<i64>,
}

impl TryFrom<Row> for Flow {
    type Error = sqlx::Error;

    fn try_from(row: Row) -> Result<Self, Self::Error> {
        Ok(Flow {
            purpose: row.purpose.parse().map_err(|e: String| sqlx::Error::Decode(e.into()))?,
            id: row.id,
            user_id: row.user_id,
            epoch: row.epoch,
            return_to: row.return_to,
            started_at: row.started_at,
            expires_at: row.expires_at,
            browser: row.browser,
            client_ip: row.client_ip,
            match_number: row.match_number,
            approved_at: row.approved_at,
            refused_at: row.refused_at,
            finished_at: row.finished_at,
        })
    }
}

macro_rules! flow_columns {
    () => {
        "id, user_id, purpose, epoch, return_to, started_at, expires_at, browser, client_ip, \
         match_number, approved_at, refused_at, finished_at"
    };
}

/// Inserts `$flow` (a `&NewFlow`) through `$executor`; evaluates to its id.
macro_rules! insert_flow {
    ($executor:expr, $flow:expr) => {
        sqlx::query_scalar::<_, i64>(
            "INSERT INTO flows (user_id, purpose, epoch, return_to, started_at, expires_at, browser, \
             client_ip, match_number) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id",
        )
        .bind($flow.user_id)
        .bind($flow.purpose.as_str())
        .bind($flow.epoch)
        .bind($flow.return_to)
        .bind($flow.started_at)
        .bind($flow.expires_at)
        .bind($flow.browser)
        .bind($flow.client_ip)
        .bind($flow.match_number)
        .fetch_one($executor)
        .await?
    };
}
pub(crate) use insert_flow;

pub async fn find(db: &Db, id: i64) -> Result<Option<Flow>, sqlx::Error> {
    let sql = concat!("SELECT ", flow_columns!(), " FROM flows WHERE id = $1");
    let row: Option<Row> = with_pool!(db, pool => sqlx::query_as(sql).bind(id).fetch_optional(pool).await)?;
    row.map(Flow::try_from).transpose()
}

/// The waiting browser takes over an approved flow: it is finished now, once.
/// `None` when it is not approved, already finished, refused or too old.
pub async fn finish_approved(db: &Db, id: i64, now: i64) -> Result<Option<Flow>, sqlx::Error> {
    let sql = concat!(
        "UPDATE flows SET finished_at = $2 WHERE id = $1 AND approved_at IS NOT NULL \
         AND finished_at IS NULL AND refused_at IS NULL AND expires_at > $2 RETURNING ",
        flow_columns!()
    );
    let row: Option<Row> =
        with_pool!(db, pool => sqlx::query_as(sql).bind(id).bind(now).fetch_all(pool).await.map(first_row))?;
    row.map(Flow::try_from).transpose()
}

/// A code or the link was used in the waiting browser itself: the flow is
/// finished (no approval can come after it).
pub async fn finish(db: &Db, id: i64, now: i64) -> Result<(), sqlx::Error> {
    let sql = "UPDATE flows SET finished_at = $2 WHERE id = $1 AND finished_at IS NULL";
    with_pool!(db, pool => sqlx::query(sql).bind(id).bind(now).execute(pool).await.map(drop))
}
