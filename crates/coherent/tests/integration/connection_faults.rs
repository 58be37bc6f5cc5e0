//! Connections lost for real, on the servers: pooled connections the server closed while
//! they were idle, and connections cut by the fault-injecting proxy ([`crate::proxy`]) before
//! a flush's first statement, between its statements, right after COMMIT reached the server
//! (the outcome must be resolved or reported as unknown), and after COMMIT's answer. Each
//! case checks the typed error, the database (read through a connection of its own) and
//! memory: instances are applied if and only if the database committed, and flushing again
//! never inserts a row twice.

use crate::common::*;
use crate::proxy::{Cut, Proxy};
use coherent::Error;
use coherent::prelude::*;
use std::time::Duration;

/// `url` with more query parameters.
fn with(url: &str, params: &str) -> String {
    let sep = if url.contains('?') { '&' } else { '?' };
    format!("{url}{sep}{params}")
}

/// An Orm on `b`'s database (schema already made) whose URL gets `params`.
async fn orm_on(b: &Backend, url: &str, params: &str) -> Orm {
    let _ = b;
    suite_builder(&with(url, params))
        .build()
        .await
        .expect("connect")
}

/// An Orm of one connection on `b`'s database, to look at it and to kill others.
async fn admin(b: &Backend) -> Orm {
    orm_on(b, b.url(), "max_connections=1").await
}

/// Names, as the database holds them.
async fn names(orm: &Orm) -> Vec<String> {
    user_rows(orm)
        .await
        .into_iter()
        .map(|(_, n, _)| n)
        .collect()
}

/// Opens `n` pooled connections (n transactions at once) and returns them to the pool.
async fn warm(orm: &Orm, n: usize) {
    let forks: Vec<_> = (0..n).map(|_| orm.em().fork()).collect();
    for f in &forks {
        f.begin().await.unwrap();
    }
    for f in &forks {
        f.commit().await.unwrap();
    }
    // sqlx tests a released connection before it is idle again.
    tokio::time::sleep(Duration::from_millis(100)).await;
}

/// The server closes every connection of the pool tagged `app` (PostgreSQL), or every
/// connection to this test's database but the admin's (MariaDB): `pg_terminate_backend` /
/// `KILL`, while they sit idle.
async fn kill_idle(b: &Backend, admin: &Orm, app: &str) {
    let em = admin.em();
    if b.is_postgres() {
        let killed = em
            .query(
                "SELECT pg_terminate_backend(pid) AS k FROM pg_stat_activity WHERE application_name = $1",
                vec![app.into()],
            )
            .await
            .unwrap();
        assert!(!killed.is_empty(), "{}: nothing to kill", b.name);
    } else {
        let ids = em
            .query(
                "SELECT CAST(id AS SIGNED) AS id FROM information_schema.processlist WHERE db = DATABASE() AND id <> CONNECTION_ID()",
                vec![],
            )
            .await
            .unwrap();
        assert!(!ids.is_empty(), "{}: nothing to kill", b.name);
        for row in ids {
            let id: i64 = row.get("id").unwrap();
            let _ = em.execute(&format!("KILL {id}"), vec![]).await;
        }
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
}

/// Issue 10, defect 5: after the server closed idle pooled connections, the next find,
/// flush, transaction and count each succeed (the stale connection is replaced before
/// anything of them ran), with a pool of one connection and of four; the flush's row is
/// there once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pooled_connection_the_server_closed_is_replaced_transparently() {
    for b in backends().into_iter().filter(|b| b.is_server()) {
        let _schema = b.orm().await;
        let admin = admin(&b).await;
        for pool in [1usize, 4] {
            let app = format!("coherent_idle_{}_{pool}", std::process::id());
            let orm = orm_on(
                &b,
                b.url(),
                &format!("max_connections={pool}&application_name={app}"),
            )
            .await;
            let name = format!("u{pool}");
            let em = orm.em().fork();
            let user = em
                .persist(User::new(&name, &format!("{name}@x.io")))
                .unwrap();
            warm(&orm, pool).await;
            kill_idle(&b, &admin, &app).await;
            em.flush()
                .await
                .unwrap_or_else(|e| panic!("{} pool {pool}: flush: {e:?}", b.name));
            let id = user.read().id;

            warm(&orm, pool).await;
            kill_idle(&b, &admin, &app).await;
            let found = orm
                .em()
                .fork()
                .find_one::<User>(id)
                .await
                .unwrap_or_else(|e| panic!("{} pool {pool}: find: {e:?}", b.name));
            assert!(found.is_some(), "{}", b.name);

            warm(&orm, pool).await;
            kill_idle(&b, &admin, &app).await;
            let tx = orm.em().fork();
            // With a level: MariaDB's first statement is SET TRANSACTION, then START TRANSACTION.
            let level = TxOptions {
                isolation: Some(IsolationLevel::ReadCommitted),
                ..Default::default()
            };
            tx.begin_with(&level)
                .await
                .unwrap_or_else(|e| panic!("{} pool {pool}: begin: {e:?}", b.name));
            tx.find_one_or_fail::<User>(id).await.unwrap().write().age = Some(pool as i32);
            tx.commit().await.unwrap();

            warm(&orm, pool).await;
            kill_idle(&b, &admin, &app).await;
            let n = orm
                .em()
                .fork()
                .count(User::NAME.eq(name.clone()))
                .await
                .unwrap_or_else(|e| panic!("{} pool {pool}: count: {e:?}", b.name));
            assert_eq!(n, 1, "{} pool {pool}: the row once", b.name);
        }
        assert_eq!(names(&admin).await, ["u1", "u4"], "{}", b.name);
    }
}

