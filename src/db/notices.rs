//! How an instance on Postgres hears of what other instances, and the CLI,
//! wrote to the rows it caches, and how a logout or a disabled account still
//! takes effect at once on every instance.
//!
//! Every such write announces itself (`NOTIFY gatehouse_changes`, sent at
//! commit), and every instance listens. A notice arrives a little after its
//! commit, so the cache's lag is bounded, and a revocation waits it out:
//!
//! - Postgres delivers a listener's notices in the order their transactions
//!   committed. An instance that notifies itself (a *barrier*, on a channel
//!   no other instance listens on) and hears the barrier back has heard
//!   everything committed before it was sent.
//! - The cache is used only while the last barrier heard back was sent less
//!   than `MAX_LAG` ago; past half of that, a read asks for a new one. A
//!   busy instance sends a barrier every 25 ms or so, an idle one none.
//! - A change that every instance must see at once (a logout, an account
//!   disabled, a new password or name) returns `MAX_LAG` after its commit
//!   (`Db::until_heard_everywhere`). A request that follows it, to any
//!   instance, finds that instance caught up past the commit, or reads the
//!   database. (A rehash after a sign-in does not wait: the old hash
//!   accepts the same password.)
//! - A session moved to a new key (each step of a sign-in) does not wait:
//!   its old key is not revoked, only superseded, in the same browser, and
//!   may name the old entries elsewhere for `MAX_LAG` at most. Moving it
//!   needs the old row, so it cannot be moved twice.
//!
//! Waiting in the writer keeps reads free: a read checks one timestamp, and
//! a busy instance's barriers cost the database a few dozen small commits a
//! second. (Waiting for a barrier in every read instead cut `/auth/verify`
//! on Postgres from about 50,000 requests a second to 17,900 in the ratios
//! bench, and to 24,700 with one barrier a request.)

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use rand::TryRng as _;
use sqlx::Connection as _;
use sqlx::postgres::{PgConnection, PgListener, PgPool};
use tokio::sync::Notify;

use super::cache::Cache;

/// The channel on which every write to a cached row is announced.
pub const CHANGES: &str = "gatehouse_changes";

/// How far behind the database an instance's cache may be.
pub const MAX_LAG: Duration = Duration::from_millis(50);

/// At most one barrier this often: while barriers go unheard (a stuck
/// listener), reads keep asking, and the notice queue must not fill up.
const BARRIER_GAP: Duration = Duration::from_millis(10);

/// Between attempts to reconnect.
const RECONNECT_AFTER: Duration = Duration::from_secs(1);

/// Barriers, each a notice to this instance alone carrying when it was sent.
pub struct CatchUp {
    /// This instance's own channel (random: no other instance hears it).
    channel: String,
    /// Barrier times are microseconds since this, plus one.
    start: Instant,
    /// When the last barrier heard back was sent (0: none since the
    /// listener last connected).
    caught_up_at: AtomicU64,
    /// Wakes the sender when a read wants a newer barrier.
    wake: Notify,
}

impl CatchUp {
    /// None when the operating system gives no randomness for the channel.
    pub fn new() -> Option<Self> {
        let mut id = [0u8; 16];
        rand::rngs::SysRng.try_fill_bytes(&mut id).ok()?;
        Some(Self {
            channel: format!("gatehouse_caught_up_{}", hex::encode(id)),
            start: Instant::now(),
            caught_up_at: AtomicU64::new(0),
            wake: Notify::new(),
        })
    }

    fn now(&self) -> u64 {
        u64::try_from(self.start.elapsed().as_micros()).unwrap_or(u64::MAX - 1) + 1
    }

    /// How long ago the last barrier heard back was sent; None if none was.
    fn lag(&self) -> Option<Duration> {
        let at = self.caught_up_at.load(Ordering::SeqCst);
        (at != 0).then(|| Duration::from_micros(self.now().saturating_sub(at)))
    }

    /// Whether the last barrier heard back is getting old.
    fn needs_barrier(&self) -> bool {
        self.lag().is_none_or(|lag| lag > MAX_LAG / 2)
    }

    /// True when this instance has heard every change committed `MAX_LAG`
    /// ago or earlier. Asks for a new barrier when the last is getting old.
    pub fn within_lag(&self) -> bool {
        if self.needs_barrier() {
            self.wake.notify_one();
        }
        self.lag().is_some_and(|lag| lag < MAX_LAG)
    }

    /// The listener heard the barrier sent at `payload`.
    fn heard(&self, payload: &str) {
        if let Ok(sent_at) = payload.parse::<u64>() {
            self.caught_up_at.fetch_max(sent_at, Ordering::SeqCst);
        }
    }

    /// The listener (re)connected or lost its connection: what it heard
    /// before proves nothing about what came since.
    fn forget(&self) {
        self.caught_up_at.store(0, Ordering::SeqCst);
    }

