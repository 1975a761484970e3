//! The second factor: a challenge is one code (and its link) sent for one
//! pending sign-in, bound to the user and to a purpose. This file decides what
//! a submitted code or link means; the database makes each decision atomic.

use rand::RngExt as _;

use super::code::{OneTimeCode, link_digest, random_token};
use super::throttle::Throttle;
use crate::db::challenges::{self, Challenge, NewChallenge};
use crate::db::limits;
use crate::db::outbox::NewMail;
use crate::db::{Db, now};

/// What a challenge is for; a code for one purpose never works for another.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Purpose {
    Login,
}

impl Purpose {
    pub fn as_str(self) -> &'static str {
        match self {
            Purpose::Login => "login",
        }
    }
}

/// The rules a challenge is checked under (from the configuration).
#[derive(Clone, Debug)]
pub struct ChallengePolicy {
    pub code_length: u32,
    pub ttl_secs: i64,
    pub max_attempts: i32,
    pub resend_cooldown_secs: i64,
    pub key: [u8; 32],
    pub throttle: Throttle,
}

/// Writes the sealed mail for a new challenge's code and link token: the
/// secrets exist in memory only, on their way into the mail.
pub trait ComposeMail: FnOnce(&OneTimeCode, &str) -> anyhow::Result<NewMail> {}
impl<F: FnOnce(&OneTimeCode, &str) -> anyhow::Result<NewMail>> ComposeMail for F {}

/// Why a code or link was not accepted, or that it was.
#[derive(Debug, PartialEq, Eq)]
pub enum Verdict {
    Accepted {
        user_id: i64,
        return_to: Option<String>,
    },
    Wrong {
        attempts_left: i32,
    },
    Replaced,
    Expired,
    Used,
    TooManyAttempts,
    /// The account's budget of wrong codes is spent: no code is checked until it rolls on.
    Locked {
        retry_after_secs: i64,
    },
    /// The challenge does not exist (or belongs to another purpose).
    Unknown,
}

impl Verdict {
    /// A word for the audit log.
    pub fn as_str(&self) -> &'static str {
        match self {
            Verdict::Accepted { .. } => "ok",
            Verdict::Wrong { .. } => "wrong",
            Verdict::Replaced => "replaced",
            Verdict::Expired => "expired",
            Verdict::Used => "used",
            Verdict::TooManyAttempts => "too_many_attempts",
            Verdict::Locked { .. } => "locked",
            Verdict::Unknown => "unknown",
        }
    }
}

/// A verdict on a typed code, and whether this guess spent the account's
/// last wrong code of the day (then its owner is told).
#[derive(Debug)]
pub struct CodeCheck {
    pub verdict: Verdict,
    pub budget_just_spent: bool,
}

impl From<Verdict> for CodeCheck {
    fn from(verdict: Verdict) -> Self {
        Self { verdict, budget_just_spent: false }
    }
}

/// The outcome of asking for a new code.
pub enum Resend {
    /// The new challenge's id.
    Sent(i64),
    /// Too soon: try again after this many seconds.
    Cooldown(i64),
    /// The challenge was used or no longer exists; start over.
    Gone,
}

impl ChallengePolicy {
    /// Issues the first challenge of a new pending sign-in and queues its
    /// mail in the same transaction; returns the challenge's id.
    pub async fn issue(
        &self,
        db: &Db,
        user_id: i64,
        purpose: Purpose,
        return_to: Option<&str>,
        compose: impl ComposeMail,
    ) -> anyhow::Result<i64> {
        let flow_id = rand::rand_core::UnwrapErr(rand::rngs::SysRng).random_range(1..i64::MAX);
        let (new, code, link_token) = self.draft(flow_id, user_id, purpose, return_to);
        let mail = compose(&code, &link_token)?;
        Ok(challenges::insert(db, new, &mail).await?)
    }

    /// Replaces challenge `id` by a new one of the same flow, if the cooldown
    /// allows, and queues the new mail in the same transaction.
    pub async fn resend(&self, db: &Db, id: i64, compose: impl ComposeMail) -> anyhow::Result<Resend> {
        let Some(old) = challenges::find(db, id).await? else {
            return Ok(Resend::Gone);
        };
        if old.used_at.is_some() || old.replaced_at.is_some() {
            return Ok(Resend::Gone);
        }
        let now = now();
        let ready_at = old.created_at + self.resend_cooldown_secs;
        if now < ready_at {
            return Ok(Resend::Cooldown(ready_at - now));
        }
        let purpose = Purpose::Login;
        let (new, code, link_token) = self.draft(old.flow_id, old.user_id, purpose, old.return_to.as_deref());
        let mail = compose(&code, &link_token)?;
        match challenges::replace(db, id, now - self.resend_cooldown_secs, new, &mail).await? {
            Some(challenge_id) => Ok(Resend::Sent(challenge_id)),
            // Another request replaced or used it between our read and write.
            None => Ok(Resend::Gone),
        }
    }

