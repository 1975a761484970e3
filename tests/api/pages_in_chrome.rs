//! The pages in a real browser, at a phone and a desktop viewport: every
//! flow a person goes through, each error page reached the way a person
//! reaches it, with axe-core on every page and a screenshot of each under
//! `target/screenshots/`. Pages are the same on either database, so these
//! run on SQLite.

use std::time::Duration;

use thirtyfour::Key;

use crate::backend::Backend;
use crate::chrome::{Chrome, Options, Viewport, on_both_viewports};
use crate::helpers::{TestApp, spawn_app, spawn_app_with};
use crate::tap_targets::assert_tap_targets_fit_a_thumb;

on_both_viewports! {
    signing_in_with_the_code,
    wrong_password_wrong_code_and_a_resend_too_soon,
    replaced_used_and_dead_codes,
    an_expired_code_an_expired_sign_in_and_an_unknown_page,
}

async fn browser(app: &TestApp, viewport: Viewport) -> Option<Chrome> {
    Chrome::launch(&app.address, viewport, Options::default()).await
}

/// The password step, from the sign-in page the browser is on.
async fn enter_password(chrome: &Chrome, app: &TestApp, password: &str) {
    chrome.type_into("#email", &app.user.email).await;
    chrome.type_into("#password", password).await;
    chrome.press("/login").await;
}

/// From the sign-in page to the code page with the right password; returns the mail.
async fn to_the_code_page(chrome: &Chrome, app: &TestApp) -> crate::mail::Mail {
    chrome.open("/login").await;
    enter_password(chrome, app, &app.user.password).await;
    app.next_mail().await
}

async fn enter_code(chrome: &Chrome, code: &str) {
    chrome.type_into("#code", code).await;
    chrome.press("/login/code").await;
}

async fn assert_on(chrome: &Chrome, path: &str, title: &str) {
    assert_eq!(chrome.path().await, path, "on {}", chrome.title().await);
    assert_eq!(chrome.title().await, format!("{title} – Gatehouse"));
}

async fn signing_in_with_the_code(viewport: Viewport) {
    let app = spawn_app(Backend::Sqlite).await;
    let Some(chrome) = browser(&app, viewport).await else { return };
    chrome.open("/").await;
    assert_on(&chrome, "/login", "Sign in").await;
    chrome.check_page("login").await;

    enter_password(&chrome, &app, &app.user.password).await;
    assert_on(&chrome, "/login/code", "Enter your code").await;
    chrome.check_page("code").await;
    let code = app.next_mail().await.code();
    // As pasted from a mail app: spaces around and in the middle.
    enter_code(&chrome, &format!(" {} {} ", &code[..3], &code[3..])).await;
    assert_on(&chrome, "/", "Your account").await;
    assert!(chrome.text().await.contains(&app.user.email));
    chrome.check_page("account").await;

    chrome.press("/logout").await;
    assert_on(&chrome, "/login", "Sign in").await;
    chrome.open("/").await;
    assert_on(&chrome, "/login", "Sign in").await;
}

async fn wrong_password_wrong_code_and_a_resend_too_soon(viewport: Viewport) {
    let app = spawn_app(Backend::Sqlite).await;
    let Some(chrome) = browser(&app, viewport).await else { return };
    chrome.open("/login").await;
    enter_password(&chrome, &app, "not the password at all").await;
    assert_on(&chrome, "/login", "Sign in").await;
    assert_error_tied_to(&chrome, &["email", "password"]).await;
    chrome.check_page("login-wrong-password").await;

    enter_password(&chrome, &app, &app.user.password).await;
    let code = app.next_mail().await.code();
    enter_code(&chrome, &crate::mail::wrong_code_for(&code)).await;
    assert_on(&chrome, "/login/code", "Enter your code").await;
    assert!(chrome.text().await.contains("That code is not right. 4 attempts left."));
    assert_error_tied_to(&chrome, &["code"]).await;
    chrome.check_page("code-wrong-code").await;

    chrome.press("/login/code/resend").await;
    assert_eq!(chrome.title().await, "Please wait before asking again – Gatehouse");
    chrome.check_page("error-resend-too-soon").await;
}

