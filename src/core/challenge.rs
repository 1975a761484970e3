//! The second factor: a challenge is one code (and its link) sent for one
//! pending flow, bound to the user and to a purpose. This file decides what
//! a submitted code or link means; the database makes each decision atomic.

use rand::RngExt as _;

use super::throttle::Throttle;
use crate::config::CodeRules;
use crate::db::Db;
use crate::db::challenges::{self, Challenge, NewChallenge};
use crate::db::limits;
use crate::db::outbox::NewMail;
use crate::domain::clock::Clock;
use crate::domain::code::{OneTimeCode, link_digest, random_token};
use crate::domain::purpose::Purpose;

/// Writes the sealed mail for a new challenge's code and link token: the
/// secrets exist in memory only, on their way into the mail.
pub trait ComposeMail: FnOnce(&OneTimeCode, &str) -> anyhow::Result<NewMail> {}
impl<F: FnOnce(&OneTimeCode, &str) -> anyhow::Result<NewMail>> ComposeMail for F {}

/// Why a code or link that once was good can no longer be used. Every flow
/// that takes a code or link answers these the same way.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Refusal {
    Expired,
    Used,
    /// A newer code of the same flow replaced it.
    Replaced,
    /// The code took its last wrong guess: it is dead.
    TooManyAttempts,
    /// The account's budget of wrong codes is spent: no code is checked until it rolls on.
    Locked {
        retry_after_secs: i64,
    },
}

/// What a submitted code or link turned out to be.
#[derive(Debug, PartialEq, Eq)]
pub enum Verdict {
    Accepted {
        user_id: i64,
        return_to: Option<String>,
    },
    Wrong {
        attempts_left: i32,
    },
    Refused(Refusal),
    /// No such challenge, or one of another purpose.
    Unknown,
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
    /// The challenge was used, replaced, or no longer exists; start over.
    Gone,
}

/// Issues and checks challenges under the configured rules.
#[derive(Clone)]
pub struct ChallengePolicy {
    db: Db,
    clock: Clock,
    rules: CodeRules,
    /// Keyed hash of codes and link tokens.
    key: [u8; 32],
    throttle: Throttle,
}

impl ChallengePolicy {
    pub fn new(db: Db, clock: Clock, rules: CodeRules, key: [u8; 32], throttle: Throttle) -> Self {
        Self { db, clock, rules, key, throttle }
    }

    pub fn rules(&self) -> &CodeRules {
        &self.rules
    }

    /// Issues the first challenge of a new flow and queues its mail in the
    /// same transaction; returns the challenge's id.
    pub async fn issue(
        &self,
        user_id: i64,
        purpose: Purpose,
        return_to: Option<&str>,
        compose: impl ComposeMail,
    ) -> anyhow::Result<i64> {
        let flow_id = rand::rand_core::UnwrapErr(rand::rngs::SysRng).random_range(1..i64::MAX);
        let (new, code, link_token) = self.draft(flow_id, user_id, purpose, return_to);
        let mail = compose(&code, &link_token)?;
        Ok(challenges::insert(&self.db, new, &mail).await?)
    }

