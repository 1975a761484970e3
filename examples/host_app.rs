//! An actix-web application of your own with Gatehouse mounted at `/auth`:
//! `/` is open to anyone, `/notes` only to a signed-in user.
//!
//! ```sh
//! cargo run --example host_app
//! ```
//!
//! It reads the same settings as `gatehouse serve` (`GATEHOUSE_*`
//! variables). With none it listens on http://127.0.0.1:8080, keeps its data
//! in `gatehouse.db`, creates `demo@example.com` with a password it prints,
//! and prints the sign-in mail to the console. `docs/library.md` walks
//! through this file.

use std::net::TcpListener;

use actix_web::dev::Server;
use actix_web::{App, HttpResponse, HttpServer, web};
use askama::Template;
use gatehouse::{Portal, Settings, SignedInUser};

#[actix_web::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt().with_env_filter("info,sqlx=warn").init();
    let settings = Settings::load(None)?;
    let listener = TcpListener::bind(&settings.bind)?;
    let public_url = settings.public_url.clone();
    let console_mail = settings.smtp_url.is_none();
    let portal = Portal::start(settings, PORTAL_AT).await?;
    println!("\n  The example app is running at {public_url}, with Gatehouse at {public_url}{PORTAL_AT}/");
    if console_mail {
        match portal.demo_account().await? {
            Some(password) => println!(
                "  Open {public_url}/notes and sign in as {} with {password}\n  The sign-in code is printed here.\n",
                gatehouse::web::portal::DEMO_EMAIL
            ),
            None => {
                println!("  Accounts already exist, so no demo account was made: sign in with one of them.\n")
            }
        }
    }
    server(portal, listener)?.await?;
    Ok(())
}

/// Where the portal's pages live in this app.
const PORTAL_AT: &str = "/auth";

/// The application: its own pages, with the portal under `/auth`.
pub fn server(portal: Portal, listener: TcpListener) -> std::io::Result<Server> {
    let server = HttpServer::new(move || {
        App::new()
            // The portal's session, for the whole app: its cookie reaches
            // `/notes`, and using the app keeps the session alive.
            .wrap(portal.session_middleware())
            // The sign-in pages under `/auth`, and what `SignedInUser` needs.
            .configure(|cfg| portal.configure(cfg))
            .route("/", web::get().to(home))
            .route("/notes", web::get().to(notes))
    })
    .listen(listener)?
    .run();
    Ok(server)
}

#[derive(Template)]
#[template(
    ext = "html",
    source = r#"<!doctype html>
<html lang="en"><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Team notes</title>
<h1>Team notes</h1>
{% if let Some(email) = email %}
<p>Signed in as <strong>{{ email }}</strong>. <a href="{{ PORTAL_AT }}/">Your account, and signing out</a>.</p>
{% else %}
<p>Anyone can read this page. To read the notes you will be asked to sign in first.</p>
{% endif %}
{% if notes.is_empty() %}<p><a href="/notes">Read the notes</a></p>
{% else %}<ul>{% for note in notes %}<li>{{ note }}</li>{% endfor %}</ul>{% endif %}
"#
)]
struct Page<'a> {
    email: Option<&'a str>,
    notes: &'a [&'a str],
}

const NOTES: &[&str] = &["Ship the release on Friday", "Water the office plants"];

/// Open to anyone; it greets a signed-in user, and never sends anyone to sign in.
async fn home(user: Option<SignedInUser>) -> actix_web::Result<HttpResponse> {
    html(&Page { email: user.as_ref().map(SignedInUser::email), notes: &[] })
}

/// Only for a signed-in user: without one, `SignedInUser` sends the browser
/// to `/auth/login?return_to=%2Fnotes`, and the sign-in comes back here.
async fn notes(user: SignedInUser) -> actix_web::Result<HttpResponse> {
    html(&Page { email: Some(user.email()), notes: NOTES })
}

fn html(page: &Page) -> actix_web::Result<HttpResponse> {
    let body = page.render().map_err(actix_web::error::ErrorInternalServerError)?;
    Ok(HttpResponse::Ok().content_type("text/html; charset=utf-8").body(body))
}
