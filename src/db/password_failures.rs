//! Runs of consecutive password failures, per bucket (a typed address, a
//! remembered browser, a client IP), and until when each must wait. An
//! attempt is reserved before its password is checked, and counts as a
//! failure until it is forgiven or its run ends (`Change`).
//!
//! Reserving is one statement on either backend: an upsert that starts the
//! run or adds the attempt to it, unless the run is waiting out a delay.
//! It works on the row's latest version (Postgres re-checks an upsert's
//! condition on the row it locked; SQLite runs it under the write lock),
//! so concurrent attempts, on any instance, each get their own number and
//! none slips past a delay or the hard stop.

use sqlx::AssertSqlSafe;

use super::{Db, Pool, first_row, with_pool};

/// How long after its last delay a run of password failures is forgotten.
pub const RUN_FORGOTTEN_AFTER_SECS: i64 = 86_400;

/// The seconds a run must wait after each number of failures, as the
/// database looks them up: none before `free` failures, then `then[k]`
/// after `free + k` failures, its last entry for every later number.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Delays {
    free: i32,
    then: Vec<i64>,
}

impl Delays {
    /// The delays of `delay`, a schedule that is 0 up to some number of
    /// failures, never shrinks after, and is the same for every number
    /// from `settled_from` on.
    pub fn of(delay: impl Fn(i32) -> i64, settled_from: i32) -> Self {
        let free = (0..settled_from).find(|&n| delay(n) > 0).unwrap_or(settled_from);
        Self { free, then: (free..=settled_from).map(delay).collect() }
    }

    /// The wait after `failures` failures, as the database looks it up.
    #[cfg(test)]
    pub(crate) fn after(&self, failures: i32) -> i64 {
        match usize::try_from(failures - self.free) {
            Err(_) => 0,
            Ok(k) => self.then[k.min(self.then.len() - 1)],
        }
    }

    /// SQL for the wait after `failures` (an expression), with the
    /// parameters `$first` (`free`), `$first + 1` (`then`, as a JSON array)
    /// and `$first + 2` (its last index).
    fn sql(db: &Db, failures: &str, first: usize) -> String {
        let (free, then, last) = (first, first + 1, first + 2);
        let lookup = match db.pool() {
            Pool::Sqlite(_) => {
                format!("json_extract(${then}, '$[' || min({failures} - ${free}, ${last}) || ']')")
            }
            Pool::Postgres(_) => {
                format!("CAST(CAST(${then} AS jsonb) ->> LEAST({failures} - ${free}, ${last}) AS BIGINT)")
            }
        };
        format!("CASE WHEN {failures} < ${free} THEN 0 ELSE {lookup} END")
    }

    fn then_json(&self) -> String {
        serde_json::Value::from(self.then.clone()).to_string()
    }

    fn last(&self) -> i32 {
        i32::try_from(self.then.len() - 1).unwrap_or(i32::MAX)
    }
}

/// The next attempt of the run in the row being updated: a run ends by
/// itself a day after its last delay ran out.
const NEXT_ATTEMPT: &str = "CASE WHEN password_failures.locked_until < $2 - $3 THEN 1 \
                            ELSE password_failures.failures + 1 END";

