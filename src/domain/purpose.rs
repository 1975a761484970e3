//! What a pending flow is for. A challenge carries its purpose from the
//! moment it is issued, and a code or link of one purpose is never accepted
//! by another flow (SECURITY.md item 4).

use std::fmt;
use std::str::FromStr;

#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Purpose {
    /// Signing in: password, then the code or link.
    Login,
    /// Resetting a forgotten password (PRODUCT.md, "Forgotten password").
    Reset,
}

impl Purpose {
    pub fn as_str(self) -> &'static str {
        match self {
            Purpose::Login => "login",
            Purpose::Reset => "reset",
        }
    }
}

impl fmt::Display for Purpose {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Purpose {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "login" => Ok(Purpose::Login),
            "reset" => Ok(Purpose::Reset),
            other => Err(format!("unknown purpose {other:?}")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn purposes_round_trip_through_their_names() {
        for purpose in [Purpose::Login, Purpose::Reset] {
            assert_eq!(purpose.as_str().parse::<Purpose>(), Ok(purpose));
        }
        assert!("Login".parse::<Purpose>().is_err());
    }
}
