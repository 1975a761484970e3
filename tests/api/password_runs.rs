//! Runs of password failures in the database, under attempts that race:
//! every attempt reserved gets its own number, whether the run already
//! exists or the racers start it together, on one instance or two, and
//! none slips past a delay the run earned; and how runs wait and end.

use gatehouse::db::Db;
use gatehouse::db::password_failures::{Change, Delays, change, reserve};

use crate::backend::{Backend, TestDatabase, on_both_backends};

on_both_backends! {
    racing_attempts_that_start_a_run_each_get_their_own_number,
    racing_attempts_on_a_run_each_get_their_own_number,
    racing_attempts_never_pass_a_delay_the_run_earned,
    a_run_waits_out_its_delay_and_is_forgotten_a_day_after,
    changes_made_together_each_reach_their_own_runs,
    each_failure_earns_the_wait_the_schedule_gives_it,
}

const NOW: i64 = 1_800_000_000;
const RACERS: usize = 24;

fn no_delays() -> Delays {
    Delays::of(|_| 0, 0)
}

/// `RACERS` attempts on `bucket` at once, half on each instance, under
/// `delays`; what each was told, sorted: its number or its wait.
async fn race_with(instances: &[Db; 2], bucket: &str, delays: &Delays) -> Vec<Result<i32, i64>> {
    let mut racers = tokio::task::JoinSet::new();
    for n in 0..RACERS {
        let (db, bucket, delays) = (instances[n % 2].clone(), bucket.to_owned(), delays.clone());
        racers.spawn(async move { reserve(&db, &bucket, NOW, &delays).await.unwrap() });
    }
    let mut told = racers.join_all().await;
    told.sort_unstable();
    told
}

/// The numbers `RACERS` attempts on `bucket` were given, when no delay ever applies.
async fn race(instances: &[Db; 2], bucket: &str) -> Vec<i32> {
    let told = race_with(instances, bucket, &no_delays()).await;
    told.into_iter().map(|r| r.expect("an attempt was turned away")).collect()
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
    assert_eq!(reserve(&instances[0], bucket, NOW, &no_delays()).await.unwrap(), Ok(1));

    let numbers = race(&instances, bucket).await;

    assert_eq!(numbers, (2..=RACERS as i32 + 1).collect::<Vec<_>>(), "two attempts shared a number");
}

async fn racing_attempts_never_pass_a_delay_the_run_earned(backend: Backend) {
    let database = TestDatabase::create(backend).await;
    let instances = database.two_instances().await;
    // Two free failures; the third earns a wait of a minute.
    let delays = Delays::of(|n| if n < 3 { 0 } else { 60 }, 3);

    let told = race_with(&instances, "password:email:ann@example.com", &delays).await;

    let mut expected = vec![Ok(1), Ok(2), Ok(3)];
    expected.resize(RACERS, Err(60));
    assert_eq!(told, expected, "attempts past the third should wait a minute");
}

async fn a_run_waits_out_its_delay_and_is_forgotten_a_day_after(backend: Backend) {
    let database = TestDatabase::create(backend).await;
    let [db, _] = database.two_instances().await;
    let bucket = "password:ip:203.0.113.7";
    let delays = Delays::of(|n| if n < 2 { 0 } else { 60 }, 2);
    let attempt = async |at| reserve(&db, bucket, at, &delays).await.unwrap();
    const DAY: i64 = 86_400;

    assert_eq!((attempt(NOW).await, attempt(NOW).await), (Ok(1), Ok(2)), "the second earns a minute");
    assert_eq!(attempt(NOW + 30).await, Err(30));
    assert_eq!(attempt(NOW + 60).await, Ok(3), "the minute is over (and the next one starts)");
    let day_later = NOW + 120 + DAY;
    assert_eq!(attempt(day_later).await, Ok(4), "a day after its last delay, the run still counts");
    assert_eq!(attempt(day_later + 60 + DAY + 1).await, Ok(1), "more than a day after: a new run");
}

async fn changes_made_together_each_reach_their_own_runs(backend: Backend) {
    let database = TestDatabase::create(backend).await;
    let [db, _] = database.two_instances().await;
    let runs = [
        ("password:email:ann@example.com", 2),
        ("password:browser:7:aa", 2),
        ("password:browser:7:bb", 1),
        ("password:browser:70:cc", 2),
        ("password:ip:203.0.113.7", 3),
        ("password:ip:198.51.100.1", 3),
    ];
    for (bucket, failures) in runs {
        for _ in 0..failures {
            reserve(&db, bucket, NOW, &no_delays()).await.unwrap().unwrap();
        }
    }

    let changes = [
        Change::End("password:email:ann@example.com"),
        Change::EndEveryStarting("password:browser:7:"),
        Change::Forgive("password:ip:203.0.113.7"),
    ];
    change(&db, &changes).await.unwrap();

    let mut next = Vec::new();
    for (bucket, _) in runs {
        next.push(reserve(&db, bucket, NOW, &no_delays()).await.unwrap().unwrap());
    }
    // Ended runs start again; another account's browser and another IP are untouched.
    assert_eq!(next, [1, 1, 1, 3, 3, 4], "the next attempt of each run");
}

async fn each_failure_earns_the_wait_the_schedule_gives_it(backend: Backend) {
    let database = TestDatabase::create(backend).await;
    let [db, _] = database.two_instances().await;
    // Three free failures, then 10, 20 and 40 s, and 40 s for every later one.
    let schedule = |n: i32| if n < 3 { 0 } else { 10 << (n - 3).min(2) };
    let delays = Delays::of(schedule, 5);
    let bucket = "password:email:ann@example.com";

    let (mut at, mut waits) = (NOW, Vec::new());
    for n in 1..=8 {
        assert_eq!(reserve(&db, bucket, at, &delays).await.unwrap(), Ok(n));
        if schedule(n) > 0 {
            waits.push(reserve(&db, bucket, at, &delays).await.unwrap().expect_err("a wait"));
            at += schedule(n);
        }
    }

    assert_eq!(waits, [10, 20, 40, 40, 40, 40], "the waits after the third to the eighth failure");
}