/// Raw SQL is not replayed (whether it ran cannot be known), but a connection that sat idle
/// longer than `idle_check_ms` is pinged before it is handed out, so a connection the
/// server closed long enough ago never reaches a raw statement.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connection_idle_past_the_check_is_pinged_before_raw_sql() {
    for b in backends().into_iter().filter(|b| b.is_server()) {
        let _schema = b.orm().await;
        let admin = admin(&b).await;
        let app = format!("coherent_ping_{}", std::process::id());
        let orm = orm_on(
            &b,
            b.url(),
            &format!("max_connections=1&idle_check_ms=50&application_name={app}"),
        )
        .await;
        warm(&orm, 1).await;
        kill_idle(&b, &admin, &app).await;
        orm.em()
            .execute(
                &b.sql("INSERT INTO users (name, email) VALUES (?, ?)"),
                vec!["raw".into(), "raw@x.io".into()],
            )
            .await
            .unwrap_or_else(|e| panic!("{}: {e:?}", b.name));
        assert_eq!(names(&admin).await, ["raw"], "{}", b.name);
    }
}

/// An Orm through `proxy` with a pool of one connection.
async fn through(b: &Backend, proxy: &Proxy) -> Orm {
    orm_on(
        b,
        &proxy.url(b.url()),
        "max_connections=1&acquire_timeout_ms=5000",
    )
    .await
}

/// Cut before the flush's first statement (BEGIN never reaches the server): the flush runs
/// on a new connection as if nothing happened; the row is there once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cut_before_the_flush_begins_is_replaced_transparently() {
    for b in backends().into_iter().filter(|b| b.is_server()) {
        let _schema = b.orm().await;
        let admin = admin(&b).await;
        let proxy = Proxy::start(b.url()).await;
        let orm = through(&b, &proxy).await;
        let em = orm.em().fork();
        let user = em.persist(User::new("a", "a@x.io")).unwrap();
        proxy.arm(Cut::Before(b"BEGIN".to_vec()));
        em.flush()
            .await
            .unwrap_or_else(|e| panic!("{}: {e:?}", b.name));
        assert_eq!(proxy.cuts(), 1, "{}: the cut fired", b.name);
        assert_eq!(proxy.connections(), 2, "{}: on a new connection", b.name);
        assert!(user.read().id > 0, "{}: applied", b.name);
        assert_eq!(names(&admin).await, ["a"], "{}", b.name);
        em.flush().await.unwrap();
        assert_eq!(names(&admin).await, ["a"], "{}: once", b.name);
    }
}

