//! A real browser for the page tests: Debian's Chromium, headless, driven
//! through its ChromeDriver (WebDriver) with thirtyfour. Each `Chrome` is a
//! browser of its own (own ChromeDriver, own fresh profile) at a phone or a
//! desktop viewport. It runs axe-core (vendored, pinned) on pages and saves
//! full-page screenshots under `target/screenshots/`.
//!
//! Without Chromium and ChromeDriver the browser tests are skipped with one
//! loud warning; under `CI=true` they fail instead.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine as _;
use serde_json::{Value, json};
use thirtyfour::prelude::*;
use tokio::sync::{OnceCell, Semaphore, SemaphorePermit};

use crate::screenshots::{record_axe, screenshots_dir};
use crate::tools::{skip_suite, tool};

const AXE: &str = include_str!("../vendor/axe-core-4.14.1/axe.min.js");

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Viewport {
    /// 390 × 844 CSS pixels, a phone's user agent and touch.
    Phone,
    /// 1280 × 800.
    Desktop,
}

impl Viewport {
    pub fn name(self) -> &'static str {
        match self {
            Viewport::Phone => "phone",
            Viewport::Desktop => "desktop",
        }
    }
}

/// What else the browser should be like.
#[derive(Clone, Copy, Debug, Default)]
pub struct Options {
    pub javascript_off: bool,
}

pub struct Chrome {
    pub driver: WebDriver,
    pub viewport: Viewport,
    base: String,
    chromedriver: Child,
    _slot: SemaphorePermit<'static>,
}

fn chromium_path() -> PathBuf {
    tool("GATEHOUSE_TEST_CHROMIUM", "/usr/bin/chromium")
}

fn chromedriver_path() -> PathBuf {
    tool("GATEHOUSE_TEST_CHROMEDRIVER", "/usr/bin/chromedriver")
}

fn skip_browser_tests() -> bool {
    static CHECKED: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    skip_suite(
        &CHECKED,
        "browser (Chromium)",
        &[chromium_path(), chromedriver_path()],
        "Install Debian's chromium and chromium-driver, or set GATEHOUSE_TEST_CHROMIUM and\n\
         GATEHOUSE_TEST_CHROMEDRIVER.",
    )
}

/// Browsers are heavy on two cores: at most this many at once.
async fn browser_slot() -> SemaphorePermit<'static> {
    static SLOTS: OnceCell<Semaphore> = OnceCell::const_new();
    let slots = SLOTS.get_or_init(|| async { Semaphore::new(3) }).await;
    slots.acquire().await.expect("the semaphore is never closed")
}

impl Chrome {
    /// A new headless browser on `base`, or `None` when browser tests are skipped.
    pub async fn launch(base: &str, viewport: Viewport, options: Options) -> Option<Chrome> {
        if skip_browser_tests() {
            return None;
        }
        let slot = browser_slot().await;
        let (chromedriver, port) = start_chromedriver().await;
        let mut caps = DesiredCapabilities::chrome();
        caps.set_binary(&chromium_path().display().to_string()).unwrap();
        for arg in [
            "--headless=new",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-quic",
            "--hide-scrollbars",
        ] {
            caps.add_arg(arg).unwrap();
        }
        match viewport {
            Viewport::Desktop => caps.add_arg("--window-size=1280,800").unwrap(),
            Viewport::Phone => caps
                .add_experimental_option(
                    "mobileEmulation",
                    json!({
                        "deviceMetrics": { "width": 390, "height": 844, "pixelRatio": 3.0, "touch": true },
                        "userAgent": "Mozilla/5.0 (Linux; Android 15; Pixel 9) AppleWebKit/537.36 \
                                      (KHTML, like Gecko) Chrome/156.0.0.0 Mobile Safari/537.36"
                    }),
                )
                .unwrap(),
        }
        if options.javascript_off {
            caps.add_experimental_option(
                "prefs",
                json!({ "profile.managed_default_content_settings.javascript": 2 }),
            )
            .unwrap();
        }
        let driver = WebDriver::new(format!("http://127.0.0.1:{port}"), caps)
            .await
            .unwrap_or_else(|e| panic!("start a Chromium session: {e}"));
        Some(Chrome { driver, viewport, base: base.to_owned(), chromedriver, _slot: slot })
    }

    pub async fn open(&self, path: &str) {
        self.driver.goto(format!("{}{path}", self.base)).await.unwrap_or_else(|e| panic!("open {path}: {e}"));
    }

