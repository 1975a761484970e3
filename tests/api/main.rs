//! Gatehouse's integration tests: the real application, a real SMTP sink and
//! the real CLI, each test on SQLite and on Postgres.
//!
//! Run with `cargo test --test api`; Postgres comes from
//! `GATEHOUSE_TEST_POSTGRES_URL` (default `postgres://postgres@127.0.0.1:5432/postgres`).

mod backend;
mod browser;
mod chrome;
mod helpers;
mod inspect;
mod mail;
mod ports;
mod screenshots;
mod served;
mod smtp_sink;
mod tls_smtp_server;
mod tools;

mod access_log;
mod approval_in_chrome;
mod audit;
mod bounded_hashing;
mod branding;
mod cli;
mod code;
mod code_budget;
mod code_sends;
mod fail_closed;
mod forward_auth;
mod input_limits;
mod instances;
mod library;
mod limit_takes;
mod link;
mod login;
mod mailed_code;
mod new_sign_in;
mod outbox;
mod owner_lockout;
mod pages;
mod pages_in_chrome;
mod password_runs;
mod password_throttle;
mod proxies;
mod resend;
mod revocation;
mod secrets_in_logs;
mod session;
mod session_store;
mod sign_ins_per_ip;
mod starttls;
mod tap_targets;
mod upgrade;