/// Cut between the flush's statements (the second INSERT never arrives): the server rolls
/// the transaction back; the error is a connection error after sending (not retryable as
/// such), nothing is in the database, memory is as before, and flushing again writes both
/// rows once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cut_between_the_flush_statements_rolls_back_and_keeps_memory() {
    for b in backends().into_iter().filter(|b| b.is_server()) {
        let _schema = b.orm().await;
        let admin = admin(&b).await;
        let proxy = Proxy::start(b.url()).await;
        let orm = through(&b, &proxy).await;
        let em = orm.em().fork();
        let tag = em.persist(Tag::new("t", "tag")).unwrap();
        let user = em.persist(User::new("a", "a@x.io")).unwrap();
        // Commit order inserts tags first; the users INSERT is the second statement.
        proxy.arm(Cut::Before(b"users".to_vec()));
        let err = em.flush().await.unwrap_err();
        assert_eq!(proxy.cuts(), 1, "{}", b.name);
        assert!(
            matches!(err, Error::Connection { sent: true, .. }),
            "{}: {err:?}",
            b.name
        );
        assert!(!err.is_retryable(), "{}", b.name);
        assert!(names(&admin).await.is_empty(), "{}: rolled back", b.name);
        let tags = admin
            .em()
            .query("SELECT code FROM tags", vec![])
            .await
            .unwrap();
        assert!(tags.is_empty(), "{}: rolled back", b.name);
        assert_eq!(user.read().id, 0, "{}: no key kept", b.name);
        assert!(!user.is_in_doubt() && !tag.is_in_doubt(), "{}", b.name);
        em.flush().await.unwrap();
        assert_eq!(names(&admin).await, ["a"], "{}", b.name);
        let tags = admin
            .em()
            .query("SELECT code FROM tags", vec![])
            .await
            .unwrap();
        assert_eq!(tags.len(), 1, "{}", b.name);
    }
}

/// Cut right after COMMIT reached the server (it commits; the client never hears so). On
/// PostgreSQL the driver asks `txid_status` on a new connection: the flush succeeds and
/// memory is applied. On MariaDB nobody can tell: `CommitOutcomeUnknown`, memory as before,
/// the instance in doubt, and a blind second flush refuses to insert it again
/// (`InDoubt`); `em.remove` of the pending insert resolves it. The row is there once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cut_after_commit_reached_the_server_never_inserts_twice() {
    for b in backends().into_iter().filter(|b| b.is_server()) {
        let _schema = b.orm().await;
        let admin = admin(&b).await;
        let proxy = Proxy::start(b.url()).await;
        let orm = through(&b, &proxy).await;
        let em = orm.em().fork();
        let user = em.persist(User::new("a", "a@x.io")).unwrap();
        proxy.arm(Cut::After(b"COMMIT".to_vec()));
        let result = em.flush().await;
        assert_eq!(proxy.cuts(), 1, "{}", b.name);
        // The server got COMMIT; it may still be running it when the client hears of the cut.
        let mut committed = names(&admin).await;
        for _ in 0..50 {
            if !committed.is_empty() {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            committed = names(&admin).await;
        }
        assert_eq!(committed, ["a"], "{}: committed", b.name);
        if b.is_postgres() {
            result.unwrap_or_else(|e| panic!("{}: resolved as committed: {e:?}", b.name));
            assert!(user.read().id > 0, "{}: applied", b.name);
            assert!(em.contains(&user).unwrap() && !user.is_in_doubt());
        } else {
            let err = result.unwrap_err();
            assert!(
                matches!(err, Error::CommitOutcomeUnknown { .. }),
                "{}: {err:?}",
                b.name
            );
            assert!(!err.is_retryable());
            assert!(user.is_in_doubt(), "{}", b.name);
            assert_eq!(user.read().id, 0, "{}: nothing applied", b.name);
            let again = em.flush().await.unwrap_err();
            assert!(
                matches!(again, Error::InDoubt { entity: "User", .. }),
                "{}: {again:?}",
                b.name
            );
            // The application looks: the row is there, so it drops the pending insert.
            em.remove(&user).unwrap();
        }
        em.flush().await.unwrap();
        assert_eq!(names(&admin).await, ["a"], "{}: once", b.name);
    }
}

