//! PLACEHOLDER until the mail-content branch lands.
pub struct Requested {
    pub browser: String,
    pub ip: Option<String>,
    pub at: time::OffsetDateTime,
}
impl Requested {
    pub fn new(user_agent: Option<&str>, ip: Option<std::net::IpAddr>, at: time::OffsetDateTime) -> Self {
        Self { browser: user_agent.unwrap_or("an unknown browser").into(), ip: ip.map(|i| i.to_string()), at }
    }
}
