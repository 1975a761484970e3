//! The session store under the portal's session middleware (and a host
//! app's): a changed session moves to a new key, the old key names nothing
//! on any instance, and a change never brings back a session that a logout
//! ended meanwhile, unless it is a privilege change that starts afresh.

use std::time::{Duration, Instant};

use actix_session::storage::{SessionKey, SessionStore};
use gatehouse::config::SessionRules;
use gatehouse::db::Db;
use gatehouse::db::sessions::key_hash;
use gatehouse::domain::clock::Clock;
use gatehouse::web::session::RENEWED_KEY;
use gatehouse::web::session_store::DbSessionStore;

use crate::backend::{Backend, TestDatabase, on_both_backends};

on_both_backends! {
    a_changed_session_moves_to_a_new_key_and_the_old_one_names_nothing,
    a_change_that_raced_a_logout_is_not_written_back,
    a_renewed_session_is_stored_whatever_became_of_the_old_row,
    the_old_key_names_nothing_on_another_instance_that_had_it_cached,
    a_logout_on_one_instance_names_nothing_on_another_once_it_returned,
}

type State = std::collections::HashMap<String, String>;

const TTL: actix_web::cookie::time::Duration = actix_web::cookie::time::Duration::hours(1);

/// An instance's store on `database`, with its cache on, and that cache's database.
async fn instance(database: &TestDatabase) -> (DbSessionStore, Db) {
    let db = Db::connect(&database.url).await.unwrap();
    db.migrate().await.unwrap();
    let db = db.with_cache().await;
    let rules = SessionRules { idle_secs: 3_600, absolute_secs: 86_400 };
    (DbSessionStore::new(db.clone(), Clock::system(), rules), db)
}

fn state(entries: &[(&str, &str)]) -> State {
    entries.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
}

fn copy(key: &SessionKey) -> SessionKey {
    key.as_ref().to_owned().try_into().unwrap()
}

async fn a_changed_session_moves_to_a_new_key_and_the_old_one_names_nothing(backend: Backend) {
    let database = TestDatabase::create(backend).await;
    let (store, _) = instance(&database).await;
    let old = store.save(state(&[("app.cart", "1")]), &TTL).await.unwrap();

    let new = store.update(copy(&old), state(&[("app.cart", "2")]), &TTL).await.unwrap();

    assert_ne!(new.as_ref(), old.as_ref());
    assert_eq!(store.load(&old).await.unwrap(), None, "the old key still names a session");
    assert_eq!(store.load(&new).await.unwrap(), Some(state(&[("app.cart", "2")])));
}

async fn a_change_that_raced_a_logout_is_not_written_back(backend: Backend) {
    let database = TestDatabase::create(backend).await;
    let (store, _) = instance(&database).await;
    let old = store.save(state(&[("app.cart", "1")]), &TTL).await.unwrap();
    store.delete(&old).await.unwrap();

    let new = store.update(copy(&old), state(&[("app.cart", "2")]), &TTL).await.unwrap();

    assert_eq!(store.load(&new).await.unwrap(), None, "a logged-out session came back");
}

async fn a_renewed_session_is_stored_whatever_became_of_the_old_row(backend: Backend) {
    let database = TestDatabase::create(backend).await;
    let (store, _) = instance(&database).await;
    let old = store.save(state(&[]), &TTL).await.unwrap();
    store.delete(&old).await.unwrap();

    let renewed = state(&[(RENEWED_KEY, "true"), ("gatehouse.born", "1800000000")]);
    let new = store.update(copy(&old), renewed, &TTL).await.unwrap();

    assert_eq!(store.load(&new).await.unwrap(), Some(state(&[("gatehouse.born", "1800000000")])));
}

async fn the_old_key_names_nothing_on_another_instance_that_had_it_cached(backend: Backend) {
    let database = TestDatabase::create(backend).await;
    let (first, _) = instance(&database).await;
    let (second, second_db) = instance(&database).await;
    let old = first.save(state(&[("app.cart", "1")]), &TTL).await.unwrap();
    let cached_on_second = || second_db.cache().session(&key_hash(old.as_ref())).is_some();
    // The second instance reads the session until it keeps it (on Postgres,
    // once its listener is up).
    let deadline = Instant::now() + Duration::from_secs(10);
    while !cached_on_second() {
        assert!(second.load(&old).await.unwrap().is_some(), "the session is there");
        assert!(Instant::now() < deadline, "the second instance never cached the session");
        tokio::task::yield_now().await;
    }

    first.update(copy(&old), state(&[(RENEWED_KEY, "true")]), &TTL).await.unwrap();

    // Postgres tells the other instance asynchronously: wait for the notice, never for long.
    let deadline = Instant::now() + Duration::from_secs(10);
    while second.load(&old).await.unwrap().is_some() {
        assert!(Instant::now() < deadline, "the old key still names a session on the other instance");
        tokio::task::yield_now().await;
    }
}

/// Whatever the other instance cached, it never serves a session whose
/// logout has returned, here the moment it returns, many times over. (On
/// Postgres the logout's notice travels asynchronously: the logout returns
/// once every instance has heard it, or stopped trusting its cache.)
async fn a_logout_on_one_instance_names_nothing_on_another_once_it_returned(backend: Backend) {
    let database = TestDatabase::create(backend).await;
    let (first, _) = instance(&database).await;
    let (second, second_db) = instance(&database).await;
    for round in 0..20 {
        let key = first.save(state(&[("app.round", &round.to_string())]), &TTL).await.unwrap();
        let hash = key_hash(key.as_ref());
        let deadline = Instant::now() + Duration::from_secs(10);
        while second_db.cache().session(&hash).is_none() {
            assert!(second.load(&key).await.unwrap().is_some(), "the session is there");
            assert!(Instant::now() < deadline, "the second instance never cached the session");
            tokio::task::yield_now().await;
        }

        first.delete(&key).await.unwrap();

        assert_eq!(second.load(&key).await.unwrap(), None, "round {round}: a logged-out session was served");
    }
}
