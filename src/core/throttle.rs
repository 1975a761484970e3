//! The limits of SECURITY.md items 7, 12 and 13 as policy: which buckets a
//! request counts against, how many events each allows, and how long a run
//! of password failures makes the next attempt wait. The counting itself is
//! atomic in the database (`db::limits`).

use sha2::{Digest as _, Sha256};

use super::audit::Audit;
use crate::config::Limits;
use crate::db::Db;
use crate::db::limits::{self, Limit, Taken};
use crate::db::password_failures::{self, Change, Delays};
use crate::db::users::User;
use crate::domain::audit::{AuditResult, Event};
use crate::domain::clock::Clock;
use crate::domain::email::EmailAddress;
use crate::domain::network::ClientNet;
use crate::domain::purpose::Purpose;
use crate::domain::requester::Requester;

const MINUTE: i64 = 60;
const HOUR: i64 = 60 * MINUTE;
const DAY: i64 = 24 * HOUR;
/// The first delay after the free failures; each further failure doubles it.
const FIRST_DELAY_SECS: i64 = 30;
/// Doublings beyond which a delay grows no more (it is capped well before).
const MAX_DOUBLINGS: i32 = 20;

/// What a limit counts, and whose: its key in the database is `key()`.
/// Clients are counted by `ClientNet` (an IPv6 client is its /64), typed
/// addresses by their parsed form or a hash, never by raw input. (Migration
/// 0009 tells a bucket's window by its key's ending: keep `:15m` and `:day`.)
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
    CodeSendsFromIp(ClientNet),
    SignInsFromIp(ClientNet),
    /// A run of password failures of a typed address, so unknown accounts
    /// are throttled exactly like real ones.
    PasswordAddress(&'a str),
    /// A run of password failures from a browser the account remembers
    /// (its token's digest).
    PasswordBrowser {
        user_id: i64,
        digest: &'a [u8],
    },
    PasswordIp(ClientNet),
}

impl Bucket<'_> {
    fn key(self) -> String {
        match self {
            Bucket::CodeFailures { user_id } => format!("code-failure:user:{user_id}"),
            Bucket::CodeSendsPer15Min { user_id } => format!("code-send:user:{user_id}:15m"),
            Bucket::CodeSendsPerDay { user_id } => format!("code-send:user:{user_id}:day"),
            Bucket::CodeSendsOverall => "code-send:all".into(),
            Bucket::CodeSendsFromIp(net) => format!("code-send:ip:{net}"),
            Bucket::SignInsFromIp(net) => format!("sign-in:ip:{net}"),
            Bucket::PasswordAddress(typed) => match EmailAddress::parse(typed) {
                Ok(address) => format!("password:email:{address}"),
                // Not an address: a fixed-size key however long the input.
                Err(_) => {
                    format!("password:typed:{}", hex::encode(Sha256::digest(typed.trim().to_lowercase())))
                }
            },
            Bucket::PasswordBrowser { user_id, digest } => {
                format!("{}{}", browsers_of(user_id), hex::encode(digest))
            }
            Bucket::PasswordIp(net) => format!("password:ip:{net}"),
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
    /// The delays of a run of password failures of an IP, and of an address or browser.
    ip_delays: Delays,
    account_delays: Delays,
}

/// Who is guessing a password, for the run of failures the attempt counts
/// in besides its IP's: the address typed, or, for a browser that completed
/// a sign-in to that address's account before, the browser's own run,
/// exempt from the address's delay and stop.
pub struct Guesser<'a> {
    pub typed: &'a str,
    /// The account, and the digest of the browser's remembered-browser
    /// token, when the account knows the browser.
    pub remembered: Option<(i64, Vec<u8>)>,
}

impl Guesser<'_> {
    fn bucket(&self) -> Bucket<'_> {
        match &self.remembered {
            None => Bucket::PasswordAddress(self.typed),
            Some((user_id, digest)) => Bucket::PasswordBrowser { user_id: *user_id, digest },
        }
    }
}

