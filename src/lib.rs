//! Gatehouse: a login portal — password, then a one-time code by email.
//!
//! The library is the application. An actix-web app mounts a [`Portal`]
//! under a path of its own and guards its handlers with [`SignedInUser`]
//! (see [`web::portal`] and `docs/library.md`); the `gatehouse` binary and
//! the tests run the same portal at the root of its own server
//! (`web::server::Application`).
//!
//! The layers, each using only those before it:
//! `domain` (plain types) ← `config` (settings, checked once) ← `db`
//! (storage) ← `mail` ← `core` (the use cases) ← `web` (actix) ← `cli`.

pub mod config;
pub mod web;

// The layers below the web. Public for the binary, the tests and the
// benches; not an API for embedders, which is `Portal` and `SignedInUser`.
#[doc(hidden)]
pub mod cli;
#[doc(hidden)]
pub mod core;
#[doc(hidden)]
pub mod db;
#[doc(hidden)]
pub mod domain;
#[doc(hidden)]
pub mod mail;

#[cfg(test)]
mod layering;

pub use config::Settings;
pub use web::portal::{Portal, SignedInUser};