async fn replaced_used_and_dead_codes(viewport: Viewport) {
    let app = spawn_app_with(Backend::Sqlite, |s| s.otp_resend_cooldown_secs = 0).await;
    let Some(chrome) = browser(&app, viewport).await else { return };
    let first = to_the_code_page(&chrome, &app).await;
    chrome.press("/login/code/resend").await;
    assert_on(&chrome, "/login/code", "Enter your code").await;
    let second = app.next_mail().await;

    enter_code(&chrome, &first.code()).await;
    assert!(chrome.text().await.contains("replaced by a newer code"), "{}", chrome.text().await);
    chrome.check_page("code-replaced").await;

    for _ in 0..5 {
        enter_code(&chrome, &crate::mail::wrong_code_for(&second.code())).await;
    }
    assert_eq!(chrome.title().await, "Too many wrong codes – Gatehouse");
    chrome.check_page("error-too-many-wrong-codes").await;

    // A link that was used already, opened again (from the newest mail, in a new sign-in).
    let link = to_the_code_page(&chrome, &app).await.link();
    chrome.driver.goto(&link).await.unwrap();
    chrome.press("/login/link").await;
    assert_on(&chrome, "/", "Your account").await;
    chrome.driver.goto(&link).await.unwrap();
    assert_eq!(chrome.title().await, "This code has already been used – Gatehouse");
    chrome.check_page("error-used-link").await;
}

async fn an_expired_code_an_expired_sign_in_and_an_unknown_page(viewport: Viewport) {
    let app = spawn_app_with(Backend::Sqlite, |s| s.otp_ttl_secs = 1).await;
    let Some(chrome) = browser(&app, viewport).await else { return };
    // Leaving a sign-in half done ("Use another account"), then coming back to it.
    to_the_code_page(&chrome, &app).await;
    chrome.press("/logout").await;
    chrome.open("/login/code").await;
    assert_on(&chrome, "/login", "Sign in").await;
    assert!(chrome.text().await.contains("Your sign-in expired or was ended"));
    chrome.check_page("login-sign-in-expired").await;

    enter_password(&chrome, &app, &app.user.password).await;
    let code = app.next_mail().await.code();
    // The code lives one second from the mail's acceptance; two seconds are surely past it.
    tokio::time::sleep(Duration::from_millis(2100)).await;
    enter_code(&chrome, &code).await;
    assert_eq!(chrome.title().await, "This code has expired – Gatehouse");
    chrome.check_page("error-code-expired").await;

    chrome.open("/no/such/page").await;
    assert_eq!(chrome.title().await, "Page not found – Gatehouse");
    chrome.check_page("error-not-found").await;
}

