//! What the benchmarks share: a cookie-keeping client, the CSRF field of a
//! page, and a latency report.

use std::time::Duration;

pub fn client() -> anyhow::Result<reqwest::Client> {
    Ok(reqwest::Client::builder().cookie_store(true).redirect(reqwest::redirect::Policy::none()).build()?)
}

pub fn csrf_of(page: &str) -> String {
    let start = page.find("name=\"csrf\" value=\"").map(|i| i + 19).unwrap_or(0);
    page[start..].split('"').next().unwrap_or_default().to_owned()
}

/// Prints p50, p90, p99 and the maximum of `times`.
pub fn report(what: &str, times: &[Duration]) {
    let mut sorted = times.to_vec();
    sorted.sort();
    let at = |q: f64| sorted[((sorted.len() as f64 - 1.0) * q).round() as usize];
    println!(
        "{what:<44} n={:<5} p50={:>8.2?} p90={:>8.2?} p99={:>8.2?} max={:>8.2?}",
        sorted.len(),
        at(0.5),
        at(0.9),
        at(0.99),
        at(1.0)
    );
}