/// The start of the keys of every remembered browser's run of an account.
fn browsers_of(user_id: i64) -> String {
    format!("password:browser:{user_id}:")
}

/// An attempt admitted to the password check; until it is settled it counts
/// as a failure of its guesser and IP.
pub struct Attempt {
    account_failures: i32,
}

impl Throttle {
    pub fn new(db: Db, clock: Clock, limits: Limits) -> Self {
        let (ip_delays, account_delays) = delays(&limits);
        Self { db, clock, limits, ip_delays, account_delays }
    }

    /// Wrong codes an account may have evaluated per rolling 24 h, whatever
    /// the session, code or IP: resending never resets it.
    pub fn code_failure_budget(&self, user_id: i64) -> Limit {
        Bucket::CodeFailures { user_id }.limit(self.limits.code_failure_budget, DAY)
    }

    /// A guess that is wrong without any code being typed (a wrong number on
    /// the approval page) still counts against the account's 24 h budget.
    pub async fn count_wrong_guess(&self, user_id: i64) -> anyhow::Result<()> {
        let budget = self.code_failure_budget(user_id);
        // A spent budget has no slot left to take: the guess changes nothing then.
        let _ = limits::take(&self.db, self.clock.now(), &[budget]).await?;
        Ok(())
    }

    /// Sending a code: per account (15 min and a day), per client IP, and overall.
    fn code_sends(&self, user_id: i64, ip: Option<ClientNet>) -> Vec<Limit> {
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
    /// the guesser's run of failures (with the delays those runs earned).
    pub async fn admit_password_attempt(
        &self,
        requester: &Requester,
        guesser: &Guesser<'_>,
    ) -> anyhow::Result<Result<Attempt, i64>> {
        let now = self.clock.now();
        if let Some(ip) = client_net(requester) {
            let starts = Bucket::SignInsFromIp(ip).limit(self.limits.sign_ins_per_ip_per_hour, HOUR);
            if let Err(retry) = limits::take(&self.db, now, &[starts]).await? {
                return Ok(Err(retry));
            }
            let bucket = Bucket::PasswordIp(ip).key();
            let reserved = password_failures::reserve(&self.db, &bucket, now, &self.ip_delays);
            if let Err(retry) = reserved.await? {
                return Ok(Err(retry));
            }
        }
        let bucket = guesser.bucket().key();
        Ok(password_failures::reserve(&self.db, &bucket, now, &self.account_delays)
            .await?
            .map(|account_failures| Attempt { account_failures }))
    }

    /// The password was wrong: the reserved attempts stay counted, and the
    /// address reaching the stop is audited.
    pub async fn password_failed(
        &self,
        audit: &Audit,
        requester: &Requester,
        guesser: &Guesser<'_>,
        attempt: Attempt,
    ) {
        if attempt.account_failures == self.limits.password_max_consecutive_failures {
            tracing::warn!("an address or browser reached the maximum of consecutive password failures");
            let email = EmailAddress::parse(guesser.typed).ok();
            let email = email.as_ref().map(EmailAddress::as_str);
            audit.record(requester, None, email, Event::Lockout, AuditResult::PasswordStop).await;
        }
    }

    /// A right password ends the address's run of failures (and the
    /// browser's), and its reserved attempt no longer counts against the
    /// IP. (The IP's run is not cleared: one account of your own must not
    /// reset a throttle on guessing others.)
    pub async fn password_succeeded(
        &self,
        requester: &Requester,
        guesser: &Guesser<'_>,
    ) -> anyhow::Result<()> {
        let account = guesser.remembered.as_ref().map(|(user_id, _)| *user_id);
        let ip = ip_run(requester);
        self.end_runs(guesser.typed, account, ip.as_deref().map(Change::Forgive)).await
    }

    /// The password could not be checked at all: its reserved attempts do not count.
    pub async fn password_unchecked(
        &self,
        requester: &Requester,
        guesser: &Guesser<'_>,
    ) -> anyhow::Result<()> {
        let (guessed, ip) = (guesser.bucket().key(), ip_run(requester));
        let mut changes = vec![Change::Forgive(&guessed)];
        changes.extend(ip.as_deref().map(Change::Forgive));
        Ok(password_failures::change(&self.db, &changes).await?)
    }

    /// Lets an address, and every browser the account `user_id` remembers,
    /// sign in again after the hard stop (`gatehouse user unlock`, a new
    /// password, a right password).
    pub async fn unlock(&self, email: &str, user_id: Option<i64>) -> anyhow::Result<()> {
        self.end_runs(email, user_id, None).await
    }

    /// `unlock`, and `also` in the same round trip.
    async fn end_runs(
        &self,
        email: &str,
        user_id: Option<i64>,
        also: Option<Change<'_>>,
    ) -> anyhow::Result<()> {
        let (address, browsers) = (Bucket::PasswordAddress(email).key(), user_id.map(browsers_of));
        let mut changes = vec![Change::End(&address)];
        changes.extend(browsers.as_deref().map(Change::EndEveryStarting));
        changes.extend(also);
        Ok(password_failures::change(&self.db, &changes).await?)
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
        let limits = self.code_sends(user.id, client_net(requester));
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

/// The client as limits count it.
fn client_net(requester: &Requester) -> Option<ClientNet> {
    requester.ip.map(ClientNet::of)
}

/// The key of the run of password failures of the requester's IP, if it has one.
fn ip_run(requester: &Requester) -> Option<String> {
    client_net(requester).map(|net| Bucket::PasswordIp(net).key())
}

/// The delays of runs of password failures, of an IP and of an address or
/// browser, as the database looks them up: each is settled once the
/// doublings reach their cap and the account's stop is passed.
fn delays(limits: &Limits) -> (Delays, Delays) {
    let settled_from = |free: i32| free.max(limits.password_max_consecutive_failures) + MAX_DOUBLINGS;
    (
        Delays::of(|n| ip_delay(limits, n), settled_from(limits.password_free_failures_per_ip)),
        Delays::of(|n| account_delay(limits, n), settled_from(limits.password_free_failures)),
    )
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
    let doublings = over.min(MAX_DOUBLINGS) as u32;
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
    fn the_schedule_given_to_the_database_has_every_delay_of_the_policy() {
        let mut settings = Settings::default();
        for (free, free_per_ip, stop, max_delay) in
            [(0, 0, 1, 30), (5, 20, 100, 3600), (100, 1000, 3, 86_400)]
        {
            settings.password_free_failures = free;
            settings.password_free_failures_per_ip = free_per_ip;
            settings.password_max_consecutive_failures = stop;
            settings.password_max_delay_secs = max_delay;
            let limits = settings.check().unwrap().limits;
            let (ip, account) = delays(&limits);
            for n in 0..2_000 {
                assert_eq!(ip.after(n), ip_delay(&limits, n), "an IP after {n} failures");
                assert_eq!(account.after(n), account_delay(&limits, n), "an account after {n} failures");
            }
        }
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

    #[test]
    fn address_buckets_are_short_whatever_was_typed() {
        let typed = "x".repeat(4096);
        let key = Bucket::PasswordAddress(&typed).key();
        assert!(key.len() < 100 && !key.contains("xxxx"), "{key}");
        assert_eq!(Bucket::PasswordAddress("ann@example.com").key(), "password:email:ann@example.com");
    }

    #[test]
    fn an_ipv6_client_is_counted_by_its_64_and_a_mapped_ipv4_as_ipv4() {
        let ip = |raw: &str| ClientNet::of(raw.parse().unwrap());
        let key = |raw| Bucket::SignInsFromIp(ip(raw)).key();
        assert_eq!(key("2001:db8:1:2::1"), key("2001:db8:1:2:ffff:ffff:ffff:ffff"));
        assert_ne!(key("2001:db8:1:2::1"), key("2001:db8:1:3::1"));
        assert_eq!(key("::ffff:203.0.113.7"), key("203.0.113.7"));
        assert_eq!(key("203.0.113.7"), "sign-in:ip:203.0.113.7");
    }
}
