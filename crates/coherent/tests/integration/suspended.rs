//! Work beside a suspended transaction (issue 10, defects 2 and 3): a `RequiresNew` or
//! `NotSupported` scope inside a transaction must never wait for the transaction it
//! suspended, which waits for it. Every test is bounded: a regression fails instead of
//! hanging the suite.

use crate::common::*;
use coherent::Error;
use coherent::prelude::*;
use std::time::{Duration, Instant};

fn propagation(p: Propagation) -> TxOptions {
    TxOptions {
        propagation: p,
        ..Default::default()
    }
}

/// Runs `fut`, failing the test if it takes longer than a few seconds (it used to hang).
async fn bounded<F: std::future::Future>(what: &str, fut: F) -> F::Output {
    tokio::time::timeout(Duration::from_secs(15), fut)
        .await
        .unwrap_or_else(|_| panic!("{what}: hung"))
}

/// Asserts that a refusal came at once, not after a timeout.
fn at_once(start: Instant, what: &str) {
    assert!(
        start.elapsed() < Duration::from_secs(3),
        "{what}: refused after {:?}, not at once",
        start.elapsed()
    );
}

/// `NotSupported` inside a transaction on a pool of one: the only connection is pinned by the
/// suspended transaction, so the scope's query and flush fail at once with
/// `ConnectionsPinned` (SQLite waited forever, the servers for the acquire timeout); the
/// outer transaction goes on and commits its own write, and nothing of the scope is written.
#[tokio::test]
async fn not_supported_on_a_pool_the_suspended_transaction_holds_fails_at_once() {
    for b in backends() {
        let orm = suite_orm(&with_param(b.url(), "max_connections=1")).await;
        let em = orm.em().fork();
        let start = Instant::now();
        let name = b.name;
        bounded(
            b.name,
            em.transactional(|tx| async move {
                tx.persist(User::new("outer", "outer@x.io"))?;
                tx.flush().await?;
                let err = tx
                    .transactional_with(
                        propagation(Propagation::NotSupported),
                        |outside| async move { outside.count::<User>(Filter::all()).await },
                    )
                    .await
                    .unwrap_err();
                assert!(
                    matches!(err, Error::ConnectionsPinned { max_connections: 1 }),
                    "{name}: {err:?}"
                );
                assert!(!err.is_retryable());
                assert!(err.to_string().contains("wait forever"), "{err}");
                // A write outside the transaction is refused when its flush takes a connection.
                let err = tx
                    .transactional_with(
                        propagation(Propagation::NotSupported),
                        |outside| async move {
                            outside.persist(User::new("outside", "outside@x.io"))?;
                            Ok::<_, Error>(())
                        },
                    )
                    .await
                    .unwrap_err();
                assert!(
                    matches!(err, Error::ConnectionsPinned { max_connections: 1 }),
                    "{name}: {err:?}"
                );
                at_once(start, name);
                // The transaction itself goes on.
                assert_eq!(tx.count::<User>(Filter::all()).await?, 1);
                Ok::<_, Error>(())
            }),
        )
        .await
        .unwrap();
        let names: Vec<_> = user_rows(&orm).await.into_iter().map(|r| r.1).collect();
        assert_eq!(
            names,
            ["outer"],
            "{}: the outer transaction committed",
            b.name
        );
        // The pool serves the next unit of work.
        let after = orm.em().fork();
        after.persist(User::new("after", "after@x.io")).unwrap();
        after.flush().await.unwrap();
        assert_eq!(user_rows(&orm).await.len(), 2, "{}", b.name);
    }
}

