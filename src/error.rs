//! Errors become pages in one place. Expected outcomes are `Problem`s, each
//! with its status; anything else is `Internal` and becomes a 500 page whose
//! reference id is also logged. Handlers return these and never build error
//! responses by hand; `http::error_pages` renders them.

use actix_web::http::StatusCode;
use actix_web::http::header::{LOCATION, RETRY_AFTER};
use actix_web::{HttpResponse, ResponseError};

use crate::urls;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Problem {
    /// Missing or wrong CSRF token, or a foreign `Origin`.
    BadCsrf,
    /// A malformed form or request.
    BadRequest,
    /// A body over the limit.
    TooLarge,
    NotFound,
    /// A page for signed-in users, and nobody is signed in.
    SignInRequired,
    /// No sign-in in progress (the session is gone or never was).
    SignInExpired,
    CodeExpired,
    CodeUsed,
    CodeReplaced,
    /// Too many wrong codes: the code is dead.
    TooManyAttempts,
    /// "Send a new code" before the cooldown is over.
    ResendTooSoon {
        retry_after_secs: i64,
    },
    /// A link that never existed.
    LinkUnknown,
}

impl Problem {
    pub fn status(self) -> StatusCode {
        match self {
            Problem::BadCsrf => StatusCode::FORBIDDEN,
            Problem::BadRequest => StatusCode::BAD_REQUEST,
            Problem::TooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Problem::NotFound | Problem::LinkUnknown => StatusCode::NOT_FOUND,
            Problem::SignInRequired | Problem::SignInExpired => StatusCode::SEE_OTHER,
            Problem::CodeExpired | Problem::CodeUsed | Problem::CodeReplaced => StatusCode::GONE,
            Problem::TooManyAttempts | Problem::ResendTooSoon { .. } => StatusCode::TOO_MANY_REQUESTS,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("{0:?}")]
    Problem(Problem),
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
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
        match self {
            AppError::Problem(Problem::SignInRequired) => {
                response.insert_header((LOCATION, urls::LOGIN));
            }
            AppError::Problem(Problem::SignInExpired) => {
                response.insert_header((LOCATION, urls::LOGIN));
                response.cookie(crate::routes::login::expired_notice_cookie());
            }
            AppError::Problem(Problem::ResendTooSoon { retry_after_secs }) => {
                response.insert_header((RETRY_AFTER, retry_after_secs.max(&1).to_string()));
            }
            _ => {}
        }
        response.finish()
    }
}

pub type PageResult = Result<HttpResponse, AppError>;
