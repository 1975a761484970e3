//! Step 2: the emailed code, and "send a new code".

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, web};
use askama::Template;
use serde::Deserialize;

use super::{CsrfOnly, see_other};
use crate::audit::{Event, Requester};
use crate::auth::challenge::{Purpose, Resend, Verdict};
use crate::auth::code::OneTimeCode;
use crate::auth::csrf::CsrfForm;
use crate::auth::email::EmailAddress;
use crate::auth::session::{Pending, SignInSession};
use crate::auth::signed_in::{finish_sign_in, landing};
use crate::auth::throttle;
use crate::db::{challenges, limits, now, users};
use crate::error::{PageResult, Problem};
use crate::mail::delivery;
use crate::pages::{PageContext, page_template, render};
use crate::startup::AppState;

pub enum MailStatus {
    Sending,
    /// The mail server did not take it yet; the outbox keeps trying.
    Retrying,
    Sent,
    Failed,
}

#[derive(Template)]
#[template(path = "code.html")]
struct CodePage {
    page: PageContext,
    masked_email: String,
    code_length: u32,
    ttl_minutes: u64,
    sent_at: Option<String>,
    mail_status: MailStatus,
    resend_in_secs: i64,
    error: Option<String>,
}
page_template!(CodePage);

#[derive(Deserialize)]
pub struct CodeForm {
    code: String,
}

pub async fn form(req: HttpRequest, state: web::Data<AppState>) -> PageResult {
    let session = SignInSession::from_request(&req);
    if session.user_id().is_some() {
        return Ok(see_other(&state.urls.account));
    }
    let pending = session.pending().ok_or(Problem::SignInExpired)?;
    code_page(&req, &state, pending, StatusCode::OK, None).await
}

pub async fn submit(req: HttpRequest, state: web::Data<AppState>, form: CsrfForm<CodeForm>) -> PageResult {
    let session = SignInSession::from_request(&req);
    if session.user_id().is_some() {
        return Ok(see_other(&landing(&state, None)));
    }
    let pending = session.pending().ok_or(Problem::SignInExpired)?;
    let Some(code) = OneTimeCode::parse(&form.0.code, state.settings.otp_length) else {
        // Not the shape of a code: nothing is compared, so nothing is counted.
        let message = format!("Enter the {}-digit code from the email.", state.settings.otp_length);
        return code_page(&req, &state, pending, StatusCode::UNAUTHORIZED, Some(message)).await;
    };
    let check = state.challenges.check_code(&state.db, pending.challenge_id, Purpose::Login, &code).await?;
    let requester = Requester::of(&req, &state);
    requester.record(&state, Some(pending.user_id), None, Event::Code, check.verdict.as_str()).await;
    if check.budget_just_spent {
        requester.record(&state, Some(pending.user_id), None, Event::Lockout, "code_budget").await;
        warn_of_spent_budget(&state, pending.user_id).await;
    }
    match check.verdict {
        Verdict::Accepted { user_id, return_to } => {
            finish_sign_in(&req, &state, &session, user_id, return_to.as_deref()).await
        }
        Verdict::Wrong { attempts_left } => {
            let plural = if attempts_left == 1 { "attempt" } else { "attempts" };
            let message = format!("That code is not right. {attempts_left} {plural} left.");
            code_page(&req, &state, pending, StatusCode::UNAUTHORIZED, Some(message)).await
        }
        Verdict::Replaced => {
            let message = "That code was replaced by a newer code. Use the code from the most recent email.";
            code_page(&req, &state, pending, StatusCode::GONE, Some(message.into())).await
        }
        Verdict::Expired => Err(Problem::CodeExpired.into()),
        Verdict::Used => Err(Problem::CodeUsed.into()),
        Verdict::TooManyAttempts => Err(Problem::TooManyWrongCodes.into()),
        Verdict::Locked { retry_after_secs } => Err(Problem::CodeEntryLocked { retry_after_secs }.into()),
        Verdict::Unknown => Err(Problem::SignInExpired.into()),
    }
}

/// The account's last wrong code of the day was just spent: whoever typed
/// them knows the password, so its owner should hear about it (the mail is
/// queued with the lockout's audit record).
async fn warn_of_spent_budget(state: &AppState, user_id: i64) {
    tracing::warn!(user_id, "daily budget of wrong codes spent; code entry closed");
    let queued = async {
        let Some(user) = users::find_by_id(&state.db, user_id).await? else { return Ok(()) };
        state.outbox.enqueue(&delivery::budget_spent_warning(state, EmailAddress::parse(&user.email)?)?).await
    };
    if let Err(e) = queued.await {
        tracing::error!(
            user_id,
            error = format!("{e:#}"),
            "queueing the warning mail failed; it is not sent"
        );
    }
}

pub async fn resend(req: HttpRequest, state: web::Data<AppState>, _form: CsrfForm<CsrfOnly>) -> PageResult {
    let session = SignInSession::from_request(&req);
    let pending = session.pending().ok_or(Problem::SignInExpired)?;
    let user = users::find_by_id(&state.db, pending.user_id).await?.ok_or(Problem::SignInExpired)?;
    let requester = Requester::of(&req, &state);
    let slots = throttle::admit_code_send(&state, &requester, &user).await?;
    let to = EmailAddress::parse(&user.email).map_err(anyhow::Error::from)?;
    let requested = requester.requested();
    match state
        .challenges
        .resend(&state.db, pending.challenge_id, delivery::code_mail(&state, &to, &requested))
        .await?
    {
        Resend::Sent(challenge_id) => {
            state.outbox.wake();
            session.begin_pending(Pending { challenge_id, ..pending })?;
            requester.record(&state, Some(user.id), Some(&user.email), Event::CodeSent, "replaced").await;
            Ok(see_other(&state.urls.code))
        }
        Resend::Cooldown(secs) => {
            limits::refund(&state.db, slots).await?;
            Err(Problem::ResendTooSoon { retry_after_secs: secs }.into())
        }
        Resend::Gone => {
            limits::refund(&state.db, slots).await?;
            Err(Problem::SignInExpired.into())
        }
    }
}

async fn code_page(
    req: &HttpRequest,
    state: &AppState,
    pending: Pending,
    status: StatusCode,
    error: Option<String>,
) -> PageResult {
    let challenge = challenges::find(&state.db, pending.challenge_id).await?.ok_or(Problem::SignInExpired)?;
    let user = users::find_by_id(&state.db, pending.user_id).await?.ok_or(Problem::SignInExpired)?;
    let masked_email = EmailAddress::parse(&user.email).map(|e| e.masked()).unwrap_or_default();
    let mail_status = match challenge.mail_status.as_str() {
        "sent" => MailStatus::Sent,
        "retrying" => MailStatus::Retrying,
        "failed" => MailStatus::Failed,
        _ => MailStatus::Sending,
    };
    let sent_at =
        challenge.mail_sent_at.and_then(|t| time::OffsetDateTime::from_unix_timestamp(t).ok()).map(|t| {
            let format = time::macros::format_description!("[hour]:[minute]");
            t.format(&format).unwrap_or_default()
        });
    let page = CodePage {
        page: PageContext::new(req, state),
        masked_email,
        code_length: state.settings.otp_length,
        ttl_minutes: state.settings.otp_ttl_secs.div_ceil(60),
        sent_at,
        mail_status,
        resend_in_secs: (challenge.created_at + state.challenges.resend_cooldown_secs - now()).max(0),
        error,
    };
    render(status, &page)
}
