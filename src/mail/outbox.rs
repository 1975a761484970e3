//! The durable outbox. A request never talks to SMTP: it seals its letter
//! (codes and links must not sit readable in the database) and queues it
//! with what caused it: in the same transaction, or (a notice on SQLite) in
//! the same batch, just before it. Senders on every instance claim
//! due rows, deliver them, retry with exponential backoff and finally give up.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use rand::TryRng as _;
use serde::{Deserialize, Serialize};
use tokio::sync::{Notify, Semaphore};

use super::{Letter, Mailer};
use crate::config::MailConfig;
use crate::db::Db;
use crate::db::outbox::{self, Claimed, NewMail, Setback};
use crate::domain::clock::Clock;
use crate::domain::email::EmailAddress;
use crate::domain::mail::MailKind;

/// How often a mail is tried, and how long a sender may hold one.
#[derive(Clone, Debug)]
pub struct RetryPolicy {
    pub max_attempts: i32,
    pub first_delay_secs: i64,
    pub lease_secs: i64,
}

impl RetryPolicy {
    const MAX_DELAY_SECS: i64 = 600;

    /// After the `attempts`-th failed attempt: the first delay, doubling, at most ten minutes.
    pub fn delay_after(&self, attempts: i32) -> i64 {
        let doublings = u32::try_from(attempts.saturating_sub(1)).unwrap_or(0).min(20);
        self.first_delay_secs.saturating_mul(1 << doublings).min(Self::MAX_DELAY_SECS)
    }
}

/// Queues mail and runs the senders of this instance.
#[derive(Clone)]
pub struct Outbox {
    db: Db,
    mailer: Mailer,
    sealer: Arc<Sealer>,
    wake: Arc<Notify>,
    retry: RetryPolicy,
    code_ttl_secs: i64,
    clock: Clock,
}

/// At most this many mails are handed to SMTP at once by one instance
/// (the SMTP connection pool has as many connections).
pub const CONCURRENT_SENDS: usize = 4;
/// How often an idle sender looks for mail queued by other instances or due for a retry.
const POLL_EVERY: Duration = Duration::from_secs(1);

/// The letter as it is sealed.
#[derive(Serialize, Deserialize)]
struct Sealed {
    to: String,
    subject: String,
    text: String,
    html: String,
}

impl Outbox {
    /// The outbox of `db`, sending through `mailer`; `sealer` opens what
    /// `Letters` sealed, and `code_ttl_secs` is how long a code works once sent.
    pub fn new(
        db: Db,
        mailer: Mailer,
        sealer: Arc<Sealer>,
        config: &MailConfig,
        code_ttl_secs: i64,
        clock: Clock,
    ) -> Self {
        let retry = RetryPolicy {
            max_attempts: config.max_attempts,
            first_delay_secs: config.first_retry_delay_secs,
            // Longer than any one send may take, so a live sender never loses its row.
            lease_secs: 2 * config.timeout.as_secs() as i64 + 30,
        };
        Self { db, mailer, sealer, wake: Arc::new(Notify::new()), retry, code_ttl_secs, clock }
    }

    /// Queues a mail on its own (one that no other write goes with).
    pub async fn enqueue(&self, mail: &NewMail) -> anyhow::Result<()> {
        outbox::enqueue(&self.db, mail, self.clock.now()).await?;
        self.wake();
        Ok(())
    }

    /// A mail was queued: a sender of this instance picks it up now instead
    /// of at its next look.
    pub fn wake(&self) {
        self.wake.notify_one();
    }

    /// Claims and sends due mail until the task is dropped.
    pub async fn run_senders(self) {
        let slots = Arc::new(Semaphore::new(CONCURRENT_SENDS));
        loop {
            let Ok(slot) = slots.clone().acquire_owned().await else { return };
            let mut token = [0u8; 16];
            if rand::rngs::SysRng.try_fill_bytes(&mut token).is_err() {
                tracing::error!("the OS random generator failed; mail waits");
                tokio::time::sleep(POLL_EVERY).await;
                continue;
            }
            let now = self.clock.now();
            match outbox::claim(&self.db, now, now + self.retry.lease_secs, &token).await {
                Ok(Some(claimed)) => {
                    let outbox = self.clone();
                    tokio::spawn(async move {
                        outbox.deliver(claimed, &token).await;
                        drop(slot);
                    });
                }
                Ok(None) => {
                    drop(slot);
                    let _ = tokio::time::timeout(POLL_EVERY, self.wake.notified()).await;
                }
                Err(e) => {
                    drop(slot);
                    tracing::error!(error = %e, "claiming queued mail failed");
                    tokio::time::sleep(POLL_EVERY).await;
                }
            }
        }
    }

