//! `gatehouse outbox`: how much mail is queued, being sent, sent or failed,
//! and the latest errors.

use super::open_db;
use crate::config::Settings;
use crate::db::outbox;

const STATUSES: [&str; 5] = ["queued", "sending", "sent", "failed", "cancelled"];

pub async fn run(settings: &Settings, errors: u16) -> anyhow::Result<()> {
    let db = open_db(settings).await?;
    let counts = outbox::counts(&db).await?;
    for status in STATUSES {
        let count = counts.iter().find(|(s, _)| s == status).map_or(0, |(_, n)| *n);
        println!("{status:<10}{count}");
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
