//! The SQLite WAL index (the `-shm` file), as the cache reads it: its
//! header (<https://www.sqlite.org/walformat.html#the_wal_index_header>)
//! changes with every commit of any connection in any process, and counts
//! commits (`iChange`, bytes 8–11). This instance's own commits are told
//! apart, so that the cache keeps what they did not change (they update or
//! drop their entries themselves) and drops everything on anyone else's.
//!
//! A commit is recorded as ours only with proof. The commit hook runs while
//! our connection holds the write lock, so the header it reads holds the
//! count just before our commit, `n`. The WAL hook runs after our commit
//! landed: if the header then says `n + 1`, no other commit came between,
//! and commit `n + 1` is ours. A commit hook with nothing to write runs no
//! WAL hook and records nothing; another process committing right after us
//! makes the count `n + 2`, and nothing is recorded either. A commit not
//! recorded only costs a cache miss.
//!
//! Hand-written because sqlx exposes the commit hook but not the WAL hook:
//! that one is set through `libsqlite3-sys`, the crate sqlx itself links.
//! Setting it replaces SQLite's automatic checkpoint hook, so ours
//! checkpoints at the same size (1,000 frames) the same way.

use std::collections::VecDeque;
use std::ffi::{c_char, c_int, c_void};
use std::fs::File;
use std::os::unix::fs::FileExt as _;
use std::path::Path;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use libsqlite3_sys::{SQLITE_OK, sqlite3, sqlite3_wal_checkpoint, sqlite3_wal_hook};
use sqlx::SqliteConnection;

/// The header, both of its copies agreeing.
pub type Header = [u8; 48];

/// Own commits kept for the cache to claim; past this, the oldest go (and
/// read as someone else's: a miss, never a stale entry).
const KEPT: usize = 1024;

/// How long the cache waits for the WAL hook of a commit of ours that is
/// already in the header. SQLite runs no WAL hook for a statement reset
/// before it finished (sqlx's `fetch_one` of a `RETURNING`, which is why
/// `db` reads writes to their end: `first_row`), so such a commit is never
/// proven ours, and the wait ends here.
#[cfg(not(test))]
const LANDING: Duration = Duration::from_micros(200);
/// Long enough that the tests' WAL hook, on a thread of its own, always comes in time.
#[cfg(test)]
const LANDING: Duration = Duration::from_millis(200);

/// Reads of a header caught halfway through a write before giving up (and
/// the cache drops everything).
const TORN_READS: usize = 100;

/// SQLite's default automatic checkpoint, which our WAL hook takes over.
const CHECKPOINT_FRAMES: c_int = 1000;

