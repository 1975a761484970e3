//! The `users` table.

use super::cache::user_changed;
use super::{Db, announce, is_unique_violation, the_row, with_pool};
use crate::domain::display_name::DisplayName;
use crate::domain::email::EmailAddress;

#[derive(Clone, sqlx::FromRow)]
pub struct User {
    pub id: i64,
    pub email: String,
    /// The display name, if the operator gave one.
    pub name: Option<String>,
    pub password_hash: String,
    pub disabled: bool,
    pub created_at: i64,
    /// Moves on with every change of credentials: flows and sessions of an
    /// older epoch are void.
    pub auth_epoch: i64,
}

/// Everything but the password hash, which no log or panic message needs.
impl std::fmt::Debug for User {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("User")
            .field("id", &self.id)
            .field("email", &self.email)
            .field("name", &self.name)
            .field("password_hash", &"[redacted]")
            .field("disabled", &self.disabled)
            .field("created_at", &self.created_at)
            .field("auth_epoch", &self.auth_epoch)
            .finish()
    }
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
        concat!("SELECT id, email, name, password_hash, disabled, created_at, auth_epoch FROM users ", $tail)
    };
}

pub async fn find_by_email(db: &Db, email: &EmailAddress) -> Result<Option<User>, sqlx::Error> {
    let sql = select_users!("WHERE email = $1");
    with_pool!(db, pool => sqlx::query_as(sql).bind(email.as_str()).fetch_optional(pool).await)
}

/// The account with id `id`, through the cache.
pub async fn find_by_id(db: &Db, id: i64) -> Result<Option<User>, sqlx::Error> {
    if let Some(user) = db.cache().user(id) {
        return Ok(Some(User::clone(&user)));
    }
    let since = db.cache().generation();
    let sql = select_users!("WHERE id = $1");
    let user: Option<User> = with_pool!(db, pool => sqlx::query_as(sql).bind(id).fetch_optional(pool).await)?;
    if let Some(user) = &user {
        db.cache().keep_user(user.clone(), since);
    }
    Ok(user)
}

pub async fn list(db: &Db) -> Result<Vec<User>, sqlx::Error> {
    let sql = select_users!("ORDER BY email");
    with_pool!(db, pool => sqlx::query_as(sql).fetch_all(pool).await)
}

/// The password hashes of the newest `limit` accounts, for a sample of
/// what stored hashes cost.
pub async fn recent_password_hashes(db: &Db, limit: i64) -> Result<Vec<String>, sqlx::Error> {
    let sql = "SELECT password_hash FROM users ORDER BY updated_at DESC LIMIT $1";
    with_pool!(db, pool => sqlx::query_scalar(sql).bind(limit).fetch_all(pool).await)
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
        .fetch_all(pool)
        .await
        .and_then(the_row));
    inserted.map_err(|e| match is_unique_violation(&e) {
        true => UserError::Duplicate(email.to_string()),
        false => UserError::Db(e),
    })
}

/// Runs `$change` (an UPDATE of the user with email `$1`, `$2` and `$3`
/// its other parameters, returning the id) together with the revocation of
/// everything issued under the old credentials: the epoch moves on, and the
/// account's sessions and pending flows (with their codes and links) go.
macro_rules! change_revoking {
    ($db:expr, $email:expr, $change:literal, $second:expr, $now:expr) => {{
        let sql = concat!($change, ", auth_epoch = auth_epoch + 1 WHERE email = $1 RETURNING id");
        with_pool!($db, pool => {
            let mut tx = pool.begin().await?;
            let id: Option<i64> =
                sqlx::query_scalar(sql).bind($email.as_str()).bind($second).bind($now).fetch_optional(&mut *tx).await?;
            let Some(id) = id else { return Err(UserError::Unknown($email.to_string())) };
            sqlx::query("DELETE FROM flows WHERE user_id = $1").bind(id).execute(&mut *tx).await?;
            sqlx::query("DELETE FROM sessions WHERE user_id = $1").bind(id).execute(&mut *tx).await?;
            announce!($db.pool(), &mut *tx, user_changed(id))?;
            tx.commit().await?;
            $db.cache().forget_user(id);
            $db.until_heard_everywhere().await;
            Ok(())
        })
    }};
}

