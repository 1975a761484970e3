//! A flow between the password step and the code step, as the session
//! holds it: on the server, never in a form field (SECURITY.md item 15).

use serde::{Deserialize, Serialize};

use super::purpose::Purpose;

#[derive(Clone, Copy, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct Pending {
    pub user_id: i64,
    /// The newest challenge of the flow: a resend replaces it.
    pub challenge_id: i64,
    /// What the flow is for; sessions written before purposes existed were sign-ins.
    #[serde(default = "sign_in")]
    pub purpose: Purpose,
}

fn sign_in() -> Purpose {
    Purpose::Login
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pending_sign_in_written_without_a_purpose_reads_as_a_sign_in() {
        let pending: Pending = serde_json::from_str(r#"{"user_id":1,"challenge_id":2}"#).unwrap();
        assert_eq!(pending.purpose, Purpose::Login);
        let written = serde_json::to_string(&Pending { purpose: Purpose::Reset, ..pending }).unwrap();
        assert!(written.contains(r#""purpose":"reset""#), "{written}");
    }
}
