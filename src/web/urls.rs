//! Every URL of the portal, written once: `portal_urls!` below makes of each
//! entry a route relative to where the portal is mounted (`route::LOGIN`,
//! for the router) and a full path under the mount point (`Urls::login`,
//! for pages, redirects and mails). At the root, where `gatehouse serve`
//! runs it, the two are the same; mounted at `/auth`, `/auth/login`.

/// Defines `route::<NAME>` and `Urls::<name>` from one list.
macro_rules! portal_urls {
    ($($(#[$doc:meta])* $field:ident / $route:ident = $path:literal,)*) => {
        /// The routes, relative to the mount point.
        pub mod route {
            $($(#[$doc])* pub const $route: &str = $path;)*
        }

        /// The portal's paths under its mount point, computed once at start-up.
        #[derive(Clone, Debug, PartialEq, Eq)]
        pub struct Urls {
            /// `""` at the root, else `/auth`: no trailing slash.
            pub mount: String,
            $($(#[$doc])* pub $field: String,)*
        }

        impl Urls {
            fn under(mount: &str) -> Self {
                Self { $($field: format!("{mount}{}", route::$route),)* mount: mount.to_owned() }
            }
        }
    };
}

portal_urls! {
    /// The account page: where a sign-in lands.
    account / ACCOUNT = "/",
    login / LOGIN = "/login",
    code / CODE = "/login/code",
    /// Where the waiting sign-in stands, for the code page's script.
    code_status / CODE_STATUS = "/login/code/status",
    resend / RESEND = "/login/code/resend",
    /// The emailed link, before its `?token=`.
    link / LINK = "/login/link",
    logout / LOGOUT = "/logout",
    /// Forward-auth, for proxies.
    verify / VERIFY = "/auth/verify",
    healthz / HEALTHZ = "/healthz",
    readyz / READYZ = "/readyz",
    stylesheet / STYLESHEET = "/static/gatehouse.css",
    /// The accent colour and the operator's custom CSS, linked after `stylesheet`.
    site_stylesheet / SITE_STYLESHEET = "/static/site.css",
    /// Continues a waiting sign-in once it is approved on another device.
    waiting_script / WAITING_SCRIPT = "/static/waiting.js",
}

/// The embedded files, `{path}` being the file's name (a route pattern only).
pub const STATIC_FILES: &str = "/static/{path:.*}";

impl Urls {
    /// The portal at the root of its origin.
    pub fn at_root() -> Self {
        Self::mounted_at("").expect("the root is a valid mount point")
    }

    /// The portal under `mount`: `""` or `/` for the root, else a path such as
    /// `/auth` or `/account/sign-in` (letters, digits, `-`, `_`, `.`, `~`; no
    /// `.` or `..` segment). A trailing slash is dropped.
    pub fn mounted_at(mount: &str) -> Result<Self, String> {
        let mount = mount.strip_suffix('/').unwrap_or(mount);
        if !mount.is_empty() {
            let segments = mount.strip_prefix('/').ok_or_else(|| invalid(mount))?.split('/');
            let plain = |c: char| c.is_ascii_alphanumeric() || "-_.~".contains(c);
            for segment in segments {
                if segment.is_empty() || segment == "." || segment == ".." || !segment.chars().all(plain) {
                    return Err(invalid(mount));
                }
            }
        }
        Ok(Self::under(mount))
    }
}

impl Urls {
    /// The sign-in page, with `return_to` when there is one (already checked
    /// by `ReturnPolicy`), form-encoded.
    pub fn login_returning_to(&self, return_to: Option<&str>) -> String {
        match return_to {
            Some(target) => {
                let query = url::form_urlencoded::Serializer::new(String::new())
                    .append_pair("return_to", target)
                    .finish();
                format!("{}?{query}", self.login)
            }
            None => self.login.clone(),
        }
    }

    /// True for the account page, with or without its trailing slash.
    pub fn is_account(&self, path: &str) -> bool {
        path.trim_end_matches('/') == self.account.trim_end_matches('/')
    }
}

fn invalid(mount: &str) -> String {
    format!("the portal cannot be mounted at {mount:?}: use a path such as \"/auth\"")
}

#[cfg(test)]
mod tests {
    use super::Urls;

    #[test]
    fn at_the_root_the_paths_are_the_routes() {
        let urls = Urls::at_root();
        assert_eq!(urls.account, "/");
        assert_eq!(urls.login, "/login");
        assert_eq!(urls.stylesheet, "/static/gatehouse.css");
        assert_eq!(Urls::mounted_at("/").unwrap(), urls);
    }

    #[test]
    fn under_a_mount_every_path_starts_with_it() {
        let urls = Urls::mounted_at("/auth/").unwrap();
        assert_eq!(urls.mount, "/auth");
        assert_eq!(urls.account, "/auth/");
        assert_eq!(urls.login, "/auth/login");
        assert_eq!(urls.link, "/auth/login/link");
        assert_eq!(urls.verify, "/auth/auth/verify");
        assert_eq!(urls.site_stylesheet, "/auth/static/site.css");
        assert_eq!(Urls::mounted_at("/my-app/sign_in").unwrap().login, "/my-app/sign_in/login");
        assert_eq!(
            urls.login_returning_to(Some("/notes?a=1&b=2")),
            "/auth/login?return_to=%2Fnotes%3Fa%3D1%26b%3D2"
        );
        assert_eq!(urls.login_returning_to(None), "/auth/login");
        assert!(urls.is_account("/auth") && urls.is_account("/auth/") && !urls.is_account("/authx"));
        assert!(Urls::at_root().is_account("/") && !Urls::at_root().is_account("/notes"));
    }

    #[test]
    fn a_mount_that_is_not_a_plain_path_is_refused() {
        for bad in
            ["auth", "//auth", "/auth//x", "/a/../b", "/./a", "/a b", "/a?x", "/a#x", "/é", "https://x/a"]
        {
            assert!(Urls::mounted_at(bad).is_err(), "{bad:?} was accepted");
        }
    }
}
