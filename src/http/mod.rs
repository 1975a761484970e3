//! HTTP plumbing shared by every route: security headers, error pages,
//! the client's IP.

pub mod client_ip;
pub mod cookies;
pub mod error_pages;
pub mod headers;
pub mod sessions;
