//! The limits of SECURITY.md items 7, 12 and 13 as policy: which buckets a
//! request counts against, how many events each allows, and how long a run
//! of password failures makes the next attempt wait. The counting itself is
//! atomic in the database (`db::limits`).

use std::net::IpAddr;

use crate::audit::{Event, Requester};
use crate::config::Settings;
use crate::db::limits::{self, Limit};
use crate::db::now;
use crate::db::users::User;
use crate::error::{AppError, Problem};
use crate::startup::AppState;

const MINUTE: i64 = 60;
const HOUR: i64 = 60 * MINUTE;
const DAY: i64 = 24 * HOUR;
/// The first delay after the free failures; each further failure doubles it.
const FIRST_DELAY_SECS: i64 = 30;

#[derive(Clone, Debug)]
pub struct Throttle {
    failure_budget: i64,
    sends_per_15_min: i64,
    sends_per_day: i64,
    sends_per_ip_per_hour: i64,
    sends_per_hour: i64,
    sign_ins_per_ip_per_hour: i64,
    free_failures: i32,
    free_failures_per_ip: i32,
    max_delay_secs: i64,
    max_consecutive_failures: i32,
}

impl Throttle {
    pub fn new(s: &Settings) -> Self {
        Self {
            failure_budget: s.code_failure_budget.into(),
            sends_per_15_min: s.code_sends_per_15_min.into(),
            sends_per_day: s.code_sends_per_day.into(),
            sends_per_ip_per_hour: s.code_sends_per_ip_per_hour.into(),
            sends_per_hour: s.code_sends_per_hour.into(),
            sign_ins_per_ip_per_hour: s.sign_ins_per_ip_per_hour.into(),
            free_failures: s.password_free_failures as i32,
            free_failures_per_ip: s.password_free_failures_per_ip as i32,
            max_delay_secs: s.password_max_delay_secs as i64,
            max_consecutive_failures: s.password_max_consecutive_failures as i32,
        }
    }

    /// Wrong codes an account may have evaluated per rolling 24 h, whatever
    /// the session, code or IP: resending never resets it.
    pub fn code_failure_budget(&self, user_id: i64) -> Limit {
        Limit { bucket: format!("code-failure:user:{user_id}"), max: self.failure_budget, window_secs: DAY }
    }

    /// Sending a code: per account (15 min and a day), per client IP, and overall.
    pub fn code_sends(&self, user_id: i64, ip: Option<IpAddr>) -> Vec<Limit> {
        let mut limits = vec![
            Limit {
                bucket: format!("code-send:user:{user_id}:15m"),
                max: self.sends_per_15_min,
                window_secs: 15 * MINUTE,
            },
            Limit {
                bucket: format!("code-send:user:{user_id}:day"),
                max: self.sends_per_day,
                window_secs: DAY,
            },
            Limit { bucket: "code-send:all".into(), max: self.sends_per_hour, window_secs: HOUR },
        ];
        if let Some(ip) = ip {
            limits.push(Limit {
                bucket: format!("code-send:ip:{ip}"),
                max: self.sends_per_ip_per_hour,
                window_secs: HOUR,
            });
        }
        limits
    }

    /// Starting a sign-in (every password POST) per client IP.
    pub fn sign_in_starts(&self, ip: IpAddr) -> Limit {
        Limit { bucket: format!("sign-in:ip:{ip}"), max: self.sign_ins_per_ip_per_hour, window_secs: HOUR }
    }

    /// The account bucket is keyed by the address typed, so unknown accounts
    /// are throttled exactly like real ones (no enumeration by lockout).
    pub fn password_account_bucket(email: &str) -> String {
        format!("password:email:{}", email.trim().to_lowercase())
    }

    pub fn password_ip_bucket(ip: IpAddr) -> String {
        format!("password:ip:{ip}")
    }

    /// Seconds to wait after `failures` consecutive failures of an account.
    pub fn account_delay(&self, failures: i32) -> i64 {
        if failures >= self.max_consecutive_failures {
            // The hard stop: only an operator (`gatehouse user unlock`) or a new password ends it.
            return 100 * 365 * DAY;
        }
        self.delay(failures, self.free_failures)
    }

    /// Seconds to wait after `failures` consecutive failures from one IP.
    pub fn ip_delay(&self, failures: i32) -> i64 {
        self.delay(failures, self.free_failures_per_ip)
    }

    fn delay(&self, failures: i32, free: i32) -> i64 {
        // After `free` consecutive failures, each further attempt waits.
        let over = failures - free;
        if over < 0 {
            return 0;
        }
        let doublings = over.min(20) as u32;
        (FIRST_DELAY_SECS << doublings).min(self.max_delay_secs)
    }
}