    /// One attempt at one claimed mail, and its outcome on record.
    async fn deliver(&self, claimed: Claimed, token: &[u8]) {
        let (id, kind, attempts) = (claimed.id, claimed.kind.as_str(), claimed.attempts);
        let recorded = match self.attempt(&claimed).await {
            Ok(Attempt::Cancelled(reason)) => {
                tracing::info!(mail_id = id, kind, reason, "queued mail dropped");
                outbox::mark_setback(&self.db, id, token, Setback::Cancel { reason }).await
            }
            Ok(Attempt::Accepted { took }) => {
                let queued_for = self.clock.now() - claimed.created_at;
                tracing::info!(
                    mail_id = id,
                    kind,
                    attempts,
                    send_ms = took.as_millis() as u64,
                    since_queued_secs = queued_for,
                    "mail accepted by the server"
                );
                outbox::mark_sent(&self.db, id, token, self.clock.now(), self.code_ttl_secs).await
            }
            Err(e) => {
                let error = format!("{e:#}");
                if attempts >= self.retry.max_attempts {
                    tracing::error!(mail_id = id, kind, attempts, error, "mail failed; giving up");
                    outbox::mark_setback(&self.db, id, token, Setback::GiveUp { error: &error }).await
                } else {
                    let delay = self.retry.delay_after(attempts);
                    tracing::warn!(
                        mail_id = id,
                        kind,
                        attempts,
                        retry_in_secs = delay,
                        error,
                        "mail failed; will retry"
                    );
                    let at = self.clock.now() + delay;
                    outbox::mark_setback(&self.db, id, token, Setback::Retry { at, error: &error }).await
                }
            }
        };
        match recorded {
            Ok(true) => {}
            Ok(false) => {
                tracing::warn!(mail_id = id, "a mail's lease ran out before its outcome was recorded")
            }
            Err(e) => tracing::error!(mail_id = id, error = %e, "recording a mail's outcome failed"),
        }
    }

    async fn attempt(&self, claimed: &Claimed) -> anyhow::Result<Attempt> {
        if claimed.kind == MailKind::Code && !claimed.code_pending {
            return Ok(Attempt::Cancelled("its code was used or replaced before it was sent"));
        }
        let body = claimed.body.as_deref().context("the queued mail has no body")?;
        let letter = self.sealer.open(claimed, body)?;
        let started = Instant::now();
        self.mailer.send(&letter).await?;
        Ok(Attempt::Accepted { took: started.elapsed() })
    }
}

/// Queued bodies hold codes and links, so a database dump must not reveal
/// them: each is encrypted and authenticated (XChaCha20-Poly1305, random
/// nonce) under a key derived from the secret key, and bound to its row:
/// its kind, its recipient and its challenge. A body moved to another row
/// (another recipient, another challenge) does not open.
pub struct Sealer {
    cipher: XChaCha20Poly1305,
}

impl Sealer {
    pub fn new(key: &[u8; 32]) -> Self {
        Self { cipher: XChaCha20Poly1305::new(key.into()) }
    }

    /// The associated data of a row's body: what the row says besides it.
    fn row_binding(kind: MailKind, recipient: &str, challenge_id: Option<i64>) -> Vec<u8> {
        let challenge = challenge_id.map_or_else(|| "-".to_owned(), |id| id.to_string());
        format!("gatehouse outbox v2\n{}\n{recipient}\n{challenge}", kind.as_str()).into_bytes()
    }

    /// Seals `letter` for a row of `kind` (for the code mail of `challenge_id`).
    pub fn seal(
        &self,
        kind: MailKind,
        letter: &Letter,
        challenge_id: Option<i64>,
    ) -> anyhow::Result<NewMail> {
        let plain = serde_json::to_vec(&Sealed {
            to: letter.to.as_str().to_owned(),
            subject: letter.subject.clone(),
            text: letter.text.clone(),
            html: letter.html.clone(),
        })?;
        let mut nonce = [0u8; 24];
        rand::rngs::SysRng
            .try_fill_bytes(&mut nonce)
            .map_err(|e| anyhow::anyhow!("OS random generator: {e}"))?;
        let sealed = self
            .cipher
            .encrypt(
                &XNonce::from(nonce),
                Payload { msg: &plain, aad: &Self::row_binding(kind, letter.to.as_str(), challenge_id) },
            )
            .map_err(|_| anyhow::anyhow!("sealing a mail failed"))?;
        let mut body = nonce.to_vec();
        body.extend_from_slice(&sealed);
        Ok(NewMail { kind, recipient: letter.to.as_str().to_owned(), body })
    }

