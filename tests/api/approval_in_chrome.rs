//! Approving a sign-in from another device, in real browsers: the mailed
//! link opened in a phone-sized browser with a profile of its own asks for
//! the number the waiting page shows; the waiting browser then signs in
//! (by its own script, or by "Approved on your other device? Continue"
//! when JavaScript is off). Every page on the way goes through axe, and on
//! the phone through the tap-target check. Pages are the same on either
//! database, so these run on SQLite.

use thirtyfour::{By, Key};

use crate::backend::Backend;
use crate::chrome::{Chrome, Options, Viewport, on_both_viewports};
use crate::helpers::{TestApp, spawn_app};
use crate::tap_targets::assert_tap_targets_fit_a_thumb;

on_both_viewports! {
    approving_from_a_phone_signs_the_waiting_browser_in,
    refusing_from_a_phone_stops_the_waiting_sign_in,
}

/// The waiting browser at `viewport`, on the code page of a sign-in that
/// comes back to `/?from=mail`; returns it with the mailed link.
async fn waiting_browser(app: &TestApp, viewport: Viewport, options: Options) -> Option<(Chrome, String)> {
    let chrome = Chrome::launch(&app.address, viewport, options).await?;
    chrome.open("/login?return_to=/%3Ffrom%3Dmail").await;
    chrome.type_into("#email", &app.user.email).await;
    chrome.type_into("#password", &app.user.password).await;
    chrome.press("/login").await;
    assert_eq!(chrome.path().await, "/login/code");
    Some((chrome, app.next_mail().await.link()))
}

async fn match_number(chrome: &Chrome) -> String {
    let number = chrome.driver.find(By::Id("match-number")).await.expect("#match-number on the waiting page");
    number.text().await.expect("its text").trim().to_owned()
}

/// The mail app's browser: a phone, with a profile of its own, on the link.
async fn phone_on(app: &TestApp, link: &str, options: Options) -> Chrome {
    let phone = Chrome::launch(&app.address, Viewport::Phone, options).await.expect("a second browser");
    phone.driver.goto(link).await.expect("open the link");
    phone.wait_for("#number").await;
    assert_eq!(phone.title().await, "Approve a sign-in – Gatehouse");
    phone
}

async fn approving_from_a_phone_signs_the_waiting_browser_in(viewport: Viewport) {
    let app = spawn_app(Backend::Sqlite).await;
    let Some((laptop, link)) = waiting_browser(&app, viewport, Options::default()).await else { return };
    laptop.check_page("code-waiting").await;
    let number = match_number(&laptop).await;
    let phone = phone_on(&app, &link, Options::default()).await;
    phone.check_page("approve").await;
    assert_tap_targets_fit_a_thumb(&phone, "approval page").await;

    phone.type_into("#number", &number).await;
    phone.press("/login/link").await;

    assert_eq!(phone.title().await, "Sign-in approved – Gatehouse");
    phone.check_page("approved").await;
    assert_tap_targets_fit_a_thumb(&phone, "approved page").await;
    // The waiting browser's script sees the approval and continues by itself.
    laptop.wait_to_leave("/login/code").await;
    assert_eq!(laptop.path().await, "/?from=mail");
    assert_eq!(laptop.title().await, "Your account – Gatehouse");
    // The phone proved only the mailbox: it is not signed in.
    phone.open("/").await;
    assert_eq!(phone.path().await, "/login");
}

async fn refusing_from_a_phone_stops_the_waiting_sign_in(viewport: Viewport) {
    let app = spawn_app(Backend::Sqlite).await;
    let Some((laptop, link)) = waiting_browser(&app, viewport, Options::default()).await else { return };
    let phone = phone_on(&app, &link, Options::default()).await;

    phone.press_button("/login/link", "name=deny").await;

    assert_eq!(phone.title().await, "Sign-in refused – Gatehouse");
    phone.check_page("refused").await;
    assert_tap_targets_fit_a_thumb(&phone, "refused page").await;
    let started = std::time::Instant::now();
    // The waiting browser's script sees the refusal and shows it.
    while laptop.title().await != "This sign-in was refused from the email – Gatehouse" {
        assert!(started.elapsed() < std::time::Duration::from_secs(20), "still {}", laptop.title().await);
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    laptop.check_page("code-refused").await;
}

/// Both browsers with JavaScript off: the phone approves by keyboard, and
/// the waiting browser continues with its "Continue" control.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_approval_works_with_javascript_off_on_a_phone() {
    let app = spawn_app(Backend::Sqlite).await;
    let off = || Options { javascript_off: true };
    let Some(laptop) = Chrome::launch(&app.address, Viewport::Phone, off()).await else { return };
    laptop.open("/login?return_to=/%3Ffrom%3Dmail").await;
    laptop.keys(app.user.email.as_str()).await;
    laptop.keys(Key::Tab).await;
    laptop.keys(app.user.password.as_str()).await;
    laptop.keys_that_navigate(Key::Enter).await;
    laptop.wait_to_leave("/login").await;
    laptop.wait_for("#match-number").await;
    let number = match_number(&laptop).await;
    let link = app.next_mail().await.link();

    // The number field has the focus: type the number, and Enter approves.
    let phone = phone_on(&app, &link, off()).await;
    phone.keys(number.as_str()).await;
    phone.keys_that_navigate(Key::Enter).await;
    let started = std::time::Instant::now();
    while phone.title().await != "Sign-in approved – Gatehouse" {
        assert!(started.elapsed() < std::time::Duration::from_secs(20), "still {}", phone.title().await);
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }

    // Nothing happens by itself without script; the Continue control signs
    // in. From the code field (which has the focus), past "Sign in", to it.
    assert_eq!(laptop.path().await, "/login/code");
    let control = laptop.driver.find(By::Css("a[href='/login/code?check=1']")).await.expect("the control");
    assert_eq!(control.text().await.unwrap(), "Approved on your other device? Continue");
    laptop.keys(Key::Tab).await;
    laptop.keys(Key::Tab).await;
    laptop.keys_that_navigate(Key::Enter).await;
    laptop.wait_to_leave("/login/code").await;
    assert_eq!(laptop.path().await, "/?from=mail");
}
