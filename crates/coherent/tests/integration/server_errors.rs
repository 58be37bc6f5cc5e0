//! Failures only a server produces, provoked for real: a deadlock between two transactions, a
//! serialization failure (PostgreSQL), a connection killed under an open transaction. Each
//! checks the typed error and what the database holds afterwards.

use crate::common::*;
use coherent::Error;
use coherent::prelude::*;
use std::time::Duration;

async fn names(orm: &Orm) -> Vec<String> {
    user_rows(orm)
        .await
        .into_iter()
        .map(|(_, n, _)| n)
        .collect()
}

async fn two_users(orm: &Orm) -> (i64, i64) {
    let em = orm.em().fork();
    let a = em.persist(User::new("a", "a@x.io")).unwrap();
    let b = em.persist(User::new("b", "b@x.io")).unwrap();
    em.flush().await.unwrap();
    let (a, b) = (a.read().id, b.read().id);
    (a, b)
}

fn write_lock() -> FindOptions {
    FindOptions::default().lock_mode(LockMode::PessimisticWrite)
}

/// A locks row 1 then wants row 2; B locks row 2 then wants row 1. The server picks a victim:
/// its error is `Deadlock` (retryable), its transaction is gone; the other commits.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deadlock_is_typed_and_only_the_survivor_commits() {
    for b in backends().into_iter().filter(|b| b.is_server()) {
        let orm = b.orm().await;
        let (one, two) = two_users(&orm).await;
        let a = orm.em().fork();
        let c = orm.em().fork();
        a.begin().await.unwrap();
        c.begin().await.unwrap();
        a.find_one_with::<User>(one, write_lock())
            .await
            .unwrap()
            .unwrap()
            .write()
            .name = "A".into();
        c.find_one_with::<User>(two, write_lock())
            .await
            .unwrap()
            .unwrap()
            .write()
            .name = "C".into();
        let a2 = a.clone();
        let first = tokio::spawn(async move {
            a2.find_one_with::<User>(two, write_lock())
                .await
                .map(|_| ())
        });
        tokio::time::sleep(Duration::from_millis(200)).await;
        let second = c.find_one_with::<User>(one, write_lock()).await.map(|_| ());
        let first = first.await.unwrap();
        let (victim, survivor, survivor_name) = match (&first, &second) {
            (Err(e), Ok(())) => (e, &c, "C"),
            (Ok(()), Err(e)) => (e, &a, "A"),
            other => panic!("{}: exactly one side must lose: {other:?}", b.name),
        };
        assert!(
            matches!(victim, Error::Deadlock { .. }),
            "{}: {victim:?}",
            b.name
        );
        assert!(victim.is_retryable());
        let loser = if survivor_name == "A" { &c } else { &a };
        loser.rollback().await.unwrap();
        survivor.commit().await.unwrap();
        let mut got = names(&orm).await;
        got.sort();
        let mut expected = vec![
            survivor_name.to_string(),
            if survivor_name == "A" { "b" } else { "a" }.to_string(),
        ];
        expected.sort();
        assert_eq!(got, expected, "{}: only the survivor's write", b.name);
    }
}

/// Two SERIALIZABLE transactions: B reads a row, A changes and commits it, B writes it. B's
/// write is a `SerializationFailure` (retryable); A's value stays. PostgreSQL only: MariaDB
/// turns a serializable read into a shared lock, so there A waits instead (a lock timeout).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_serialization_failure_is_typed_and_the_first_writer_wins() {
    for b in backends()
        .into_iter()
        .filter(|b| b.dialect() == coherent::Dialect::Postgres)
    {
        let orm = b.orm().await;
        let (one, _) = two_users(&orm).await;
        let reader = orm.em().fork();
        let result = reader
            .transactional_with(
                TxOptions {
                    isolation: Some(IsolationLevel::Serializable),
                    ..Default::default()
                },
                |tx| {
                    let orm = orm.clone();
                    async move {
                        let mine = tx.find_one_or_fail::<User>(one).await?;
                        // Someone else commits a change to the row meanwhile.
                        let other = orm.em().fork();
                        other.find_one_or_fail::<User>(one).await?.write().name = "first".into();
                        other.flush().await?;
                        mine.write().name = "second".into();
                        Ok::<_, Error>(())
                    }
                },
            )
            .await;
        let err = result.unwrap_err();
        assert!(
            matches!(err, Error::SerializationFailure { .. }),
            "{}: {err:?}",
            b.name
        );
        assert!(err.is_retryable());
        assert!(
            names(&orm).await.contains(&"first".to_string()),
            "{}",
            b.name
        );
        assert!(
            !names(&orm).await.contains(&"second".to_string()),
            "{}",
            b.name
        );
    }
}