pub struct WalIndex {
    shm: File,
    /// The commit count the commit hook saw, until the WAL hook settles it.
    pending: Mutex<Option<u32>>,
    /// Told when the WAL hook settled a commit.
    settled: Condvar,
    /// Commit counts proven to be our own commits, oldest first.
    ours: Mutex<VecDeque<u32>>,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl WalIndex {
    /// The WAL index of the SQLite database `file`, which must be in WAL mode.
    pub fn open(file: &Path) -> std::io::Result<Self> {
        let mut shm = file.as_os_str().to_owned();
        shm.push("-shm");
        Ok(Self {
            shm: File::open(shm)?,
            pending: Mutex::default(),
            settled: Condvar::new(),
            ours: Mutex::default(),
        })
    }

    /// Tells this index of `conn`'s commits (the one connection the
    /// instance writes with). Its state stays allocated for as long as the
    /// process runs: SQLite may call the hook until the connection closes,
    /// which happens on sqlx's thread, after everything here is dropped.
    pub async fn watch_commits_of(self: &Arc<Self>, conn: &mut SqliteConnection) -> sqlx::Result<()> {
        let mut handle = conn.lock_handle().await?;
        let before = self.clone();
        handle.set_commit_hook(move || {
            *lock(&before.pending) = before.header().map(|h| commit_count(&h));
            true
        });
        let after = Arc::into_raw(self.clone()).cast_mut().cast::<c_void>();
        // SAFETY: the handle is locked for us; `after` is a leaked `Arc`,
        // valid for the rest of the process.
        unsafe { sqlite3_wal_hook(handle.as_raw_handle().as_ptr(), Some(wal_hook), after) };
        Ok(())
    }

    /// The header now, once both copies agree. A writer copies it twice,
    /// the second copy first, in a few nanoseconds: a read that falls
    /// between the copies is tried again, as SQLite's readers do.
    pub fn header(&self) -> Option<Header> {
        let mut both = [0u8; 96];
        for _ in 0..TORN_READS {
            self.shm.read_exact_at(&mut both, 0).ok()?;
            let (first, second) = both.split_at(48);
            if first == second {
                return Some(first.try_into().expect("48 bytes"));
            }
            std::hint::spin_loop();
        }
        None
    }

    /// Whether every commit from `seen` to `now` was our own; forgets the
    /// own commits up to `now` either way. When one of ours is in the
    /// header but its WAL hook has not run yet, waits for that (a few
    /// microseconds as a rule, `LANDING` at most).
    pub fn only_ours_between(&self, seen: &Header, now: &Header) -> bool {
        let (from, to) = (commit_count(seen), commit_count(now));
        let commits = to.wrapping_sub(from);
        let deadline = Instant::now() + LANDING;
        loop {
            let mut ours = lock(&self.ours);
            // Each own commit is recorded once: all of them are ours if as many are recorded.
            let recorded = ours.iter().filter(|&&n| (1..=commits).contains(&n.wrapping_sub(from))).count();
            // A count that went back (a database replaced under us) is never ours.
            let all_ours = (commits as i32) >= 0 && recorded == commits as usize;
            // Looked at with `ours` held: `committed` moves a commit from one to the other under it.
            let pending = lock(&self.pending);
            let left = deadline.saturating_duration_since(Instant::now());
            if all_ours || pending.is_none() || left.is_zero() {
                ours.retain(|&n| n.wrapping_sub(to) as i32 > 0);
                return all_ours;
            }
            drop(ours);
            drop(self.settled.wait_timeout(pending, left).unwrap_or_else(|poisoned| poisoned.into_inner()));
        }
    }

    /// After one of our commits landed.
    fn committed(&self) {
        let mut ours = lock(&self.ours);
        let Some(before) = lock(&self.pending).take() else { return };
        if self.header().is_some_and(|h| commit_count(&h) == before.wrapping_add(1)) {
            if ours.len() == KEPT {
                ours.pop_front();
            }
            ours.push_back(before.wrapping_add(1));
        }
        self.settled.notify_all();
    }
}

/// `iChange`: the header's count of commits, in the machine's byte order.
fn commit_count(header: &Header) -> u32 {
    u32::from_ne_bytes(header[8..12].try_into().expect("4 bytes"))
}

/// SQLite's WAL hook: one of our commits landed, with `frames` frames now in the WAL.
unsafe extern "C" fn wal_hook(
    index: *mut c_void,
    db: *mut sqlite3,
    name: *const c_char,
    frames: c_int,
) -> c_int {
    // SAFETY: `index` is the `Arc` leaked by `watch_commits_of`.
    let index = unsafe { &*index.cast_const().cast::<WalIndex>() };
    // Nothing in `committed` panics; if it did, unwinding into SQLite must not.
    let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| index.committed()));
    if frames >= CHECKPOINT_FRAMES {
        // What SQLite's own hook does: a passive checkpoint, whose failure is not the commit's.
        // SAFETY: `db` and `name` are as SQLite passed them to this hook.
        unsafe { sqlite3_wal_checkpoint(db, name) };
    }
    SQLITE_OK
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;
    use std::sync::Arc;
    use std::time::Instant;

    use super::{Header, LANDING, WalIndex, lock};
    use crate::db::outbox::{self, NewMail};
    use crate::db::{Db, limits, users};
    use crate::domain::email::EmailAddress;
    use crate::domain::mail::MailKind;

    /// A database with the cache on, one account read into it, and the
    /// database's file.
    async fn cached_account() -> (Db, i64, tempfile::TempDir) {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::connect(&url(&dir)).await.unwrap();
        db.migrate().await.unwrap();
        let db = db.with_cache().await;
        let email = EmailAddress::parse("ann@example.com").unwrap();
        let id = users::insert(&db, &email, None, "hash", 1).await.unwrap();
        users::find_by_id(&db, id).await.unwrap().expect("the account");
        assert!(db.cache().user(id).is_some(), "the account read was not cached");
        (db, id, dir)
    }

    fn url(dir: &tempfile::TempDir) -> String {
        format!("sqlite://{}/cached.db", dir.path().display())
    }

    /// A write that touches no cached row.
    async fn count_an_event(db: &Db, bucket: &str) {
        let limit = limits::Limit { bucket: bucket.into(), max: 1_000_000, window_secs: 60 };
        limits::take(db, 1_800_000_000, &[limit]).await.unwrap().unwrap();
    }

    #[tokio::test]
    async fn the_instances_own_commits_keep_the_cache() {
        let (db, id, _dir) = cached_account().await;
        for n in 0..20 {
            count_an_event(&db, &format!("own:{n}")).await;
        }
        assert!(db.cache().user(id).is_some(), "an own commit emptied the cache");
    }

    /// SQLite runs the WAL hook only for a statement stepped to its end:
    /// one reset after its first row (`fetch_one`) would go unproven.
    #[tokio::test]
    async fn the_instances_own_writes_that_return_rows_keep_the_cache() {
        let (db, id, _dir) = cached_account().await;
        let mail = NewMail { kind: MailKind::NewSignIn, recipient: "bob@example.com".into(), body: vec![1] };
        outbox::enqueue(&db, &mail, 1).await.unwrap();
        outbox::claim(&db, 2, 60, b"lease").await.unwrap().expect("the mail, claimed");
        let email = EmailAddress::parse("bob@example.com").unwrap();
        users::insert(&db, &email, None, "hash", 1).await.unwrap();
        assert!(db.cache().user(id).is_some(), "an own write returning rows emptied the cache");
    }

    #[tokio::test]
    async fn a_commit_of_another_process_empties_the_cache() {
        let (db, id, dir) = cached_account().await;
        // As `gatehouse` commands do: a connection of their own, no cache.
        let other = Db::connect(&url(&dir)).await.unwrap();
        count_an_event(&other, "other").await;
        assert!(db.cache().user(id).is_none(), "another connection's commit left the cache as it was");
    }

    #[tokio::test]
    async fn another_commit_between_own_ones_empties_the_cache() {
        let (db, id, dir) = cached_account().await;
        let other = Db::connect(&url(&dir)).await.unwrap();
        count_an_event(&db, "own:1").await;
        count_an_event(&other, "other").await;
        count_an_event(&db, "own:2").await;
        assert!(db.cache().user(id).is_none(), "a commit between own ones went unseen");
    }

    #[tokio::test]
    async fn the_wal_is_still_checkpointed() {
        let (db, _id, dir) = cached_account().await;
        for n in 0..3_000 {
            count_an_event(&db, &format!("bucket:{n}")).await;
        }
        // Without checkpoints, 3,000 commits of a page or more each would
        // grow the WAL past 12 MiB; with them it restarts at 1,000 frames.
        let wal = std::fs::metadata(dir.path().join("cached.db-wal")).unwrap().len();
        assert!(wal < 8 << 20, "the WAL grew to {wal} bytes");
    }

    /// A header whose commit count is `count`.
    fn header(count: u32) -> Header {
        let mut header = [0; 48];
        header[8..12].copy_from_slice(&count.to_ne_bytes());
        header
    }

    /// An index over a `-shm` file of our own, and that file.
    fn index_of_test_file() -> (Arc<WalIndex>, PathBuf, tempfile::TempDir) {
        let dir = tempfile::tempdir().unwrap();
        let shm = dir.path().join("landing.db-shm");
        std::fs::write(&shm, [0; 96]).unwrap();
        (Arc::new(WalIndex::open(&dir.path().join("landing.db")).unwrap()), shm, dir)
    }

    #[test]
    fn a_commit_of_ours_still_landing_is_waited_for() {
        let (index, shm, _dir) = index_of_test_file();
        // Our commit hook ran at count 7; the commit is in the header, its WAL hook still to come.
        *lock(&index.pending) = Some(7);
        let (seen, now) = (header(7), header(8));
        std::fs::write(&shm, [now, now].concat()).unwrap();
        let hook = std::thread::spawn({
            let index = index.clone();
            move || index.committed()
        });
        assert!(index.only_ours_between(&seen, &now), "our own commit was taken for someone else's");
        hook.join().unwrap();
    }

    #[test]
    fn a_commit_of_ours_that_never_gets_its_wal_hook_is_not_ours() {
        let (index, _shm, _dir) = index_of_test_file();
        *lock(&index.pending) = Some(7);
        let started = Instant::now();
        assert!(!index.only_ours_between(&header(7), &header(8)));
        assert!(started.elapsed() >= LANDING, "decided before the WAL hook could have come");
    }
}
