//! The limits of SECURITY.md items 7, 12 and 13 as policy: which buckets a
//! request counts against, how many events each allows, and how long a run
//! of password failures makes the next attempt wait. The counting itself is
//! atomic in the database (`db::limits`).

use std::net::IpAddr;

use super::audit::Audit;
use crate::config::Limits;
use crate::db::Db;
use crate::db::limits::{self, Limit, Taken};
use crate::db::users::User;
use crate::domain::audit::{AuditResult, Event};
use crate::domain::clock::Clock;
use crate::domain::purpose::Purpose;
use crate::domain::requester::Requester;

const MINUTE: i64 = 60;
const HOUR: i64 = 60 * MINUTE;
const DAY: i64 = 24 * HOUR;
/// The first delay after the free failures; each further failure doubles it.
const FIRST_DELAY_SECS: i64 = 30;

/// What a limit counts, and whose: its key in the database is `key()`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Bucket<'a> {
    CodeFailures {
        user_id: i64,
    },
    CodeSendsPer15Min {
        user_id: i64,
    },
    CodeSendsPerDay {
        user_id: i64,
    },
    CodeSendsOverall,
    CodeSendsFromIp(IpAddr),
    SignInsFromIp(IpAddr),
    /// A run of password failures of a typed address: keyed by the address
    /// typed, so unknown accounts are throttled exactly like real ones.
    PasswordAddress(&'a str),
    PasswordIp(IpAddr),
}

impl Bucket<'_> {
    fn key(self) -> String {
        match self {
            Bucket::CodeFailures { user_id } => format!("code-failure:user:{user_id}"),
            Bucket::CodeSendsPer15Min { user_id } => format!("code-send:user:{user_id}:15m"),
            Bucket::CodeSendsPerDay { user_id } => format!("code-send:user:{user_id}:day"),
            Bucket::CodeSendsOverall => "code-send:all".into(),
            Bucket::CodeSendsFromIp(ip) => format!("code-send:ip:{ip}"),
            Bucket::SignInsFromIp(ip) => format!("sign-in:ip:{ip}"),
            Bucket::PasswordAddress(email) => format!("password:email:{}", email.trim().to_lowercase()),
            Bucket::PasswordIp(ip) => format!("password:ip:{ip}"),
        }
    }

    fn limit(self, max: i64, window_secs: i64) -> Limit {
        Limit { bucket: self.key(), max, window_secs }
    }
}

/// The limits, and the database that counts against them.
#[derive(Clone)]
pub struct Throttle {
    db: Db,
    clock: Clock,
    limits: Limits,
}

/// An attempt admitted to the password check; until it is settled it counts
/// as a failure of its address and IP.
pub struct Admitted {
    account_failures: i32,
}

impl Throttle {
    pub fn new(db: Db, clock: Clock, limits: Limits) -> Self {
        Self { db, clock, limits }
    }

    /// Wrong codes an account may have evaluated per rolling 24 h, whatever
    /// the session, code or IP: resending never resets it.
    pub fn code_failure_budget(&self, user_id: i64) -> Limit {
        Bucket::CodeFailures { user_id }.limit(self.limits.code_failure_budget, DAY)
    }

    /// Sending a code: per account (15 min and a day), per client IP, and overall.
    fn code_sends(&self, user_id: i64, ip: Option<IpAddr>) -> Vec<Limit> {
        let l = &self.limits;
        let mut limits = vec![
            Bucket::CodeSendsPer15Min { user_id }.limit(l.code_sends_per_15_min, 15 * MINUTE),
            Bucket::CodeSendsPerDay { user_id }.limit(l.code_sends_per_day, DAY),
            Bucket::CodeSendsOverall.limit(l.code_sends_per_hour, HOUR),
        ];
        if let Some(ip) = ip {
            limits.push(Bucket::CodeSendsFromIp(ip).limit(l.code_sends_per_ip_per_hour, HOUR));
        }
        limits
    }

    /// Admits a password attempt, or says how many seconds to wait: sign-in
    /// starts per client IP, then one reserved attempt of the IP's and of
    /// the address's run of failures (with the delays those runs earned).
    pub async fn admit_password_attempt(
        &self,
        requester: &Requester,
        email: &str,
    ) -> anyhow::Result<Result<Admitted, i64>> {
        let now = self.clock.now();
        if let Some(ip) = requester.ip {
            let starts = Bucket::SignInsFromIp(ip).limit(self.limits.sign_ins_per_ip_per_hour, HOUR);
            if let Err(retry) = limits::take(&self.db, now, &[starts]).await? {
                return Ok(Err(retry));
            }
            let bucket = Bucket::PasswordIp(ip).key();
            let reserved =
                limits::reserve_password_attempt(&self.db, &bucket, now, |n| ip_delay(&self.limits, n));
            if let Err(retry) = reserved.await? {
                return Ok(Err(retry));
            }
        }
        let bucket = Bucket::PasswordAddress(email).key();
        Ok(limits::reserve_password_attempt(&self.db, &bucket, now, |n| account_delay(&self.limits, n))
            .await?
            .map(|account_failures| Admitted { account_failures }))
    }

