//! Tap targets on a phone: every link, button, field and checkbox label a
//! person can reach is at least 44 × 44 CSS pixels (WCAG 2.5.5, Apple's and
//! Google's guidance), so a thumb hits the one it means.
//! `assert_tap_targets_fit_a_thumb` checks the page a browser is on; any
//! new page's test can call it.

use crate::backend::Backend;
use crate::chrome::{Chrome, Options, Viewport};
use crate::helpers::spawn_app;

/// The smallest width and height of a tap target, in CSS pixels.
const MIN_TAP_PX: f64 = 44.0;

/// Every rendered `a`, `button`, `input`, `select`, `textarea` and label of a
/// checkbox or radio, with its size. A checkbox or radio that has a label is
/// tapped through its label, so the label is measured instead. An element
/// that only comes on screen when focused (a skip link) is measured focused.
const TAP_TARGETS: &str = r#"
const labelled = e => ['checkbox', 'radio'].includes(e.type) && e.labels && e.labels.length > 0;
const candidates = [...document.querySelectorAll(
    'a[href], button, input:not([type=hidden]), select, textarea, label')]
  .filter(e => e.tagName !== 'LABEL' || (e.control && ['checkbox', 'radio'].includes(e.control.type)))
  .filter(e => !labelled(e));
const rendered = e => e.getClientRects().length > 0 && getComputedStyle(e).visibility !== 'hidden';
const onScreen = r => r.right > 0 && r.bottom > 0 && r.left < document.documentElement.scrollWidth;
const measure = e => {
  let r = e.getBoundingClientRect();
  if (!onScreen(r)) { e.focus(); r = e.getBoundingClientRect(); e.blur(); }
  return onScreen(r) ? r : null;
};
return candidates.filter(rendered).map(e => {
  const r = measure(e);
  const name = e.tagName.toLowerCase() + ' ' + (e.id ? '#' + e.id : JSON.stringify(e.textContent.trim().slice(0, 40)));
  return r && { name, width: r.width, height: r.height };
}).filter(t => t);
"#;

/// Asserts that every tap target on the page `chrome` is on is at least
/// 44 px tall and wide; `page` names the page in the failure.
pub async fn assert_tap_targets_fit_a_thumb(chrome: &Chrome, page: &str) {
    let small = small_tap_targets(chrome, page).await;
    assert!(small.is_empty(), "{page}: tap targets under {MIN_TAP_PX} px on a phone: {small:#?}");
}

/// The tap targets under 44 px on the page, as `tag #id: width × height px`.
async fn small_tap_targets(chrome: &Chrome, page: &str) -> Vec<String> {
    let targets = chrome.script(TAP_TARGETS).await;
    let targets = targets.as_array().unwrap_or_else(|| panic!("{page}: no list of tap targets: {targets}"));
    assert!(!targets.is_empty(), "{page}: a page without a single tap target?");
    let size = |t: &serde_json::Value, key: &str| t[key].as_f64().unwrap_or(0.0);
    targets
        .iter()
        .filter(|t| size(t, "width") < MIN_TAP_PX || size(t, "height") < MIN_TAP_PX)
        .map(|t| {
            let name = t["name"].as_str().unwrap_or("?");
            format!("{name}: {:.1} × {:.1} px", size(t, "width"), size(t, "height"))
        })
        .collect()
}

/// At 375 × 740, every page of a sign-in: the sign-in page, the code page,
/// an error page, the page of the mailed link and the account page. (Pages
/// are the same on either database, so this runs on SQLite.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_tap_target_of_a_sign_in_is_big_enough_on_a_phone() {
    let app = spawn_app(Backend::Sqlite).await;
    let Some(chrome) = Chrome::launch(&app.address, Viewport::Phone, Options::default()).await else {
        return;
    };
    chrome.set_phone_size(375, 740).await;
    chrome.open("/login").await;
    assert_tap_targets_fit_a_thumb(&chrome, "sign-in page").await;

    chrome.type_into("#email", &app.user.email).await;
    chrome.type_into("#password", &app.user.password).await;
    chrome.press("/login").await;
    assert_eq!(chrome.path().await, "/login/code");
    assert_tap_targets_fit_a_thumb(&chrome, "code page").await;
    let link = app.next_mail().await.link();

    chrome.press("/login/code/resend").await;
    assert_eq!(chrome.title().await, "Please wait before asking again – Gatehouse");
    assert_tap_targets_fit_a_thumb(&chrome, "error page").await;

    chrome.driver.goto(&link).await.expect("open the mailed link");
    assert_eq!(chrome.title().await, "Continue signing in – Gatehouse");
    assert_tap_targets_fit_a_thumb(&chrome, "link page").await;

    chrome.press("/login/link").await;
    assert_eq!(chrome.path().await, "/");
    assert_tap_targets_fit_a_thumb(&chrome, "account page").await;
}

/// The check can fail: an inline link in a sentence, a bare checkbox label,
/// a small button and a skip link that is small when focused are all found;
/// a labelled checkbox is measured through its label, not by itself.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_check_finds_the_small_targets_of_a_careless_page() {
    let app = spawn_app(Backend::Sqlite).await;
    let Some(chrome) = Chrome::launch(&app.address, Viewport::Phone, Options::default()).await else {
        return;
    };
    let careless = "data:text/html,<html><body>\
        <style>.skip { position: absolute; left: -999px } .skip:focus { left: 0 }</style>\
        <a id=skip class=skip href='%23x'>Skip</a>\
        <p>Read <a id=inline href='%23x'>the terms</a> first.</p>\
        <input type=checkbox id=remember><label for=remember id=remember-label>Remember me</label>\
        <button id=tiny style='padding:0'>x</button>\
        <input type=text id=wide style='display:block;width:100%;height:48px'></body></html>";
    chrome.driver.goto(careless).await.expect("open the careless page");
    let small = small_tap_targets(&chrome, "careless page").await.join("\n");
    for id in ["#skip", "#inline", "#remember-label", "#tiny"] {
        assert!(small.contains(id), "{id} is found too small:\n{small}");
    }
    for id in ["#remember:", "#wide"] {
        assert!(!small.contains(id), "{id} is not reported:\n{small}");
    }
}
