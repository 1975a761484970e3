//! The command line: `serve`, `migrate`, `user …`, `audit` and `outbox`. Every command applies
//! pending migrations first, so `user add` works on a fresh database.

mod audit;
mod outbox;
mod serve;
mod user;

use std::path::PathBuf;

use clap::{Parser, Subcommand};

use crate::config::{Config, Settings};
use crate::db::Db;

#[derive(Parser)]
#[command(name = "gatehouse", version, about = "A login portal: password, then a one-time code by email")]
pub struct Cli {
    /// A TOML configuration file; GATEHOUSE_* environment variables override it.
    #[arg(long, global = true, value_name = "FILE")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Run the portal (the default).
    Serve {
        /// Create demo@example.com with a random password and print mail to the console.
        #[arg(long)]
        demo: bool,
    },
    /// Apply database migrations.
    Migrate,
    /// Manage accounts.
    #[command(subcommand)]
    User(user::UserCommand),
    /// Show the audit log of sign-in events.
    Audit {
        /// Only events of this account.
        #[arg(long, value_name = "EMAIL")]
        user: Option<String>,
        /// How far back, e.g. 30m, 24h, 7days.
        #[arg(long, value_name = "DURATION", default_value = "24h")]
        since: String,
    },
    /// Show the mail queue: counts by status and the latest errors.
    Outbox {
        /// How many of the latest errors to show.
        #[arg(long, value_name = "N", default_value_t = 10)]
        errors: u16,
    },
}

impl Cli {
    pub async fn run(self) -> anyhow::Result<()> {
        let settings = Settings::load(self.config.as_deref())?;
        let command = self.command.unwrap_or(Command::Serve { demo: false });
        if let Command::Serve { demo } = command {
            return serve::run(settings, demo).await;
        }
        let config = settings.check()?;
        match command {
            Command::Serve { .. } => unreachable!("served above"),
            Command::Migrate => {
                open_db(&config).await?;
                println!("migrations applied");
                Ok(())
            }
            Command::User(command) => user::run(&config, command).await,
            Command::Audit { user, since } => audit::run(&config, user.as_deref(), &since).await,
            Command::Outbox { errors } => outbox::run(&config, errors).await,
        }
    }
}

async fn open_db(config: &Config) -> anyhow::Result<Db> {
    let db = Db::connect(&config.database_url).await?;
    db.migrate().await?;
    Ok(db)
}
