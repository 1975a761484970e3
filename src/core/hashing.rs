//! argon2id on a bounded blocking pool: hashing new passwords and checking
//! typed ones. The unknown-account path verifies against a dummy hash so
//! that it costs the same time as a wrong password (SECURITY.md items 11, 13).

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use anyhow::Context;
use argon2::password_hash::phc::PasswordHash;
use argon2::{Algorithm, Argon2, Params, PasswordHasher as _, PasswordVerifier as _, Version};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::config::HashingRules;
use crate::domain::password::Password;

/// The longest a password check waits in the queue before it is refused.
const QUEUE_WAIT: Duration = Duration::from_secs(2);
/// What the dummy hash is of; no password typed is checked against it but
/// an unknown account's, and the answer is then no whatever it says.
const DUMMY_PASSWORD: &[u8] = b"gatehouse dummy password, never matches";

/// The outcome of checking a password against a stored hash.
#[derive(Debug, PartialEq, Eq)]
pub enum Verified {
    No,
    Yes,
    /// Correct, and the stored hash used weaker parameters: here is a new one.
    YesRehashed(String),
}

/// Every hashing slot is taken and the queue is full: answer 503 quickly
/// rather than let a flood of password attempts slow every page.
#[derive(Debug, thiserror::Error)]
#[error("password hashing is at capacity")]
pub struct HasherBusy;

/// argon2id with the configured parameters, run off the async workers with a
/// bound on concurrent hashes and a short queue in front of it.
#[derive(Clone)]
pub struct PasswordHasher {
    params: Params,
    permits: Arc<Semaphore>,
    waiting: Arc<AtomicUsize>,
    max_waiting: usize,
    /// What an unknown account's password is checked against: a hash with
    /// the parameters most stored hashes have (`match_stored`), so that an
    /// unknown address costs what a known one does even after the
    /// configured cost was raised and old hashes are not yet rehashed.
    dummy_hash: Arc<RwLock<Arc<String>>>,
}

impl PasswordHasher {
    pub fn new(rules: &HashingRules) -> anyhow::Result<Self> {
        let params = Params::new(rules.memory_kib, rules.iterations, rules.parallelism, None)
            .map_err(|e| anyhow::anyhow!("invalid configuration: argon2 parameters: {e}"))?;
        let workers = match rules.max_concurrent {
            // Leave a core for everything else, so a password flood cannot starve the other pages.
            0 => std::thread::available_parallelism().map_or(1, |n| n.get().saturating_sub(1).max(1)),
            n => n as usize,
        };
        let dummy_hash = hash_with(&params, DUMMY_PASSWORD)?;
        Ok(Self {
            params,
            permits: Arc::new(Semaphore::new(workers)),
            waiting: Arc::new(AtomicUsize::new(0)),
            max_waiting: rules.max_queue as usize,
            dummy_hash: Arc::new(RwLock::new(Arc::new(dummy_hash))),
        })
    }

    /// Makes the dummy hash cost what a typical stored hash costs: it takes
    /// the parameters most of `stored` (recent hashes of real accounts) have.
    pub async fn match_stored(&self, stored: &[String]) -> anyhow::Result<()> {
        let Some(typical) = most_common_params(stored) else { return Ok(()) };
        let current = PasswordHash::new(&self.dummy())
            .ok()
            .and_then(|dummy| Params::try_from(&dummy).ok())
            .map(|p| (p.m_cost(), p.t_cost(), p.p_cost()));
        if current == Some((typical.m_cost(), typical.t_cost(), typical.p_cost())) {
            return Ok(());
        }
        let dummy = tokio::task::spawn_blocking(move || hash_with(&typical, DUMMY_PASSWORD))
            .await
            .context("computing the dummy hash panicked")??;
        *self.dummy_hash.write().unwrap_or_else(|poisoned| poisoned.into_inner()) = Arc::new(dummy);
        Ok(())
    }

    fn dummy(&self) -> Arc<String> {
        self.dummy_hash.read().unwrap_or_else(|poisoned| poisoned.into_inner()).clone()
    }

    pub async fn hash(&self, password: &Password) -> anyhow::Result<String> {
        let params = self.params.clone();
        let password = password.clone();
        let permit = self.admit().await?;
        run(permit, move || hash_with(&params, password.expose())).await
    }

    /// Checks `password` against `stored`, or against the dummy hash when
    /// there is no account, so both paths cost the same. Takes the slot
    /// `admit` gave, so a request learns it will be refused before it does
    /// any other work.
    pub async fn verify(
        &self,
        permit: HashPermit,
        password: &Password,
        stored: Option<&str>,
    ) -> anyhow::Result<Verified> {
        let has_account = stored.is_some();
        let stored = stored.map_or_else(|| self.dummy().as_str().to_owned(), str::to_owned);
        let params = self.params.clone();
        let password = password.clone();
        let verified = run(permit, move || {
            let parsed = PasswordHash::new(&stored).context("parsing a stored password hash")?;
            let argon = argon2_for(&params);
            if argon.verify_password(password.expose(), &parsed).is_err() {
                return Ok(Verified::No);
            }
            if needs_rehash(&parsed, &params) {
                return Ok(Verified::YesRehashed(hash_with(&params, password.expose())?));
            }
            Ok(Verified::Yes)
        })
        .await?;
        Ok(if has_account { verified } else { Verified::No })
    }

