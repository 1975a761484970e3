//! Gatehouse's integration tests: the real application, a real SMTP sink and
//! the real CLI, each test on SQLite and on Postgres.
//!
//! Run with `cargo test --test api`; Postgres comes from
//! `GATEHOUSE_TEST_POSTGRES_URL` (default `postgres://postgres@127.0.0.1:5432/postgres`).

mod backend;
mod browser;
mod helpers;
mod mail;
mod smtp_sink;

mod cli;
mod code;
mod forward_auth;
mod link;
mod login;
mod mailed_code;
mod pages;
mod resend;
mod session;
