//! What every benchmark signs in with: numbered accounts with one password,
//! added to a database, and the CSRF field of a page.

use gatehouse::config::Settings;
use gatehouse::core::hashing::PasswordHasher;
use gatehouse::db::{Db, users};
use gatehouse::domain::email::EmailAddress;
use gatehouse::domain::password::Password;

pub const PASSWORD: &str = "a benchmark passphrase";

/// Account `n` of the benchmark, with `PASSWORD`. Each signs in once: the
/// limits per account (3 codes per 15 minutes, 50 wrong codes a day) stay.
pub fn account(n: usize) -> String {
    format!("bench{n}@example.com")
}

/// Adds accounts `0..count` to `db`, all with `PASSWORD` (one hash, so
/// adding them costs one hash).
pub async fn add_accounts(db: &Db, count: usize) -> anyhow::Result<()> {
    let hashing = Settings::default().check()?.hashing;
    let hash = PasswordHasher::new(&hashing)?.hash(&Password::new_secret(PASSWORD.into())?).await?;
    for n in 0..count {
        users::insert(db, &EmailAddress::parse(&account(n))?, None, &hash, 0).await?;
    }
    Ok(())
}

/// The value of a page's `csrf` field.
pub fn csrf_of(page: &str) -> String {
    let start = page.find("name=\"csrf\" value=\"").map_or(0, |i| i + 19);
    page[start..].split('"').next().unwrap_or_default().to_owned()
}
