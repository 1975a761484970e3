//! The mails Gatehouse sends, written and sealed for the outbox. Links come
//! from `public_url` only, never from the request's Host.

use std::sync::Arc;

use super::Letter;
use super::code_mail::CodeMail;
use super::notice_mail;
use super::outbox::Sealer;
use crate::db::outbox::NewMail;
use crate::domain::brand::Brand;
use crate::domain::code::OneTimeCode;
use crate::domain::email::EmailAddress;
use crate::domain::mail::MailKind;
use crate::domain::purpose::Purpose;
use crate::domain::requester::Requested;

/// Writes each kind of mail, sealed, ready to be queued.
#[derive(Clone)]
pub struct Letters {
    brand: Brand,
    /// The emailed link up to its `?token=`: `public_url`, the mount, `/login/link`.
    link_base: String,
    code_ttl_secs: i64,
    code_in_subject: bool,
    failure_budget: i64,
    sealer: Arc<Sealer>,
}

/// What a letter needs besides its recipient.
pub struct LetterRules {
    pub link_base: String,
    pub code_ttl_secs: i64,
    pub code_in_subject: bool,
    pub failure_budget: i64,
}

impl Letters {
    pub fn new(brand: Brand, rules: LetterRules, sealer: Arc<Sealer>) -> Self {
        Self {
            brand,
            link_base: rules.link_base,
            code_ttl_secs: rules.code_ttl_secs,
            code_in_subject: rules.code_in_subject,
            failure_budget: rules.failure_budget,
            sealer,
        }
    }

    /// The code mail of a challenge being issued, written once its code and
    /// link token exist; it is sealed for its challenge's row and queued in
    /// the same transaction as the challenge.
    pub fn code_mail<'a>(
        &'a self,
        to: &'a EmailAddress,
        purpose: Purpose,
        requested: &'a Requested,
    ) -> impl FnOnce(&OneTimeCode, &str) -> anyhow::Result<Letter> + 'a {
        move |code, link_token| {
            let link = format!("{}?token={link_token}", self.link_base);
            CodeMail {
                to: to.clone(),
                purpose,
                brand: &self.brand,
                code,
                link: &link,
                ttl_secs: self.code_ttl_secs.unsigned_abs(),
                code_in_subject: self.code_in_subject,
                requested,
            }
            .letter()
        }
    }

    /// The notice of a sign-in from a browser the account had not used before.
    pub fn new_sign_in_notice(&self, to: EmailAddress, requested: &Requested) -> anyhow::Result<NewMail> {
        let letter = notice_mail::new_sign_in(&self.brand, to, requested)?;
        self.sealer.seal(MailKind::NewSignIn, &letter, None)
    }

    /// Tells the owner that a sign-in started as `requested` was refused
    /// from the mail, so someone knows the password.
    pub fn sign_in_refused_notice(&self, to: EmailAddress, requested: &Requested) -> anyhow::Result<NewMail> {
        let letter = notice_mail::sign_in_refused(&self.brand, to, requested)?;
        self.sealer.seal(MailKind::SignInRefused, &letter, None)
    }

    /// Warns the owner that the day's budget of wrong codes was spent.
    pub fn budget_spent_warning(&self, to: EmailAddress) -> anyhow::Result<NewMail> {
        let budget = u32::try_from(self.failure_budget).unwrap_or(u32::MAX);
        let letter = notice_mail::budget_spent(&self.brand, budget, to)?;
        self.sealer.seal(MailKind::BudgetSpent, &letter, None)
    }
}
