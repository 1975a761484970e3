//! Rolling-window limits in the database, under takes that race: however
//! many arrive at once, on one instance or two, a limit never counts past
//! its maximum, and a take of several limits counts in all or in none.

use std::sync::Arc;

use gatehouse::db::Db;
use gatehouse::db::limits::{Limit, count, take};
use tokio::sync::Barrier;

use crate::backend::{Backend, TestDatabase, on_both_backends};

on_both_backends! {
    racing_takes_never_count_past_the_maximum,
    racing_takes_of_two_limits_count_in_both_or_in_neither,
}

const NOW: i64 = 1_800_000_000;
const RACERS: usize = 48;

fn limit(bucket: &str, max: i64) -> Limit {
    Limit { bucket: bucket.into(), max, window_secs: 3600 }
}

/// `RACERS` takes at once, half on each instance, racer `n` taking
/// `limits_of(n)`; how many were granted.
async fn race(instances: &[Db; 2], limits_of: impl Fn(usize) -> Vec<Limit>) -> usize {
    let barrier = Arc::new(Barrier::new(RACERS));
    let mut racers = tokio::task::JoinSet::new();
    for n in 0..RACERS {
        let (db, limits, barrier) = (instances[n % 2].clone(), limits_of(n), barrier.clone());
        racers.spawn(async move {
            barrier.wait().await;
            take(&db, NOW, &limits).await.expect("a take failed").is_ok()
        });
    }
    racers.join_all().await.into_iter().filter(|granted| *granted).count()
}

async fn racing_takes_never_count_past_the_maximum(backend: Backend) {
    let database = TestDatabase::create(backend).await;
    let instances = database.two_instances().await;
    let five = limit("code-send:user:1", 5);

    let granted = race(&instances, |_| vec![five.clone()]).await;

    assert_eq!(granted, 5, "takes granted");
    assert_eq!(count(&instances[0], &five, NOW).await.unwrap(), 5, "events counted");
}

async fn racing_takes_of_two_limits_count_in_both_or_in_neither(backend: Backend) {
    let database = TestDatabase::create(backend).await;
    let instances = database.two_instances().await;
    let (roomy, tight) = (limit("sign-in:ip:203.0.113.7", 1000), limit("sign-in:all", 7));

    // Half the racers name the two limits in one order, half in the other.
    let granted = race(&instances, |n| match n % 4 < 2 {
        true => vec![roomy.clone(), tight.clone()],
        false => vec![tight.clone(), roomy.clone()],
    })
    .await;

    assert_eq!(granted, 7, "takes granted");
    let counted =
        (count(&instances[0], &roomy, NOW).await.unwrap(), count(&instances[1], &tight, NOW).await.unwrap());
    assert_eq!(counted, (7, 7), "events counted in (the roomy limit, the tight one)");
}