/// Cut when COMMIT is about to be sent (the server never gets it and rolls back). On
/// PostgreSQL the outcome is resolved as rolled back: a connection error, memory as before,
/// nothing in doubt, and flushing again inserts the row once. On MariaDB it is
/// `CommitOutcomeUnknown`; the application finds no row and `resolve_in_doubt` lets the next
/// flush insert it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cut_before_commit_reached_the_server_is_a_rollback() {
    for b in backends().into_iter().filter(|b| b.is_server()) {
        let _schema = b.orm().await;
        let admin = admin(&b).await;
        let proxy = Proxy::start(b.url()).await;
        let orm = through(&b, &proxy).await;
        let em = orm.em().fork();
        let user = em.persist(User::new("a", "a@x.io")).unwrap();
        proxy.arm(Cut::Before(b"COMMIT".to_vec()));
        let err = em.flush().await.unwrap_err();
        assert_eq!(proxy.cuts(), 1, "{}", b.name);
        assert!(names(&admin).await.is_empty(), "{}: rolled back", b.name);
        assert_eq!(user.read().id, 0, "{}: nothing applied", b.name);
        if b.is_postgres() {
            assert!(
                matches!(err, Error::Connection { sent: true, .. }),
                "{}: {err:?}",
                b.name
            );
            assert!(!user.is_in_doubt());
        } else {
            assert!(
                matches!(err, Error::CommitOutcomeUnknown { .. }),
                "{}: {err:?}",
                b.name
            );
            assert!(user.is_in_doubt());
            assert!(matches!(
                em.flush().await.unwrap_err(),
                Error::InDoubt { .. }
            ));
            em.resolve_in_doubt(&user).unwrap();
        }
        em.flush().await.unwrap();
        assert_eq!(names(&admin).await, ["a"], "{}: once", b.name);
    }
}

/// Cut after COMMIT's answer reached the client: the flush succeeded and is applied; the
/// connection is dead in the pool, and the next unit of work replaces it transparently.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cut_after_commit_answered_is_a_success_and_the_next_work_reconnects() {
    for b in backends().into_iter().filter(|b| b.is_server()) {
        let _schema = b.orm().await;
        let admin = admin(&b).await;
        let proxy = Proxy::start(b.url()).await;
        let orm = through(&b, &proxy).await;
        let em = orm.em().fork();
        let user = em.persist(User::new("a", "a@x.io")).unwrap();
        proxy.arm(Cut::AfterReply(b"COMMIT".to_vec()));
        em.flush()
            .await
            .unwrap_or_else(|e| panic!("{}: {e:?}", b.name));
        assert_eq!(proxy.cuts(), 1, "{}", b.name);
        let id = user.read().id;
        assert!(id > 0, "{}", b.name);
        tokio::time::sleep(Duration::from_millis(100)).await;
        user.write().name = "b".into();
        em.flush()
            .await
            .unwrap_or_else(|e| panic!("{}: next flush: {e:?}", b.name));
        let fresh = orm.em().fork();
        assert_eq!(
            fresh
                .find_one_or_fail::<User>(id)
                .await
                .unwrap()
                .read()
                .name,
            "b"
        );
        assert_eq!(names(&admin).await, ["b"], "{}", b.name);
    }
}