    /// The password was wrong: the reserved attempts stay counted, and the
    /// address reaching the stop is audited.
    pub async fn password_failed(
        &self,
        audit: &Audit,
        requester: &Requester,
        email: &str,
        admitted: Admitted,
    ) {
        if admitted.account_failures == self.limits.password_max_consecutive_failures {
            tracing::warn!("an address reached the maximum of consecutive password failures");
            audit.record(requester, None, Some(email), Event::Lockout, AuditResult::PasswordStop).await;
        }
    }

    /// A right password ends the address's run of failures, and its reserved
    /// attempt no longer counts against the IP. (The IP's run is not cleared:
    /// one account of your own must not reset a throttle on guessing others.)
    pub async fn password_succeeded(&self, requester: &Requester, email: &str) -> anyhow::Result<()> {
        self.unlock(email).await?;
        if let Some(ip) = requester.ip {
            limits::forgive_password_attempt(&self.db, &Bucket::PasswordIp(ip).key()).await?;
        }
        Ok(())
    }

    /// The password could not be checked at all: its reserved attempts do not count.
    pub async fn password_unchecked(&self, requester: &Requester, email: &str) -> anyhow::Result<()> {
        limits::forgive_password_attempt(&self.db, &Bucket::PasswordAddress(email).key()).await?;
        if let Some(ip) = requester.ip {
            limits::forgive_password_attempt(&self.db, &Bucket::PasswordIp(ip).key()).await?;
        }
        Ok(())
    }

    /// Lets an address sign in again after the hard stop (`gatehouse user
    /// unlock`, a new password).
    pub async fn unlock(&self, email: &str) -> anyhow::Result<()> {
        limits::clear_password_failures(&self.db, &Bucket::PasswordAddress(email).key()).await?;
        Ok(())
    }

    /// Takes the send slots for a code to `user`, or says how many seconds
    /// to wait (and audits the refusal). The slots can be handed back with
    /// `refund` if no code goes out after all.
    pub async fn admit_code_send(
        &self,
        audit: &Audit,
        requester: &Requester,
        user: &User,
        purpose: Purpose,
    ) -> anyhow::Result<Result<Taken, i64>> {
        let limits = self.code_sends(user.id, requester.ip);
        let taken = limits::take(&self.db, self.clock.now(), &limits).await?;
        if taken.is_err() {
            audit
                .record(
                    requester,
                    Some(user.id),
                    Some(&user.email),
                    Event::CodeSent(purpose),
                    AuditResult::Refused,
                )
                .await;
        }
        Ok(taken)
    }

    /// Hands back events that turned out not to count.
    pub async fn refund(&self, taken: Taken) -> anyhow::Result<()> {
        Ok(limits::refund(&self.db, taken).await?)
    }
}

/// Seconds to wait after `failures` consecutive failures of an address.
fn account_delay(limits: &Limits, failures: i32) -> i64 {
    if failures >= limits.password_max_consecutive_failures {
        // The hard stop: only an operator (`gatehouse user unlock`) or a new password ends it.
        return 100 * 365 * DAY;
    }
    delay(limits, failures, limits.password_free_failures)
}

/// Seconds to wait after `failures` consecutive failures from one IP.
fn ip_delay(limits: &Limits, failures: i32) -> i64 {
    delay(limits, failures, limits.password_free_failures_per_ip)
}

fn delay(limits: &Limits, failures: i32, free: i32) -> i64 {
    // After `free` consecutive failures, each further attempt waits.
    let over = failures - free;
    if over < 0 {
        return 0;
    }
    let doublings = over.min(20) as u32;
    (FIRST_DELAY_SECS << doublings).min(limits.password_max_delay_secs)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Settings;

    fn limits() -> Limits {
        Settings::default().check().unwrap().limits
    }

    #[test]
    fn delays_start_after_the_free_failures_and_double_to_an_hour() {
        let delays: Vec<i64> = (1..=14).map(|n| account_delay(&limits(), n)).collect();
        assert_eq!(delays, [0, 0, 0, 0, 30, 60, 120, 240, 480, 960, 1920, 3600, 3600, 3600]);
    }

    #[test]
    fn the_hundredth_consecutive_failure_stops_the_account() {
        assert_eq!(account_delay(&limits(), 99), 3600);
        assert!(account_delay(&limits(), 100) > 365 * DAY);
    }

    #[test]
    fn an_ip_gets_more_free_failures_than_an_account() {
        assert_eq!(ip_delay(&limits(), 19), 0);
        assert_eq!(ip_delay(&limits(), 20), 30);
    }

    #[test]
    fn address_buckets_ignore_case() {
        assert_eq!(Bucket::PasswordAddress(" Ann@X.org").key(), Bucket::PasswordAddress("ann@x.org").key());
    }
}