/// `RequiresNew` needs a second connection: on a pool of one it fails at once with
/// `ConnectionsPinned` (it waited for the acquire timeout); with two, a `RequiresNew` inside
/// the `RequiresNew` finds both held by the task's two suspended transactions. The
/// transactions that could begin commit their own writes. (On SQLite `RequiresNew` inside a
/// transaction is `RequiresNewUnavailable`: one writer.)
#[tokio::test]
async fn requires_new_on_a_pool_the_suspended_transactions_hold_fails_at_once() {
    for b in backends().into_iter().filter(|b| b.is_server()) {
        for size in [1usize, 2] {
            let orm = suite_orm(&with_param(b.url(), &format!("max_connections={size}"))).await;
            let em = orm.em().fork();
            let start = Instant::now();
            let what = format!("{} with {size} connection(s)", b.name);
            let inner_what = what.clone();
            bounded(
                &what,
                em.transactional(|tx| async move {
                    tx.persist(User::new("outer", "outer@x.io"))?;
                    tx.flush().await?;
                    let requires_new = propagation(Propagation::RequiresNew);
                    let result = tx
                        .transactional_with(requires_new.clone(), |inner| async move {
                            inner.persist(User::new("inner", "inner@x.io"))?;
                            inner.flush().await?;
                            let err = inner
                                .transactional_with(requires_new, |innermost| async move {
                                    innermost.persist(User::new("innermost", "im@x.io"))?;
                                    Ok::<_, Error>(())
                                })
                                .await
                                .unwrap_err();
                            assert!(
                                matches!(err, Error::ConnectionsPinned { max_connections: 2 }),
                                "{err:?}"
                            );
                            Ok::<_, Error>(())
                        })
                        .await;
                    if size == 1 {
                        let err = result.unwrap_err();
                        assert!(
                            matches!(err, Error::ConnectionsPinned { max_connections: 1 }),
                            "{inner_what}: {err:?}"
                        );
                    } else {
                        result.unwrap();
                    }
                    at_once(start, &inner_what);
                    Ok::<_, Error>(())
                }),
            )
            .await
            .unwrap();
            let mut names: Vec<_> = user_rows(&orm).await.into_iter().map(|r| r.1).collect();
            names.sort();
            let expected: &[&str] = if size == 1 {
                &["outer"]
            } else {
                &["inner", "outer"]
            };
            assert_eq!(names, expected, "{what}: nothing half-written");
        }
    }
}

/// Three users, committed: their ids in name order (`a`, `b`, `c`).
async fn seed(orm: &Orm) -> [i64; 3] {
    let em = orm.em().fork();
    let users: Vec<_> = ["a", "b", "c"]
        .iter()
        .map(|n| em.persist(User::new(n, &format!("{n}@x.io"))).unwrap())
        .collect();
    em.flush().await.unwrap();
    [users[0].key(), users[1].key(), users[2].key()]
}

/// Asserts `result` is the refusal of a write of `entity` `key`.
fn would_deadlock<T: std::fmt::Debug>(
    result: Result<T, Error>,
    entity: &str,
    key: &str,
    what: &str,
) {
    match result {
        Err(Error::WouldDeadlock { entity: e, key: k }) if e == entity && k == key => {}
        other => panic!("{what}: expected WouldDeadlock {{ {entity}, {key} }}, got {other:?}"),
    }
}

