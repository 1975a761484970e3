//! Rolling-window limits and password-failure delays, kept in the database
//! so that they hold across instances. A limit transaction first upserts a
//! lock row per bucket, which serialises concurrent takers of that bucket on
//! both backends (a row lock on Postgres, the write lock on SQLite); the
//! count-then-insert that follows can then never overshoot.

use super::{Db, with_pool};

/// At most `max` events per `window_secs` in `bucket`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Limit {
    pub bucket: String,
    pub max: i64,
    pub window_secs: i64,
}

/// Counted events, so that an event that turned out not to count (a right
/// code, say) can be handed back.
#[derive(Debug, Default)]
pub struct Taken(Vec<i64>);

/// Records one event in every bucket of `limits`, or none if any is full;
/// then `Err` holds the seconds until all of them have room again.
pub async fn take(db: &Db, now: i64, limits: &[Limit]) -> Result<Result<Taken, i64>, sqlx::Error> {
    let mut limits: Vec<&Limit> = limits.iter().collect();
    // One lock order for everyone, so two takers never wait on each other in a circle.
    limits.sort_by(|a, b| a.bucket.cmp(&b.bucket));
    with_pool!(db, pool => {
        let mut tx = pool.begin().await?;
        for limit in &limits {
            sqlx::query("INSERT INTO limit_locks (bucket) VALUES ($1) ON CONFLICT (bucket) DO UPDATE SET bucket = excluded.bucket")
                .bind(&limit.bucket)
                .execute(&mut *tx)
                .await?;
        }
        let mut retry_after = 0;
        for limit in &limits {
            let since = now - limit.window_secs;
            let count: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM limit_events WHERE bucket = $1 AND at > $2")
                .bind(&limit.bucket)
                .bind(since)
                .fetch_one(&mut *tx)
                .await?;
            if count >= limit.max {
                // Room comes back when the event that put the bucket at its limit leaves the window.
                let oldest_blocking: i64 = sqlx::query_scalar(
                    "SELECT at FROM limit_events WHERE bucket = $1 AND at > $2 ORDER BY at LIMIT 1 OFFSET $3",
                )
                .bind(&limit.bucket)
                .bind(since)
                .bind(count - limit.max)
                .fetch_one(&mut *tx)
                .await?;
                retry_after = retry_after.max(oldest_blocking + limit.window_secs - now).max(1);
            }
        }
        if retry_after > 0 {
            tx.rollback().await?;
            return Ok(Err(retry_after));
        }
        let mut ids = Vec::with_capacity(limits.len());
        for limit in &limits {
            let id: i64 = sqlx::query_scalar("INSERT INTO limit_events (bucket, at) VALUES ($1, $2) RETURNING id")
                .bind(&limit.bucket)
                .bind(now)
                .fetch_one(&mut *tx)
                .await?;
            ids.push(id);
        }
        tx.commit().await?;
        Ok(Ok(Taken(ids)))
    })
}

/// Hands back events that turned out not to count.
pub async fn refund(db: &Db, taken: Taken) -> Result<(), sqlx::Error> {
    for id in taken.0 {
        with_pool!(db, pool => sqlx::query("DELETE FROM limit_events WHERE id = $1").bind(id).execute(pool).await.map(|_| ()))?;
    }
    Ok(())
}

/// Events in `bucket` since `since`.
pub async fn count(db: &Db, bucket: &str, since: i64) -> Result<i64, sqlx::Error> {
    let sql = "SELECT COUNT(*) FROM limit_events WHERE bucket = $1 AND at > $2";
    with_pool!(db, pool => sqlx::query_scalar(sql).bind(bucket).bind(since).fetch_one(pool).await)
}

/// How long after its last delay a run of password failures is forgotten.
pub const RUN_FORGOTTEN_AFTER_SECS: i64 = 86_400;

/// Consecutive password failures of a bucket and until when it must wait.
#[derive(Debug, Clone, Copy, PartialEq, Eq, sqlx::FromRow)]
struct Failures {
    pub failures: i32,
    pub locked_until: i64,
}

/// Reserves the next attempt of a run of password failures before the
/// password is checked: the attempt counts as a failure (and earns its
/// delay) until `clear_password_failures` or `forgive_password_attempt`
/// says otherwise. A compare-and-swap on the row, so concurrent attempts
/// each get their own number and none slips past a delay or the hard stop.
/// `Err` holds the seconds until the bucket may try again.
pub async fn reserve_password_attempt(
    db: &Db,
    bucket: &str,
    now: i64,
    delay: impl Fn(i32) -> i64,
) -> Result<Result<i32, i64>, sqlx::Error> {
    let create = "INSERT INTO password_failures (bucket, failures, locked_until) VALUES ($1, 0, 0) \
                  ON CONFLICT (bucket) DO NOTHING";
    let read = "SELECT failures, locked_until FROM password_failures WHERE bucket = $1";
    for _ in 0..50 {
        // The row may be missing, or removed meanwhile by the cleanup of forgotten runs.
        let Some(seen) = with_pool!(db, pool => sqlx::query_as::<_, Failures>(read).bind(bucket).fetch_optional(pool).await)?
        else {
            with_pool!(db, pool => sqlx::query(create).bind(bucket).execute(pool).await.map(|_| ()))?;
            continue;
        };
        // Only a run that earned a delay can block: `locked_until` of a run
        // without one is just its last attempt, which a concurrent request
        // may have stamped a second later than this one's `now`.
        if delay(seen.failures) > 0 && seen.locked_until > now {
            return Ok(Err(seen.locked_until - now));
        }
        // A run of failures ends by itself a day after its last delay ran out.
        let previous = if seen.locked_until < now - RUN_FORGOTTEN_AFTER_SECS { 0 } else { seen.failures };
        let attempt = previous + 1;
        let swap = "UPDATE password_failures SET failures = $2, locked_until = $3 \
                    WHERE bucket = $1 AND failures = $4 AND locked_until = $5";
        let swapped = with_pool!(db, pool => sqlx::query(swap)
            .bind(bucket)
            .bind(attempt)
            .bind(now + delay(attempt))
            .bind(seen.failures)
            .bind(seen.locked_until)
            .execute(pool)
            .await
            .map(|r| r.rows_affected()))?;
        if swapped == 1 {
            return Ok(Ok(attempt));
        }
    }
    // Heavy contention on one bucket: that is a flood; make it wait a moment.
    Ok(Err(1))
}

/// Takes back a reserved attempt that was not a failure (a right password
/// from a shared IP must not count against the IP).
pub async fn forgive_password_attempt(db: &Db, bucket: &str) -> Result<(), sqlx::Error> {
    let sql = "UPDATE password_failures SET failures = failures - 1 WHERE bucket = $1 AND failures > 0";
    with_pool!(db, pool => sqlx::query(sql).bind(bucket).execute(pool).await.map(|_| ()))
}

/// Ends every run of failures whose bucket starts with `prefix`.
pub async fn clear_password_failures_starting(db: &Db, prefix: &str) -> Result<(), sqlx::Error> {
    let sql = "DELETE FROM password_failures WHERE substr(bucket, 1, length($1)) = $1";
    with_pool!(db, pool => sqlx::query(sql).bind(prefix).execute(pool).await.map(|_| ()))
}

/// A correct password ends the run of failures.
pub async fn clear_password_failures(db: &Db, bucket: &str) -> Result<(), sqlx::Error> {
    let sql = "DELETE FROM password_failures WHERE bucket = $1";
    with_pool!(db, pool => sqlx::query(sql).bind(bucket).execute(pool).await.map(|_| ()))
}