/// An explicit transaction whose COMMIT reached the server before the cut: PostgreSQL
/// resolves it through the transaction id its first flush took (commit succeeds, memory
/// kept); MariaDB reports `CommitOutcomeUnknown`, restores memory and marks the inserted
/// instance in doubt.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_transaction_commit_cut_after_it_reached_the_server_is_resolved_or_in_doubt() {
    for b in backends().into_iter().filter(|b| b.is_server()) {
        let _schema = b.orm().await;
        let admin = admin(&b).await;
        let proxy = Proxy::start(b.url()).await;
        let orm = through(&b, &proxy).await;
        let em = orm.em().fork();
        em.begin().await.unwrap();
        let user = em.persist(User::new("a", "a@x.io")).unwrap();
        em.flush().await.unwrap();
        proxy.arm(Cut::After(b"COMMIT".to_vec()));
        let result = em.commit().await;
        assert_eq!(proxy.cuts(), 1, "{}", b.name);
        assert_eq!(names(&admin).await, ["a"], "{}: committed", b.name);
        if b.is_postgres() {
            result.unwrap_or_else(|e| panic!("{}: {e:?}", b.name));
            assert!(user.read().id > 0 && em.contains(&user).unwrap());
        } else {
            let err = result.unwrap_err();
            assert!(
                matches!(err, Error::CommitOutcomeUnknown { .. }),
                "{}: {err:?}",
                b.name
            );
            assert!(user.is_in_doubt(), "{}", b.name);
            em.clear().unwrap();
        }
        em.flush().await.unwrap();
        assert_eq!(names(&admin).await, ["a"], "{}: once", b.name);
    }
}

/// Cuts at points spread over a whole flush (every few bytes of what it sends: inside BEGIN,
/// the INSERTs, COMMIT): whatever the point, the flush either succeeds with memory applied,
/// or fails with memory as before and the database without its rows, or (only where the
/// outcome cannot be resolved) marks its instances in doubt; after resolving, flushing
/// again leaves every row exactly once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cuts_anywhere_in_a_flush_never_leave_memory_and_database_apart() {
    for b in backends().into_iter().filter(|b| b.is_server()) {
        let _schema = b.orm().await;
        let admin = admin(&b).await;
        let proxy = Proxy::start(b.url()).await;
        let orm = through(&b, &proxy).await;
        // How many bytes one flush of two rows sends (prepared statements included: each
        // round below runs on a new connection, since every cut kills the old one).
        let size = {
            let probe = orm.em().fork();
            probe.persist(Tag::new("probe", "p")).unwrap();
            probe.persist(User::new("probe", "probe@x.io")).unwrap();
            proxy.arm(Cut::AfterBytes(usize::MAX));
            probe.flush().await.unwrap();
            proxy.forwarded()
        };
        proxy.disarm();
        admin
            .em()
            .execute("DELETE FROM users", vec![])
            .await
            .unwrap();
        admin
            .em()
            .execute("DELETE FROM tags", vec![])
            .await
            .unwrap();
        let steps = 24;
        // Evenly spread (short of the last bytes counted, which may be the pool's ping of
        // the released connection), and on either side of COMMIT.
        let spread = size - 16;
        let cuts: Vec<Cut> = (0..steps)
            .map(|i| Cut::AfterBytes(spread * i / steps))
            .chain([
                Cut::Before(b"COMMIT".to_vec()),
                Cut::After(b"COMMIT".to_vec()),
            ])
            .collect();
        for (i, cut) in cuts.iter().enumerate() {
            let at = format!("{cut:?}");
            // A new connection for each round, so each sends the same bytes.
            let orm = through(&b, &proxy).await;
            let em = orm.em().fork();
            let (code, name) = (format!("t{i}"), format!("u{i}"));
            let tag = em.persist(Tag::new(&code, "t")).unwrap();
            let user = em
                .persist(User::new(&name, &format!("{name}@x.io")))
                .unwrap();
            let fired = proxy.cuts();
            proxy.arm(cut.clone());
            let result = em.flush().await;
            proxy.disarm();
            assert_eq!(proxy.cuts(), fired + 1, "{} cut at {at}: fired", b.name);
            let stored = names(&admin).await.contains(&name);
            match result {
                Ok(()) => {
                    assert!(stored, "{} cut at {at}: committed", b.name);
                    assert!(user.read().id > 0, "{} cut at {at}: applied", b.name);
                }
                Err(Error::CommitOutcomeUnknown { .. }) => {
                    assert!(b.is_mysql(), "{} cut at {at}: PostgreSQL resolves", b.name);
                    assert!(
                        user.is_in_doubt() && tag.is_in_doubt(),
                        "{} cut at {at}",
                        b.name
                    );
                    assert!(matches!(em.flush().await, Err(Error::InDoubt { .. })));
                    if stored {
                        em.clear().unwrap();
                    } else {
                        em.resolve_in_doubt(&user).unwrap();
                        em.resolve_in_doubt(&tag).unwrap();
                    }
                }
                Err(e) => {
                    assert!(e.is_connection(), "{} cut at {at}: {e:?}", b.name);
                    assert!(!stored, "{} cut at {at}: rolled back", b.name);
                    assert_eq!(user.read().id, 0, "{} cut at {at}: as before", b.name);
                }
            }
            em.flush()
                .await
                .unwrap_or_else(|e| panic!("{} cut at {at}: retry: {e:?}", b.name));
            let count = names(&admin).await.iter().filter(|n| **n == name).count();
            assert_eq!(count, 1, "{} cut at {at}: the row once", b.name);
        }
    }
}

