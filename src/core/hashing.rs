//! argon2id for new passwords and typed ones, on a fixed pool of hashing
//! threads: one per core by default, each at a lower scheduling priority
//! (so request handling runs first) and each with its own argon2
//! memory, allocated once (so memory stays at 19 MiB a thread however many
//! passwords are checked). A request first takes a place in the pool or
//! its short queue; when both are full it is refused at once (SECURITY.md
//! item 13). The unknown-account path verifies against a dummy hash so that
//! it costs the same time as a wrong password (item 11).

use std::collections::HashMap;
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use anyhow::Context;
use argon2::password_hash::phc::{Output, ParamsString, PasswordHash, Salt};
use argon2::{ARGON2ID_IDENT, Algorithm, Argon2, Block, Params, Version};
use rand::TryRng as _;
use subtle::ConstantTimeEq as _;
use tokio::sync::{OwnedSemaphorePermit, Semaphore, oneshot};

use crate::config::HashingRules;
use crate::domain::password::Password;

/// The longest a password waits in the queue: past it, it is refused.
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

/// Every hashing thread is busy and the queue is full: answer 503 quickly
/// rather than let a flood of password attempts slow every page.
#[derive(Debug, thiserror::Error)]
#[error("password hashing is at capacity")]
pub struct HasherBusy;

/// The hashing pool. Clones share it; its threads end with the last clone.
#[derive(Clone)]
pub struct PasswordHasher {
    pool: Arc<Pool>,
}

struct Pool {
    jobs: Mutex<Option<SyncSender<Job>>>,
    /// Places: running and queued together.
    places: Arc<Semaphore>,
    /// What an unknown account's password is checked against: a hash with
    /// the parameters most stored hashes have (`match_stored`), so that an
    /// unknown address costs what a known one does even after the
    /// configured cost was raised and old hashes are not yet rehashed.
    dummy_hash: RwLock<Arc<String>>,
}

/// A place in the pool or its queue, taken before any other work.
pub struct HashPermit {
    place: OwnedSemaphorePermit,
}

enum Work {
    Hash(Password),
    Verify {
        password: Password,
        stored: Arc<String>,
    },
    /// A new dummy hash, with these parameters.
    Dummy(Params),
}

struct Job {
    work: Work,
    queued: Instant,
    reply: oneshot::Sender<anyhow::Result<Verified>>,
    _place: OwnedSemaphorePermit,
}

impl PasswordHasher {
    pub fn new(rules: &HashingRules) -> anyhow::Result<Self> {
        let params = Params::new(rules.memory_kib, rules.iterations, rules.parallelism, None)
            .map_err(|e| anyhow::anyhow!("invalid configuration: argon2 parameters: {e}"))?;
        let threads = match rules.max_concurrent {
            0 => std::thread::available_parallelism().map_or(1, |n| n.get()),
            n => n as usize,
        };
        let queue = rules.max_queue as usize;
        let (jobs, receiver) = sync_channel::<Job>(threads + queue);
        let receiver = Arc::new(Mutex::new(receiver));
        // Its memory is returned to the system at once: a hashing thread
        // takes its own only when its first password comes.
        let dummy_hash = hash_with(&params, &mut Memory::for_params(&params), DUMMY_PASSWORD)?;
        for n in 0..threads {
            let (receiver, params) = (receiver.clone(), params.clone());
            std::thread::Builder::new()
                .name(format!("argon2-{n}"))
                .spawn(move || hashing_thread(&receiver, &params))
                .context("starting a password hashing thread")?;
        }
        Ok(Self {
            pool: Arc::new(Pool {
                jobs: Mutex::new(Some(jobs)),
                places: Arc::new(Semaphore::new(threads + queue)),
                dummy_hash: RwLock::new(Arc::new(dummy_hash)),
            }),
        })
    }

    /// A place in the pool or its queue, or `HasherBusy` at once.
    pub async fn admit(&self) -> Result<HashPermit, HasherBusy> {
        let place = self.pool.places.clone().try_acquire_owned().map_err(|_| HasherBusy)?;
        Ok(HashPermit { place })
    }

    /// A new argon2id hash of `password`, with the configured parameters.
    pub async fn hash(&self, password: &Password) -> anyhow::Result<String> {
        let permit = self.admit().await?;
        match self.run(permit, Work::Hash(password.clone())).await? {
            Verified::YesRehashed(hash) => Ok(hash),
            _ => anyhow::bail!("the hashing thread answered no hash"),
        }
    }

    /// Checks `password` against `stored`, or against the dummy hash when
    /// there is no account, so both paths cost the same; on the place that
    /// `admit` gave, so a request learns it will be refused before it does
    /// any other work.
    pub async fn verify(
        &self,
        permit: HashPermit,
        password: &Password,
        stored: Option<&str>,
    ) -> anyhow::Result<Verified> {
        let has_account = stored.is_some();
        let stored = stored.map_or_else(|| self.dummy(), |s| Arc::new(s.to_owned()));
        let verified = self.run(permit, Work::Verify { password: password.clone(), stored }).await?;
        Ok(if has_account { verified } else { Verified::No })
    }

