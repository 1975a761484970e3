//! Rolling-window limits, kept in the database so that they hold across
//! instances (runs of password failures are `password_failures`).
//!
//! A limit counts events per slot, a sixtieth of its window (15 s of a
//! 15-minute window, 24 minutes of a day): a take reads at most 61 rows
//! however busy the bucket, and a slot partly inside the window counts
//! whole, so an event counts for its window and at most one slot more.
//! Taking a slot of several limits counts and adds at once, in one round
//! trip: SQLite runs a writing statement under the write lock from its first
//! read, so no other taker, in any process, comes between; on Postgres a
//! function first locks the current slot row of each bucket (in one
//! statement, in one order), so concurrent takers of a bucket queue up and
//! each counts what the one before added.

use sqlx::AssertSqlSafe;

use super::{Db, Pool, unit, with_pool};

/// At most `max` events per `window_secs` in `bucket`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Limit {
    pub bucket: String,
    pub max: i64,
    pub window_secs: i64,
}

/// How many slots a window is cut into.
const SLOTS_PER_WINDOW: i64 = 60;

impl Limit {
    fn slot_secs(&self) -> i64 {
        (self.window_secs / SLOTS_PER_WINDOW).max(1)
    }

    /// The start of the slot `at` falls in.
    fn slot_of(&self, at: i64) -> i64 {
        at.div_euclid(self.slot_secs()) * self.slot_secs()
    }

    /// The start of the oldest slot that still counts at `now`.
    pub(crate) fn first_counted(&self, now: i64) -> i64 {
        self.slot_of(now - self.window_secs)
    }
}

/// Counted events, each its bucket and slot, so that an event that turned
/// out not to count (a right code, say) can be handed back.
#[derive(Debug, Default)]
pub struct Taken(Vec<(String, i64)>);

/// SQLite's `INSERT … SELECT` of one event per limit into its current
/// slot, unless a limit is full: limit `i` is `$(4i+1)` (its bucket),
/// `$(4i+2)` (its current slot), `$(4i+3)` (its oldest counted slot) and
/// `$(4i+4)` (its maximum).
fn take_sql(limits: usize) -> String {
    let rows =
        |columns: fn(usize) -> String| (0..limits).map(columns).collect::<Vec<_>>().join(" UNION ALL ");
    let wanted = rows(|i| format!("SELECT ${} AS bucket, ${} AS slot_start", 4 * i + 1, 4 * i + 2));
    let full =
        rows(|i| format!("SELECT ${} AS bucket, ${} AS first, ${} AS most", 4 * i + 1, 4 * i + 3, 4 * i + 4));
    format!(
        "INSERT INTO limit_slots (bucket, slot_start, events) \
         SELECT wanted.bucket, wanted.slot_start, 1 FROM ({wanted}) AS wanted \
         WHERE NOT EXISTS (SELECT 1 FROM ({full}) AS l WHERE (SELECT COALESCE(SUM(s.events), 0) \
         FROM limit_slots s WHERE s.bucket = l.bucket AND s.slot_start >= l.first) >= l.most) \
         ON CONFLICT (bucket, slot_start) DO UPDATE SET events = limit_slots.events + 1 \
         RETURNING bucket"
    )
}

/// Records one event in every bucket of `limits`, or none if any is full;
/// then `Err` holds the seconds until all of them have room again.
pub async fn take(db: &Db, now: i64, limits: &[Limit]) -> Result<Result<Taken, i64>, sqlx::Error> {
    let mut limits: Vec<&Limit> = limits.iter().collect();
    // One lock order for everyone, so two takers never wait on each other in a circle.
    limits.sort_by(|a, b| a.bucket.cmp(&b.bucket));
    let taken: Vec<String> = match db.pool() {
        // One writing statement: SQLite holds the write lock from its first read.
        Pool::Sqlite(sqlite) => {
            let sql = take_sql(limits.len());
            let mut take = sqlx::query_scalar(AssertSqlSafe(sql.as_str()));
            for limit in &limits {
                take = take
                    .bind(&limit.bucket)
                    .bind(limit.slot_of(now))
                    .bind(limit.first_counted(now))
                    .bind(limit.max);
            }
            take.fetch_all(&mut *unit::sqlite(sqlite).await).await?
        }
        // One call, one round trip: see migrations/postgres/0010_take_limit_slots.sql.
        Pool::Postgres(pool) => {
            let column = |value: fn(&Limit, i64) -> i64| -> Vec<i64> {
                limits.iter().map(|limit| value(limit, now)).collect()
            };
            sqlx::query_scalar("SELECT take_limit_slots($1, $2, $3, $4)")
                .bind(limits.iter().map(|limit| limit.bucket.as_str()).collect::<Vec<_>>())
                .bind(column(Limit::slot_of))
                .bind(column(Limit::first_counted))
                .bind(column(|limit, _| limit.max))
                .fetch_all(&mut *unit::postgres(pool).await?)
                .await?
        }
    };
    if taken.len() == limits.len() {
        return Ok(Ok(Taken(limits.iter().map(|l| (l.bucket.clone(), l.slot_of(now))).collect())));
    }
    Ok(Err(wait_for_room(db, now, &limits).await?))
}

