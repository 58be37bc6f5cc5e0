//! Several tasks, forks and Orms on one database; lock waits; the blog's stale-data story.

use crate::common::*;
use coherent::Error;
use coherent::prelude::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_tasks_with_their_own_forks_write_concurrently() {
    for b in backends() {
        let orm = b.orm().await;
        let mut tasks = Vec::new();
        for t in 0..8 {
            let em = orm.em().fork();
            tasks.push(tokio::spawn(async move {
                for i in 0..25 {
                    em.persist(User::new("t", &format!("{t}-{i}@x.io")))?;
                    if i % 5 == 4 {
                        em.flush().await?;
                    }
                }
                em.flush().await?;
                Ok::<_, Error>(())
            }));
        }
        for t in tasks {
            t.await.unwrap().unwrap();
        }
        assert_eq!(user_rows(&orm).await.len(), 200, "{}", b.name);
    }
}

/// The blog post (seed 000): two API instances over one database. A long-lived shared
/// EntityManager serves the stale name; one fork per request serves the fresh one.
#[tokio::test]
async fn a_long_lived_identity_map_serves_stale_data_and_a_fork_per_request_does_not() {
    for b in backends().into_iter().filter(|b| b.shared_between_orms()) {
        let api1 = b.orm().await;
        let api2 = b.second_orm().await;
        let seed = api1.em().fork();
        let john = seed.persist(User::new("John", "john@x.io")).unwrap();
        seed.flush().await.unwrap();
        let id = john.read().id;

        let long_lived = api1.em().fork(); // the mistake: one EntityManager for every request
        assert_eq!(
            long_lived
                .find_one::<User>(id)
                .await
                .unwrap()
                .unwrap()
                .read()
                .name,
            "John"
        );

        let patch = api2.em().fork(); // PATCH /users/1 on the other instance
        patch
            .find_one::<User>(id)
            .await
            .unwrap()
            .unwrap()
            .write()
            .name = "Mike".into();
        patch.flush().await.unwrap();

        let stale = long_lived.find_one::<User>(id).await.unwrap().unwrap();
        assert_eq!(
            stale.read().name,
            "John",
            "the identity map answers without a query"
        );
        let per_request = api1.em().fork();
        assert_eq!(
            per_request
                .find_one::<User>(id)
                .await
                .unwrap()
                .unwrap()
                .read()
                .name,
            "Mike"
        );
        assert!(long_lived.refresh(&stale).await.unwrap());
        assert_eq!(stale.read().name, "Mike");
    }
}

/// Another process holds the write lock longer than the busy timeout: the flush fails with
/// the typed, retryable lock-timeout error and loses nothing (SQLite: a raw rusqlite
/// connection holds the lock).
#[cfg(feature = "sqlite")]
#[tokio::test]
async fn a_lock_wait_over_the_timeout_is_a_typed_error() {
    let path = temp_db_path();
    let url = format!("sqlite://{}?busy_timeout_ms=100", path.display());
    let orm = suite_orm(&url).await;
    let holder = coherent::__private::rusqlite::Connection::open(&path).unwrap();
    holder
        .execute_batch("BEGIN IMMEDIATE; INSERT INTO tags (code, label) VALUES ('h', 'held');")
        .unwrap();

    let em = orm.em().fork();
    let u = em.persist(User::new("a", "a@x.io")).unwrap();
    let err = em.flush().await.unwrap_err();
    assert!(matches!(err, Error::LockTimeout { .. }), "{err:?}");
    assert!(err.is_retryable());
    assert_eq!(u.read().id, 0);
    holder.execute_batch("COMMIT").unwrap();
    em.flush().await.unwrap();
    assert_eq!(user_rows(&orm).await.len(), 1);
    assert!(u.read().id > 0);
    drop(holder);
    remove_db(&path);
}

/// A pool whose connections are all pinned by open transactions makes the next caller wait
/// at most the acquire timeout, on every backend (SQLite waited forever), with the typed,
/// retryable connection error that says nothing was sent; once a transaction ends, its
/// connection serves the next caller.
#[tokio::test]
async fn taking_a_connection_from_an_exhausted_pool_times_out() {
    for b in backends() {
        let sep = if b.url().contains('?') { '&' } else { '?' };
        let url = format!("{}{sep}max_connections=1&acquire_timeout_ms=200", b.url());
        let orm = suite_orm(&url).await;
        let holder = orm.em().fork();
        holder.begin().await.unwrap(); // pins the only connection
        holder.persist(User::new("held", "held@x.io")).unwrap();
        holder.flush().await.unwrap();
        let other = orm.em().fork();
        let start = std::time::Instant::now();
        let err = tokio::time::timeout(
            std::time::Duration::from_secs(10),
            other.count::<User>(Filter::all()),
        )
        .await
        .unwrap_or_else(|_| panic!("{}: waited past the acquire timeout", b.name))
        .unwrap_err();
        assert!(
            matches!(err, Error::Connection { sent: false, .. }) && err.is_retryable(),
            "{}: {err:?}",
            b.name
        );
        assert!(
            start.elapsed() < std::time::Duration::from_secs(5),
            "{}",
            b.name
        );
        holder.commit().await.unwrap();
        assert_eq!(
            other.count::<User>(Filter::all()).await.unwrap(),
            1,
            "{}: the connection is free again and the held transaction committed",
            b.name
        );
    }
}