    /// A slot on the hashing pool: at once, after a short wait in the queue,
    /// or `HasherBusy`.
    pub async fn admit(&self) -> Result<HashPermit, HasherBusy> {
        if let Ok(permit) = self.permits.clone().try_acquire_owned() {
            return Ok(HashPermit { _slot: permit });
        }
        // Queue only a few; past that, refuse at once.
        if self.waiting.fetch_add(1, Ordering::SeqCst) >= self.max_waiting {
            self.waiting.fetch_sub(1, Ordering::SeqCst);
            return Err(HasherBusy);
        }
        let permit = tokio::time::timeout(QUEUE_WAIT, self.permits.clone().acquire_owned()).await;
        self.waiting.fetch_sub(1, Ordering::SeqCst);
        match permit {
            Ok(Ok(permit)) => Ok(HashPermit { _slot: permit }),
            // Timed out, or the pool is closed (shutting down).
            _ => Err(HasherBusy),
        }
    }
}

/// The right to run one hash on the bounded pool.
pub struct HashPermit {
    _slot: OwnedSemaphorePermit,
}

async fn run<T: Send + 'static>(
    permit: HashPermit,
    work: impl FnOnce() -> anyhow::Result<T> + Send + 'static,
) -> anyhow::Result<T> {
    let result = tokio::task::spawn_blocking(work).await.context("a hashing task panicked")?;
    drop(permit);
    result
}

fn argon2_for(params: &Params) -> Argon2<'static> {
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone())
}

fn hash_with(params: &Params, password: &[u8]) -> anyhow::Result<String> {
    let hash =
        argon2_for(params).hash_password(password).map_err(|e| anyhow::anyhow!("hashing a password: {e}"))?;
    Ok(hash.to_string())
}

/// The argon2 parameters most of `stored` have (ties: the costlier).
fn most_common_params(stored: &[String]) -> Option<Params> {
    let mut counts: HashMap<(u32, u32, u32), usize> = HashMap::new();
    for hash in stored {
        let Ok(parsed) = PasswordHash::new(hash) else { continue };
        if let Ok(p) = Params::try_from(&parsed) {
            *counts.entry((p.m_cost(), p.t_cost(), p.p_cost())).or_default() += 1;
        }
    }
    let ((m, t, p), _) = counts.into_iter().max_by_key(|(params, count)| (*count, *params))?;
    Params::new(m, t, p, None).ok()
}

/// True when the stored hash is not argon2id or any cost is below the configured one.
fn needs_rehash(stored: &PasswordHash, wanted: &Params) -> bool {
    if stored.algorithm.as_str() != "argon2id" {
        return true;
    }
    match Params::try_from(stored) {
        Ok(p) => p.m_cost() < wanted.m_cost() || p.t_cost() < wanted.t_cost() || p.p_cost() < wanted.p_cost(),
        Err(_) => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Settings;

    fn hasher(memory: u32) -> PasswordHasher {
        let settings = Settings { argon2_memory_kib: memory, ..Settings::default() };
        PasswordHasher::new(&settings.check().unwrap().hashing).unwrap()
    }

    #[tokio::test]
    async fn a_hash_verifies_only_its_password() {
        let h = hasher(19_456);
        let right = Password::new_secret("correct horse battery".into()).unwrap();
        let wrong = Password::new_secret("correct horse battery!".into()).unwrap();
        let stored = h.hash(&right).await.unwrap();
        assert!(stored.starts_with("$argon2id$"));
        assert_eq!(h.verify(h.admit().await.unwrap(), &right, Some(&stored)).await.unwrap(), Verified::Yes);
        assert_eq!(h.verify(h.admit().await.unwrap(), &wrong, Some(&stored)).await.unwrap(), Verified::No);
        assert_eq!(h.verify(h.admit().await.unwrap(), &right, None).await.unwrap(), Verified::No);
    }

    #[tokio::test]
    async fn the_dummy_hash_takes_the_parameters_of_most_stored_hashes() {
        let password = Password::new_secret("correct horse battery".into()).unwrap();
        let old = hasher(19_456).hash(&password).await.unwrap();
        let raised = hasher(24_576);
        assert!(raised.dummy().contains("m=24576"), "at first, the configured cost");

        raised.match_stored(&[old.clone(), old, "not a hash".into()]).await.unwrap();

        assert!(raised.dummy().contains("m=19456"), "{}", raised.dummy());
        let h = &raised;
        assert_eq!(h.verify(h.admit().await.unwrap(), &password, None).await.unwrap(), Verified::No);
    }

    #[tokio::test]
    async fn raised_parameters_rehash_on_success() {
        let password = Password::new_secret("correct horse battery".into()).unwrap();
        let old = hasher(19_456).hash(&password).await.unwrap();
        let h = hasher(24_576);
        match h.verify(h.admit().await.unwrap(), &password, Some(&old)).await.unwrap() {
            Verified::YesRehashed(new) => assert!(new.contains("m=24576"), "{new}"),
            other => panic!("expected a rehash, got {other:?}"),
        }
    }
}
