//! The `audit_events` table: one row per sign-in event.

use super::{Db, with_pool};
use crate::domain::audit::{AuditResult, Event};

/// An event to record.
pub struct NewAuditRow<'a> {
    pub at: i64,
    pub user_id: Option<i64>,
    pub email: Option<&'a str>,
    pub event: Event,
    pub result: AuditResult,
    pub client_ip: Option<String>,
    pub user_agent: Option<&'a str>,
}

/// A recorded event, as `gatehouse audit` shows it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct AuditRow {
    pub at: i64,
    pub user_id: Option<i64>,
    pub email: Option<String>,
    pub event: String,
    /// The flow's purpose, for the events of a flow.
    pub purpose: Option<String>,
    pub result: String,
    pub client_ip: Option<String>,
    pub user_agent: Option<String>,
}

/// `INSERT INTO audit_events … SELECT` of one row, its values the eight
/// placeholders in `$values` (`"$1, $2, …"`), bound in order by
/// `bind_audit_row!`; for statements that record an event with the write
/// it records.
macro_rules! audit_insert {
    ($values:literal) => {
        concat!(
            "INSERT INTO audit_events (at, user_id, email, event, purpose, result, client_ip, user_agent) SELECT ",
            $values
        )
    };
}
pub(crate) use audit_insert;

/// Binds the values of `$row` (a `&NewAuditRow`) to `$query`, in the order of `audit_insert!`.
macro_rules! bind_audit_row {
    ($query:expr, $row:expr) => {
        $query
            .bind($row.at)
            .bind($row.user_id)
            .bind($row.email)
            .bind($row.event.as_str())
            .bind($row.event.purpose().map(|p| p.as_str()))
            .bind($row.result.as_str())
            .bind($row.client_ip.as_deref())
            .bind($row.user_agent)
    };
}
pub(crate) use bind_audit_row;

pub async fn insert(db: &Db, row: &NewAuditRow<'_>) -> Result<(), sqlx::Error> {
    let sql = audit_insert!("$1, $2, $3, $4, $5, $6, $7, $8");
    with_pool!(db, pool => bind_audit_row!(sqlx::query(sql), row).execute(pool).await.map(drop))
}

/// Events since `since`, oldest first, optionally for one address only.
pub async fn list(db: &Db, email: Option<&str>, since: i64) -> Result<Vec<AuditRow>, sqlx::Error> {
    let sql = "SELECT at, user_id, email, event, purpose, result, client_ip, user_agent FROM audit_events \
               WHERE at >= $1 AND ($2 IS NULL OR email = $2 OR user_id = (SELECT id FROM users WHERE email = $2)) \
               ORDER BY id";
    with_pool!(db, pool => sqlx::query_as(sql).bind(since).bind(email).fetch_all(pool).await)
}