/// An attempt admitted to the password check; until it is settled it counts
/// as a failure of its address and IP.
pub struct Admitted {
    account_failures: i32,
}

/// Admits a password attempt, or says how many seconds to wait: sign-in
/// starts per client IP, then one reserved attempt of the IP's and of the
/// address's run of failures (with the delays those runs earned).
pub async fn admit_password_attempt(
    state: &AppState,
    requester: &Requester,
    email: &str,
) -> anyhow::Result<Result<Admitted, i64>> {
    let now = now();
    let throttle = &state.throttle;
    if let Some(ip) = requester.ip {
        if let Err(retry) = limits::take(&state.db, now, &[throttle.sign_in_starts(ip)]).await? {
            return Ok(Err(retry));
        }
        let bucket = Throttle::password_ip_bucket(ip);
        if let Err(retry) =
            limits::reserve_password_attempt(&state.db, &bucket, now, |n| throttle.ip_delay(n)).await?
        {
            return Ok(Err(retry));
        }
    }
    let bucket = Throttle::password_account_bucket(email);
    Ok(limits::reserve_password_attempt(&state.db, &bucket, now, |n| throttle.account_delay(n))
        .await?
        .map(|account_failures| Admitted { account_failures }))
}

/// The password was wrong: the reserved attempts stay counted.
pub async fn password_failed(state: &AppState, requester: &Requester, email: &str, admitted: Admitted) {
    if admitted.account_failures == state.throttle.max_consecutive_failures {
        tracing::warn!("an address reached the maximum of consecutive password failures");
        requester.record(state, None, Some(email), Event::Lockout, "password").await;
    }
}

/// A right password ends the address's run of failures, and its reserved
/// attempt no longer counts against the IP. (The IP's run is not cleared:
/// one account of your own must not reset a throttle on guessing others.)
pub async fn password_succeeded(state: &AppState, requester: &Requester, email: &str) -> anyhow::Result<()> {
    limits::clear_password_failures(&state.db, &Throttle::password_account_bucket(email)).await?;
    if let Some(ip) = requester.ip {
        limits::forgive_password_attempt(&state.db, &Throttle::password_ip_bucket(ip)).await?;
    }
    Ok(())
}

/// The password could not be checked at all: its reserved attempts do not count.
pub async fn password_unchecked(state: &AppState, requester: &Requester, email: &str) -> anyhow::Result<()> {
    limits::forgive_password_attempt(&state.db, &Throttle::password_account_bucket(email)).await?;
    if let Some(ip) = requester.ip {
        limits::forgive_password_attempt(&state.db, &Throttle::password_ip_bucket(ip)).await?;
    }
    Ok(())
}

/// Takes the send slots for a code to `user`, or refuses with the 429
/// problem (and an audit row). The slots can be handed back with
/// `limits::refund` if no code goes out after all.
pub async fn admit_code_send(
    state: &AppState,
    requester: &Requester,
    user: &User,
) -> Result<limits::Taken, AppError> {
    let limits = state.throttle.code_sends(user.id, requester.ip);
    match limits::take(&state.db, now(), &limits).await? {
        Ok(taken) => Ok(taken),
        Err(retry_after_secs) => {
            requester.record(state, Some(user.id), Some(&user.email), Event::CodeSent, "refused").await;
            Err(Problem::TooManyCodesSent { retry_after_secs }.into())
        }
    }
}

/// Lets an address sign in again after the hard stop (`gatehouse user unlock`).
pub async fn unlock(db: &crate::db::Db, email: &str) -> anyhow::Result<()> {
    limits::clear_password_failures(db, &Throttle::password_account_bucket(email)).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn throttle() -> Throttle {
        Throttle::new(&Settings::default())
    }

    #[test]
    fn delays_start_after_the_free_failures_and_double_to_an_hour() {
        let t = throttle();
        let delays: Vec<i64> = (1..=14).map(|n| t.account_delay(n)).collect();
        assert_eq!(delays, [0, 0, 0, 0, 30, 60, 120, 240, 480, 960, 1920, 3600, 3600, 3600]);
    }

    #[test]
    fn the_hundredth_consecutive_failure_stops_the_account() {
        let t = throttle();
        assert_eq!(t.account_delay(99), 3600);
        assert!(t.account_delay(100) > 365 * DAY);
    }

    #[test]
    fn an_ip_gets_more_free_failures_than_an_account() {
        let t = throttle();
        assert_eq!(t.ip_delay(19), 0);
        assert_eq!(t.ip_delay(20), 30);
    }

    #[test]
    fn account_buckets_ignore_case() {
        assert_eq!(
            Throttle::password_account_bucket(" Ann@X.org"),
            Throttle::password_account_bucket("ann@x.org")
        );
    }
}
