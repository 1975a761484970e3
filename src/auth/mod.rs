//! The rules of signing in: passwords, codes, sessions, CSRF, redirects.

pub mod access;
pub mod challenge;
pub mod code;
pub mod csrf;
pub mod display_name;
pub mod email;
pub mod keys;
pub mod known_browser;
pub mod password;
pub mod return_to;
pub mod session;
pub mod signed_in;
pub mod throttle;
