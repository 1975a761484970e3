//! Sending a code mail off the request path: the page never waits for SMTP.
//! The outcome is written on the challenge, so the code page can say whether
//! the mail went out, and the code's validity starts when it did.

use super::code_mail::CodeMail;
use super::{Letter, Mailer};
use crate::auth::challenge::Issued;
use crate::auth::email::EmailAddress;
use crate::db::{Db, challenges, now};
use crate::startup::AppState;
use crate::urls;

/// Writes the code mail for `issued` and sends it off the request path.
pub fn send_code(state: &AppState, to: EmailAddress, issued: &Issued) -> anyhow::Result<()> {
    // Links come from `public_url` only, never from the request's Host.
    let origin = state.public_origin.as_str().trim_end_matches('/');
    let link = format!("{origin}{}?token={}", urls::LINK, issued.link_token);
    let letter = CodeMail {
        to,
        site_name: &state.settings.site_name,
        code: &issued.code,
        link: &link,
        ttl_secs: state.settings.otp_ttl_secs,
        support_url: state.settings.support_url.as_deref(),
        code_in_subject: state.settings.otp_code_in_subject,
        requested: &super::requested::Requested::new(None, None, time::OffsetDateTime::now_utc()),
    }
    .letter()?;
    let ttl = state.challenges.ttl_secs;
    spawn_code_delivery(state.db.clone(), state.mailer.clone(), issued.challenge_id, ttl, letter);
    Ok(())
}

fn spawn_code_delivery(db: Db, mailer: Mailer, challenge_id: i64, ttl_secs: i64, letter: Letter) {
    tokio::spawn(async move {
        let started = std::time::Instant::now();
        let outcome = mailer.send(&letter).await;
        let recorded = match &outcome {
            Ok(()) => {
                tracing::info!(
                    challenge_id,
                    elapsed_ms = started.elapsed().as_millis() as u64,
                    "code mail sent"
                );
                challenges::mark_sent(&db, challenge_id, now(), ttl_secs).await
            }
            Err(e) => {
                tracing::error!(challenge_id, error = format!("{e:#}"), "code mail failed");
                challenges::mark_failed(&db, challenge_id, &format!("{e:#}")).await
            }
        };
        if let Err(e) = recorded {
            tracing::error!(challenge_id, error = %e, "recording the mail outcome failed");
        }
    });
}

/// Sends a notice (no challenge to update) off the request path.
pub fn spawn_notice(mailer: Mailer, letter: Letter) {
    tokio::spawn(async move {
        if let Err(e) = mailer.send(&letter).await {
            tracing::error!(error = format!("{e:#}"), "notice mail failed");
        }
    });
}
