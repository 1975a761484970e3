//! The use cases, one file per flow: enter a password (`sign_in`), enter a
//! code (`code`), use the emailed link (`link`), ask for a new code
//! (`resend`), finish a sign-in (`finish`), sign out (`sign_out`), decide
//! forward-auth (`forward_auth`), and the operator's account commands
//! (`accounts`). Each returns an outcome enum that the web layer turns into
//! a page; nothing here knows HTTP. A use case takes the services of
//! `Core` (database, clock, hasher, throttle, challenges, outbox, audit),
//! so tests can run one with a fixed clock and no server.

pub mod accounts;
pub mod audit;
pub mod challenge;
pub mod code;
pub mod finish;
pub mod forward_auth;
pub mod hashing;
pub mod link;
pub mod resend;
pub mod sign_in;
pub mod sign_out;
pub mod throttle;

#[cfg(test)]
mod tests;

use std::sync::Arc;

use crate::config::Config;
use crate::db::Db;
use crate::domain::access::AccessRules;
use crate::domain::clock::Clock;
use crate::domain::keys::Keys;
use crate::mail::Mailer;
use crate::mail::letters::{LetterRules, Letters};
use crate::mail::outbox::{Outbox, Sealer};
use audit::Audit;
use challenge::ChallengePolicy;
use hashing::PasswordHasher;
use throttle::Throttle;

/// The services the use cases run on.
#[derive(Clone)]
pub struct Core {
    pub db: Db,
    pub clock: Clock,
    pub hasher: PasswordHasher,
    pub throttle: Throttle,
    pub challenges: ChallengePolicy,
    pub outbox: Outbox,
    pub letters: Letters,
    pub audit: Audit,
    pub access: AccessRules,
    /// Keyed hash of the tokens of remembered browsers.
    browser_key: [u8; 32],
    notify_new_sign_in: bool,
}

impl Core {
    /// The services on `db` (connected and migrated), under `config` and
    /// `keys`; `link_base` is the emailed link up to its `?token=`.
    pub fn new(
        config: &Config,
        db: Db,
        keys: &Keys,
        link_base: String,
        clock: Clock,
    ) -> anyhow::Result<Self> {
        let throttle = Throttle::new(db.clone(), clock.clone(), config.limits.clone());
        let sealer = Arc::new(Sealer::new(&keys.outbox));
        let mailer = Mailer::new(&config.mail)?;
        let rules = LetterRules {
            link_base,
            code_ttl_secs: config.codes.ttl_secs,
            code_in_subject: config.mail.code_in_subject,
            failure_budget: config.limits.code_failure_budget,
        };
        Ok(Self {
            hasher: PasswordHasher::new(&config.hashing)?,
            challenges: ChallengePolicy::new(
                db.clone(),
                clock.clone(),
                config.codes.clone(),
                keys.codes,
                throttle.clone(),
                sealer.clone(),
            ),
            outbox: Outbox::new(
                db.clone(),
                mailer,
                sealer.clone(),
                &config.mail,
                config.codes.ttl_secs,
                clock.clone(),
            ),
            letters: Letters::new(config.brand.clone(), rules, sealer),
            audit: Audit::new(db.clone(), clock.clone()),
            access: config.access.clone(),
            browser_key: keys.codes,
            notify_new_sign_in: config.mail.notify_new_sign_in,
            throttle,
            clock,
            db,
        })
    }

    /// Keeps an unknown address as costly to check as a real one: the dummy
    /// hash follows the parameters of the stored hashes (SECURITY.md item
    /// 11). Run at start-up and now and then, as accounts are rehashed.
    pub async fn match_dummy_hash(&self) -> anyhow::Result<()> {
        let stored = crate::db::users::recent_password_hashes(&self.db, 200).await?;
        self.hasher.match_stored(&stored).await
    }
}
