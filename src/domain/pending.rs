//! A flow between the password step and the code step, as the session
//! holds it: on the server, never in a form field (SECURITY.md item 15).

use serde::{Deserialize, Serialize};

use super::purpose::Purpose;

#[derive(Clone, Copy, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct Pending {
    pub user_id: i64,
    pub flow_id: i64,
    /// The newest challenge of the flow: a resend replaces it.
    pub challenge_id: i64,
    pub purpose: Purpose,
    /// The account's `auth_epoch` at the password step.
    pub epoch: i64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pending_flow_written_before_flows_existed_is_no_pending_flow() {
        let old = serde_json::from_str::<Pending>(r#"{"user_id":1,"challenge_id":2}"#);
        assert!(old.is_err(), "its session then says the sign-in expired");
        let pending = Pending { user_id: 1, flow_id: 3, challenge_id: 2, purpose: Purpose::Reset, epoch: 0 };
        let written = serde_json::to_string(&pending).unwrap();
        assert_eq!(serde_json::from_str::<Pending>(&written).unwrap(), pending);
    }
}
