//! `gatehouse outbox`: how much mail is queued, being sent, sent or failed,
//! and the latest errors.

use super::open_db;
use crate::config::Config;
use crate::db::outbox;
use crate::domain::mail::OutboxStatus;

pub async fn run(config: &Config, errors: u16) -> anyhow::Result<()> {
    let db = open_db(config).await?;
    let counts = outbox::counts(&db).await?;
    for &status in OutboxStatus::ALL {
        let count = counts.iter().find(|(s, _)| *s == status).map_or(0, |(_, n)| *n);
        println!("{:<10}{count}", status.as_str());
    }
    let troubles = outbox::troubles(&db, i64::from(errors)).await?;
    if troubles.is_empty() {
        println!("\nno errors on record");
        return Ok(());
    }
    println!("\nlatest errors (newest first):");
    let format = time::macros::format_description!("[year]-[month]-[day] [hour]:[minute]:[second]Z");
    for row in troubles {
        let queued = time::OffsetDateTime::from_unix_timestamp(row.created_at)
            .ok()
            .and_then(|t| t.format(&format).ok())
            .unwrap_or_else(|| row.created_at.to_string());
        println!(
            "#{}\t{queued}\t{}\t{}\t{} after {} attempt{}\t{}",
            row.id,
            row.kind,
            row.recipient,
            row.status,
            row.attempts,
            if row.attempts == 1 { "" } else { "s" },
            row.last_error
        );
    }
    Ok(())
}