/// Reserves the next attempt of a run of password failures before the
/// password is checked: the attempt counts as a failure (and earns its
/// delay) until a `Change` ends its run or forgives it. `Err` holds the
/// seconds until the bucket may try again.
pub async fn reserve(
    db: &Db,
    bucket: &str,
    now: i64,
    delays: &Delays,
) -> Result<Result<i32, i64>, sqlx::Error> {
    let delay_of = |failures| Delays::sql(db, failures, 4);
    // Only a run that earned a delay can block: `locked_until` of a run
    // without one is just its last attempt, which a concurrent request may
    // have stamped a second later than this one's `now`.
    let reserve = format!(
        "INSERT INTO password_failures (bucket, failures, locked_until) VALUES ($1, 1, $2 + {first}) \
         ON CONFLICT (bucket) DO UPDATE SET failures = {NEXT_ATTEMPT}, locked_until = $2 + {next} \
         WHERE {seen} = 0 OR password_failures.locked_until <= $2 \
         RETURNING failures",
        first = delay_of("1"),
        next = delay_of(NEXT_ATTEMPT),
        seen = delay_of("password_failures.failures"),
    );
    let waiting = format!(
        "SELECT locked_until - $2 FROM password_failures \
         WHERE bucket = $1 AND locked_until > $2 AND {} > 0",
        Delays::sql(db, "failures", 3)
    );
    let (then, last) = (delays.then_json(), delays.last());
    for _ in 0..50 {
        // Read to its end: a writing statement (see `first_row`).
        let reserved: Vec<i32> = with_pool!(db, pool => sqlx::query_scalar(AssertSqlSafe(reserve.as_str()))
            .bind(bucket)
            .bind(now)
            .bind(RUN_FORGOTTEN_AFTER_SECS)
            .bind(delays.free)
            .bind(&then)
            .bind(last)
            .fetch_all(pool)
            .await)?;
        if let Some(attempt) = first_row(reserved) {
            return Ok(Ok(attempt));
        }
        let wait: Option<i64> = with_pool!(db, pool => sqlx::query_scalar(AssertSqlSafe(waiting.as_str()))
            .bind(bucket)
            .bind(now)
            .bind(delays.free)
            .bind(&then)
            .bind(last)
            .fetch_optional(pool)
            .await)?;
        if let Some(wait) = wait {
            return Ok(Err(wait));
        }
        // The run changed between the two (an attempt forgiven, the run
        // cleared): reserve again.
    }
    // Heavy contention on one bucket: that is a flood; make it wait a moment.
    Ok(Err(1))
}

/// A change to runs of failures once a password was checked, or could not be.
#[derive(Clone, Copy, Debug)]
pub enum Change<'a> {
    /// A right password (or an operator) ends the run of this bucket.
    End(&'a str),
    /// Every run whose bucket starts with this ends.
    EndEveryStarting(&'a str),
    /// A reserved attempt that was not a failure no longer counts (a right
    /// password from a shared IP must not count against the IP).
    Forgive(&'a str),
}

impl<'a> Change<'a> {
    /// The statement, its one parameter being `$n`.
    fn sql(self, n: usize) -> String {
        match self {
            Change::End(_) => format!("DELETE FROM password_failures WHERE bucket = ${n}"),
            Change::EndEveryStarting(_) => {
                format!("DELETE FROM password_failures WHERE substr(bucket, 1, length(${n})) = ${n}")
            }
            Change::Forgive(_) => format!(
                "UPDATE password_failures SET failures = failures - 1 WHERE bucket = ${n} AND failures > 0"
            ),
        }
    }

    fn bucket(self) -> &'a str {
        match self {
            Change::End(bucket) | Change::EndEveryStarting(bucket) | Change::Forgive(bucket) => bucket,
        }
    }
}

/// Makes `changes`, to runs of different buckets, in one round trip: one
/// statement on Postgres (data-modifying `WITH`s), one batch on SQLite.
pub async fn change(db: &Db, changes: &[Change<'_>]) -> Result<(), sqlx::Error> {
    let statements: Vec<String> = changes.iter().enumerate().map(|(i, change)| change.sql(i + 1)).collect();
    let Some((last, before)) = statements.split_last() else { return Ok(()) };
    let sql = match db.pool() {
        Pool::Sqlite(_) => statements.join("; "),
        Pool::Postgres(_) if before.is_empty() => last.clone(),
        Pool::Postgres(_) => {
            let before: Vec<String> =
                before.iter().enumerate().map(|(i, sql)| format!("change_{i} AS ({sql})")).collect();
            format!("WITH {} {last}", before.join(", "))
        }
    };
    with_pool!(db, pool => {
        let mut query = sqlx::query(AssertSqlSafe(sql.as_str()));
        for change in changes {
            query = query.bind(change.bucket());
        }
        query.execute(pool).await.map(drop)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_are_none_before_the_free_failures_and_the_last_one_after_the_schedule() {
        let delays = Delays::of(|n| if n < 3 { 0 } else { 30 << (n - 3).min(2) }, 5);
        assert_eq!(delays, Delays { free: 3, then: vec![30, 60, 120] });
        let after: Vec<i64> = (0..=7).map(|n| delays.after(n)).collect();
        assert_eq!(after, [0, 0, 0, 30, 60, 120, 120, 120]);
    }

    #[test]
    fn a_schedule_without_delays_looks_up_zero() {
        let delays = Delays::of(|_| 0, 4);
        assert_eq!((delays.after(0), delays.after(4), delays.after(1_000)), (0, 0, 0));
    }
}
