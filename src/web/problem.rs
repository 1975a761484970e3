//! Errors become pages in one place. Expected outcomes that end a page are
//! `Problem`s, each with its status; anything else is `Internal` and becomes
//! a 500 page whose reference id is also logged. Handlers return these and
//! never build error responses by hand; `error_pages` renders them.

use actix_web::http::StatusCode;
use actix_web::http::header::RETRY_AFTER;
use actix_web::{HttpResponse, ResponseError};

use crate::core::challenge::Refusal;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Problem {
    /// Missing or wrong CSRF token, or a foreign `Origin`.
    BadCsrf,
    /// A malformed form or request.
    BadRequest,
    /// A body over the limit.
    TooLarge,
    /// Request headers over the limit, most often piled-up cookies.
    HeadersTooLarge,
    NotFound,
    /// No sign-in in progress (the session is gone or never was): `303` to
    /// the sign-in page, whose path `http::error_pages` fills in.
    SignInExpired,
    CodeExpired,
    CodeUsed,
    CodeReplaced,
    /// The sign-in was refused from the mail (a wrong number, or "This wasn't me").
    SignInRefused,
    /// Too many wrong codes: the code is dead.
    TooManyWrongCodes,
    /// "Send a new code" before the cooldown is over.
    ResendTooSoon {
        retry_after_secs: i64,
    },
    /// A link that never existed.
    LinkUnknown,
    /// The account's daily budget of wrong codes is spent.
    CodeEntryLocked {
        retry_after_secs: i64,
    },
    /// Too many sign-in attempts from this address or for this account.
    TooManyAttempts {
        retry_after_secs: i64,
    },
    /// Too many codes sent to this account, from this address, or overall.
    TooManyCodesSent {
        retry_after_secs: i64,
    },
    /// Password hashing is at capacity: try again in a moment.
    Busy,
    /// Signed in, but this account may not use the protected site.
    NoAccess,
}

impl Problem {
    /// Seconds a client should wait before trying again, for `Retry-After`.
    pub fn retry_after(self) -> Option<i64> {
        match self {
            Problem::ResendTooSoon { retry_after_secs }
            | Problem::CodeEntryLocked { retry_after_secs }
            | Problem::TooManyAttempts { retry_after_secs }
            | Problem::TooManyCodesSent { retry_after_secs } => Some(retry_after_secs.max(1)),
            Problem::Busy => Some(2),
            _ => None,
        }
    }

    pub fn status(self) -> StatusCode {
        match self {
            Problem::BadCsrf | Problem::NoAccess => StatusCode::FORBIDDEN,
            Problem::BadRequest => StatusCode::BAD_REQUEST,
            Problem::TooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Problem::HeadersTooLarge => StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            Problem::NotFound | Problem::LinkUnknown => StatusCode::NOT_FOUND,
            Problem::SignInExpired => StatusCode::SEE_OTHER,
            Problem::CodeExpired | Problem::CodeUsed | Problem::CodeReplaced | Problem::SignInRefused => {
                StatusCode::GONE
            }
            Problem::TooManyWrongCodes
            | Problem::ResendTooSoon { .. }
            | Problem::CodeEntryLocked { .. }
            | Problem::TooManyAttempts { .. }
            | Problem::TooManyCodesSent { .. } => StatusCode::TOO_MANY_REQUESTS,
            Problem::Busy => StatusCode::SERVICE_UNAVAILABLE,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("{0:?}")]
    Problem(Problem),
    #[error(transparent)]
    Internal(anyhow::Error),
}

/// A code or link that can no longer be used: the same page whichever flow
/// it came from.
impl From<Refusal> for Problem {
    fn from(refusal: Refusal) -> Self {
        match refusal {
            Refusal::Expired => Problem::CodeExpired,
            Refusal::Used => Problem::CodeUsed,
            Refusal::Replaced => Problem::CodeReplaced,
            Refusal::TooManyAttempts => Problem::TooManyWrongCodes,
            Refusal::Locked { retry_after_secs } => Problem::CodeEntryLocked { retry_after_secs },
            Refusal::RefusedFromMail => Problem::SignInRefused,
        }
    }
}

impl From<Refusal> for AppError {
    fn from(refusal: Refusal) -> Self {
        AppError::Problem(refusal.into())
    }
}

impl From<anyhow::Error> for AppError {
    fn from(e: anyhow::Error) -> Self {
        AppError::Internal(e)
    }
}

impl From<Problem> for AppError {
    fn from(p: Problem) -> Self {
        AppError::Problem(p)
    }
}

impl From<sqlx::Error> for AppError {
    fn from(e: sqlx::Error) -> Self {
        AppError::Internal(e.into())
    }
}

impl ResponseError for AppError {
    fn status_code(&self) -> StatusCode {
        match self {
            AppError::Problem(p) => p.status(),
            AppError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The bare response; its page is filled in by `http::error_pages`.
    fn error_response(&self) -> HttpResponse {
        let mut response = HttpResponse::build(self.status_code());
        if let AppError::Problem(problem) = self
            && let Some(secs) = problem.retry_after()
        {
            response.insert_header((RETRY_AFTER, secs.to_string()));
        }
        response.finish()
    }
}

pub type PageResult = Result<HttpResponse, AppError>;
