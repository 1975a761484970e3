//! Gatehouse: a login portal — password, then a one-time code by email.
//!
//! The library is the application. An actix-web app mounts a [`Portal`]
//! under a path of its own and guards its handlers with [`SignedInUser`]
//! (see [`portal`] and `docs/library.md`); the `gatehouse` binary and the
//! tests run the same portal at the root of its own server
//! (`startup::Application`).

pub mod config;
pub mod portal;
pub mod urls;

// The parts of the portal. Public for the binary, the tests and the
// benches; not an API for embedders, which is `Portal` and `SignedInUser`.
#[doc(hidden)]
pub mod audit;
#[doc(hidden)]
pub mod auth;
#[doc(hidden)]
pub mod cli;
#[doc(hidden)]
pub mod db;
#[doc(hidden)]
pub mod error;
#[doc(hidden)]
pub mod http;
#[doc(hidden)]
pub mod mail;
#[doc(hidden)]
pub mod pages;
#[doc(hidden)]
pub mod routes;
#[doc(hidden)]
pub mod startup;

pub use config::Settings;
pub use portal::{Portal, SignedInUser};
