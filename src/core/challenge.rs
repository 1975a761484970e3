//! The second factor: a flow (one pending sign-in, from the password step
//! on) and its challenges, each one code and its link, bound to the user
//! and to the flow's purpose. This file decides what a submitted code or
//! link means; the database makes each decision atomic.

use std::sync::Arc;

use rand::RngExt as _;

use super::throttle::Throttle;
use crate::config::CodeRules;
use crate::db::Db;
use crate::db::audit::NewAuditRow;
use crate::db::challenges::{self, Challenge, FlowEnd, NewChallenge};
use crate::db::flows::NewFlow;
use crate::db::limits;
use crate::domain::clock::Clock;
use crate::domain::code::{OneTimeCode, link_digest, random_token};
use crate::domain::mail::MailKind;
use crate::domain::pending::Pending;
use crate::domain::purpose::Purpose;
use crate::domain::requester::Requested;
use crate::mail::Letter;
use crate::mail::outbox::Sealer;

/// A pending flow lives at most this long from its password step, however
/// many codes are sent for it.
pub const FLOW_LIFETIME_SECS: i64 = 15 * 60;

/// Writes the letter for a new challenge's code and link token: the secrets
/// exist in memory only, on their way into the sealed mail.
pub trait ComposeMail: FnOnce(&OneTimeCode, &str) -> anyhow::Result<Letter> {}
impl<F: FnOnce(&OneTimeCode, &str) -> anyhow::Result<Letter>> ComposeMail for F {}

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
    /// The flow was refused from the mail (a wrong number, or "This wasn't me").
    RefusedFromMail,
}

/// A code or link that was accepted: the flow it finishes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Accepted {
    pub user_id: i64,
    pub flow_id: i64,
    pub epoch: i64,
    pub return_to: Option<String>,
}

/// What a submitted code or link turned out to be.
#[derive(Debug, PartialEq, Eq)]
pub enum Verdict {
    Accepted(Accepted),
    Wrong {
        attempts_left: i32,
    },
    Refused(Refusal),
    /// No such challenge, or one of another purpose.
    Unknown,
}

/// A verdict on a typed code, whether this guess spent the account's last
/// wrong code of the day (then its owner is told), and whether the verdict
/// is already in the audit log.
#[derive(Debug)]
pub struct CodeCheck {
    pub verdict: Verdict,
    pub budget_just_spent: bool,
    pub recorded: bool,
}

impl From<Verdict> for CodeCheck {
    fn from(verdict: Verdict) -> Self {
        Self { verdict, budget_just_spent: false, recorded: false }
    }
}

/// The outcome of asking for a new code.
pub enum Resend {
    /// The new challenge's id.
    Sent(i64),
    /// Too soon: try again after this many seconds.
    Cooldown(i64),
    /// The challenge was used, replaced, or its flow is over; start over.
    Gone,
}

/// What a link token points at.
pub enum Behind {
    Live(Challenge),
    Refused(Refusal),
    Unknown,
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
    sealer: Arc<Sealer>,
}

/// Who starts a flow, and for what.
pub struct FlowStart<'a> {
    pub user_id: i64,
    pub epoch: i64,
    pub purpose: Purpose,
    pub return_to: Option<&'a str>,
    /// The browser, IP and time of the password step, as an approval names them.
    pub requested: &'a Requested,
}

impl ChallengePolicy {
    pub fn new(
        db: Db,
        clock: Clock,
        rules: CodeRules,
        key: [u8; 32],
        throttle: Throttle,
        sealer: Arc<Sealer>,
    ) -> Self {
        Self { db, clock, rules, key, throttle, sealer }
    }

    pub fn rules(&self) -> &CodeRules {
        &self.rules
    }

    /// Starts a flow with its first challenge and queues its mail in the
    /// same transaction.
    pub async fn start(&self, start: FlowStart<'_>, compose: impl ComposeMail) -> anyhow::Result<Pending> {
        let now = self.clock.now();
        let match_number = rand::rand_core::UnwrapErr(rand::rngs::SysRng).random_range(10..=99);
        let flow = NewFlow {
            user_id: start.user_id,
            purpose: start.purpose,
            epoch: start.epoch,
            return_to: start.return_to,
            started_at: now,
            expires_at: now + FLOW_LIFETIME_SECS,
            browser: &start.requested.browser,
            client_ip: start.requested.ip.as_deref(),
            match_number,
        };
        let (new, letter) = self.draft(compose)?;
        let (flow_id, challenge_id) =
            challenges::start(&self.db, &flow, new, |id| self.seal(&letter, id)).await?;
        let (user_id, purpose, epoch) = (start.user_id, start.purpose, start.epoch);
        Ok(Pending { user_id, flow_id, challenge_id, purpose, epoch })
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
        let now = self.clock.now();
        let over = old.flow_refused || old.flow_done || old.flow_expires_at <= now;
        if old.purpose != purpose || old.used_at.is_some() || old.replaced_at.is_some() || over {
            return Ok(Resend::Gone);
        }
        let ready_at = old.created_at + self.rules.resend_cooldown_secs;
        if now < ready_at {
            return Ok(Resend::Cooldown(ready_at - now));
        }
        let (new, letter) = self.draft(compose)?;
        let cooled = now - self.rules.resend_cooldown_secs;
        match challenges::replace(&self.db, id, cooled, new, |new_id| self.seal(&letter, new_id)).await? {
            Some(challenge_id) => Ok(Resend::Sent(challenge_id)),
            // Another request replaced or used it between our read and write.
            None => Ok(Resend::Gone),
        }
    }

