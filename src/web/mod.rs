//! The web layer, and the only one that knows actix-web: the server and the
//! library mount, URLs, cookies, sessions, extractors (CSRF form, signed-in
//! user, requester), middleware, one module per page (`pages`) and the API
//! endpoints (`api`). Each outcome of a use case becomes a page or a status
//! in the module that serves it.

pub mod api;
pub mod cookies;
pub mod csrf;
pub mod error_pages;
pub mod headers;
pub mod pages;
pub mod portal;
pub mod problem;
pub mod requester;
pub mod routes;
pub mod server;
pub mod session;
pub mod session_store;
pub mod sessions;
pub mod signed_in;
pub mod state;
pub mod urls;