/// Runs `$query` (a change of one account, returning its id) and announces
/// it to every instance's cache, in one transaction; evaluates to the id
/// once every instance has heard of it, or at once with `$at_once = false`
/// (a change no instance needs to see at once).
macro_rules! change_announcing {
    ($db:expr, $query:expr) => {
        change_announcing!($db, $query, true)
    };
    ($db:expr, $query:expr, $at_once:expr) => {{
        let id: Result<Option<i64>, sqlx::Error> = with_pool!($db, pool => {
            let mut tx = pool.begin().await?;
            let id: Option<i64> = $query.fetch_optional(&mut *tx).await?;
            if let Some(id) = id {
                announce!($db.pool(), &mut *tx, user_changed(id))?;
            }
            tx.commit().await?;
            Ok(id)
        });
        if let Ok(Some(id)) = &id {
            $db.cache().forget_user(*id);
            if $at_once {
                $db.until_heard_everywhere().await;
            }
        }
        id
    }};
}

/// A new password, revoking the old one's sessions and pending sign-ins.
pub async fn set_password_hash(db: &Db, email: &EmailAddress, hash: &str, now: i64) -> Result<(), UserError> {
    change_revoking!(db, email, "UPDATE users SET password_hash = $2, updated_at = $3", hash, now)
}

/// Sets the display name, or removes it with `None`.
pub async fn set_name(
    db: &Db,
    email: &EmailAddress,
    name: Option<&DisplayName>,
    now: i64,
) -> Result<(), UserError> {
    let sql = "UPDATE users SET name = $2, updated_at = $3 WHERE email = $1 RETURNING id";
    let name = name.map(DisplayName::as_str);
    let id = change_announcing!(db, sqlx::query_scalar(sql).bind(email.as_str()).bind(name).bind(now))?;
    one_row(id, email)
}

/// Disables the account, revoking its sessions and pending sign-ins.
pub async fn disable(db: &Db, email: &EmailAddress, now: i64) -> Result<(), UserError> {
    change_revoking!(db, email, "UPDATE users SET disabled = $2, updated_at = $3", true, now)
}

pub async fn enable(db: &Db, email: &EmailAddress, now: i64) -> Result<(), UserError> {
    let sql = "UPDATE users SET disabled = FALSE, updated_at = $2 WHERE email = $1 RETURNING id";
    let id = change_announcing!(db, sqlx::query_scalar(sql).bind(email.as_str()).bind(now))?;
    one_row(id, email)
}

/// Removes the user; their sessions, flows and challenges go with them (ON DELETE CASCADE).
pub async fn remove(db: &Db, email: &EmailAddress) -> Result<(), UserError> {
    let sql = "DELETE FROM users WHERE email = $1 RETURNING id";
    let id = change_announcing!(db, sqlx::query_scalar(sql).bind(email.as_str()))?;
    one_row(id, email)
}

/// Replaces the hash of user `id` (a rehash after sign-in with raised
/// parameters). The sign-in does not wait for other instances: the old hash
/// they may check for a moment accepts the same password.
pub async fn update_hash_by_id(db: &Db, id: i64, hash: &str, now: i64) -> Result<(), sqlx::Error> {
    let sql = "UPDATE users SET password_hash = $2, updated_at = $3 WHERE id = $1 RETURNING id";
    change_announcing!(db, sqlx::query_scalar(sql).bind(id).bind(hash).bind(now), false)?;
    Ok(())
}

fn one_row(changed: Option<i64>, email: &EmailAddress) -> Result<(), UserError> {
    changed.map(drop).ok_or_else(|| UserError::Unknown(email.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_debug_form_of_an_account_leaves_out_its_password_hash() {
        let hash = "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNoaGFzaA";
        let user = User {
            id: 7,
            email: "ann@example.com".into(),
            name: None,
            password_hash: hash.into(),
            disabled: false,
            created_at: 0,
            auth_epoch: 1,
        };
        let shown = format!("{user:?}");
        assert!(shown.contains("ann@example.com") && !shown.contains("argon2id"), "{shown}");
    }

    /// A first start creates the database; its accounts must be cached from
    /// the start, not only after a restart.
    #[tokio::test]
    async fn accounts_are_cached_on_a_database_created_at_this_start() {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::connect(&format!("sqlite://{}/new.db", dir.path().display())).await.unwrap();
        db.migrate().await.unwrap();
        let db = db.with_cache().await;
        let email = EmailAddress::parse("ann@example.com").unwrap();
        let id = insert(&db, &email, None, "hash", 1).await.unwrap();
        find_by_id(&db, id).await.unwrap().expect("the account");
        assert!(db.cache().user(id).is_some(), "the account read was not cached");
    }
}