/// The deadlock: inside a transaction a row is changed and flushed; a `RequiresNew`
/// inside it loads the same row (a fresh fork reads the committed version), changes it and
/// flushes. The inner UPDATE would wait for the outer transaction's row lock while the outer
/// transaction waits for it (PostgreSQL forever, MariaDB 50 s): it is refused at once, before
/// any SQL, naming the entity and key. So are a delete of a row the outer transaction
/// deleted, a write of a row it locked pessimistically, and an insert under a key it
/// inserted. The inner transaction's other work still commits, and so does the outer's.
#[tokio::test]
async fn requires_new_writing_a_row_the_suspended_transaction_holds_fails_at_once() {
    for b in backends().into_iter().filter(|b| b.is_server()) {
        let orm = b.orm().await;
        let [a, bb, c] = seed(&orm).await;
        let em = orm.em().fork();
        let name = b.name;
        let start = Instant::now();
        bounded(
            name,
            em.transactional(|tx| async move {
                let outer_a = tx.find_one_or_fail::<User>(a).await?;
                outer_a.write().name = "outer".into();
                let outer_c = tx.find_one_or_fail::<User>(c).await?;
                tx.remove(&outer_c)?;
                tx.persist(Tag::new("k", "outer"))?;
                tx.flush().await?;
                tx.find_one_with::<User>(
                    bb,
                    FindOptions::default().lock_mode(LockMode::PessimisticWrite),
                )
                .await?;
                let requires_new = || propagation(Propagation::RequiresNew);
                let updated = tx
                    .transactional_with(requires_new(), |inner| async move {
                        let again = inner.find_one_or_fail::<User>(a).await?;
                        assert_eq!(again.read().name, "a", "the committed version");
                        again.write().name = "inner".into();
                        inner.flush().await
                    })
                    .await;
                would_deadlock(updated, "User", &a.to_string(), name);
                let locked = tx
                    .transactional_with(requires_new(), |inner| async move {
                        inner.find_one_or_fail::<User>(bb).await?.write().age = Some(1);
                        Ok::<_, Error>(()) // flushed by the commit
                    })
                    .await;
                would_deadlock(locked, "User", &bb.to_string(), name);
                let deleted = tx
                    .transactional_with(requires_new(), |inner| async move {
                        let again = inner.find_one_or_fail::<User>(c).await?;
                        inner.remove(&again)?;
                        Ok::<_, Error>(())
                    })
                    .await;
                would_deadlock(deleted, "User", &c.to_string(), name);
                let inserted = tx
                    .transactional_with(requires_new(), |inner| async move {
                        inner.persist(User::new("d", "d@x.io"))?; // other rows are fine
                        inner.flush().await?;
                        inner.persist(Tag::new("k", "inner"))?;
                        Ok::<_, Error>(())
                    })
                    .await;
                would_deadlock(inserted, "Tag", "\"k\"", name);
                at_once(start, name);
                // A RequiresNew that writes other rows commits on its own.
                tx.transactional_with(requires_new(), |inner| async move {
                    inner.persist(User::new("e", "e@x.io"))?;
                    Ok::<_, Error>(())
                })
                .await?;
                Ok::<_, Error>(())
            }),
        )
        .await
        .unwrap();
        let rows: Vec<_> = user_rows(&orm)
            .await
            .into_iter()
            .map(|r| (r.0, r.1))
            .collect();
        let names: Vec<_> = rows.iter().map(|r| r.1.as_str()).collect();
        assert_eq!(
            names,
            ["outer", "b", "e"],
            "{name}: the outer transaction's writes and the last inner one committed; the refused inner transactions wrote nothing"
        );
        let tags = orm
            .em()
            .query("SELECT label FROM tags", vec![])
            .await
            .unwrap();
        assert_eq!(tags.len(), 1, "{name}");
        assert_eq!(tags[0].get::<String>("label").unwrap(), "outer");
    }
}

