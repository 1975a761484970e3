//! `gatehouse user …`: add, list, set-name, disable, enable, set-password,
//! remove, unlock.

use std::io::BufRead as _;

use anyhow::{Context, bail};
use clap::Subcommand;

use super::open_db;
use crate::config::Config;
use crate::core::accounts::Accounts;
use crate::core::hashing::PasswordHasher;
use crate::core::throttle::Throttle;
use crate::domain::clock::Clock;
use crate::domain::display_name::DisplayName;
use crate::domain::email::EmailAddress;
use crate::domain::password::Password;

#[derive(Subcommand)]
pub enum UserCommand {
    /// Create an account (asks for the password unless --password-stdin).
    Add {
        email: String,
        /// The account's display name, sent to apps as Remote-Name.
        #[arg(long, value_name = "NAME")]
        name: Option<String>,
        /// Read the password from the first line of standard input.
        #[arg(long)]
        password_stdin: bool,
    },
    /// List accounts: email, state, display name.
    List,
    /// Set an account's display name, or remove it when NAME is left out.
    SetName { email: String, name: Option<String> },
    /// Stop an account from signing in, and end its sessions.
    Disable { email: String },
    /// Allow a disabled account to sign in again.
    Enable { email: String },
    /// Replace an account's password, and end its sessions.
    SetPassword {
        email: String,
        #[arg(long)]
        password_stdin: bool,
    },
    /// Delete an account with its sessions.
    Remove { email: String },
    /// Lift the stop after too many consecutive password failures.
    Unlock { email: String },
}

pub async fn run(config: &Config, command: UserCommand) -> anyhow::Result<()> {
    let db = open_db(config).await?;
    let clock = Clock::system();
    let hasher = PasswordHasher::new(&config.hashing)?;
    let throttle = Throttle::new(db.clone(), clock.clone(), config.limits.clone());
    let accounts = Accounts { db: &db, clock: &clock, hasher: &hasher, throttle: &throttle };
    let said = match command {
        UserCommand::Add { email, name, password_stdin } => {
            let (email, name) = (EmailAddress::parse(&email)?, parse_name(name.as_deref())?);
            accounts.add(&email, name.as_ref(), &read_password(password_stdin)?).await?;
            format!("added {email}")
        }
        UserCommand::List => list(&accounts).await?,
        UserCommand::SetName { email, name } => {
            let (email, name) = (EmailAddress::parse(&email)?, parse_name(name.as_deref())?);
            accounts.set_name(&email, name.as_ref()).await?;
            match name {
                Some(name) => format!("{email} is now named {name}"),
                None => format!("{email} has no name now"),
            }
        }
        UserCommand::Disable { email } => {
            let email = EmailAddress::parse(&email)?;
            accounts.disable(&email).await?;
            format!("disabled {email}")
        }
        UserCommand::Enable { email } => {
            let email = EmailAddress::parse(&email)?;
            accounts.enable(&email).await?;
            format!("enabled {email}")
        }
        UserCommand::SetPassword { email, password_stdin } => {
            let email = EmailAddress::parse(&email)?;
            accounts.set_password(&email, &read_password(password_stdin)?).await?;
            format!("password changed for {email}")
        }
        UserCommand::Unlock { email } => {
            let email = EmailAddress::parse(&email)?;
            accounts.unlock(&email).await?;
            format!("unlocked {email}")
        }
        UserCommand::Remove { email } => {
            let email = EmailAddress::parse(&email)?;
            accounts.remove(&email).await?;
            format!("removed {email}")
        }
    };
    if !said.is_empty() {
        println!("{said}");
    }
    Ok(())
}

fn parse_name(raw: Option<&str>) -> anyhow::Result<Option<DisplayName>> {
    Ok(raw.map(DisplayName::parse).transpose()?)
}

/// One line per account: email, enabled or disabled, display name.
async fn list(accounts: &Accounts<'_>) -> anyhow::Result<String> {
    let lines = accounts.list().await?.into_iter().map(|user| {
        let state = if user.disabled { "disabled" } else { "enabled" };
        format!("{}\t{state}\t{}", user.email, user.name.unwrap_or_default())
    });
    Ok(lines.collect::<Vec<_>>().join("\n"))
}

/// One line from stdin (line ending dropped), or a prompt on the terminal.
fn read_password(from_stdin: bool) -> anyhow::Result<Password> {
    let raw = if from_stdin {
        let mut line = String::new();
        std::io::stdin().lock().read_line(&mut line).context("reading the password from stdin")?;
        let trimmed = line.strip_suffix('\n').unwrap_or(&line);
        trimmed.strip_suffix('\r').unwrap_or(trimmed).to_owned()
    } else {
        let first = rpassword::prompt_password("Password: ").context("reading the password")?;
        let again = rpassword::prompt_password("Password again: ").context("reading the password")?;
        if first != again {
            bail!("the passwords do not match");
        }
        first
    };
    Ok(Password::new_secret(raw)?)
}
