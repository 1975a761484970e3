//! The `users` table.

use super::{Db, is_unique_violation, with_pool};
use crate::domain::display_name::DisplayName;
use crate::domain::email::EmailAddress;

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct User {
    pub id: i64,
    pub email: String,
    /// The display name, if the operator gave one.
    pub name: Option<String>,
    pub password_hash: String,
    pub disabled: bool,
    pub created_at: i64,
}

#[derive(Debug, thiserror::Error)]
pub enum UserError {
    #[error("a user with the email {0} already exists")]
    Duplicate(String),
    #[error("no user has the email {0}")]
    Unknown(String),
    #[error(transparent)]
    Db(#[from] sqlx::Error),
}

macro_rules! select_users {
    ($tail:literal) => {
        concat!("SELECT id, email, name, password_hash, disabled, created_at FROM users ", $tail)
    };
}

pub async fn find_by_email(db: &Db, email: &EmailAddress) -> Result<Option<User>, sqlx::Error> {
    let sql = select_users!("WHERE email = $1");
    with_pool!(db, pool => sqlx::query_as(sql).bind(email.as_str()).fetch_optional(pool).await)
}

pub async fn find_by_id(db: &Db, id: i64) -> Result<Option<User>, sqlx::Error> {
    let sql = select_users!("WHERE id = $1");
    with_pool!(db, pool => sqlx::query_as(sql).bind(id).fetch_optional(pool).await)
}

pub async fn list(db: &Db) -> Result<Vec<User>, sqlx::Error> {
    let sql = select_users!("ORDER BY email");
    with_pool!(db, pool => sqlx::query_as(sql).fetch_all(pool).await)
}

pub async fn count(db: &Db) -> Result<i64, sqlx::Error> {
    with_pool!(db, pool => sqlx::query_scalar("SELECT COUNT(*) FROM users").fetch_one(pool).await)
}

pub async fn insert(
    db: &Db,
    email: &EmailAddress,
    name: Option<&DisplayName>,
    password_hash: &str,
    now: i64,
) -> Result<i64, UserError> {
    let sql = "INSERT INTO users (email, name, password_hash, disabled, created_at, updated_at) \
               VALUES ($1, $2, $3, FALSE, $4, $4) RETURNING id";
    let inserted: Result<i64, sqlx::Error> = with_pool!(db, pool => sqlx::query_scalar(sql)
        .bind(email.as_str())
        .bind(name.map(DisplayName::as_str))
        .bind(password_hash)
        .bind(now)
        .fetch_one(pool)
        .await);
    inserted.map_err(|e| match is_unique_violation(&e) {
        true => UserError::Duplicate(email.to_string()),
        false => UserError::Db(e),
    })
}

pub async fn set_password_hash(db: &Db, email: &EmailAddress, hash: &str, now: i64) -> Result<(), UserError> {
    let sql = "UPDATE users SET password_hash = $2, updated_at = $3 WHERE email = $1";
    let done = with_pool!(db, pool => sqlx::query(sql).bind(email.as_str()).bind(hash).bind(now).execute(pool).await?.rows_affected());
    one_row(done, email)
}

/// Sets the display name, or removes it with `None`.
pub async fn set_name(
    db: &Db,
    email: &EmailAddress,
    name: Option<&DisplayName>,
    now: i64,
) -> Result<(), UserError> {
    let sql = "UPDATE users SET name = $2, updated_at = $3 WHERE email = $1";
    let done = with_pool!(db, pool => sqlx::query(sql).bind(email.as_str()).bind(name.map(DisplayName::as_str)).bind(now).execute(pool).await?.rows_affected());
    one_row(done, email)
}

pub async fn set_disabled(db: &Db, email: &EmailAddress, disabled: bool, now: i64) -> Result<(), UserError> {
    let sql = "UPDATE users SET disabled = $2, updated_at = $3 WHERE email = $1";
    let done = with_pool!(db, pool => sqlx::query(sql).bind(email.as_str()).bind(disabled).bind(now).execute(pool).await?.rows_affected());
    one_row(done, email)
}

/// Removes the user; their sessions and challenges go with them (ON DELETE CASCADE).
pub async fn remove(db: &Db, email: &EmailAddress) -> Result<(), UserError> {
    let sql = "DELETE FROM users WHERE email = $1";
    let done =
        with_pool!(db, pool => sqlx::query(sql).bind(email.as_str()).execute(pool).await?.rows_affected());
    one_row(done, email)
}

/// Replaces the hash of user `id` (a rehash after sign-in with raised parameters).
pub async fn update_hash_by_id(db: &Db, id: i64, hash: &str, now: i64) -> Result<(), sqlx::Error> {
    let sql = "UPDATE users SET password_hash = $2, updated_at = $3 WHERE id = $1";
    with_pool!(db, pool => sqlx::query(sql).bind(id).bind(hash).bind(now).execute(pool).await.map(|r| r.rows_affected()))?;
    Ok(())
}

fn one_row(affected: u64, email: &EmailAddress) -> Result<(), UserError> {
    if affected == 0 { Err(UserError::Unknown(email.to_string())) } else { Ok(()) }
}
