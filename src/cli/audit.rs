//! `gatehouse audit [--user EMAIL] [--since DURATION]`.

use anyhow::Context;

use super::open_db;
use crate::config::Config;
use crate::db::audit;
use crate::domain::clock::Clock;
use crate::domain::email::EmailAddress;

pub async fn run(config: &Config, user: Option<&str>, since: &str) -> anyhow::Result<()> {
    let since = humantime::parse_duration(since)
        .with_context(|| format!("--since {since:?} is not a duration such as 24h"))?;
    let email = user.map(EmailAddress::parse).transpose()?;
    let db = open_db(config).await?;
    let from = Clock::system().now() - i64::try_from(since.as_secs()).unwrap_or(i64::MAX / 2);
    let format = time::macros::format_description!("[year]-[month]-[day] [hour]:[minute]:[second]Z");
    for row in audit::list(&db, email.as_ref().map(EmailAddress::as_str), from).await? {
        let at = time::OffsetDateTime::from_unix_timestamp(row.at)
            .ok()
            .and_then(|t| t.format(&format).ok())
            .unwrap_or_else(|| row.at.to_string());
        let who = match (row.email, row.user_id) {
            (Some(email), _) => email,
            (None, Some(id)) => format!("user#{id}"),
            (None, None) => "-".into(),
        };
        // Sign-ins are most events; another flow's are marked `reset:code`, say.
        let event = match row.purpose.as_deref() {
            None | Some("login") => row.event,
            Some(purpose) => format!("{purpose}:{}", row.event),
        };
        println!(
            "{at}\t{who}\t{event}\t{}\t{}\t{}",
            row.result,
            row.client_ip.as_deref().unwrap_or("-"),
            row.user_agent.as_deref().unwrap_or("-")
        );
    }
    Ok(())
}