/// With the server unreachable, work fails with a connection error that says nothing was
/// sent, which is retryable; memory is as before.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_server_is_a_retryable_error_with_nothing_sent() {
    for b in backends().into_iter().filter(|b| b.is_server()) {
        let _schema = b.orm().await;
        let proxy = Proxy::start(b.url()).await;
        let orm = through(&b, &proxy).await;
        drop(proxy);
        tokio::time::sleep(Duration::from_millis(100)).await;
        let em = orm.em().fork();
        let user = em.persist(User::new("a", "a@x.io")).unwrap();
        let err = em.flush().await.unwrap_err();
        assert!(
            matches!(err, Error::Connection { sent: false, .. }),
            "{}: {err:?}",
            b.name
        );
        assert!(err.is_retryable(), "{}", b.name);
        assert_eq!(user.read().id, 0, "{}", b.name);
        assert!(!user.is_in_doubt());
    }
}

/// A raw statement in autocommit whose answer was cut off may have run (here it did): the
/// error says it was sent and is not retryable.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_raw_statement_cut_after_sending_is_not_retryable() {
    for b in backends().into_iter().filter(|b| b.is_server()) {
        let _schema = b.orm().await;
        let admin = admin(&b).await;
        let proxy = Proxy::start(b.url()).await;
        let orm = through(&b, &proxy).await;
        let insert = b.sql("INSERT INTO users (name, email) VALUES (?, ?)");
        // Prepared once, so the cut statement travels as one message with its values.
        orm.em()
            .execute(&insert, vec!["raw1".into(), "raw1@x.io".into()])
            .await
            .unwrap();
        proxy.arm(Cut::After(b"raw2@x.io".to_vec()));
        let err = orm
            .em()
            .execute(&insert, vec!["raw2".into(), "raw2@x.io".into()])
            .await
            .unwrap_err();
        assert!(
            matches!(err, Error::Connection { sent: true, .. }),
            "{}: {err:?}",
            b.name
        );
        assert!(!err.is_retryable());
        tokio::time::sleep(Duration::from_millis(100)).await;
        assert_eq!(names(&admin).await, ["raw1", "raw2"], "{}: it ran", b.name);
    }
}