    fn draft<'a>(
        &self,
        flow_id: i64,
        user_id: i64,
        purpose: Purpose,
        return_to: Option<&'a str>,
    ) -> (NewChallenge<'a>, OneTimeCode, String) {
        let code = OneTimeCode::generate(self.code_length);
        let link_token = random_token();
        let now = now();
        let new = NewChallenge {
            flow_id,
            user_id,
            purpose: purpose.as_str(),
            code_hash: code.digest(&self.key),
            link_hash: link_digest(&self.key, &link_token),
            return_to,
            now,
            expires_at: now + self.ttl_secs,
        };
        (new, code, link_token)
    }

    /// Checks a typed code against challenge `id`. Before the comparison
    /// the guess takes a slot of the account's 24 h budget and one of the
    /// code's attempts, both atomically, so that no concurrency can get more
    /// guesses evaluated; a right code, or one from a replaced challenge of
    /// the same sign-in (told apart so the person uses the newest mail),
    /// gives them back.
    pub async fn check_code(
        &self,
        db: &Db,
        id: i64,
        purpose: Purpose,
        code: &OneTimeCode,
    ) -> anyhow::Result<CodeCheck> {
        let Some(challenge) = challenges::find(db, id).await? else {
            return Ok(Verdict::Unknown.into());
        };
        if challenge.purpose != purpose.as_str() {
            return Ok(Verdict::Unknown.into());
        }
        let now = now();
        if let Some(verdict) = self.dead_verdict(&challenge, now) {
            return Ok(verdict.into());
        }
        let budget = self.throttle.code_failure_budget(challenge.user_id);
        let slot = match limits::take(db, now, std::slice::from_ref(&budget)).await? {
            Ok(slot) => slot,
            Err(retry_after_secs) => return Ok(Verdict::Locked { retry_after_secs }.into()),
        };
        let Some(attempts) = challenges::reserve_attempt(db, id, now, self.max_attempts).await? else {
            limits::refund(db, slot).await?;
            return Ok(self.verdict_after_race(db, id).await?.into());
        };
        if code.matches(&self.key, &challenge.code_hash) {
            limits::refund(db, slot).await?;
            return Ok(match challenges::consume(db, id, now).await? {
                Some(_) => accepted(challenge),
                None => self.verdict_after_race(db, id).await?,
            }
            .into());
        }
        let replaced = challenges::replaced_code_hashes(db, challenge.flow_id).await?;
        if replaced.iter().any(|old| code.matches(&self.key, old)) {
            limits::refund(db, slot).await?;
            challenges::return_attempt(db, id).await?;
            return Ok(Verdict::Replaced.into());
        }
        // A wrong code: it stays counted, against the code and the account.
        let spent = limits::count(db, &budget.bucket, now - budget.window_secs).await?;
        let verdict = if attempts >= self.max_attempts {
            Verdict::TooManyAttempts
        } else {
            Verdict::Wrong { attempts_left: self.max_attempts - attempts }
        };
        Ok(CodeCheck { verdict, budget_just_spent: spent == budget.max })
    }

    /// What a link token points at, without consuming anything (GET of the link).
    pub async fn peek_link(&self, db: &Db, token: &str) -> anyhow::Result<Verdict> {
        let digest = link_digest(&self.key, token);
        let Some(challenge) = challenges::find_by_link(db, &digest).await? else {
            return Ok(Verdict::Unknown);
        };
        Ok(self.dead_verdict(&challenge, now()).unwrap_or_else(|| accepted(challenge)))
    }

    /// Uses the challenge behind a link token (POST of the link page).
    pub async fn use_link(&self, db: &Db, token: &str) -> anyhow::Result<Verdict> {
        let digest = link_digest(&self.key, token);
        let Some(challenge) = challenges::find_by_link(db, &digest).await? else {
            return Ok(Verdict::Unknown);
        };
        match challenges::consume_link(db, &digest, now(), self.max_attempts).await? {
            Some(_) => Ok(accepted(challenge)),
            None => self.verdict_after_race(db, challenge.id).await,
        }
    }

    /// Why a challenge can no longer be used, if it cannot.
    fn dead_verdict(&self, c: &Challenge, now: i64) -> Option<Verdict> {
        if c.used_at.is_some() {
            Some(Verdict::Used)
        } else if c.replaced_at.is_some() {
            Some(Verdict::Replaced)
        } else if c.attempts >= self.max_attempts {
            Some(Verdict::TooManyAttempts)
        } else if c.expires_at <= now {
            Some(Verdict::Expired)
        } else {
            None
        }
    }

    /// A conditional update found nothing to change: another request got
    /// there first. Read the row again to say what happened.
    async fn verdict_after_race(&self, db: &Db, id: i64) -> anyhow::Result<Verdict> {
        let challenge = challenges::find(db, id).await?;
        Ok(challenge.and_then(|c| self.dead_verdict(&c, now())).unwrap_or(Verdict::Used))
    }
}

fn accepted(challenge: Challenge) -> Verdict {
    Verdict::Accepted { user_id: challenge.user_id, return_to: challenge.return_to }
}
