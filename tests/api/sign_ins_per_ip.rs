//! Sign-in starts per client IP: every `POST /login` counts. The client IP
//! comes from `X-Forwarded-For` only when the peer is a trusted proxy, so a
//! forged header buys no fresh budget; an IPv6 client is its /64, and an
//! IPv4-mapped address is the IPv4 address.

use reqwest::StatusCode;

use crate::backend::{Backend, on_both_backends};
use crate::browser::{
    Browser, Reply, assert_page_says, assert_redirects_to, assert_status, assert_too_many_requests,
};
use crate::helpers::spawn_app_with;

on_both_backends! {
    the_fourth_sign_in_from_one_address_in_an_hour_is_refused_with_429,
    a_forged_x_forwarded_for_buys_no_fresh_budget,
    behind_a_trusted_proxy_each_forwarded_client_has_its_own_budget,
    every_address_of_one_ipv6_64_shares_one_budget,
    a_mapped_ipv4_address_shares_the_budget_of_the_ipv4_address,
}

const WRONG: &str = "not the password at all";

async fn the_fourth_sign_in_from_one_address_in_an_hour_is_refused_with_429(backend: Backend) {
    let app = spawn_app_with(backend, |s| s.sign_ins_per_ip_per_hour = 3).await;
    for n in 1..=3 {
        let reply = app.browser.enter_password(&someone(n), WRONG).await;
        assert_status(&reply, StatusCode::UNAUTHORIZED);
    }

    let fourth = app.browser.enter_password(&app.user.email, &app.user.password).await;

    assert_too_many_requests(&fourth);
    assert_page_says(&fourth, "try again in");
}

async fn a_forged_x_forwarded_for_buys_no_fresh_budget(backend: Backend) {
    let app = spawn_app_with(backend, |s| s.sign_ins_per_ip_per_hour = 3).await;
    for n in 1..=3 {
        let reply = sign_in_forwarded_for(&app.browser, &someone(n), WRONG, n).await;
        assert_status(&reply, StatusCode::UNAUTHORIZED);
    }

    let fourth = sign_in_forwarded_for(&app.browser, &app.user.email, &app.user.password, 4).await;

    assert_too_many_requests(&fourth);
}

async fn behind_a_trusted_proxy_each_forwarded_client_has_its_own_budget(backend: Backend) {
    let app = spawn_app_with(backend, |s| {
        s.sign_ins_per_ip_per_hour = 3;
        s.trusted_proxies = vec!["127.0.0.1/32".into()];
    })
    .await;
    for n in 1..=3 {
        let reply = sign_in_forwarded_for(&app.browser, &someone(n), WRONG, 1).await;
        assert_status(&reply, StatusCode::UNAUTHORIZED);
    }

    let same_client = sign_in_forwarded_for(&app.browser, &someone(4), WRONG, 1).await;
    let other_client = sign_in_forwarded_for(&app.browser, &app.user.email, &app.user.password, 2).await;

    assert_too_many_requests(&same_client);
    assert_redirects_to(&other_client, "/login/code");
}

async fn every_address_of_one_ipv6_64_shares_one_budget(backend: Backend) {
    let app = app_behind_a_proxy_with_three_sign_ins_per_ip(backend).await;
    for n in 1..=3 {
        let reply = sign_in_from(&app.browser, &someone(n), WRONG, &format!("2001:db8:1:2::{n}")).await;
        assert_status(&reply, StatusCode::UNAUTHORIZED);
    }

    let same_64 = sign_in_from(&app.browser, &someone(4), WRONG, "2001:db8:1:2:ffff:ffff:ffff:ffff").await;
    let next_64 = sign_in_from(&app.browser, &app.user.email, &app.user.password, "2001:db8:1:3::1").await;

    assert_too_many_requests(&same_64);
    assert_redirects_to(&next_64, "/login/code");
}

async fn a_mapped_ipv4_address_shares_the_budget_of_the_ipv4_address(backend: Backend) {
    let app = app_behind_a_proxy_with_three_sign_ins_per_ip(backend).await;
    for n in 1..=3 {
        let reply = sign_in_from(&app.browser, &someone(n), WRONG, "198.51.100.7").await;
        assert_status(&reply, StatusCode::UNAUTHORIZED);
    }

    let mapped = sign_in_from(&app.browser, &app.user.email, &app.user.password, "::ffff:198.51.100.7").await;

    assert_too_many_requests(&mapped);
}

async fn app_behind_a_proxy_with_three_sign_ins_per_ip(backend: Backend) -> crate::helpers::TestApp {
    spawn_app_with(backend, |s| {
        s.sign_ins_per_ip_per_hour = 3;
        s.trusted_proxies = vec!["127.0.0.1/32".into()];
    })
    .await
}

/// A password step whose request says it was forwarded for 203.0.113.`client`.
async fn sign_in_forwarded_for(browser: &Browser, email: &str, password: &str, client: u8) -> Reply {
    sign_in_from(browser, email, password, &format!("203.0.113.{client}")).await
}

/// A password step whose request says it was forwarded for `forwarded_for`.
async fn sign_in_from(browser: &Browser, email: &str, password: &str, forwarded_for: &str) -> Reply {
    browser
        .open_and_submit_with_headers(
            "/login",
            "/login",
            &[("email", email), ("password", password)],
            &[("X-Forwarded-For", forwarded_for)],
        )
        .await
}

/// A different unknown address each time, so no per-address delay gets in the way.
fn someone(n: u8) -> String {
    format!("someone{n}@example.com")
}
