//! Every URL of the portal, used by routes, redirects and templates alike.

pub const ACCOUNT: &str = "/";
pub const LOGIN: &str = "/login";
pub const CODE: &str = "/login/code";
pub const RESEND: &str = "/login/code/resend";
pub const LINK: &str = "/login/link";
pub const LOGOUT: &str = "/logout";
pub const VERIFY: &str = "/auth/verify";
pub const HEALTHZ: &str = "/healthz";
pub const READYZ: &str = "/readyz";
pub const STATIC: &str = "/static";
pub const STYLESHEET: &str = "/static/gatehouse.css";
/// The accent colour and the operator's custom CSS, linked after `STYLESHEET`.
pub const SITE_STYLESHEET: &str = "/static/site.css";