/// The error is announced and every field in `ids` points to it.
async fn assert_error_tied_to(chrome: &Chrome, ids: &[&str]) {
    for id in ids {
        let field = chrome.driver.find(thirtyfour::By::Id(*id)).await.unwrap();
        assert_eq!(field.attr("aria-invalid").await.unwrap().as_deref(), Some("true"), "#{id}");
        let described_by = field.attr("aria-describedby").await.unwrap().expect("aria-describedby");
        let error = chrome.driver.find(thirtyfour::By::Id(&described_by)).await.expect("the described error");
        assert_eq!(error.attr("role").await.unwrap().as_deref(), Some("alert"));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_keyboard_alone_signs_in() {
    let app = spawn_app(Backend::Sqlite).await;
    let Some(chrome) = browser(&app, Viewport::Desktop).await else { return };
    chrome.open("/login").await;
    assert_eq!(chrome.focused().await, "email", "the email field has the focus at once");
    chrome.keys(app.user.email.as_str()).await;
    chrome.keys(Key::Tab).await;
    assert_eq!(chrome.focused().await, "password");
    chrome.keys(app.user.password.as_str()).await;
    chrome.keys_to_next_page(Key::Enter).await;
    assert_on(&chrome, "/login/code", "Enter your code").await;
    assert_eq!(chrome.focused().await, "code");
    let code = app.next_mail().await.code();
    chrome.keys(code.as_str()).await;
    chrome.keys_to_next_page(Key::Enter).await;
    assert_on(&chrome, "/", "Your account").await;

    // Tab from the top of a page: "Skip to content" first.
    chrome.open("/login").await;
    chrome.script("document.activeElement.blur()").await;
    chrome.keys(Key::Tab).await;
    let first = chrome.script("return document.activeElement.textContent.trim()").await;
    assert_eq!(first, "Skip to content");
}

/// JavaScript off in the browser's settings. ChromeDriver's own clicks need
/// script, so this browser is driven by the keyboard alone.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_in_works_with_javascript_off() {
    let app = spawn_app(Backend::Sqlite).await;
    let options = Options { javascript_off: true };
    let Some(chrome) = Chrome::launch(&app.address, Viewport::Phone, options).await else { return };
    let probe = "data:text/html,<title>off</title><script>document.title = 'on'</script>";
    chrome.driver.goto(probe).await.unwrap();
    assert_eq!(chrome.title().await, "off", "this browser runs no script");
    chrome.open("/login").await;
    chrome.keys(app.user.email.as_str()).await;
    chrome.keys(Key::Tab).await;
    chrome.keys(app.user.password.as_str()).await;
    chrome.keys_that_navigate(Key::Enter).await;
    chrome.wait_to_leave("/login").await;
    assert_eq!(chrome.path().await, "/login/code");
    chrome.wait_for("#code").await;
    chrome.keys(app.next_mail().await.code().as_str()).await;
    chrome.keys_that_navigate(Key::Enter).await;
    chrome.wait_to_leave("/login/code").await;
    assert_eq!(chrome.path().await, "/");
    chrome.wait_for("form[action='/logout']").await;
    assert_eq!(chrome.title().await, "Your account – Gatehouse");
}

/// On a phone: nothing scrolls sideways at 320 px, every tap target is at
/// least 44 px tall and wide, text fields use 16 px text (so iOS does not
/// zoom), the code field asks for digits and one-time codes, dark mode
/// changes the colours (and stays accessible), and reduced motion stops all
/// movement.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn phones_get_pages_that_fit_and_respect_preferences() {
    let app = spawn_app(Backend::Sqlite).await;
    let Some(chrome) = browser(&app, Viewport::Phone).await else { return };
    chrome.set_phone_size(320, 640).await;
    chrome.open("/login").await;
    check_phone_rules(&chrome, "login").await;
    enter_password(&chrome, &app, "not the password at all").await;
    check_phone_rules(&chrome, "login with an error").await;
    enter_password(&chrome, &app, &app.user.password).await;
    check_phone_rules(&chrome, "code").await;
    let code_field = chrome.driver.find(thirtyfour::By::Id("code")).await.unwrap();
    assert_eq!(code_field.attr("inputmode").await.unwrap().as_deref(), Some("numeric"));
    assert_eq!(code_field.attr("autocomplete").await.unwrap().as_deref(), Some("one-time-code"));

    chrome.prefer("dark", false).await;
    let dark = chrome.script("return getComputedStyle(document.body).backgroundColor").await;
    chrome.check_page("code-dark").await;
    chrome.prefer("light", false).await;
    let light = chrome.script("return getComputedStyle(document.body).backgroundColor").await;
    assert_ne!(dark, light, "dark mode changes the page's colours");

    chrome.prefer("light", true).await;
    let moving = chrome
        .script(
            "return [...document.querySelectorAll('*')].filter(e => { const s = getComputedStyle(e); \
             return s.animationName !== 'none' || s.transitionDuration.split(',').some(d => parseFloat(d) > 0); \
             }).map(e => e.tagName)",
        )
        .await;
    assert_eq!(moving, serde_json::json!([]), "nothing moves with reduced motion");

    enter_code(&chrome, &app.next_mail().await.code()).await;
    check_phone_rules(&chrome, "account").await;
    chrome.open("/no/such/page").await;
    check_phone_rules(&chrome, "an error page").await;
}

async fn check_phone_rules(chrome: &Chrome, page: &str) {
    let overflow = chrome.script("return document.documentElement.scrollWidth - window.innerWidth").await;
    assert!(overflow.as_i64().unwrap_or(1) <= 0, "{page}: scrolls sideways by {overflow} px at 320 px");
    assert_tap_targets_fit_a_thumb(chrome, page).await;
    let tiny_text = chrome
        .script(
            "return [...document.querySelectorAll('input:not([type=hidden])')] \
             .filter(e => parseFloat(getComputedStyle(e).fontSize) < 16).map(e => e.id)",
        )
        .await;
    assert_eq!(tiny_text, serde_json::json!([]), "{page}: inputs under 16 px make iOS zoom");
}

/// The accessibility check can fail: a page with an unlabelled field and an
/// image without a text alternative gets serious or critical findings.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn axe_finds_the_problems_of_a_careless_page() {
    let app = spawn_app(Backend::Sqlite).await;
    let Some(chrome) = browser(&app, Viewport::Desktop).await else { return };
    let careless = "data:text/html,<html><body><img src='x.png'><input type='text'></body></html>";
    chrome.driver.goto(careless).await.unwrap();
    let violations = chrome.axe().await;
    let rules: Vec<&str> = violations.iter().map(|(id, _, _)| id.as_str()).collect();
    for rule in ["image-alt", "label", "html-has-lang"] {
        assert!(rules.contains(&rule), "axe-core reports {rule}: {violations:?}");
    }
    assert!(violations.iter().any(|(_, impact, _)| impact == "critical" || impact == "serious"));
}