/// The same row written outside the suspended transaction, by a `NotSupported` scope (its
/// flush has a connection and a transaction of its own): refused at once on every backend
/// (PostgreSQL and MariaDB waited forever, SQLite for the busy timeout), the scope's other
/// work not written, the outer transaction committing its own.
#[tokio::test]
async fn not_supported_writing_a_row_the_suspended_transaction_holds_fails_at_once() {
    for b in backends() {
        let orm = b.orm().await;
        let [a, _, _] = seed(&orm).await;
        let em = orm.em().fork();
        let name = b.name;
        let reads_outside = b.shared_between_orms(); // sqlite::memory: readers wait for the writer
        let start = Instant::now();
        bounded(
            name,
            em.transactional(|tx| async move {
                tx.find_one_or_fail::<User>(a).await?.write().name = "outer".into();
                tx.persist(Tag::new("k", "outer"))?;
                tx.flush().await?;
                let not_supported = || propagation(Propagation::NotSupported);
                if reads_outside {
                    let updated = tx
                        .transactional_with(not_supported(), |outside| async move {
                            outside.find_one_or_fail::<User>(a).await?.write().name =
                                "outside".into();
                            Ok::<_, Error>(())
                        })
                        .await;
                    would_deadlock(updated, "User", &a.to_string(), name);
                }
                let inserted = tx
                    .transactional_with(not_supported(), |outside| async move {
                        outside.persist(Tag::new("other", "outside"))?;
                        outside.persist(Tag::new("k", "outside"))?;
                        Ok::<_, Error>(())
                    })
                    .await;
                would_deadlock(inserted, "Tag", "\"k\"", name);
                at_once(start, name);
                Ok::<_, Error>(())
            }),
        )
        .await
        .unwrap();
        let names: Vec<_> = user_rows(&orm).await.into_iter().map(|r| r.1).collect();
        assert_eq!(names, ["outer", "b", "c"], "{name}");
        let tags = orm
            .em()
            .query("SELECT label FROM tags", vec![])
            .await
            .unwrap();
        assert_eq!(
            tags.len(),
            1,
            "{name}: nothing of the refused scope was written"
        );
    }
}

/// The rows a savepoint wrote stop counting when it rolls back where the backend releases
/// their locks with it (PostgreSQL), and keep counting where it does not (MariaDB: InnoDB
/// keeps the locks a rolled-back savepoint took, and the write would wait).
#[tokio::test]
async fn a_rolled_back_savepoint_holds_its_rows_only_where_the_backend_keeps_their_locks() {
    for b in backends().into_iter().filter(|b| b.is_server()) {
        let orm = b.orm().await;
        let [a, _, _] = seed(&orm).await;
        let em = orm.em().fork();
        let name = b.name;
        let keeps_locks = b.is_mysql();
        bounded(
            name,
            em.transactional(|tx| async move {
                tx.persist(User::new("first", "first@x.io"))?;
                tx.flush().await?; // the transaction has written before the savepoint
                let undone = tx
                    .transactional(|sp| async move {
                        sp.find_one_or_fail::<User>(a).await?.write().name = "undone".into();
                        sp.flush().await?;
                        Err::<(), _>(Error::InvalidArgument("roll the savepoint back".into()))
                    })
                    .await;
                assert!(undone.is_err());
                let inner = tx
                    .transactional_with(propagation(Propagation::RequiresNew), |inner| async move {
                        inner.find_one_or_fail::<User>(a).await?.write().name = "inner".into();
                        inner.flush().await
                    })
                    .await;
                if keeps_locks {
                    would_deadlock(inner, "User", &a.to_string(), name);
                } else {
                    inner.unwrap();
                }
                Ok::<_, Error>(())
            }),
        )
        .await
        .unwrap();
        let expected = if keeps_locks { "a" } else { "inner" };
        assert_eq!(user_rows(&orm).await[0].1, expected, "{name}");
    }
}

/// Asserts that every connection of a pool of `size` has the server's lock wait: each is
/// pinned by a transaction of its own while it is asked.
async fn pool_has_default_lock_wait(b: &Backend, orm: &Orm, size: usize, default: &str) {
    let forks: Vec<_> = (0..size).map(|_| orm.em().fork()).collect();
    for em in &forks {
        bounded("a connection back in the pool", em.begin())
            .await
            .unwrap();
        assert_eq!(
            lock_wait_setting(b, em).await,
            default,
            "{}: a pooled connection kept a scope's lock wait",
            b.name
        );
    }
    for em in &forks {
        em.rollback().await.unwrap();
    }
}