/// The server kills the connection of an open transaction: the next statement is a
/// `Connection` error, nothing of the transaction was committed, and the pool goes on.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_connection_is_a_connection_error_and_commits_nothing() {
    for b in backends().into_iter().filter(|b| b.is_server()) {
        let orm = b.orm().await;
        let (one, _) = two_users(&orm).await;
        let em = orm.em().fork();
        em.begin().await.unwrap();
        em.find_one_or_fail::<User>(one).await.unwrap().write().name = "lost".into();
        em.flush().await.unwrap();
        let (id_sql, kill) = match b.dialect() {
            coherent::Dialect::Postgres => (
                "SELECT pg_backend_pid() AS id",
                "SELECT pg_terminate_backend",
            ),
            _ => ("SELECT CONNECTION_ID() AS id", "KILL"),
        };
        let pid: i64 = em.query(id_sql, vec![]).await.unwrap()[0]
            .get("id")
            .unwrap();
        let admin = orm.em();
        match b.dialect() {
            coherent::Dialect::Postgres => {
                admin
                    .query(&format!("{kill}({pid})"), vec![])
                    .await
                    .unwrap();
            }
            _ => {
                admin
                    .execute(&format!("{kill} {pid}"), vec![])
                    .await
                    .unwrap();
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        let err = em.query("SELECT 1 AS one", vec![]).await.unwrap_err();
        assert!(
            matches!(err, Error::Connection { .. }),
            "{}: {err:?}",
            b.name
        );
        // Ending the transaction does not hang; its work is gone.
        let _ = em.rollback().await;
        assert!(
            !names(&orm).await.contains(&"lost".to_string()),
            "{}",
            b.name
        );
        // The pool hands out working connections afterwards.
        for _ in 0..12 {
            orm.em().fork().find_one_or_fail::<User>(one).await.unwrap();
        }
    }
}

/// A and C each flush a change in an explicit transaction, then each flushes a change of the
/// other's row: a deadlock. The victim's flush fails; the victim ignores the error and
/// commits. Its transaction is doomed (MySQL has rolled it back already; PostgreSQL undid
/// only the failed flush's savepoint and would commit the rest), so the commit is
/// `RollbackOnly { retryable: true }`, nothing of the victim's is in the database, and its
/// memory is as before it began.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deadlock_in_a_flush_marks_the_transaction_rollback_only() {
    for b in backends().into_iter().filter(|b| b.is_server()) {
        let orm = b.orm().await;
        let (one, two) = two_users(&orm).await;
        let a = orm.em().fork();
        let c = orm.em().fork();
        let a_rows = (
            a.find_one_or_fail::<User>(one).await.unwrap(),
            a.find_one_or_fail::<User>(two).await.unwrap(),
        );
        let c_rows = (
            c.find_one_or_fail::<User>(one).await.unwrap(),
            c.find_one_or_fail::<User>(two).await.unwrap(),
        );
        a.begin().await.unwrap();
        c.begin().await.unwrap();
        a_rows.0.write().name = "A1".into();
        a.flush().await.unwrap();
        c_rows.1.write().name = "C2".into();
        c.flush().await.unwrap();
        a_rows.1.write().name = "A2".into();
        let a2 = a.clone();
        let mut first = tokio::spawn(async move { a2.flush().await });
        tokio::time::sleep(Duration::from_millis(200)).await;
        c_rows.0.write().name = "C1".into();
        let c2 = c.clone();
        let mut second = tokio::spawn(async move { c2.flush().await });
        // The victim's flush fails. On PostgreSQL the survivor's waits for the victim's
        // earlier lock (only the victim's failed savepoint was undone) until the victim
        // ends; on MariaDB the victim's transaction is gone and the survivor may finish
        // first.
        let (done, a_done, pending) = tokio::select! {
            r = &mut first => (r.unwrap(), true, second),
            r = &mut second => (r.unwrap(), false, first),
        };
        let (victim, survivor_flush, a_lost) = match done {
            Err(e) => (e, Some(pending), a_done),
            Ok(()) => (pending.await.unwrap().unwrap_err(), None, !a_done),
        };
        let (victim_em, victim_rows, survivor, survivor_names) = if a_lost {
            (&a, &a_rows, &c, ["C1", "C2"])
        } else {
            (&c, &c_rows, &a, ["A1", "A2"])
        };
        assert!(
            matches!(victim, Error::Deadlock { .. }),
            "{}: {victim:?}",
            b.name
        );
        // The application swallows the error and commits what it did before (bounded: a
        // commit that flushes the failed change again would wait for the survivor).
        let within = |secs| Duration::from_secs(secs);
        let err = tokio::time::timeout(within(20), victim_em.commit())
            .await
            .unwrap_or_else(|_| panic!("{}: the doomed commit must not wait", b.name))
            .unwrap_err();
        assert!(
            matches!(err, Error::RollbackOnly { retryable: true }),
            "{}: {err:?}",
            b.name
        );
        assert!(err.is_retryable(), "{}", b.name);
        if let Some(flush) = survivor_flush {
            tokio::time::timeout(within(20), flush)
                .await
                .unwrap_or_else(|_| panic!("{}: the survivor must go on", b.name))
                .unwrap()
                .unwrap();
        }
        survivor.commit().await.unwrap();
        let mut got = names(&orm).await;
        got.sort();
        assert_eq!(
            got, survivor_names,
            "{}: only the survivor's writes",
            b.name
        );
        assert_eq!(
            (
                victim_rows.0.read().name.as_str(),
                victim_rows.1.read().name.as_str()
            ),
            ("a", "b"),
            "{}: the victim's memory is as before it began",
            b.name
        );
    }
}

