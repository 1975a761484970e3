//! The states of mail, as the outbox and the code page know them. Stored as
//! the words `as_str` gives.

use std::str::FromStr;

/// Generates `as_str` and `FromStr` for an enum stored as a word.
macro_rules! stored_as_words {
    ($name:ident { $($variant:ident => $word:literal),* $(,)? }) => {
        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),*];

            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $word),*
                }
            }
        }

        impl FromStr for $name {
            type Err = String;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                match s {
                    $($word => Ok($name::$variant),)*
                    other => Err(format!("unknown {} {other:?}", stringify!($name))),
                }
            }
        }
    };
}

/// What a queued mail is; a code mail is dropped once its code is dead.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MailKind {
    Code,
    NewSignIn,
    BudgetSpent,
    /// A sign-in was refused from the mail: someone has the password.
    SignInRefused,
}
stored_as_words!(MailKind {
    Code => "code",
    NewSignIn => "new_sign_in",
    BudgetSpent => "budget_spent",
    SignInRefused => "sign_in_refused",
});

/// Where a row of the outbox stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OutboxStatus {
    Queued,
    Sending,
    Sent,
    Failed,
    Cancelled,
}
stored_as_words!(OutboxStatus {
    Queued => "queued",
    Sending => "sending",
    Sent => "sent",
    Failed => "failed",
    Cancelled => "cancelled",
});

/// How the mail of a challenge is doing, as its code page says.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MailProgress {
    Sending,
    /// The mail server did not take it yet; the outbox keeps trying.
    Retrying,
    Sent,
    Failed,
}
stored_as_words!(MailProgress { Sending => "sending", Retrying => "retrying", Sent => "sent", Failed => "failed" });

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_state_round_trips_through_its_word() {
        for kind in MailKind::ALL {
            assert_eq!(kind.as_str().parse::<MailKind>().as_ref(), Ok(kind));
        }
        for status in OutboxStatus::ALL {
            assert_eq!(status.as_str().parse::<OutboxStatus>().as_ref(), Ok(status));
        }
        for progress in MailProgress::ALL {
            assert_eq!(progress.as_str().parse::<MailProgress>().as_ref(), Ok(progress));
        }
        assert!("Sent".parse::<OutboxStatus>().is_err());
    }
}