    fn draft(&self, compose: impl ComposeMail) -> anyhow::Result<(NewChallenge, Letter)> {
        let code = OneTimeCode::generate(self.rules.length);
        let link_token = random_token();
        let letter = compose(&code, &link_token)?;
        let now = self.clock.now();
        let new = NewChallenge {
            code_hash: code.digest(&self.key),
            link_hash: link_digest(&self.key, &link_token),
            now,
            expires_at: now + self.rules.ttl_secs,
        };
        Ok((new, letter))
    }

    fn seal(&self, letter: &Letter, challenge_id: i64) -> anyhow::Result<crate::db::outbox::NewMail> {
        self.sealer.seal(MailKind::Code, letter, Some(challenge_id))
    }

    /// Checks a typed code against challenge `id` of `purpose`. Before a
    /// wrong guess is told, it takes a slot of the account's 24 h budget and
    /// one of the code's attempts, both atomically, so that no concurrency
    /// can get more guesses evaluated; one from a replaced challenge of the
    /// same flow (told apart so the person uses the newest mail) gives them
    /// back. A right code takes neither, but is refused like any guess once
    /// the budget is spent or the attempts are used up; the code it uses is
    /// recorded as `accepted` says, in the same statement.
    pub async fn check_code(
        &self,
        id: i64,
        purpose: Purpose,
        code: &OneTimeCode,
        accepted: &NewAuditRow<'_>,
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
        let max = self.rules.max_attempts;
        if code.matches(&self.key, &challenge.code_hash) {
            if challenges::consume(db, id, now, max, &budget, accepted).await? {
                return Ok(CodeCheck {
                    verdict: accepted_by(&challenge),
                    budget_just_spent: false,
                    recorded: true,
                });
            }
            // Not used: the day's budget of wrong codes is spent, or a racer won.
            return Ok(match limits::wait_if_full(db, now, &budget).await? {
                Some(retry_after_secs) => Verdict::Refused(Refusal::Locked { retry_after_secs }),
                None => self.verdict_after_race(id).await?,
            }
            .into());
        }
        let slot = match limits::take(db, now, std::slice::from_ref(&budget)).await? {
            Ok(slot) => slot,
            Err(retry_after_secs) => return Ok(Verdict::Refused(Refusal::Locked { retry_after_secs }).into()),
        };
        let Some(attempts) = challenges::reserve_attempt(db, id, now, max).await? else {
            limits::refund(db, slot).await?;
            return Ok(self.verdict_after_race(id).await?.into());
        };
        let replaced = challenges::replaced_code_hashes(db, challenge.flow_id).await?;
        if replaced.iter().any(|old| code.matches(&self.key, old)) {
            limits::refund(db, slot).await?;
            challenges::return_attempt(db, id).await?;
            return Ok(Verdict::Refused(Refusal::Replaced).into());
        }
        // A wrong code: it stays counted, against the code and the account.
        let spent = limits::count(db, &budget, now).await?;
        let verdict = if attempts >= max {
            Verdict::Refused(Refusal::TooManyAttempts)
        } else {
            Verdict::Wrong { attempts_left: max - attempts }
        };
        Ok(CodeCheck { verdict, budget_just_spent: spent == budget.max, recorded: false })
    }

    /// What a link token of `purpose` points at, consuming nothing (GET of the link).
    pub async fn behind_link(&self, token: &str, purpose: Purpose) -> anyhow::Result<Behind> {
        let digest = link_digest(&self.key, token);
        let challenge = challenges::find_by_link(&self.db, &digest).await?;
        let Some(challenge) = challenge.filter(|c| c.purpose == purpose) else { return Ok(Behind::Unknown) };
        Ok(match self.refusal(&challenge, self.clock.now()) {
            Some(refusal) => Behind::Refused(refusal),
            None => Behind::Live(challenge),
        })
    }

    /// Uses the link of `challenge` (as `behind_link` found it) and ends its
    /// flow as `end` says: finished here, approved or refused from elsewhere.
    pub async fn use_link(
        &self,
        token: &str,
        challenge: &Challenge,
        end: FlowEnd,
    ) -> anyhow::Result<Verdict> {
        let digest = link_digest(&self.key, token);
        let now = self.clock.now();
        match challenges::use_link(&self.db, &digest, now, self.rules.max_attempts, end).await? {
            true => Ok(accepted_by(challenge)),
            false => self.verdict_after_race(challenge.id).await,
        }
    }

    /// Why a challenge can no longer be used, if it cannot.
    fn refusal(&self, c: &Challenge, now: i64) -> Option<Refusal> {
        if c.flow_refused {
            Some(Refusal::RefusedFromMail)
        } else if c.used_at.is_some() || c.flow_done {
            Some(Refusal::Used)
        } else if c.replaced_at.is_some() {
            Some(Refusal::Replaced)
        } else if c.attempts >= self.rules.max_attempts {
            Some(Refusal::TooManyAttempts)
        } else if c.expires_at <= now || c.flow_expires_at <= now {
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

fn accepted_by(challenge: &Challenge) -> Verdict {
    Verdict::Accepted(Accepted {
        user_id: challenge.user_id,
        flow_id: challenge.flow_id,
        epoch: challenge.epoch,
        return_to: challenge.return_to.clone(),
    })
}
