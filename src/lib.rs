//! Gatehouse: a login portal — password, then a one-time code by email.
//!
//! The library is the application: the `gatehouse` binary, the tests and
//! embedders all build the same [`startup::Application`].

pub mod audit;
pub mod auth;
pub mod cli;
pub mod config;
pub mod db;
pub mod error;
pub mod http;
pub mod mail;
pub mod pages;
pub mod routes;
pub mod startup;
pub mod urls;
