//! The endpoints that are not pages: forward-auth for proxies, health for
//! load balancers, and the static files.

pub mod forward_auth;
pub mod health;
pub mod static_files;
