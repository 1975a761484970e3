//! A cookie-keeping HTTP client that behaves like a browser without
//! JavaScript: it never follows redirects (so tests can assert 303s), submits
//! forms the way a browser would (every hidden field included), and can
//! replay an old cookie to prove it no longer works.

use std::sync::Arc;

use reqwest::StatusCode;
use reqwest::cookie::{CookieStore as _, Jar};
use reqwest::header::HeaderMap;
use scraper::{Html, Selector};

pub const SESSION_COOKIE: &str = "gatehouse_session";

/// A response read in full, so a test can look at it as often as it likes.
#[derive(Debug)]
pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub cookies: Vec<SetCookie>,
    pub body: String,
    /// `Location`, with this app's own origin stripped (`/login/code`).
    pub location: Option<String>,
}

#[derive(Debug, Clone)]
pub struct SetCookie {
    pub name: String,
    pub http_only: bool,
    pub secure: bool,
    pub same_site_lax: bool,
    pub path: Option<String>,
}

impl Reply {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The values of every `<input name=…>` of that name on the page.
    pub fn input_values(&self, name: &str) -> Vec<String> {
        let selector = Selector::parse(&format!("input[name=\"{name}\"]")).expect("selector");
        Html::parse_document(&self.body)
            .select(&selector)
            .filter_map(|input| input.attr("value").map(str::to_owned))
            .collect()
    }

    /// The first element matching a CSS selector, as (attributes, text).
    pub fn element(&self, css: &str) -> Option<Vec<(String, String)>> {
        let selector = Selector::parse(css).expect("selector");
        Html::parse_document(&self.body)
            .select(&selector)
            .next()
            .map(|el| el.value().attrs().map(|(k, v)| (k.to_owned(), v.to_owned())).collect())
    }

    /// The text of the first element matching a CSS selector.
    pub fn text_of(&self, css: &str) -> Option<String> {
        let selector = Selector::parse(css).expect("selector");
        Html::parse_document(&self.body).select(&selector).next().map(|el| el.text().collect())
    }

    pub fn has_form(&self, action: &str) -> bool {
        find_form(&self.body, action).is_some()
    }
}

#[derive(Clone)]
pub struct Browser {
    pub base: String,
    client: reqwest::Client,
    jar: Arc<Jar>,
}

impl Browser {
    pub fn new(base: &str) -> Browser {
        Self::with_client(base, reqwest::Client::builder())
    }

    /// A new browser that names itself with `user_agent`.
    pub fn with_user_agent(&self, user_agent: &str) -> Browser {
        Self::with_client(&self.base, reqwest::Client::builder().user_agent(user_agent))
    }

    fn with_client(base: &str, builder: reqwest::ClientBuilder) -> Browser {
        let jar = Arc::new(Jar::default());
        let client = builder
            .cookie_provider(jar.clone())
            .redirect(reqwest::redirect::Policy::none())
            .timeout(std::time::Duration::from_secs(30))
            .build()
            .expect("build the HTTP client");
        Browser { base: base.to_owned(), client, jar }
    }

    /// A second browser holding a copy of this one's cookies as they are now;
    /// from then on each lives its own life. Replaying a fork's stale cookies
    /// is how a test proves a rotated or ended session is dead.
    pub fn fork(&self) -> Browser {
        let browser = Browser::new(&self.base);
        let url = url::Url::parse(&self.base).expect("base URL");
        if let Some(header) = self.jar.cookies(&url) {
            for pair in header.to_str().expect("cookies are ASCII").split("; ") {
                browser.jar.add_cookie_str(&format!("{pair}; Path=/"), &url);
            }
        }
        browser
    }

    /// Sets a cookie as if the server had, the way an attacker plants one.
    pub fn plant_cookie(&self, name: &str, value: &str) {
        let url = url::Url::parse(&self.base).expect("base URL");
        self.jar.add_cookie_str(&format!("{name}={value}; Path=/"), &url);
    }

    pub fn url(&self, path: &str) -> String {
        if path.starts_with("http://") || path.starts_with("https://") {
            path.to_owned()
        } else {
            format!("{}{path}", self.base)
        }
    }

    pub fn cookie(&self, name: &str) -> Option<String> {
        let url = url::Url::parse(&self.base).expect("base URL");
        let header = self.jar.cookies(&url)?;
        header.to_str().ok()?.split("; ").find_map(|pair| {
            let (key, value) = pair.split_once('=')?;
            (key == name || key == format!("__Host-{name}")).then(|| value.to_owned())
        })
    }