    /// The path (and query) of the page the browser is on.
    pub async fn path(&self) -> String {
        let url = self.driver.current_url().await.expect("the current URL");
        match url.query() {
            Some(query) => format!("{}?{query}", url.path()),
            None => url.path().to_owned(),
        }
    }

    pub async fn title(&self) -> String {
        self.driver.title().await.expect("the page title")
    }

    pub async fn text(&self) -> String {
        self.driver.find(By::Tag("body")).await.expect("a body").text().await.expect("its text")
    }

    pub async fn type_into(&self, css: &str, text: &str) {
        let field = self.driver.find(By::Css(css)).await.unwrap_or_else(|e| panic!("find {css}: {e}"));
        field.clear().await.expect("clear the field");
        field.send_keys(text).await.unwrap_or_else(|e| panic!("type into {css}: {e}"));
    }

    /// Presses the (first) submit button of the form posting to `action`,
    /// and waits for the page that answers.
    pub async fn press(&self, action: &str) {
        self.press_button(action, "type=submit").await;
    }

    /// Presses the button of the form posting to `action` that has the
    /// attribute `which` (`name=deny`), and waits for the page that answers.
    pub async fn press_button(&self, action: &str, which: &str) {
        let css = format!("form[action='{action}'] button[{which}]");
        let button = self.driver.find(By::Css(&css)).await.unwrap_or_else(|e| panic!("find {css}: {e}"));
        let page = self.page().await;
        button.click().await.unwrap_or_else(|e| panic!("press {css}: {e}"));
        self.wait_for_next_page(page).await;
    }

    /// Types keys into whatever has the focus, as a keyboard would.
    pub async fn keys(&self, keys: impl Into<TypingData>) {
        self.driver.action_chain().send_keys(keys).perform().await.expect("send keys");
    }

    /// Types keys that submit a form (Enter), and waits for the page that answers.
    pub async fn keys_to_next_page(&self, keys: impl Into<TypingData>) {
        let page = self.page().await;
        self.keys_that_navigate(keys).await;
        self.wait_for_next_page(page).await;
    }

    /// Sends keys that start a navigation. ChromeDriver may report the
    /// navigation as an error of the key action ("aborted by navigation");
    /// whether a new page came is what the caller then checks.
    pub async fn keys_that_navigate(&self, keys: impl Into<TypingData>) {
        if let Err(e) = self.driver.action_chain().send_keys(keys).perform().await {
            eprintln!("a key action ended with {e} (a navigation interrupts it)");
        }
    }

