//! The connection released last is kept for the next checkout on the servers (sqlx would
//! ping it on its way back to the pool): sequential work runs on one connection, and a task
//! queued for a connection of an exhausted pool is never left waiting for the kept one.

use crate::common::*;
use coherent::prelude::*;
use std::time::{Duration, Instant};

/// The server's id of the connection a raw query runs on.
async fn connection_id(b: &Backend, em: &EntityManager) -> i64 {
    let sql = if b.is_postgres() {
        "SELECT pg_backend_pid()::int8 AS id"
    } else {
        "SELECT CAST(CONNECTION_ID() AS SIGNED) AS id"
    };
    let rows = em.query(sql, vec![]).await.unwrap();
    rows[0].get("id").unwrap()
}

/// With four connections open and idle in the pool, five statements one after another run
/// on one of them: each takes the connection the one before released (the pool alone hands
/// them out in turn).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sequential_work_runs_on_the_connection_released_last() {
    for b in backends().into_iter().filter(|b| b.is_server()) {
        let _schema = b.orm().await;
        let sep = if b.url().contains('?') { '&' } else { '?' };
        let orm = suite_orm(&format!("{}{sep}max_connections=4", b.url())).await;
        let forks: Vec<_> = (0..4).map(|_| orm.em().fork()).collect();
        for f in &forks {
            f.begin().await.unwrap();
        }
        for f in &forks {
            f.commit().await.unwrap();
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        let em = orm.em().fork();
        let mut ids = Vec::new();
        for _ in 0..5 {
            ids.push(connection_id(&b, &em).await);
        }
        assert!(
            ids.windows(2).all(|w| w[0] == w[1]),
            "{}: connections {ids:?}",
            b.name
        );
    }
}

/// Both connections of a pool of two are in transactions and a third task waits for one;
/// when a transaction ends, its connection goes to the waiting task (the pool has no slack,
/// so it is not kept aside), well within the acquire timeout.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_task_waiting_for_a_connection_gets_the_one_released() {
    for b in backends().into_iter().filter(|b| b.is_server()) {
        let _schema = b.orm().await;
        let sep = if b.url().contains('?') { '&' } else { '?' };
        let orm = suite_orm(&format!(
            "{}{sep}max_connections=2&acquire_timeout_ms=5000",
            b.url()
        ))
        .await;
        let first = orm.em().fork();
        let second = orm.em().fork();
        first.begin().await.unwrap();
        first.count(Filter::<User>::all()).await.unwrap();
        second.begin().await.unwrap();
        second.persist(User::new("w", "w@x.io")).unwrap();
        second.flush().await.unwrap();
        let waiting = {
            let orm = orm.clone();
            tokio::spawn(async move {
                let start = Instant::now();
                let n = orm.em().fork().count(Filter::<User>::all()).await;
                (n, start.elapsed())
            })
        };
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert!(
            !waiting.is_finished(),
            "{}: the pool had no free connection",
            b.name
        );
        second.commit().await.unwrap();
        let (n, waited) = waiting.await.unwrap();
        assert_eq!(n.unwrap(), 1, "{}: sees the committed row", b.name);
        assert!(
            waited < Duration::from_secs(3),
            "{}: waited {waited:?} for a released connection",
            b.name
        );
        first.commit().await.unwrap();
    }
}