/// The backstop: a wait the ORM cannot see (here a row the outer transaction changed with raw
/// SQL) inside a `RequiresNew` transaction, or a `NotSupported` scope, ends after the lock
/// wait of a scope beside a suspended transaction (`OrmBuilder::lock_timeout_while_suspended`,
/// here 1 s) with `LockTimeout` (PostgreSQL waited forever, MariaDB 50 s), or after the
/// scope's own `TxOptions::lock_timeout`. The outer transaction goes on and commits; the
/// pool's connections get the server's lock wait back, also after a scope whose future was
/// dropped.
#[tokio::test]
async fn a_lock_wait_beside_a_suspended_transaction_is_bounded() {
    for b in backends().into_iter().filter(|b| b.is_server()) {
        let url = with_param(b.url(), "max_connections=2");
        let orm = suite_builder(&url)
            .lock_timeout_while_suspended(Some(Duration::from_secs(1)))
            .build()
            .await
            .unwrap();
        orm.schema().refresh().await.unwrap();
        let default = lock_wait_setting(&b, &orm.em().fork()).await;
        let [a, _, _] = seed(&orm).await;
        let name = b.name;
        let raw = b.sql("UPDATE users SET name = ? WHERE id = ?");
        let em = orm.em().fork();
        bounded(
            name,
            em.transactional(|tx| async move {
                tx.execute(&raw, vec!["raw".into(), a.into()]).await?;
                let start = Instant::now();
                let err = tx
                    .transactional_with(propagation(Propagation::RequiresNew), |inner| async move {
                        inner.persist(User::new("inner", "inner@x.io"))?;
                        inner.find_one_or_fail::<User>(a).await?.write().name = "inner".into();
                        inner.flush().await
                    })
                    .await
                    .unwrap_err();
                assert!(matches!(err, Error::LockTimeout { .. }), "{name}: {err:?}");
                assert!(
                    start.elapsed() < Duration::from_secs(5),
                    "{name}: {:?}",
                    start.elapsed()
                );
                // A scope's own lock timeout wins for its transaction.
                let start = Instant::now();
                let err = tx
                    .transactional_with(
                        TxOptions {
                            propagation: Propagation::RequiresNew,
                            lock_timeout: Some(Duration::from_millis(200)),
                            ..Default::default()
                        },
                        |inner| {
                            let raw = raw.clone();
                            async move { inner.execute(&raw, vec!["inner".into(), a.into()]).await }
                        },
                    )
                    .await
                    .unwrap_err();
                assert!(matches!(err, Error::LockTimeout { .. }), "{name}: {err:?}");
                assert!(
                    start.elapsed() < Duration::from_secs(3),
                    "{name}: {:?}",
                    start.elapsed()
                );
                // Raw SQL outside the transaction, in a NotSupported scope.
                let err = tx
                    .transactional_with(propagation(Propagation::NotSupported), |outside| {
                        let raw = raw.clone();
                        async move {
                            outside
                                .execute(&raw, vec!["outside".into(), a.into()])
                                .await
                        }
                    })
                    .await
                    .unwrap_err();
                assert!(matches!(err, Error::LockTimeout { .. }), "{name}: {err:?}");
                // A RequiresNew scope whose future is dropped while it waits.
                let dropped = tokio::time::timeout(
                    Duration::from_millis(300),
                    tx.transactional_with(propagation(Propagation::RequiresNew), |inner| {
                        let raw = raw.clone();
                        async move { inner.execute(&raw, vec!["dropped".into(), a.into()]).await }
                    }),
                )
                .await;
                assert!(dropped.is_err(), "{name}: still waiting when dropped");
                Ok::<_, Error>(())
            }),
        )
        .await
        .unwrap();
        let names: Vec<_> = user_rows(&orm).await.into_iter().map(|r| r.1).collect();
        assert_eq!(
            names,
            ["raw", "b", "c"],
            "{name}: the outer transaction's write only"
        );
        pool_has_default_lock_wait(&b, &orm, 2, &default).await;
        // Outside such scopes nothing is bounded by the ORM.
        assert_eq!(lock_wait_setting(&b, &orm.em().fork()).await, default);
    }
}
