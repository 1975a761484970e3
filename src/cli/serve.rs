//! `gatehouse serve [--demo]`.

use crate::config::Settings;
use crate::web::portal::DEMO_EMAIL;
use crate::web::server::Application;

pub async fn run(settings: Settings, demo: bool) -> anyhow::Result<()> {
    let public_url = settings.public_url.clone();
    let console_mail = settings.smtp_url.is_none();
    let app = Application::build(settings).await?;
    let demo_password = if demo { app.portal().demo_account().await? } else { None };
    tracing::info!(url = %public_url, "Gatehouse is listening");
    println!("\n  Gatehouse is running at {public_url}");
    match demo_password {
        Some(password) => {
            println!("  Sign in as  {DEMO_EMAIL}");
            println!("  Password    {password}");
        }
        None if demo => println!("  --demo: accounts already exist, so no demo account was created."),
        None => {}
    }
    if console_mail {
        println!("  No smtp_url is set: sign-in codes are printed here and saved under mail/.");
    }
    println!();
    app.run_until_stopped().await?;
    Ok(())
}