    pub fn session_cookie(&self) -> Option<String> {
        self.cookie(SESSION_COOKIE)
    }

    pub async fn get(&self, path: &str) -> Reply {
        self.send(self.client.get(self.url(path))).await
    }

    pub async fn get_with_headers(&self, path: &str, headers: &[(&str, &str)]) -> Reply {
        let mut request = self.client.get(self.url(path));
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        self.send(request).await
    }

    pub async fn post_form(&self, path: &str, fields: &[(&str, &str)]) -> Reply {
        self.send(self.client.post(self.url(path)).form(fields)).await
    }

    pub async fn post_form_with_headers(
        &self,
        path: &str,
        fields: &[(&str, &str)],
        headers: &[(&str, &str)],
    ) -> Reply {
        let mut request = self.client.post(self.url(path)).form(fields);
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        self.send(request).await
    }

    pub async fn post_fields(&self, path: &str, fields: &[(String, String)]) -> Reply {
        self.send(self.client.post(self.url(path)).form(fields)).await
    }

    pub async fn post_raw(&self, path: &str, content_type: &str, body: Vec<u8>) -> Reply {
        let request = self.client.post(self.url(path)).header("content-type", content_type).body(body);
        self.send(request).await
    }

    /// Submits the page's `POST` form whose action is `action`, with all its
    /// fields as the page filled them in and `changes` typed over them.
    pub async fn submit(&self, page: &Reply, action: &str, changes: &[(&str, &str)]) -> Reply {
        let form = form_on(page, action);
        let fields = form.with(changes);
        let fields: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        self.post_form(&form.action, &fields).await
    }

    /// Opens `page_path` (which must answer 200) and submits its form.
    pub async fn open_and_submit(&self, page_path: &str, action: &str, changes: &[(&str, &str)]) -> Reply {
        let page = self.get(page_path).await;
        assert_status(&page, StatusCode::OK);
        self.submit(&page, action, changes).await
    }

    /// Like `open_and_submit`, with extra request headers on the POST
    /// (`X-Forwarded-For`, say).
    pub async fn open_and_submit_with_headers(
        &self,
        page_path: &str,
        action: &str,
        changes: &[(&str, &str)],
        headers: &[(&str, &str)],
    ) -> Reply {
        let page = self.get(page_path).await;
        assert_status(&page, StatusCode::OK);
        let form = form_on(&page, action);
        let fields = form.with(changes);
        let fields: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        self.post_form_with_headers(&form.action, &fields, headers).await
    }

    pub async fn enter_password(&self, email: &str, password: &str) -> Reply {
        self.enter_password_from("/login", email, password).await
    }

    pub async fn enter_password_from(&self, login_page: &str, email: &str, password: &str) -> Reply {
        self.open_and_submit(login_page, "/login", &[("email", email), ("password", password)]).await
    }

    pub async fn enter_code(&self, code: &str) -> Reply {
        self.open_and_submit("/login/code", "/login/code", &[("code", code)]).await
    }

    pub async fn resend_code(&self) -> Reply {
        self.open_and_submit("/login/code", "/login/code/resend", &[]).await
    }

    /// Opens the mailed link and presses "Continue".
    pub async fn log_out(&self) -> Reply {
        self.open_and_submit("/", "/logout", &[]).await
    }

    async fn send(&self, request: reqwest::RequestBuilder) -> Reply {
        let response = request.send().await.expect("the server answers");
        let status = response.status();
        let headers = response.headers().clone();
        let cookies = response
            .cookies()
            .map(|c| SetCookie {
                name: c.name().to_owned(),
                http_only: c.http_only(),
                secure: c.secure(),
                same_site_lax: c.same_site_lax(),
                path: c.path().map(str::to_owned),
            })
            .collect();
        let location = headers
            .get("location")
            .and_then(|v| v.to_str().ok())
            .map(|l| l.strip_prefix(&self.base).map(str::to_owned).unwrap_or_else(|| l.to_owned()))
            .map(|l| if l.is_empty() { "/".to_owned() } else { l });
        let body = response.text().await.expect("read the response body");
        Reply { status, headers, cookies, body, location }
    }
}

/// A `<form method="post">` read off a page.
#[derive(Debug, Clone)]
pub struct Form {
    pub action: String,
    pub fields: Vec<(String, String)>,
}