    /// Waits until the browser's address is no longer `from` (for a browser
    /// without JavaScript, where only the address can be watched).
    pub async fn wait_to_leave(&self, from: &str) {
        let started = Instant::now();
        while self.path().await == from {
            assert!(started.elapsed() < Duration::from_secs(20), "still on {from} after 20 s");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Waits until the page has an element matching `css`.
    pub async fn wait_for(&self, css: &str) {
        let started = Instant::now();
        while self.driver.find(By::Css(css)).await.is_err() {
            assert!(started.elapsed() < Duration::from_secs(20), "no {css} after 20 s");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// The current document, to tell when another has replaced it.
    async fn page(&self) -> WebElement {
        self.driver.find(By::Tag("html")).await.expect("a page")
    }

    /// Waits until `page` is gone (a new document replaced it) and the new one has loaded.
    async fn wait_for_next_page(&self, page: WebElement) {
        let started = Instant::now();
        while !matches!(page.is_present().await, Ok(false)) {
            assert!(started.elapsed() < Duration::from_secs(20), "no new page within 20 s");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        while !self
            .driver
            .execute("return document.readyState", Vec::new())
            .await
            .is_ok_and(|state| state.json() == "complete")
        {
            assert!(started.elapsed() < Duration::from_secs(20), "the new page did not load within 20 s");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// The id (or else the tag) of the focused element.
    pub async fn focused(&self) -> String {
        let script = "const e = document.activeElement; return e ? (e.id || e.tagName.toLowerCase()) : ''";
        self.script(script).await.as_str().unwrap_or_default().to_owned()
    }

    pub async fn script(&self, script: &str) -> Value {
        self.driver
            .execute(script, Vec::new())
            .await
            .unwrap_or_else(|e| panic!("run a script: {e}"))
            .json()
            .clone()
    }

    /// Emulates the user's colour-scheme and motion preferences.
    pub async fn prefer(&self, color_scheme: &str, reduced_motion: bool) {
        let motion = if reduced_motion { "reduce" } else { "no-preference" };
        self.driver
            .cdp()
            .send_raw(
                "Emulation.setEmulatedMedia",
                json!({ "features": [
                    { "name": "prefers-color-scheme", "value": color_scheme },
                    { "name": "prefers-reduced-motion", "value": motion },
                ]}),
            )
            .await
            .expect("emulate media features");
    }

    /// Gives the phone another screen size in CSS pixels (e.g. 320 × 640).
    pub async fn set_phone_size(&self, width: u32, height: u32) {
        self.driver
            .cdp()
            .send_raw(
                "Emulation.setDeviceMetricsOverride",
                json!({ "width": width, "height": height, "deviceScaleFactor": 2, "mobile": true }),
            )
            .await
            .expect("set the device metrics");
    }

    /// Runs axe-core on the page; returns every violation as `(rule, impact, nodes)`.
    pub async fn axe(&self) -> Vec<(String, String, usize)> {
        let script = format!(
            "{AXE}\n;const done = arguments[arguments.length - 1];\
             axe.run(document, {{ resultTypes: ['violations'] }})\
               .then(r => done(r.violations.map(v => [v.id, v.impact || '', v.nodes.length])))\
               .catch(e => done(String(e)));"
        );
        let result = self.driver.execute_async(&script, Vec::new()).await.expect("run axe-core");
        let violations: Vec<(String, String, usize)> = serde_json::from_value(result.json().clone())
            .unwrap_or_else(|_| panic!("axe-core failed: {}", result.json()));
        violations
    }

    /// Saves a screenshot of the whole page as `target/screenshots/<name>-<viewport>.png`.
    pub async fn screenshot(&self, name: &str) -> PathBuf {
        let shot = self
            .driver
            .cdp()
            .send_raw("Page.captureScreenshot", json!({ "format": "png", "captureBeyondViewport": true }))
            .await
            .expect("capture a screenshot");
        let png = base64::engine::general_purpose::STANDARD
            .decode(shot["data"].as_str().expect("screenshot data"))
            .expect("screenshot PNG");
        let path = screenshots_dir().join(format!("{name}-{}.png", self.viewport.name()));
        std::fs::write(&path, png).expect("write the screenshot");
        path
    }

    /// Screenshots the page, runs axe on it and records the result; fails
    /// on any serious or critical violation.
    pub async fn check_page(&self, name: &str) {
        self.screenshot(name).await;
        let violations = self.axe().await;
        record_axe(name, self.viewport, &violations);
        let grave: Vec<_> =
            violations.iter().filter(|(_, impact, _)| impact == "serious" || impact == "critical").collect();
        assert!(grave.is_empty(), "axe-core: serious or critical violations on {name}: {grave:?}");
    }
}

impl Drop for Chrome {
    fn drop(&mut self) {
        // End the session so Chromium exits before its ChromeDriver is killed.
        let driver = self.driver.clone();
        if let Ok(runtime) = tokio::runtime::Handle::try_current()
            && runtime.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread
        {
            tokio::task::block_in_place(|| {
                runtime.block_on(async {
                    let _ = tokio::time::timeout(Duration::from_secs(10), driver.quit()).await;
                })
            });
        }
        let _ = self.chromedriver.kill();
        let _ = self.chromedriver.wait();
    }
}

#[expect(clippy::zombie_processes, reason = "the caller keeps the child and kills and waits for it on drop")]
async fn start_chromedriver() -> (Child, u16) {
    let port = crate::ports::for_a_later_server();
    let child = Command::new(chromedriver_path())
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start chromedriver");
    let started = Instant::now();
    let status = format!("http://127.0.0.1:{port}/status");
    loop {
        if let Ok(reply) = reqwest::get(&status).await
            && reply.status().is_success()
        {
            return (child, port);
        }
        assert!(started.elapsed() < Duration::from_secs(20), "chromedriver did not start on port {port}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Runs an async test body at both viewports: `$name::phone` and `$name::desktop`.
macro_rules! on_both_viewports {
    ($($name:ident),* $(,)?) => {
        $(
            mod $name {
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn phone() {
                    super::$name($crate::chrome::Viewport::Phone).await;
                }
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn desktop() {
                    super::$name($crate::chrome::Viewport::Desktop).await;
                }
            }
        )*
    };
}
pub(crate) use on_both_viewports;
