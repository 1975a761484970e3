//! Programs some suites drive (Chromium, nginx). When one is missing, its
//! suite is skipped with one loud warning — except under `CI=true`, where it
//! fails, so CI can never go green without it.

use std::io::Write as _;
use std::path::PathBuf;
use std::sync::OnceLock;

/// The program at `$env`, or at `default`.
pub fn tool(env: &str, default: &str) -> PathBuf {
    std::env::var_os(env).map_or_else(|| default.into(), PathBuf::from)
}

/// True when `suite` must be skipped because one of `tools` is missing;
/// decided (and announced) once per process through `checked`.
pub fn skip_suite(checked: &'static OnceLock<bool>, suite: &str, tools: &[PathBuf], install: &str) -> bool {
    *checked.get_or_init(|| {
        let missing: Vec<String> =
            tools.iter().filter(|p| !p.exists()).map(|p| p.display().to_string()).collect();
        if missing.is_empty() {
            return false;
        }
        if std::env::var("CI").is_ok_and(|v| v == "true") {
            panic!("CI=true but the {suite} tests cannot run: missing {}", missing.join(", "));
        }
        // Straight to stderr: the harness captures eprintln!, and a skipped
        // suite must not go unnoticed.
        let message = format!(
            "\n\
             ************************************************************************\n\
             WARNING: the {suite} tests of Gatehouse were SKIPPED.\n\
             Missing: {}\n\
             {install} With CI=true these tests fail instead.\n\
             ************************************************************************\n\n",
            missing.join(", ")
        );
        let _ = std::io::stderr().write_all(message.as_bytes());
        true
    })
}
