//! Mail: a `Letter` (text and HTML twins), the letters Gatehouse writes,
//! the transports (SMTP, or the console in development), and the durable
//! outbox that sends them.

pub mod code_mail;
pub mod letters;
pub mod notice_mail;
pub mod outbox;
pub mod transport;

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context;
use lettre::message::header::{HeaderName, HeaderValue};
use lettre::message::{Mailbox, MultiPart};
use lettre::{AsyncSmtpTransport, AsyncTransport as _, Message, Tokio1Executor};

use crate::config::MailConfig;
use crate::domain::email::EmailAddress;

/// One mail to one person, before it is encoded.
pub struct Letter {
    pub to: EmailAddress,
    pub subject: String,
    pub text: String,
    pub html: String,
}

#[derive(Clone)]
enum Transport {
    Smtp(AsyncSmtpTransport<Tokio1Executor>),
    /// Development: print each mail to the console and save it as `.eml`.
    Console(PathBuf),
}

#[derive(Clone)]
pub struct Mailer {
    transport: Transport,
    from: Mailbox,
    timeout: Duration,
}

impl Mailer {
    pub fn new(config: &MailConfig) -> anyhow::Result<Self> {
        let transport = match &config.smtp {
            Some(smtp) => {
                Transport::Smtp(transport::smtp_transport(smtp, config.timeout, config.ca_file.as_deref())?)
            }
            None => Transport::Console(config.dir.clone()),
        };
        Ok(Self { transport, from: config.from.clone(), timeout: config.timeout })
    }

    /// Hands the letter to the transport; an SMTP server that is slow or
    /// down fails within the configured timeout instead of hanging.
    pub async fn send(&self, letter: &Letter) -> anyhow::Result<()> {
        let message = self.encode(letter)?;
        match &self.transport {
            Transport::Smtp(smtp) => {
                // lettre's errors name their causes already: one line, no chain.
                match tokio::time::timeout(self.timeout, smtp.send(message)).await {
                    Ok(Ok(_)) => Ok(()),
                    Ok(Err(e)) => Err(anyhow::anyhow!("SMTP: {e}")),
                    Err(_) => Err(anyhow::anyhow!("SMTP: no answer within {:?}", self.timeout)),
                }
            }
            Transport::Console(dir) => print_and_save(dir, letter, &message).await,
        }
    }

    fn encode(&self, letter: &Letter) -> anyhow::Result<Message> {
        let to: Mailbox = letter.to.as_str().parse().context("encoding the recipient")?;
        Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(&letter.subject)
            .date_now()
            .message_id(None)
            .raw_header(HeaderValue::new(
                HeaderName::new_from_ascii_str("Auto-Submitted"),
                "auto-generated".into(),
            ))
            .multipart(MultiPart::alternative_plain_html(letter.text.clone(), letter.html.clone()))
            .context("encoding a mail")
    }
}

async fn print_and_save(dir: &Path, letter: &Letter, message: &Message) -> anyhow::Result<()> {
    tokio::fs::create_dir_all(dir).await.with_context(|| format!("creating {}", dir.display()))?;
    let stamp = time::OffsetDateTime::now_utc().unix_timestamp_nanos();
    let path = dir.join(format!("{stamp}.eml"));
    tokio::fs::write(&path, message.formatted())
        .await
        .with_context(|| format!("writing {}", path.display()))?;
    // This transport exists to show mail in development, so it prints it whole.
    println!(
        "\n────── mail to {} (saved as {}) ──────\nSubject: {}\n\n{}\n──────────────────────────────────────────\n",
        letter.to,
        path.display(),
        letter.subject,
        letter.text.trim_end()
    );
    Ok(())
}

/// What the tests of every mail share: a sample requester, and checks that
/// run on both parts of a letter.
#[cfg(test)]
pub(crate) mod samples {
    use time::macros::datetime;

    use super::Letter;
    use crate::domain::requester::Requested;

    /// Firefox on Windows, from a documentation address, at a fixed time.
    pub fn firefox_on_windows() -> Requested {
        Requested {
            browser: "Firefox on Windows 10".into(),
            ip: Some("203.0.113.7".into()),
            at: datetime!(2026-12-03 14:03 UTC),
        }
    }

    /// Each fact is in the text part and in the HTML part, and neither has a
    /// template tag left over.
    pub fn assert_both_parts_say(letter: &Letter, facts: &[&str]) {
        for part in [&letter.text, &letter.html] {
            for fact in facts {
                assert!(part.contains(fact), "{fact} missing from {part}");
            }
            assert!(!part.contains("{{") && !part.contains("{%"), "{part}");
        }
    }

    /// Neither part mentions any of `absent`.
    pub fn assert_neither_part_says(letter: &Letter, absent: &[&str]) {
        for part in [&letter.text, &letter.html] {
            for text in absent {
                assert!(!part.contains(text), "{text} in {part}");
            }
        }
    }
}