/// A SERIALIZABLE unit of work whose flush fails with a serialization failure, swallowed by
/// the closure: its commit is `RollbackOnly { retryable: true }`, so `transactional_retry`
/// runs the whole closure again, which succeeds; the first attempt's other write is not
/// committed twice or half.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_swallowed_serialization_failure_is_retried_as_a_whole() {
    for b in backends()
        .into_iter()
        .filter(|b| b.dialect() == coherent::Dialect::Postgres)
    {
        let orm = b.orm().await;
        let (one, two) = two_users(&orm).await;
        let attempts = std::sync::Arc::new(std::sync::atomic::AtomicU32::new(0));
        let result = orm
            .em()
            .fork()
            .transactional_retry(
                TxOptions {
                    isolation: Some(IsolationLevel::Serializable),
                    retry: 2,
                    ..Default::default()
                },
                |tx| {
                    let orm = orm.clone();
                    let attempts = attempts.clone();
                    async move {
                        let attempt = attempts.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                        let mine = tx.find_one_or_fail::<User>(one).await?;
                        let other_row = tx.find_one_or_fail::<User>(two).await?;
                        other_row.write().name = format!("b{attempt}");
                        tx.flush().await?;
                        if attempt == 0 {
                            let other = orm.em().fork();
                            other.find_one_or_fail::<User>(one).await?.write().name =
                                "first".into();
                            other.flush().await?;
                        }
                        mine.write().name = format!("mine{attempt}");
                        if let Err(e) = tx.flush().await {
                            assert!(matches!(e, Error::SerializationFailure { .. }), "{e:?}");
                        }
                        Ok::<_, Error>(())
                    }
                },
            )
            .await;
        result.unwrap();
        assert_eq!(
            attempts.load(std::sync::atomic::Ordering::SeqCst),
            2,
            "{}",
            b.name
        );
        let mut got = names(&orm).await;
        got.sort();
        assert_eq!(got, ["b1", "mine1"], "{}", b.name);
    }
}

/// The query log is in the order statements ran, across connections: a flush that waits
/// for another transaction's row lock logs its BEGIN when it ran, before the other
/// transaction's COMMIT that let its UPDATE through (the events used to come when the
/// flush's batch ended, so the other COMMIT appeared first).
#[tokio::test]
async fn the_query_log_is_in_execution_order_across_connections() {
    for b in backends().into_iter().filter(|b| b.is_server()) {
        let orm = b.orm().await;
        let (one, _) = two_users(&orm).await;
        let holder = orm.em().fork();
        holder.begin().await.unwrap();
        holder
            .find_one_with::<User>(one, write_lock())
            .await
            .unwrap()
            .unwrap();
        let a = orm.em().fork();
        a.find_one_or_fail::<User>(one).await.unwrap().write().name = "A".into();

        let log = StatementLog::capture();
        // A current-thread runtime: the spawned flush logs on this thread too.
        let flush = tokio::spawn(async move { a.flush().await });
        tokio::time::sleep(Duration::from_millis(300)).await;
        holder.commit().await.unwrap();
        flush.await.unwrap().unwrap();
        let shapes: Vec<String> = log
            .take()
            .iter()
            .map(|s| s.split(' ').next().unwrap().to_string())
            .collect();
        assert_eq!(
            shapes,
            ["BEGIN", "COMMIT", "UPDATE", "COMMIT"],
            "{}: A's BEGIN, the holder's COMMIT, then A's UPDATE and COMMIT",
            b.name
        );
        assert!(names(&orm).await.contains(&"A".to_string()), "{}", b.name);
    }
}
