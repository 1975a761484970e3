//! `gatehouse user …`: add, list, set-name, disable, enable, set-password,
//! remove, unlock.

use std::io::BufRead as _;

use anyhow::{Context, bail};
use clap::Subcommand;

use super::open_db;
use crate::auth::display_name::DisplayName;
use crate::auth::email::EmailAddress;
use crate::auth::password::{Password, PasswordHasher};
use crate::config::Settings;
use crate::db::{sessions, users};

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

pub async fn run(settings: &Settings, command: UserCommand) -> anyhow::Result<()> {
    match command {
        UserCommand::Add { email, name, password_stdin } => {
            let email = EmailAddress::parse(&email)?;
            let name = name.as_deref().map(DisplayName::parse).transpose()?;
            let password = read_password(password_stdin)?;
            let db = open_db(settings).await?;
            let hash = PasswordHasher::new(settings)?.hash(&password).await?;
            users::insert(&db, &email, name.as_ref(), &hash).await?;
            println!("added {email}");
        }
        UserCommand::List => {
            let db = open_db(settings).await?;
            for user in users::list(&db).await? {
                let state = if user.disabled { "disabled" } else { "enabled" };
                println!("{}\t{state}\t{}", user.email, user.name.unwrap_or_default());
            }
        }
        UserCommand::SetName { email, name } => {
            let email = EmailAddress::parse(&email)?;
            let name = name.as_deref().map(DisplayName::parse).transpose()?;
            users::set_name(&open_db(settings).await?, &email, name.as_ref()).await?;
            match name {
                Some(name) => println!("{email} is now named {name}"),
                None => println!("{email} has no name now"),
            }
        }
        UserCommand::Disable { email } => {
            let email = EmailAddress::parse(&email)?;
            let db = open_db(settings).await?;
            users::set_disabled(&db, &email, true).await?;
            end_sessions(&db, &email).await?;
            println!("disabled {email}");
        }
        UserCommand::Enable { email } => {
            let email = EmailAddress::parse(&email)?;
            users::set_disabled(&open_db(settings).await?, &email, false).await?;
            println!("enabled {email}");
        }
        UserCommand::SetPassword { email, password_stdin } => {
            let email = EmailAddress::parse(&email)?;
            let password = read_password(password_stdin)?;
            let db = open_db(settings).await?;
            let hash = PasswordHasher::new(settings)?.hash(&password).await?;
            users::set_password_hash(&db, &email, &hash).await?;
            end_sessions(&db, &email).await?;
            crate::auth::throttle::unlock(&db, email.as_str()).await?;
            println!("password changed for {email}");
        }
        UserCommand::Unlock { email } => {
            let email = EmailAddress::parse(&email)?;
            crate::auth::throttle::unlock(&open_db(settings).await?, email.as_str()).await?;
            println!("unlocked {email}");
        }
        UserCommand::Remove { email } => {
            let email = EmailAddress::parse(&email)?;
            users::remove(&open_db(settings).await?, &email).await?;
            println!("removed {email}");
        }
    }
    Ok(())
}

async fn end_sessions(db: &crate::db::Db, email: &EmailAddress) -> anyhow::Result<()> {
    if let Some(user) = users::find_by_email(db, email).await? {
        sessions::delete_for_user(db, user.id).await?;
    }
    Ok(())
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