    async fn run(&self, permit: HashPermit, work: Work) -> anyhow::Result<Verified> {
        let (reply, answer) = oneshot::channel();
        let job = Job { work, queued: Instant::now(), reply, _place: permit.place };
        let jobs = self.pool.jobs.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).clone();
        // The channel holds as many jobs as there are places, so it is never full here.
        jobs.context("the hashing pool has stopped")?.try_send(job).map_err(|_| HasherBusy)?;
        answer.await.map_err(|_| HasherBusy)?
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
        // On the pool, when it has room: a busy pool tries again next time.
        let Ok(permit) = self.admit().await else { return Ok(()) };
        let Verified::YesRehashed(dummy) = self.run(permit, Work::Dummy(typical)).await? else {
            anyhow::bail!("the hashing thread answered no dummy hash");
        };
        *self.pool.dummy_hash.write().unwrap_or_else(|poisoned| poisoned.into_inner()) = Arc::new(dummy);
        Ok(())
    }

    fn dummy(&self) -> Arc<String> {
        self.pool.dummy_hash.read().unwrap_or_else(|poisoned| poisoned.into_inner()).clone()
    }
}

impl Drop for Pool {
    fn drop(&mut self) {
        // Dropping the sender ends every hashing thread once its queue is empty.
        self.jobs.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).take();
    }
}

/// One hashing thread: below request handling, its own argon2 memory
/// (from its first password on), jobs until the pool is dropped.
fn hashing_thread(jobs: &Mutex<Receiver<Job>>, params: &Params) {
    lower_priority();
    let mut memory = None;
    loop {
        let job = jobs.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).recv();
        let Ok(job) = job else { return };
        // Its requester gave up, or it waited too long: the answer would come too late.
        if job.reply.is_closed() || job.queued.elapsed() > QUEUE_WAIT {
            let _ = job.reply.send(Err(HasherBusy.into()));
            continue;
        }
        let memory = memory.get_or_insert_with(|| Memory::for_params(params));
        let answer = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| match &job.work {
            Work::Hash(password) => hash_with(params, memory, password.expose()).map(Verified::YesRehashed),
            Work::Verify { password, stored } => verify_with(params, memory, password.expose(), stored),
            Work::Dummy(dummy) => memory
                .with_room(dummy, |room| hash_with(dummy, room, DUMMY_PASSWORD))
                .map(Verified::YesRehashed),
        }))
        .unwrap_or_else(|_| Err(anyhow::anyhow!("a password hash panicked")));
        let _ = job.reply.send(answer);
    }
}

/// Request handling first: a hashing thread runs at nice 10, so on a busy
/// core a request thread gets about ten times its share (and preempts it
/// when it wakes), and a flood of passwords cannot slow the pages, the code
/// step or forward-auth. Not lower: SCHED_IDLE or nice 19 would let any
/// busy neighbour on the machine starve the password step altogether.
const HASHING_NICE: i32 = 10;

fn lower_priority() {
    #[cfg(target_os = "linux")]
    // SAFETY: setpriority on the calling thread only (on Linux the nice value
    // is a per-thread attribute and `who` 0 is the caller); it only lowers.
    unsafe {
        libc::setpriority(libc::PRIO_PROCESS, 0, HASHING_NICE);
    }
}

/// argon2's working memory, allocated once per thread and reused.
struct Memory(Vec<Block>);

impl Memory {
    fn for_params(params: &Params) -> Self {
        Self(vec![Block::new(); params.block_count()])
    }

    /// Runs `hash` on this memory, or on a larger one for this hash only
    /// when `params` ask for more than it holds (a stored hash costlier
    /// than the configured cost).
    fn with_room<T>(&mut self, params: &Params, hash: impl FnOnce(&mut Memory) -> T) -> T {
        if params.block_count() > self.0.len() {
            return hash(&mut Memory::for_params(params));
        }
        hash(self)
    }
}

fn hash_with(params: &Params, memory: &mut Memory, password: &[u8]) -> anyhow::Result<String> {
    let mut salt = [0u8; 16];
    rand::rngs::SysRng.try_fill_bytes(&mut salt).map_err(|e| anyhow::anyhow!("OS random generator: {e}"))?;
    let mut out = [0u8; 32];
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone())
        .hash_password_into_with_memory(password, &salt, &mut out, &mut memory.0[..])
        .map_err(|e| anyhow::anyhow!("hashing a password: {e}"))?;
    let phc = PasswordHash {
        algorithm: ARGON2ID_IDENT,
        version: Some(Version::V0x13.into()),
        params: ParamsString::try_from(params).map_err(|e| anyhow::anyhow!("{e}"))?,
        salt: Some(Salt::new(&salt).map_err(|e| anyhow::anyhow!("{e}"))?),
        hash: Some(Output::new(&out).map_err(|e| anyhow::anyhow!("{e}"))?),
    };
    Ok(phc.to_string())
}