/// `None` while `limit` has room for one more event at `now`, else the
/// seconds until it has; counts nothing.
pub async fn wait_if_full(db: &Db, now: i64, limit: &Limit) -> Result<Option<i64>, sqlx::Error> {
    if count(db, limit, now).await? < limit.max {
        return Ok(None);
    }
    Ok(Some(wait_for_room(db, now, &[limit]).await?))
}

/// The seconds until every one of `limits` has room: a full bucket has room
/// when enough of its oldest slots have left the window.
async fn wait_for_room(db: &Db, now: i64, limits: &[&Limit]) -> Result<i64, sqlx::Error> {
    let mut wait = 1;
    for limit in limits {
        let sql = "SELECT slot_start, CAST(events AS BIGINT) FROM limit_slots \
                   WHERE bucket = $1 AND slot_start >= $2 ORDER BY slot_start";
        let slots: Vec<(i64, i64)> = with_pool!(db, pool => sqlx::query_as(sql)
            .bind(&limit.bucket)
            .bind(limit.first_counted(now))
            .fetch_all(pool)
            .await)?;
        let mut counted: i64 = slots.iter().map(|(_, events)| events).sum();
        for (start, events) in slots {
            if counted < limit.max {
                break;
            }
            counted -= events;
            // This slot stops counting once the window starts after it.
            wait = wait.max(start + limit.slot_secs() + limit.window_secs - now);
        }
    }
    Ok(wait)
}

/// Hands back events that turned out not to count.
pub async fn refund(db: &Db, taken: Taken) -> Result<(), sqlx::Error> {
    let sql =
        "UPDATE limit_slots SET events = events - 1 WHERE bucket = $1 AND slot_start = $2 AND events > 0";
    for (bucket, slot) in taken.0 {
        with_pool!(db, pool => sqlx::query(sql).bind(bucket).bind(slot).execute(pool).await.map(drop))?;
    }
    Ok(())
}

/// SQL for the events counted against a limit whose bucket is `$bucket` and
/// whose oldest counted slot is `$first` (`Limit::first_counted`): a
/// subquery, for a condition of another statement.
macro_rules! counted {
    ($bucket:literal, $first:literal) => {
        concat!(
            "(SELECT CAST(COALESCE(SUM(events), 0) AS BIGINT) FROM limit_slots WHERE bucket = ",
            $bucket,
            " AND slot_start >= ",
            $first,
            ")"
        )
    };
}
pub(crate) use counted;

/// Events counted against `limit` at `now`.
pub async fn count(db: &Db, limit: &Limit, now: i64) -> Result<i64, sqlx::Error> {
    let sql = concat!("SELECT ", counted!("$1", "$2"));
    with_pool!(db, pool => sqlx::query_scalar(sql).bind(&limit.bucket).bind(limit.first_counted(now)).fetch_one(pool).await)
}

/// Forgets slots that no window reaches any more (the longest is a day).
pub async fn delete_old_slots(db: &Db, now: i64) -> Result<(), sqlx::Error> {
    let oldest_counted = now - 86_400 - 86_400 / SLOTS_PER_WINDOW;
    let sql = "DELETE FROM limit_slots WHERE slot_start < $1";
    with_pool!(db, pool => sqlx::query(sql).bind(oldest_counted).execute(pool).await.map(drop))
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_800_000_000;

    async fn sqlite() -> (Db, tempfile::TempDir) {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::connect(&format!("sqlite://{}/limits.db", dir.path().display())).await.unwrap();
        db.migrate().await.unwrap();
        (db, dir)
    }

    fn three_per_15_min() -> Limit {
        Limit { bucket: "code-send:user:1:15m".into(), max: 3, window_secs: 900 }
    }

    #[tokio::test]
    async fn a_full_bucket_has_room_once_its_oldest_slot_leaves_the_window() {
        let (db, _dir) = sqlite().await;
        let limit = three_per_15_min();
        for at in [NOW, NOW + 100, NOW + 200] {
            take(&db, at, std::slice::from_ref(&limit)).await.unwrap().unwrap();
        }
        let wait = take(&db, NOW + 300, std::slice::from_ref(&limit)).await.unwrap().unwrap_err();
        // The first event counts for its window and at most one 15 s slot more.
        assert!((600..=615).contains(&wait), "waits {wait} s");
        assert!(take(&db, NOW + 300 + wait - 1, std::slice::from_ref(&limit)).await.unwrap().is_err());
        assert!(take(&db, NOW + 300 + wait, std::slice::from_ref(&limit)).await.unwrap().is_ok());
    }

    #[tokio::test]
    async fn a_refunded_event_does_not_count_and_a_full_limit_takes_from_no_bucket() {
        let (db, _dir) = sqlite().await;
        let (small, other) =
            (three_per_15_min(), Limit { bucket: "other".into(), max: 10, window_secs: 3600 });
        let both = [small.clone(), other.clone()];
        let taken = take(&db, NOW, &both).await.unwrap().unwrap();
        refund(&db, taken).await.unwrap();
        assert_eq!((count(&db, &small, NOW).await.unwrap(), count(&db, &other, NOW).await.unwrap()), (0, 0));
        for _ in 0..3 {
            take(&db, NOW, &both).await.unwrap().unwrap();
        }
        assert!(take(&db, NOW, &both).await.unwrap().is_err());
        assert_eq!(count(&db, &other, NOW).await.unwrap(), 3, "the refused take added nothing");
    }
}
