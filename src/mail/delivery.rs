//! The mails Gatehouse sends, composed and sealed for the outbox. Links come
//! from `public_url` only, never from the request's Host.

use super::code_mail::CodeMail;
use super::notice_mail;
use super::outbox::MailKind;
use super::requested::Requested;
use crate::auth::challenge::ComposeMail;
use crate::auth::email::EmailAddress;
use crate::db::outbox::NewMail;
use crate::startup::AppState;
use crate::urls::on_origin;

/// Composes the code mail for a challenge being issued, to be queued in the
/// same transaction as the challenge.
pub fn code_mail<'a>(
    state: &'a AppState,
    to: &'a EmailAddress,
    requested: &'a Requested,
) -> impl ComposeMail + 'a {
    move |code, link_token| {
        let link = on_origin(&state.public_origin, &format!("{}?token={link_token}", state.urls.link));
        let letter = CodeMail {
            to: to.clone(),
            brand: &state.brand,
            code,
            link: &link,
            ttl_secs: state.settings.otp_ttl_secs,
            code_in_subject: state.settings.otp_code_in_subject,
            requested,
        }
        .letter()?;
        state.outbox.seal(MailKind::Code, &letter)
    }
}

/// The notice of a sign-in from a browser the account had not used before.
pub fn new_sign_in_notice(
    state: &AppState,
    to: EmailAddress,
    requested: &Requested,
) -> anyhow::Result<NewMail> {
    let letter = notice_mail::new_sign_in(&state.brand, to, requested)?;
    state.outbox.seal(MailKind::NewSignIn, &letter)
}

/// Warns the owner that the day's budget of wrong codes was spent.
pub fn budget_spent_warning(state: &AppState, to: EmailAddress) -> anyhow::Result<NewMail> {
    let letter = notice_mail::budget_spent(&state.brand, state.settings.code_failure_budget, to)?;
    state.outbox.seal(MailKind::BudgetSpent, &letter)
}