    /// Replaces challenge `id` of `purpose` by a new one of the same flow, if
    /// the cooldown allows, and queues the new mail in the same transaction.
    pub async fn resend(
        &self,
        id: i64,
        purpose: Purpose,
        compose: impl ComposeMail,
    ) -> anyhow::Result<Resend> {
        let Some(old) = challenges::find(&self.db, id).await? else {
            return Ok(Resend::Gone);
        };
        if old.purpose != purpose || old.used_at.is_some() || old.replaced_at.is_some() {
            return Ok(Resend::Gone);
        }
        let now = self.clock.now();
        let ready_at = old.created_at + self.rules.resend_cooldown_secs;
        if now < ready_at {
            return Ok(Resend::Cooldown(ready_at - now));
        }
        let (new, code, link_token) = self.draft(old.flow_id, old.user_id, purpose, old.return_to.as_deref());
        let mail = compose(&code, &link_token)?;
        let cooled = now - self.rules.resend_cooldown_secs;
        match challenges::replace(&self.db, id, cooled, new, &mail).await? {
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
        let code = OneTimeCode::generate(self.rules.length);
        let link_token = random_token();
        let now = self.clock.now();
        let new = NewChallenge {
            flow_id,
            user_id,
            purpose,
            code_hash: code.digest(&self.key),
            link_hash: link_digest(&self.key, &link_token),
            return_to,
            now,
            expires_at: now + self.rules.ttl_secs,
        };
        (new, code, link_token)
    }

    /// Checks a typed code against challenge `id` of `purpose`. Before the
    /// comparison the guess takes a slot of the account's 24 h budget and
    /// one of the code's attempts, both atomically, so that no concurrency
    /// can get more guesses evaluated; a right code, or one from a replaced
    /// challenge of the same flow (told apart so the person uses the newest
    /// mail), gives them back.
    pub async fn check_code(
        &self,
        id: i64,
        purpose: Purpose,
        code: &OneTimeCode,
    ) -> anyhow::Result<CodeCheck> {
        let db = &self.db;
        let Some(challenge) = challenges::find(db, id).await?.filter(|c| c.purpose == purpose) else {
            return Ok(Verdict::Unknown.into());
        };
        let now = self.clock.now();
        if let Some(refusal) = self.refusal(&challenge, now) {
            return Ok(Verdict::Refused(refusal).into());
        }
        let budget = self.throttle.code_failure_budget(challenge.user_id);
        let slot = match limits::take(db, now, std::slice::from_ref(&budget)).await? {
            Ok(slot) => slot,
            Err(retry_after_secs) => return Ok(Verdict::Refused(Refusal::Locked { retry_after_secs }).into()),
        };
        let max = self.rules.max_attempts;
        let Some(attempts) = challenges::reserve_attempt(db, id, now, max).await? else {
            limits::refund(db, slot).await?;
            return Ok(self.verdict_after_race(id).await?.into());
        };
        if code.matches(&self.key, &challenge.code_hash) {
            limits::refund(db, slot).await?;
            return Ok(match challenges::consume(db, id, now).await? {
                Some(_) => accepted(challenge),
                None => self.verdict_after_race(id).await?,
            }
            .into());
        }
        let replaced = challenges::replaced_code_hashes(db, challenge.flow_id).await?;
        if replaced.iter().any(|old| code.matches(&self.key, old)) {
            limits::refund(db, slot).await?;
            challenges::return_attempt(db, id).await?;
            return Ok(Verdict::Refused(Refusal::Replaced).into());
        }
        // A wrong code: it stays counted, against the code and the account.
        let spent = limits::count(db, &budget.bucket, now - budget.window_secs).await?;
        let verdict = if attempts >= max {
            Verdict::Refused(Refusal::TooManyAttempts)
        } else {
            Verdict::Wrong { attempts_left: max - attempts }
        };
        Ok(CodeCheck { verdict, budget_just_spent: spent == budget.max })
    }

    /// What a link token of `purpose` points at, without consuming anything
    /// (GET of the link).
    pub async fn peek_link(&self, token: &str, purpose: Purpose) -> anyhow::Result<Verdict> {
        let Some(challenge) = self.behind_link(token, purpose).await? else {
            return Ok(Verdict::Unknown);
        };
        Ok(match self.refusal(&challenge, self.clock.now()) {
            Some(refusal) => Verdict::Refused(refusal),
            None => accepted(challenge),
        })
    }

    /// Uses the challenge of `purpose` behind a link token (POST of the link page).
    pub async fn use_link(&self, token: &str, purpose: Purpose) -> anyhow::Result<Verdict> {
        let Some(challenge) = self.behind_link(token, purpose).await? else {
            return Ok(Verdict::Unknown);
        };
        let digest = link_digest(&self.key, token);
        match challenges::consume_link(&self.db, &digest, self.clock.now(), self.rules.max_attempts).await? {
            Some(_) => Ok(accepted(challenge)),
            None => self.verdict_after_race(challenge.id).await,
        }
    }

    async fn behind_link(&self, token: &str, purpose: Purpose) -> anyhow::Result<Option<Challenge>> {
        let digest = link_digest(&self.key, token);
        Ok(challenges::find_by_link(&self.db, &digest).await?.filter(|c| c.purpose == purpose))
    }

    /// Why a challenge can no longer be used, if it cannot.
    fn refusal(&self, c: &Challenge, now: i64) -> Option<Refusal> {
        if c.used_at.is_some() {
            Some(Refusal::Used)
        } else if c.replaced_at.is_some() {
            Some(Refusal::Replaced)
        } else if c.attempts >= self.rules.max_attempts {
            Some(Refusal::TooManyAttempts)
        } else if c.expires_at <= now {
            Some(Refusal::Expired)
        } else {
            None
        }
    }

    /// A conditional update found nothing to change: another request got
    /// there first. Read the row again to say what happened.
    async fn verdict_after_race(&self, id: i64) -> anyhow::Result<Verdict> {
        let challenge = challenges::find(&self.db, id).await?;
        let refusal = challenge.and_then(|c| self.refusal(&c, self.clock.now()));
        Ok(Verdict::Refused(refusal.unwrap_or(Refusal::Used)))
    }
}

fn accepted(challenge: Challenge) -> Verdict {
    Verdict::Accepted { user_id: challenge.user_id, return_to: challenge.return_to }
}
