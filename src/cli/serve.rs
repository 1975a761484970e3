//! `gatehouse serve [--demo]`.

use anyhow::bail;

use super::open_db;
use crate::auth::code::random_token;
use crate::auth::email::EmailAddress;
use crate::auth::password::{Password, PasswordHasher};
use crate::config::Settings;
use crate::db::{Db, users};
use crate::startup::Application;

const DEMO_EMAIL: &str = "demo@example.com";

pub async fn run(settings: Settings, demo: bool) -> anyhow::Result<()> {
    if demo && settings.smtp_url.is_some() {
        bail!("--demo is refused when `smtp_url` is set: the demo prints codes to the console");
    }
    let demo_password = if demo { demo_account(&open_db(&settings).await?, &settings).await? } else { None };
    let public_url = settings.public_url.clone();
    let console_mail = settings.smtp_url.is_none();
    let app = Application::build(settings).await?;
    tracing::info!(url = %public_url, "Gatehouse is listening");
    println!("\n  Gatehouse is running at {public_url}");
    if let Some(password) = demo_password {
        println!("  Sign in as  {DEMO_EMAIL}");
        println!("  Password    {password}");
    }
    if console_mail {
        println!("  No smtp_url is set: sign-in codes are printed here and saved under mail/.");
    }
    println!();
    app.run_until_stopped().await?;
    Ok(())
}

/// Creates the demo account when there are no users, or gives it a fresh
/// password when it exists, so every `serve --demo` prints one that works.
async fn demo_account(db: &Db, settings: &Settings) -> anyhow::Result<Option<String>> {
    let email = EmailAddress::parse(DEMO_EMAIL)?;
    let exists = users::find_by_email(db, &email).await?.is_some();
    if !exists && users::count(db).await? > 0 {
        println!("  --demo: accounts already exist, so no demo account was created.");
        return Ok(None);
    }
    let password = random_token()[..16].to_owned();
    let hash = PasswordHasher::new(settings)?.hash(&Password::new_secret(password.clone())?).await?;
    if exists {
        users::set_password_hash(db, &email, &hash).await?;
    } else {
        users::insert(db, &email, &hash).await?;
    }
    Ok(Some(password))
}
