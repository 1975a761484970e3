//! The error pages: what each `Problem` says and what it offers next.

use askama::Template;

use super::{PageContext, page_template};
use crate::web::problem::Problem;
use crate::web::urls::Urls;

/// A next step offered on an error page.
pub enum Action {
    /// A button posting to a URL with the CSRF token (e.g. "send a new code").
    Post {
        url: String,
        label: &'static str,
    },
    Link {
        url: String,
        label: &'static str,
    },
}

#[derive(Template)]
#[template(path = "error.html")]
pub struct ErrorPage {
    pub page: PageContext,
    pub title: &'static str,
    pub message: String,
    pub actions: Vec<Action>,
    pub reference: Option<String>,
}
page_template!(ErrorPage);

impl ErrorPage {
    /// The page for `problem`; `pending` says whether a sign-in is in progress
    /// (then a new code can be offered).
    pub fn for_problem(page: PageContext, problem: Problem, pending: bool) -> Self {
        let (title, message) = wording(problem);
        let actions = next_steps(&page.urls, problem, pending);
        Self { page, title, message, actions, reference: None }
    }

    pub fn internal(page: PageContext, reference: String) -> Self {
        let back = Action::Link { url: page.urls.login.clone(), label: "Back to sign-in" };
        Self {
            page,
            title: "Something went wrong on our side",
            message: "Your request could not be completed. Please try again in a moment.".into(),
            actions: vec![back],
            reference: Some(reference),
        }
    }
}

/// What the page says about `problem`: its title and its message.
fn wording(problem: Problem) -> (&'static str, String) {
    match problem {
        Problem::BadCsrf => (
            "This form has expired",
            "The form was too old, or it came from another site. Go back, reload the page and try again.".into(),
        ),
        Problem::BadRequest => ("Something was wrong with that request", "The form could not be read. Please try again.".into()),
        Problem::TooLarge => ("That request was too large", "The form sent more data than a sign-in needs. Please try again.".into()),
        Problem::HeadersTooLarge => (
            "Your browser sent too much",
            "The request carried more data than a sign-in needs, most often too many cookies. \
             Clear the cookies of this site in your browser's settings, then try again."
                .into(),
        ),
        Problem::NotFound | Problem::LinkUnknown => (
            "Page not found",
            "There is nothing at this address. If you followed a sign-in link, it may be mistyped: sign in again to get a new one.".into(),
        ),
        Problem::SignInExpired => ("Your sign-in has expired", "Please sign in again.".into()),
        Problem::CodeExpired => (
            "This code has expired",
            "Codes and sign-in links only work for a short time. Ask for a new code and use it right away.".into(),
        ),
        Problem::CodeUsed => (
            "This code has already been used",
            "Each code and sign-in link works only once, and this one has already been used. If that was not you, change your password.".into(),
        ),
        Problem::CodeReplaced => (
            "This code was replaced by a newer code",
            "You asked for a new code, so this one no longer works. Use the code or link from the most recent email.".into(),
        ),
        Problem::SignInRefused => (
            "This sign-in was refused from the email",
            "Someone refused this sign-in with the link in the email, or typed a wrong number on its approval page. \
             If that was not you, whoever did it can read your email: change your password, and your email password too."
                .into(),
        ),
        Problem::TooManyWrongCodes => (
            "Too many wrong codes",
            "For your safety this code no longer works. Ask for a new code and type it carefully.".into(),
        ),
        Problem::CodeEntryLocked { retry_after_secs } => (
            "Code entry is closed for now",
            format!(
                "Too many wrong codes were entered for this account today, so no code is accepted for {}. \
                 If this was not you, someone knows your password: change it as soon as you can.",
                in_words(retry_after_secs)
            ),
        ),
        Problem::TooManyAttempts { retry_after_secs } => {
            ("Too many sign-in attempts", format!("Please wait and try again in {}.", in_words(retry_after_secs)))
        }
        Problem::TooManyCodesSent { retry_after_secs } => (
            "Too many codes were sent",
            format!(
                "To protect your mailbox, no new code can be sent for {}. Use the newest code you received, or try again later.",
                in_words(retry_after_secs)
            ),
        ),
        Problem::NoAccess => (
            "You do not have access to this site",
            "You are signed in, but this account may not use this site. Ask its administrator for access, \
             or sign in with another account."
                .into(),
        ),
        Problem::Busy => (
            "We are busy right now",
            "Too many people are signing in at this moment. Please try again in a few seconds.".into(),
        ),
        Problem::ResendTooSoon { retry_after_secs } => (
            "Please wait before asking again",
            format!("A new code can be sent in {}. Check your inbox and spam folder meanwhile.", in_words(retry_after_secs)),
        ),
    }
}

/// What the page offers next.
fn next_steps(urls: &Urls, problem: Problem, pending: bool) -> Vec<Action> {
    let again = || Action::Link { url: urls.login.clone(), label: "Sign in again" };
    let new_code = || {
        if pending { Action::Post { url: urls.resend.clone(), label: "Send a new code" } } else { again() }
    };
    let back_to_code = |label| Action::Link { url: urls.code.clone(), label };
    let step = match problem {
        Problem::NotFound | Problem::LinkUnknown => {
            Action::Link { url: urls.account.clone(), label: "Go to the start page" }
        }
        Problem::CodeExpired | Problem::TooManyWrongCodes => new_code(),
        Problem::CodeReplaced if pending => back_to_code("Enter the newest code"),
        Problem::ResendTooSoon { .. } => back_to_code("Back to the code"),
        Problem::NoAccess => Action::Post { url: urls.logout.clone(), label: "Use another account" },
        _ => again(),
    };
    vec![step]
}

/// "4 minutes", "30 seconds", "1 hour".
pub fn in_words(secs: i64) -> String {
    let secs = secs.max(1);
    let plural = |n: i64, unit: &str| {
        if n == 1 { format!("1 {unit}") } else { format!("{n} {unit}s") }
    };
    if secs < 60 {
        plural(secs, "second")
    } else if secs < 3600 {
        plural((secs + 59) / 60, "minute")
    } else {
        plural((secs + 3599) / 3600, "hour")
    }
}

#[cfg(test)]
mod tests {
    use super::in_words;

    #[test]
    fn durations_read_as_words() {
        assert_eq!(in_words(1), "1 second");
        assert_eq!(in_words(30), "30 seconds");
        assert_eq!(in_words(61), "2 minutes");
        assert_eq!(in_words(240), "4 minutes");
        assert_eq!(in_words(3600), "1 hour");
    }
}
