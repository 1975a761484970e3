//! Password hashing is bounded: past `argon2_max_concurrent` running and
//! `argon2_max_queue` waiting, a password step gets a fast 503 with
//! `Retry-After`, and pages that need no hashing keep answering.

use std::sync::Arc;

use reqwest::StatusCode;
use tokio::sync::Barrier;

use crate::backend::{Backend, on_both_backends};
use crate::browser::{assert_is_html_page, form_on};
use crate::helpers::spawn_app_with;

on_both_backends! {
    a_full_hashing_pool_answers_503_with_retry_after_while_pages_still_load,
}

const PASSWORD_POSTS: usize = 12;

async fn a_full_hashing_pool_answers_503_with_retry_after_while_pages_still_load(backend: Backend) {
    let app = spawn_app_with(backend, |s| {
        s.argon2_max_concurrent = 1;
        s.argon2_max_queue = 0;
        // A slower hash, so that the password posts surely overlap.
        s.argon2_iterations = 8;
    })
    .await;
    let page = app.browser.get("/login").await;
    let form = form_on(&page, "/login");
    let barrier = Arc::new(Barrier::new(PASSWORD_POSTS + 1));

    let mut posts = tokio::task::JoinSet::new();
    for n in 0..PASSWORD_POSTS {
        let (browser, barrier) = (app.browser.fork(), barrier.clone());
        let email = format!("someone{n}@example.com");
        let fields = form.with(&[("email", &email), ("password", "not the password at all")]);
        posts.spawn(async move {
            barrier.wait().await;
            browser.post_fields("/login", &fields).await
        });
    }
    let (reader, waiting) = (app.new_browser(), barrier.clone());
    let login_page = tokio::spawn(async move {
        waiting.wait().await;
        reader.get("/login").await
    });
    let replies = posts.join_all().await;
    let login_page = login_page.await.expect("the page load did not panic");

    let statuses: Vec<u16> = replies.iter().map(|r| r.status.as_u16()).collect();
    assert!(
        statuses.iter().all(|s| *s == 401 || *s == 503),
        "each password post is checked (401) or turned away (503), got {statuses:?}"
    );
    let busy: Vec<_> = replies.iter().filter(|r| r.status == StatusCode::SERVICE_UNAVAILABLE).collect();
    assert!(!busy.is_empty(), "at least one post finds the pool full, got {statuses:?}");
    for reply in busy {
        assert_eq!(reply.header("retry-after"), Some("2"), "503 says when to retry");
        assert_is_html_page(reply);
    }
    assert_eq!(login_page.status, StatusCode::OK, "the login page loads meanwhile");
}