/// Checks `password` against the PHC string `stored`, in constant time, and
/// rehashes a right password whose hash is weaker than `wanted`.
fn verify_with(
    wanted: &Params,
    memory: &mut Memory,
    password: &[u8],
    stored: &str,
) -> anyhow::Result<Verified> {
    let parsed =
        PasswordHash::new(stored).map_err(|e| anyhow::anyhow!("parsing a stored password hash: {e}"))?;
    let (Some(salt), Some(expected)) = (&parsed.salt, &parsed.hash) else { return Ok(Verified::No) };
    let algorithm = Algorithm::new(parsed.algorithm.as_str()).map_err(|e| anyhow::anyhow!("{e}"))?;
    let version = Version::try_from(parsed.version.unwrap_or(0x13)).map_err(|e| anyhow::anyhow!("{e}"))?;
    let params = Params::try_from(&parsed).map_err(|e| anyhow::anyhow!("{e}"))?;
    let mut computed = [0u8; Output::MAX_LENGTH];
    let computed = &mut computed[..expected.as_bytes().len()];
    let argon = Argon2::new(algorithm, version, params.clone());
    memory
        .with_room(&params, |room| {
            argon.hash_password_into_with_memory(password, salt.as_ref(), computed, &mut room.0[..])
        })
        .map_err(|e| anyhow::anyhow!("checking a password: {e}"))?;
    if !bool::from(computed.ct_eq(expected.as_bytes())) {
        return Ok(Verified::No);
    }
    if needs_rehash(&parsed, wanted) {
        return Ok(Verified::YesRehashed(hash_with(wanted, memory, password)?));
    }
    Ok(Verified::Yes)
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
    use argon2::{PasswordHasher as _, PasswordVerifier as _};

    use super::*;
    use crate::config::Settings;

    fn hasher(memory: u32) -> PasswordHasher {
        let settings = Settings { argon2_memory_kib: memory, ..Settings::default() };
        PasswordHasher::new(&settings.check().unwrap().hashing).unwrap()
    }

    fn password(raw: &str) -> Password {
        Password::new_secret(raw.into()).unwrap()
    }

    #[tokio::test]
    async fn a_hash_verifies_only_its_password() {
        let h = hasher(19_456);
        let (right, wrong) = (password("correct horse battery"), password("correct horse battery!"));
        let stored = h.hash(&right).await.unwrap();
        assert!(stored.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{stored}");
        assert_eq!(h.verify(h.admit().await.unwrap(), &right, Some(&stored)).await.unwrap(), Verified::Yes);
        assert_eq!(h.verify(h.admit().await.unwrap(), &wrong, Some(&stored)).await.unwrap(), Verified::No);
        assert_eq!(h.verify(h.admit().await.unwrap(), &right, None).await.unwrap(), Verified::No);
    }

    #[tokio::test]
    async fn hashes_agree_with_the_argon2_crate_both_ways() {
        let h = hasher(19_456);
        let right = password("correct horse battery");
        let ours = h.hash(&right).await.unwrap();
        let parsed = PasswordHash::new(&ours).unwrap();
        assert!(Argon2::default().verify_password(b"correct horse battery", &parsed).is_ok());
        let theirs = Argon2::default().hash_password(b"correct horse battery").unwrap().to_string();
        assert_eq!(h.verify(h.admit().await.unwrap(), &right, Some(&theirs)).await.unwrap(), Verified::Yes);
    }

    #[tokio::test]
    async fn a_stored_hash_costlier_than_the_configured_one_still_verifies() {
        let right = password("correct horse battery");
        let costly = hasher(24_576).hash(&right).await.unwrap();
        let h = hasher(19_456);
        assert_eq!(h.verify(h.admit().await.unwrap(), &right, Some(&costly)).await.unwrap(), Verified::Yes);
    }

    #[tokio::test]
    async fn the_dummy_hash_takes_the_parameters_of_most_stored_hashes() {
        let right = password("correct horse battery");
        let old = hasher(19_456).hash(&right).await.unwrap();
        let raised = hasher(24_576);
        assert!(raised.dummy().contains("m=24576"), "at first, the configured cost");

        raised.match_stored(&[old.clone(), old, "not a hash".into()]).await.unwrap();

        assert!(raised.dummy().contains("m=19456"), "{}", raised.dummy());
        let h = &raised;
        assert_eq!(h.verify(h.admit().await.unwrap(), &right, None).await.unwrap(), Verified::No);
    }

    #[tokio::test]
    async fn raised_parameters_rehash_on_success() {
        let right = password("correct horse battery");
        let old = hasher(19_456).hash(&right).await.unwrap();
        let h = hasher(24_576);
        match h.verify(h.admit().await.unwrap(), &right, Some(&old)).await.unwrap() {
            Verified::YesRehashed(new) => assert!(new.contains("m=24576"), "{new}"),
            other => panic!("expected a rehash, got {other:?}"),
        }
    }

    #[tokio::test]
    async fn past_the_pool_and_its_queue_a_request_is_refused_at_once() {
        let settings = Settings { argon2_max_concurrent: 1, argon2_max_queue: 1, ..Settings::default() };
        let h = PasswordHasher::new(&settings.check().unwrap().hashing).unwrap();
        let (_running, _queued) = (h.admit().await.unwrap(), h.admit().await.unwrap());
        assert!(h.admit().await.is_err());
    }
}
