//! Ports for a server that starts later, or in another process (a proxy,
//! chromedriver, `gatehouse serve`, an SMTP server that comes back).
//!
//! Binding port 0 and letting go hands out a port of the kernel's ephemeral
//! range, and any connection opened in the meantime (by a parallel test, to
//! Postgres, to the SMTP sink) may take it first: CI once saw Traefik fail
//! with "address already in use". These ports come from just below that
//! range, which the kernel never hands out by itself, and each is handed out
//! at most once per test process.

use std::net::TcpListener;
use std::sync::atomic::{AtomicU32, Ordering};

/// How many ports below the ephemeral range the tests may use.
const WINDOW: u16 = 8192;

/// A loopback port nothing listens on, which neither the kernel nor this
/// process will hand out again.
pub fn for_a_later_server() -> u16 {
    static HANDED_OUT: AtomicU32 = AtomicU32::new(0);
    let (first, size) = window();
    // Another test process (a second `cargo test`) starts elsewhere in the window.
    let start = std::process::id() % u32::from(size);
    for _ in 0..size {
        let n = HANDED_OUT.fetch_add(1, Ordering::Relaxed);
        let port = first + u16::try_from((start + n) % u32::from(size)).expect("within the window");
        if TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
    panic!("no free port in 127.0.0.1:{first}..{}", u32::from(first) + u32::from(size));
}

/// The first port and the size of the window: below the ephemeral range,
/// or above it when there is no room below.
fn window() -> (u16, u16) {
    let (low, high) = ephemeral_range();
    if low >= 1024 + WINDOW {
        return (low - WINDOW, WINDOW);
    }
    let above = high.checked_add(1).filter(|&above| above < u16::MAX);
    let above = above.expect("the ephemeral range leaves no room for the tests' ports");
    (above, WINDOW.min(u16::MAX - above))
}

/// The ports the kernel hands out by itself (Linux's default when unknown).
fn ephemeral_range() -> (u16, u16) {
    let range = std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range").unwrap_or_default();
    let mut bounds = range.split_whitespace().map(|n| n.parse::<u16>());
    match (bounds.next(), bounds.next()) {
        (Some(Ok(low)), Some(Ok(high))) => (low, high),
        _ => (32768, 60999),
    }
}

#[test]
fn handed_out_ports_are_never_the_kernels_to_hand_out_and_never_repeat() {
    let (low, high) = ephemeral_range();
    let ports: Vec<u16> = (0..50).map(|_| for_a_later_server()).collect();
    assert!(ports.iter().all(|p| !(low..=high).contains(p)), "{ports:?} within {low}–{high}");
    let distinct: std::collections::HashSet<_> = ports.iter().collect();
    assert_eq!(distinct.len(), ports.len(), "{ports:?}");
}