impl Form {
    pub fn with(&self, changes: &[(&str, &str)]) -> Vec<(String, String)> {
        let mut fields = self.fields.clone();
        for (name, value) in changes {
            match fields.iter_mut().find(|(k, _)| k == name) {
                Some(field) => field.1 = (*value).to_owned(),
                None => fields.push(((*name).to_owned(), (*value).to_owned())),
            }
        }
        fields
    }

    pub fn field(&self, name: &str) -> Option<&str> {
        self.fields.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }
}

/// The page's POST form to `action`; panics, showing the page, if there is none.
pub fn form_on(page: &Reply, action: &str) -> Form {
    find_form(&page.body, action).unwrap_or_else(|| {
        panic!("no <form method=post action={action}> on the page (status {}):\n{}", page.status, page.body)
    })
}

fn find_form(html: &str, action: &str) -> Option<Form> {
    let document = Html::parse_document(html);
    let forms = Selector::parse("form").expect("selector");
    let inputs = Selector::parse("input[name]").expect("selector");
    document.select(&forms).find_map(|form| {
        let method = form.attr("method").unwrap_or("get");
        let form_action = form.attr("action")?;
        if !method.eq_ignore_ascii_case("post") || action_path(form_action) != action {
            return None;
        }
        let fields = form
            .select(&inputs)
            .filter(|input| {
                let kind = input.attr("type").unwrap_or("text").to_ascii_lowercase();
                match kind.as_str() {
                    "submit" | "button" | "image" | "reset" => false,
                    "checkbox" | "radio" => input.attr("checked").is_some(),
                    _ => true,
                }
            })
            .filter_map(|input| {
                Some((input.attr("name")?.to_owned(), input.attr("value").unwrap_or_default().to_owned()))
            })
            .collect();
        Some(Form { action: form_action.to_owned(), fields })
    })
}

/// `/login/code` from `/login/code`, `/login/code?x=y` or `http://host/login/code`.
fn action_path(action: &str) -> &str {
    let without_origin = match action.find("://") {
        Some(i) => action[i + 3..].find('/').map_or("/", |j| &action[i + 3 + j..]),
        None => action,
    };
    without_origin.split(['?', '#']).next().unwrap_or_default()
}

pub fn assert_status(reply: &Reply, expected: StatusCode) {
    assert_eq!(
        reply.status, expected,
        "expected status {expected}, got {} (Location: {:?}); body:\n{}",
        reply.status, reply.location, reply.body
    );
}

/// A 429 page with a `Retry-After` of at least one second; returns the seconds.
pub fn assert_too_many_requests(reply: &Reply) -> u64 {
    assert_status(reply, StatusCode::TOO_MANY_REQUESTS);
    assert_is_html_page(reply);
    let retry_after = reply.header("retry-after");
    match retry_after.and_then(|v| v.trim().parse::<u64>().ok()) {
        Some(secs) if secs >= 1 => secs,
        _ => panic!("expected Retry-After of at least 1 second, got {retry_after:?}; body:\n{}", reply.body),
    }
}

/// A `303 See Other` to `path` on this app.
pub fn assert_redirects_to(reply: &Reply, path: &str) {
    assert_eq!(
        (reply.status, reply.location.as_deref()),
        (StatusCode::SEE_OTHER, Some(path)),
        "expected a 303 to {path}; body:\n{}",
        reply.body
    );
}

/// Case-insensitive, ignoring runs of whitespace (templates wrap lines).
pub fn assert_page_says(reply: &Reply, text: &str) {
    assert!(
        page_says(reply, text),
        "expected the page (status {}) to say {text:?}; body:\n{}",
        reply.status,
        reply.body
    );
}

pub fn page_says(reply: &Reply, text: &str) -> bool {
    let squash = |s: &str| s.split_whitespace().collect::<Vec<_>>().join(" ").to_lowercase();
    squash(&reply.body).contains(&squash(text))
}

/// A `303 See Other` to the login page (a notice in the query is fine).
pub fn assert_redirects_to_login(reply: &Reply) {
    let path = reply.location.as_deref().map(|l| l.split(['?', '#']).next().unwrap_or_default());
    assert_eq!(
        (reply.status, path),
        (StatusCode::SEE_OTHER, Some("/login")),
        "expected a 303 to /login; body:\n{}",
        reply.body
    );
}

pub fn assert_is_html_page(reply: &Reply) {
    let content_type = reply.header("content-type").unwrap_or_default();
    assert!(
        content_type.starts_with("text/html"),
        "expected an HTML page, got content-type {content_type:?} (status {}); body:\n{}",
        reply.status,
        reply.body
    );
}
