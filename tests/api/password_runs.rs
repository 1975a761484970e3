//! Runs of password failures in the database, under attempts that race:
//! every attempt reserved gets its own number, whether the run already
//! exists or the racers start it together, on one instance or two.

use gatehouse::db::Db;
use gatehouse::db::limits::reserve_password_attempt;

use crate::backend::{Backend, TestDatabase, on_both_backends};

on_both_backends! {
    racing_attempts_that_start_a_run_each_get_their_own_number,
    racing_attempts_on_a_run_each_get_their_own_number,
}

const NOW: i64 = 1_800_000_000;
const RACERS: usize = 24;

/// `RACERS` attempts on `bucket` at once, half on each instance; the
/// numbers they were given, sorted. No delay ever applies.
async fn race(instances: &[Db; 2], bucket: &str) -> Vec<i32> {
    let mut racers = tokio::task::JoinSet::new();
    for n in 0..RACERS {
        let (db, bucket) = (instances[n % 2].clone(), bucket.to_owned());
        racers.spawn(async move { reserve_password_attempt(&db, &bucket, NOW, |_| 0).await.unwrap() });
    }
    let mut numbers: Vec<i32> =
        racers.join_all().await.into_iter().map(|r| r.expect("an attempt was turned away")).collect();
    numbers.sort_unstable();
    numbers
}

async fn racing_attempts_that_start_a_run_each_get_their_own_number(backend: Backend) {
    let database = TestDatabase::create(backend).await;
    let instances = database.two_instances().await;

    let numbers = race(&instances, "password:email:ann@example.com").await;

    assert_eq!(numbers, (1..=RACERS as i32).collect::<Vec<_>>(), "two attempts shared a number");
}

async fn racing_attempts_on_a_run_each_get_their_own_number(backend: Backend) {
    let database = TestDatabase::create(backend).await;
    let instances = database.two_instances().await;
    let bucket = "password:ip:203.0.113.7";
    assert_eq!(reserve_password_attempt(&instances[0], bucket, NOW, |_| 0).await.unwrap(), Ok(1));

    let numbers = race(&instances, bucket).await;

    assert_eq!(numbers, (2..=RACERS as i32 + 1).collect::<Vec<_>>(), "two attempts shared a number");
}
