//! The operator's account commands (`gatehouse user …`) and the demo
//! account. A new password, disabling and removing also end the account's
//! sessions and pending sign-ins (SECURITY.md item 30); a new password also
//! lifts the password stop.

use super::hashing::PasswordHasher;
use super::throttle::Throttle;
use crate::db::Db;
use crate::db::users::{self, User};
use crate::domain::clock::Clock;
use crate::domain::code::random_token;
use crate::domain::display_name::DisplayName;
use crate::domain::email::EmailAddress;
use crate::domain::password::Password;

/// The account `demo_account` creates.
pub const DEMO_EMAIL: &str = "demo@example.com";

/// What the account commands run on.
pub struct Accounts<'a> {
    pub db: &'a Db,
    pub clock: &'a Clock,
    pub hasher: &'a PasswordHasher,
    pub throttle: &'a Throttle,
}

impl Accounts<'_> {
    pub async fn add(
        &self,
        email: &EmailAddress,
        name: Option<&DisplayName>,
        password: &Password,
    ) -> anyhow::Result<()> {
        let hash = self.hasher.hash(password).await?;
        users::insert(self.db, email, name, &hash, self.clock.now()).await?;
        Ok(())
    }

    pub async fn list(&self) -> anyhow::Result<Vec<User>> {
        Ok(users::list(self.db).await?)
    }

    pub async fn set_name(&self, email: &EmailAddress, name: Option<&DisplayName>) -> anyhow::Result<()> {
        Ok(users::set_name(self.db, email, name, self.clock.now()).await?)
    }

    /// Stops the account from signing in, and ends its sessions and pending sign-ins.
    pub async fn disable(&self, email: &EmailAddress) -> anyhow::Result<()> {
        Ok(users::disable(self.db, email, self.clock.now()).await?)
    }

    pub async fn enable(&self, email: &EmailAddress) -> anyhow::Result<()> {
        Ok(users::enable(self.db, email, self.clock.now()).await?)
    }

    /// A new password: the account's sessions and pending sign-ins end, and
    /// the stop after too many password failures is lifted.
    pub async fn set_password(&self, email: &EmailAddress, password: &Password) -> anyhow::Result<()> {
        let hash = self.hasher.hash(password).await?;
        users::set_password_hash(self.db, email, &hash, self.clock.now()).await?;
        self.unlock(email).await
    }

    pub async fn remove(&self, email: &EmailAddress) -> anyhow::Result<()> {
        // Sessions and challenges go with the account (ON DELETE CASCADE).
        Ok(users::remove(self.db, email).await?)
    }

    /// Lifts the stop after too many consecutive password failures, for
    /// the address and for every browser the account remembers.
    pub async fn unlock(&self, email: &EmailAddress) -> anyhow::Result<()> {
        let user_id = users::find_by_email(self.db, email).await?.map(|user| user.id);
        self.throttle.unlock(email.as_str(), user_id).await
    }

    /// For demos and examples: creates [`DEMO_EMAIL`] when there are no
    /// accounts, or gives it a fresh password when it exists, and returns the
    /// password; `None` when other accounts exist.
    pub async fn demo_account(&self) -> anyhow::Result<Option<String>> {
        let email = EmailAddress::parse(DEMO_EMAIL)?;
        let exists = users::find_by_email(self.db, &email).await?.is_some();
        if !exists && users::count(self.db).await? > 0 {
            return Ok(None);
        }
        let password = random_token()[..16].to_owned();
        let secret = Password::new_secret(password.clone())?;
        if exists {
            let hash = self.hasher.hash(&secret).await?;
            users::set_password_hash(self.db, &email, &hash, self.clock.now()).await?;
        } else {
            self.add(&email, None, &secret).await?;
        }
        Ok(Some(password))
    }
}

/// The account of a signed-in session, if it is still enabled.
pub async fn enabled_account(db: &Db, user_id: i64) -> anyhow::Result<Option<User>> {
    Ok(users::find_by_id(db, user_id).await?.filter(|user| !user.disabled))
}
