//! Gatehouse: a login portal — password, then a one-time code by email.
//!
//! The library is the application: the `gatehouse` binary and the tests
//! build [`startup::Application`], which is a [`Portal`] mounted at the
//! root; an actix-web app mounts a [`Portal`] under a path of its own and
//! guards its handlers with [`SignedInUser`] (see [`portal`]).

pub mod audit;
pub mod auth;
pub mod cli;
pub mod config;
pub mod db;
pub mod error;
pub mod http;
pub mod mail;
pub mod pages;
pub mod portal;
pub mod routes;
pub mod startup;
pub mod urls;

pub use config::Settings;
pub use portal::{Portal, SignedInUser};