    /// Sends a barrier whenever a read asks for one that is still needed,
    /// one at a time and `BARRIER_GAP` apart.
    async fn send_barriers(&self, pool: &PgPool) {
        loop {
            let mut connection = match barrier_connection(pool).await {
                Ok(connection) => connection,
                Err(e) => {
                    tracing::warn!(error = %e, "connecting to send barriers failed; the cache is not used");
                    tokio::time::sleep(RECONNECT_AFTER).await;
                    continue;
                }
            };
            loop {
                self.wake.notified().await;
                if !self.needs_barrier() {
                    continue;
                }
                let sent = sqlx::query("SELECT pg_notify($1, $2)")
                    .bind(&self.channel)
                    .bind(self.now().to_string())
                    .execute(&mut connection)
                    .await;
                if let Err(e) = sent {
                    tracing::warn!(error = %e, "sending a barrier failed; the cache is not used until it works");
                    break;
                }
                tokio::time::sleep(BARRIER_GAP).await;
            }
        }
    }
}

/// A connection of its own for barriers, so they never queue behind
/// requests for the pool's.
async fn barrier_connection(pool: &PgPool) -> Result<PgConnection, sqlx::Error> {
    let mut connection = PgConnection::connect_with(&pool.connect_options()).await?;
    // A barrier needs its place in the commit order, not durability.
    sqlx::query("SET synchronous_commit = off").execute(&mut connection).await?;
    Ok(connection)
}

/// Tells `cache` of every write to a cached row, by any instance, and
/// sends and hears its barriers, for as long as it runs.
pub async fn keep_informed(pool: PgPool, cache: Arc<Cache>, catch_up: Arc<CatchUp>) {
    tokio::join!(listen(&pool, &cache, &catch_up), catch_up.send_barriers(&pool));
}

/// While this is not connected, the cache is off.
async fn listen(pool: &PgPool, cache: &Cache, catch_up: &CatchUp) {
    loop {
        let listening = async {
            let mut listener = PgListener::connect_with(pool).await?;
            listener.listen_all([CHANGES, catch_up.channel.as_str()]).await?;
            Ok::<_, sqlx::Error>(listener)
        };
        let mut listener = match listening.await {
            Ok(listener) => listener,
            Err(e) => {
                tracing::warn!(error = %e, "listening for changes failed; the cache is off");
                tokio::time::sleep(RECONNECT_AFTER).await;
                continue;
            }
        };
        catch_up.forget();
        cache.listening(true);
        // `Ok(None)` or an error: the connection is gone.
        while let Ok(Some(notification)) = listener.try_recv().await {
            match notification.channel() {
                CHANGES => cache.notified_of(notification.payload()),
                _ => catch_up.heard(notification.payload()),
            }
        }
        cache.listening(false);
        catch_up.forget();
        tracing::warn!("the connection listening for changes was lost; the cache is off until it is back");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn heard_at(catch_up: &CatchUp, ago: Duration) {
        let sent_at = catch_up.now() - u64::try_from(ago.as_micros()).unwrap();
        catch_up.heard(&sent_at.to_string());
    }

    #[test]
    fn the_cache_is_trusted_only_within_the_lag_of_the_last_barrier_heard() {
        let catch_up = CatchUp::new().unwrap();
        std::thread::sleep(MAX_LAG * 2);
        assert!(!catch_up.within_lag(), "trusted before any barrier was heard");

        heard_at(&catch_up, MAX_LAG + Duration::from_millis(5));
        assert!(!catch_up.within_lag(), "trusted on a barrier older than the lag");

        heard_at(&catch_up, Duration::from_millis(1));
        assert!(catch_up.within_lag(), "not trusted on a fresh barrier");

        catch_up.forget();
        assert!(!catch_up.within_lag(), "trusted on a barrier heard before the listener reconnected");
    }

    #[test]
    fn an_old_barrier_heard_late_does_not_set_the_cache_back() {
        let catch_up = CatchUp::new().unwrap();
        std::thread::sleep(MAX_LAG * 2);
        heard_at(&catch_up, Duration::from_millis(1));
        heard_at(&catch_up, MAX_LAG + Duration::from_millis(5));
        assert!(catch_up.within_lag());
    }

    #[tokio::test]
    async fn a_read_asks_for_a_new_barrier_once_the_last_is_half_the_lag_old() {
        let catch_up = CatchUp::new().unwrap();
        std::thread::sleep(MAX_LAG * 2);
        heard_at(&catch_up, Duration::from_millis(1));
        assert!(catch_up.within_lag());
        let asked = tokio::time::timeout(Duration::from_millis(1), catch_up.wake.notified()).await;
        assert!(asked.is_err(), "a fresh barrier was asked for again");

        catch_up.forget();
        heard_at(&catch_up, MAX_LAG * 3 / 4);
        assert!(catch_up.within_lag());
        let asked = tokio::time::timeout(Duration::from_millis(1), catch_up.wake.notified()).await;
        assert!(asked.is_ok(), "no new barrier was asked for");
    }
}
