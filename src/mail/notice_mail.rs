//! Security notices to an account's owner.

use askama::Template;

use super::Letter;
use crate::auth::email::EmailAddress;
use crate::startup::AppState;

#[derive(Template)]
#[template(path = "mail/budget_spent.txt")]
struct BudgetSpentText<'a> {
    site_name: &'a str,
    budget: u32,
    support_url: Option<&'a str>,
}

/// "Someone has your password": the day's budget of wrong codes was spent.
pub fn budget_spent(state: &AppState, to: EmailAddress) -> anyhow::Result<Letter> {
    let text = BudgetSpentText {
        site_name: &state.settings.site_name,
        budget: state.settings.code_failure_budget,
        support_url: state.settings.support_url.as_deref(),
    }
    .render()?;
    Ok(Letter {
        to,
        subject: format!("Someone is trying to sign in to your {} account", state.settings.site_name),
        html: super::plain_text_as_html(&text),
        text,
    })
}

/// PLACEHOLDER until the mail-content branch lands.
pub fn new_sign_in(
    settings: &crate::config::Settings,
    to: EmailAddress,
    requested: &super::requested::Requested,
) -> anyhow::Result<Letter> {
    let text = format!("New sign-in to your {} account from {}", settings.site_name, requested.browser);
    Ok(Letter {
        to,
        subject: format!("New sign-in to your {} account", settings.site_name),
        html: super::plain_text_as_html(&text),
        text,
    })
}