    fn open(&self, row: &Claimed, body: &[u8]) -> anyhow::Result<Letter> {
        let aad = Self::row_binding(row.kind, &row.recipient, row.challenge_id);
        let (nonce, sealed) = body.split_at_checked(24).context("the sealed mail is truncated")?;
        let nonce = XNonce::try_from(nonce).context("the sealed mail is truncated")?;
        let plain = self
            .cipher
            .decrypt(&nonce, Payload { msg: sealed, aad: &aad })
            .map_err(|_| anyhow::anyhow!("the sealed mail cannot be opened: was the secret key changed?"))?;
        let sealed: Sealed = serde_json::from_slice(&plain).context("the sealed mail is malformed")?;
        Ok(Letter {
            to: EmailAddress::parse(&sealed.to).context("the sealed mail's recipient")?,
            subject: sealed.subject,
            text: sealed.text,
            html: sealed.html,
        })
    }
}

enum Attempt {
    Accepted { took: Duration },
    Cancelled(&'static str),
}

#[cfg(test)]
mod tests {
    use super::*;

    fn letter() -> Letter {
        Letter {
            to: EmailAddress::parse("ann@example.com").unwrap(),
            subject: "483 920 is your code".into(),
            text: "483920 and https://x/login/link?token=secret-token".into(),
            html: "<p>483920</p>".into(),
        }
    }

    /// The row a sealed mail would be queued as.
    fn row_of(mail: &NewMail, challenge_id: Option<i64>) -> Claimed {
        Claimed {
            id: 1,
            kind: mail.kind,
            recipient: mail.recipient.clone(),
            challenge_id,
            body: Some(mail.body.clone()),
            attempts: 1,
            created_at: 0,
            code_pending: challenge_id.is_some(),
        }
    }

    #[test]
    fn a_sealed_mail_opens_whole_and_shows_nothing_of_its_contents() {
        let sealer = Sealer::new(&[1; 32]);
        let mail = sealer.seal(MailKind::Code, &letter(), Some(7)).unwrap();
        let raw = String::from_utf8_lossy(&mail.body);
        assert!(!raw.contains("483920") && !raw.contains("secret-token"));
        let opened = sealer.open(&row_of(&mail, Some(7)), &mail.body).unwrap();
        assert_eq!((opened.to.as_str(), opened.text.as_str()), ("ann@example.com", letter().text.as_str()));
        assert_eq!(mail.recipient, "ann@example.com");
    }

    #[test]
    fn a_sealed_mail_does_not_open_under_another_key_kind_or_after_tampering() {
        let sealer = Sealer::new(&[1; 32]);
        let mut mail = sealer.seal(MailKind::Code, &letter(), Some(7)).unwrap();
        let row = row_of(&mail, Some(7));
        assert!(Sealer::new(&[2; 32]).open(&row, &mail.body).is_err());
        assert!(
            sealer
                .open(&Claimed { kind: MailKind::NewSignIn, ..row_of(&mail, Some(7)) }, &mail.body)
                .is_err()
        );
        assert!(sealer.open(&row, &mail.body[..20]).is_err());
        *mail.body.last_mut().unwrap() ^= 1;
        assert!(sealer.open(&row, &mail.body).is_err());
    }

    #[test]
    fn a_sealed_mail_does_not_open_in_another_row() {
        let sealer = Sealer::new(&[1; 32]);
        let mail = sealer.seal(MailKind::Code, &letter(), Some(7)).unwrap();
        let elsewhere = Claimed { recipient: "mallory@example.com".into(), ..row_of(&mail, Some(7)) };
        assert!(sealer.open(&elsewhere, &mail.body).is_err(), "another recipient");
        assert!(sealer.open(&row_of(&mail, Some(8)), &mail.body).is_err(), "another challenge");
        assert!(sealer.open(&row_of(&mail, None), &mail.body).is_err(), "no challenge");
    }

    #[test]
    fn two_seals_of_one_letter_differ() {
        let sealer = Sealer::new(&[1; 32]);
        let (a, b) = (
            sealer.seal(MailKind::Code, &letter(), None).unwrap(),
            sealer.seal(MailKind::Code, &letter(), None).unwrap(),
        );
        assert_ne!(a.body, b.body);
    }

    fn policy() -> RetryPolicy {
        RetryPolicy { max_attempts: 8, first_delay_secs: 5, lease_secs: 60 }
    }

    #[test]
    fn retries_back_off_exponentially_up_to_ten_minutes() {
        let delays: Vec<i64> = (1..=9).map(|n| policy().delay_after(n)).collect();
        assert_eq!(delays, [5, 10, 20, 40, 80, 160, 320, 600, 600]);
        assert_eq!(policy().delay_after(1000), 600);
    }
}
