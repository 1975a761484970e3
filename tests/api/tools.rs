//! Programs some suites drive (Chromium, nginx, Caddy, Traefik). When one is missing, its
//! suite is skipped with one loud warning — except under `CI=true`, where it
//! fails, so CI can never go green without it.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// The program at `$env`, or at `default`.
pub fn tool(env: &str, default: &str) -> PathBuf {
    std::env::var_os(env).map_or_else(|| default.into(), PathBuf::from)
}

/// The program at `$env`, which has no default: a program that must not be
/// confused with another of the same name on `PATH` (upstream Caddy beside
/// Debian's). Unset, it is the path `$env`, which does not exist, so the
/// suite reports it missing.
pub fn tool_from_env(env: &str) -> PathBuf {
    std::env::var_os(env).map_or_else(|| format!("${env}").into(), PathBuf::from)
}

/// The program at `$env`, or the first `program` on `PATH` (pip puts Traefik
/// wherever its Python keeps scripts); `program` alone when there is none.
pub fn tool_on_path(env: &str, program: &str) -> PathBuf {
    if let Some(path) = std::env::var_os(env) {
        return path.into();
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .map(|dir| dir.join(program))
        .find(|candidate| is_executable(candidate))
        .unwrap_or_else(|| program.into())
}

fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt as _;
    path.metadata().is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
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
