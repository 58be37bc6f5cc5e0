//! Optimistic locking (versions, concurrency checks, `lock_version`) and pessimistic locking
//! (the six modes, the transaction requirement, lock table aliases, two transactions
//! contending for one row), on every backend.

use crate::common::*;
use coherent::Dialect;
use coherent::Error;
use coherent::prelude::*;
use std::time::{Duration, Instant};

#[derive(Entity, Clone, Debug, PartialEq)]
#[entity(table = "docs")]
pub struct Doc {
    #[primary_key]
    pub id: i64,
    pub title: String,
    #[version]
    pub version: i32,
}

#[cfg(feature = "chrono")]
#[derive(Entity, Clone, Debug, PartialEq)]
#[entity(table = "stamped_docs")]
pub struct StampedDoc {
    #[primary_key]
    pub id: i64,
    pub title: String,
    #[version]
    pub version: chrono::DateTime<chrono::Utc>,
}

#[derive(Entity, Clone, Debug, PartialEq)]
#[entity(table = "accounts")]
pub struct Account {
    #[primary_key]
    pub id: i64,
    #[concurrency_check]
    pub owner: String,
    #[concurrency_check]
    pub balance: Option<i64>,
    pub note: String,
}

#[derive(Entity, Clone, Debug, PartialEq)]
#[entity(table = "counters")]
pub struct Counter {
    #[primary_key]
    pub id: i64,
    pub value: i64,
    #[version]
    pub version: i64,
}

fn doc(title: &str) -> Doc {
    Doc {
        id: 0,
        title: title.into(),
        version: 0,
    }
}

async fn orm_for(b: &Backend) -> Orm {
    b.orm_with(|o| {
        let o = o.entity::<Doc>();
        #[cfg(feature = "chrono")]
        let o = o.entity::<StampedDoc>();
        o.entity::<Account>().entity::<Counter>()
    })
    .await
}

async fn titles(orm: &Orm) -> Vec<(String, i32)> {
    let em = orm.em().fork();
    let mut docs = em
        .find_with(
            Filter::<Doc>::all(),
            FindOptions {
                order_by: vec![Doc::ID.asc()],
                ..Default::default()
            },
        )
        .await
        .unwrap();
    docs.drain(..)
        .map(|d| (d.read().title.clone(), d.read().version))
        .collect()
}

#[tokio::test]
async fn versions_start_at_one_and_every_update_advances_them_in_its_where() {
    for b in backends() {
        let orm = orm_for(&b).await;
        let em = orm.em().fork();
        let d = em.persist(doc("a")).unwrap();
        em.flush().await.unwrap();
        assert_eq!(d.read().version, 1, "{}", b.name);
        let log = StatementLog::capture();
        d.write().title = "b".into();
        em.flush().await.unwrap();
        assert_eq!(d.read().version, 2, "{}", b.name);
        let update = log
            .take()
            .into_iter()
            .find(|s| s.starts_with("UPDATE"))
            .unwrap();
        let update = update.replace(['`', '"'], "");
        // A single row is the plain per-row form on every backend (several rows on a server
        // go into one statement: `a_conflict_in_a_batch_of_updates_undoes_all_of_them`).
        assert!(
            update.contains("SET title = ")
                && update.contains(", version = ")
                && update.contains("AND version = "),
            "{}: {update}",
            b.name
        );
        // No change, no statement, no new version.
        em.flush().await.unwrap();
        assert_eq!(titles(&orm).await, vec![("b".to_string(), 2)], "{}", b.name);
    }
}

#[tokio::test]
async fn a_lost_update_between_two_forks_is_an_optimistic_lock_error_and_changes_nothing() {
    for b in backends() {
        let orm = orm_for(&b).await;
        let seed = orm.em().fork();
        let d = seed.persist(doc("first")).unwrap();
        seed.flush().await.unwrap();
        let id = d.read().id;

        let alice = orm.em().fork();
        let bob = orm.em().fork();
        let a = alice.find_one_or_fail::<Doc>(id).await.unwrap();
        let bb = bob.find_one_or_fail::<Doc>(id).await.unwrap();
        a.write().title = "alice".into();
        alice.flush().await.unwrap();
        bb.write().title = "bob".into();
        let err = bob.flush().await.unwrap_err();
        match &err {
            Error::OptimisticLock { entity, key } => {
                assert_eq!(*entity, "Doc");
                assert_eq!(key, &id.to_string());
            }
            other => panic!("{}: {other:?}", b.name),
        }
        assert_eq!(err.to_string(), "The optimistic lock on entity Doc failed");
        assert!(err.is_retryable());
        // The database keeps the first writer's value; Bob's memory is as before his flush.
        assert_eq!(
            titles(&orm).await,
            vec![("alice".to_string(), 2)],
            "{}",
            b.name
        );
        assert_eq!(bb.read().title, "bob");
        assert_eq!(bb.read().version, 1);
        assert!(bb.is_dirty());
        // Refreshing takes the other writer's version; then Bob's write goes through.
        bob.refresh(&bb).await.unwrap();
        bb.write().title = "bob again".into();
        bob.flush().await.unwrap();
        assert_eq!(
            titles(&orm).await,
            vec![("bob again".to_string(), 3)],
            "{}",
            b.name
        );
    }
}

#[tokio::test]
async fn a_conflict_in_a_batch_of_updates_undoes_all_of_them() {
    for b in backends() {
        let orm = orm_for(&b).await;
        let seed = orm.em().fork();
        for t in ["x", "y", "z"] {
            seed.persist(doc(t)).unwrap();
        }
        seed.flush().await.unwrap();
        let em = orm.em().fork();
        let docs = titles(&orm).await;
        assert_eq!(docs.len(), 3);
        let mine = em
            .find_with(
                Filter::<Doc>::all(),
                FindOptions {
                    order_by: vec![Doc::ID.asc()],
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        // Someone else changes the middle one.
        let other = orm.em().fork();
        let middle_id = mine[1].read().id;
        other
            .find_one_or_fail::<Doc>(middle_id)
            .await
            .unwrap()
            .write()
            .title = "theirs".into();
        other.flush().await.unwrap();
        for d in &mine {
            d.write().title.push('!');
        }
        let log = StatementLog::capture();
        let err = em.flush().await.unwrap_err();
        assert!(
            matches!(&err, Error::OptimisticLock { entity: "Doc", key } if *key == middle_id.to_string()),
            "{}: {err:?}",
            b.name
        );
        // The query log has every statement in the order it ran, the probe that found the
        // missed row included (servers: one multi-row UPDATE; SQLite: one per row).
        let ran: Vec<(String, bool)> = log.take_all();
        let shapes: Vec<&str> = ran
            .iter()
            .map(|(sql, failed)| match sql.split(' ').next().unwrap() {
                "UPDATE" if *failed => "UPDATE failed",
                first => first,
            })
            .collect();
        if b.is_server() {
            assert_eq!(
                shapes,
                ["BEGIN", "UPDATE failed", "SELECT", "ROLLBACK"],
                "{}: {ran:?}",
                b.name
            );
        } else {
            // One UPDATE per row, in the identity map's order: the missed one may come
            // first, second or last.
            let (last, before) = shapes.split_at(shapes.len() - 2);
            assert_eq!(before, ["UPDATE failed", "ROLLBACK"], "{}: {ran:?}", b.name);
            assert_eq!(last[0], "BEGIN", "{}: {ran:?}", b.name);
            assert!(
                last[1..].iter().all(|s| *s == "UPDATE"),
                "{}: {ran:?}",
                b.name
            );
        }
        drop(log);
        assert_eq!(
            titles(&orm).await,
            vec![("x".into(), 1), ("theirs".into(), 2), ("z".into(), 1)],
            "{}: no update of the batch stays",
            b.name
        );
        let versions: Vec<i32> = mine.iter().map(|d| d.read().version).collect();
        assert_eq!(versions, vec![1, 1, 1], "{}", b.name);
    }
}

#[cfg(feature = "chrono")]
#[tokio::test]
async fn timestamp_versions_have_millisecond_precision_and_compare_by_value() {
    for b in backends() {
        let orm = orm_for(&b).await;
        let em = orm.em().fork();
        let d = em
            .persist(StampedDoc {
                id: 0,
                title: "a".into(),
                version: chrono::DateTime::UNIX_EPOCH,
            })
            .unwrap();
        em.flush().await.unwrap();
        let v1 = d.read().version;
        assert!(v1 > chrono::DateTime::UNIX_EPOCH);
        assert_eq!(v1.timestamp_subsec_nanos() % 1_000_000, 0, "{}", b.name);
        let id = d.read().id;

        // A fresh load reads back exactly the version written.
        let other = orm.em().fork();
        let loaded = other.find_one_or_fail::<StampedDoc>(id).await.unwrap();
        assert_eq!(loaded.read().version, v1, "{}", b.name);
        // An equal value (a different instance) passes: compared by value.
        let same = chrono::DateTime::from_timestamp_millis(v1.timestamp_millis()).unwrap();
        other.lock_version(&loaded, same).await.unwrap();

        d.write().title = "b".into();
        em.flush().await.unwrap();
        assert!(d.read().version > v1, "{}", b.name);
        loaded.write().title = "stale".into();
        let err = other.flush().await.unwrap_err();
        assert!(
            matches!(
                err,
                Error::OptimisticLock {
                    entity: "StampedDoc",
                    ..
                }
            ),
            "{}: {err:?}",
            b.name
        );
    }
}

#[tokio::test]
async fn concurrency_checks_compare_loaded_values_and_must_be_changed() {
    for b in backends() {
        let orm = orm_for(&b).await;
        let em = orm.em().fork();
        let a = em
            .persist(Account {
                id: 0,
                owner: "ann".into(),
                balance: None,
                note: "".into(),
            })
            .unwrap();
        em.flush().await.unwrap();
        let id = a.read().id;

        // Changing only an unchecked field: refused before any SQL, state stays dirty.
        a.write().note = "hello".into();
        let log = StatementLog::capture();
        let err = em.flush().await.unwrap_err();
        assert!(
            matches!(
                err,
                Error::OptimisticLock {
                    entity: "Account",
                    ..
                }
            ),
            "{}: {err:?}",
            b.name
        );
        assert!(log.take().is_empty(), "{}: no SQL", b.name);
        assert!(a.is_dirty());

        // Changing a checked field (from NULL) writes the other pending columns too.
        a.write().balance = Some(10);
        em.flush().await.unwrap();
        let fresh = orm
            .em()
            .fork()
            .find_one_or_fail::<Account>(id)
            .await
            .unwrap();
        assert_eq!(fresh.read().note, "hello");
        assert_eq!(fresh.read().balance, Some(10));

        // Someone else moves a checked value: our update finds no row.
        let other = orm.em().fork();
        other
            .find_one_or_fail::<Account>(id)
            .await
            .unwrap()
            .write()
            .owner = "bea".into();
        other.flush().await.unwrap();
        a.write().balance = Some(20);
        let err = em.flush().await.unwrap_err();
        assert!(
            matches!(
                err,
                Error::OptimisticLock {
                    entity: "Account",
                    ..
                }
            ),
            "{}: {err:?}",
            b.name
        );
        let fresh = orm
            .em()
            .fork()
            .find_one_or_fail::<Account>(id)
            .await
            .unwrap();
        assert_eq!(
            (fresh.read().owner.as_str(), fresh.read().balance),
            ("bea", Some(10)),
            "{}",
            b.name
        );
    }
}

#[tokio::test]
async fn lock_version_checks_the_version_in_memory_with_mikro_orms_messages() {
    for b in backends() {
        let orm = orm_for(&b).await;
        let em = orm.em().fork();
        let d = em.persist(doc("a")).unwrap();
        em.flush().await.unwrap();
        let id = d.read().id;

        let reader = orm.em().fork();
        let found = reader
            .find_one_with::<Doc>(
                id,
                FindOptions::default()
                    .lock_mode(LockMode::Optimistic)
                    .lock_version(1i32),
            )
            .await
            .unwrap();
        assert!(found.is_some());
        let err = reader
            .find_one_with::<Doc>(
                id,
                FindOptions::default()
                    .lock_mode(LockMode::Optimistic)
                    .lock_version(2i32),
            )
            .await
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "The optimistic lock failed, version 2 was expected, but is actually 1"
        );
        let err = reader
            .lock_version(&found.unwrap(), 7i32)
            .await
            .unwrap_err();
        assert!(matches!(err, Error::VersionMismatch { .. }));

        let u = em.persist(User::new("u", "u@x.io")).unwrap();
        em.flush().await.unwrap();
        let err = em.lock(&u, LockMode::Optimistic).await.unwrap_err();
        assert_eq!(
            err.to_string(),
            "Cannot obtain optimistic lock on unversioned entity User"
        );
        let err = em
            .find_with(
                Filter::<User>::all(),
                FindOptions::default().lock_mode(LockMode::Optimistic),
            )
            .await
            .unwrap_err();
        assert!(
            matches!(err, Error::NotVersioned { entity: "User" }),
            "{err:?}"
        );
        // A stranger's entity is not managed here.
        let err = reader.lock_version(&u, 1i32).await.unwrap_err();
        assert!(matches!(err, Error::NotManaged { .. }), "{err:?}");
    }
}

const PESSIMISTIC: [LockMode; 6] = [
    LockMode::PessimisticRead,
    LockMode::PessimisticWrite,
    LockMode::PessimisticPartialWrite,
    LockMode::PessimisticWriteOrFail,
    LockMode::PessimisticPartialRead,
    LockMode::PessimisticReadOrFail,
];

#[tokio::test]
async fn pessimistic_locks_need_a_transaction_and_render_per_dialect() {
    for b in backends() {
        let orm = orm_for(&b).await;
        let em = orm.em().fork();
        let d = em.persist(doc("a")).unwrap();
        em.flush().await.unwrap();
        let id = d.read().id;
        for mode in PESSIMISTIC {
            let log = StatementLog::capture();
            let err = em
                .find_with(Filter::<Doc>::all(), FindOptions::default().lock_mode(mode))
                .await
                .unwrap_err();
            assert_eq!(
                err.to_string(),
                "An open transaction is required for this operation",
                "{} {mode:?}",
                b.name
            );
            let err = em.lock(&d, mode).await.unwrap_err();
            assert!(matches!(err, Error::TransactionRequired), "{err:?}");
            assert!(log.take().is_empty(), "{}: nothing ran", b.name);
        }
        for mode in PESSIMISTIC {
            let log = StatementLog::capture();
            let found = em
                .transactional(|tx| async move {
                    let found = tx
                        .find_one_with::<Doc>(id, FindOptions::default().lock_mode(mode))
                        .await?;
                    tx.lock(found.as_ref().unwrap(), mode).await?;
                    Ok::<_, Error>(found.is_some())
                })
                .await
                .unwrap();
            assert!(found, "{} {mode:?}", b.name);
            let selects: Vec<String> = log
                .take()
                .into_iter()
                .filter(|s| s.starts_with("SELECT"))
                .collect();
            // On SQLite `em.lock` needs no SQL: the transaction holds the write lock.
            let expected_selects = if b.is_sqlite() { 1 } else { 2 };
            assert_eq!(selects.len(), expected_selects, "{}: {selects:?}", b.name);
            let expected = match (b.dialect(), mode) {
                (Dialect::Sqlite, _) => None,
                (Dialect::Postgres, LockMode::PessimisticRead) => Some(" FOR SHARE"),
                (Dialect::Postgres, LockMode::PessimisticWrite) => Some(" FOR UPDATE"),
                (Dialect::Postgres, LockMode::PessimisticPartialWrite) => {
                    Some(" FOR UPDATE SKIP LOCKED")
                }
                (Dialect::Postgres, LockMode::PessimisticWriteOrFail) => Some(" FOR UPDATE NOWAIT"),
                (Dialect::Postgres, LockMode::PessimisticPartialRead) => {
                    Some(" FOR SHARE SKIP LOCKED")
                }
                (Dialect::Postgres, LockMode::PessimisticReadOrFail) => Some(" FOR SHARE NOWAIT"),
                (Dialect::MySql, LockMode::PessimisticRead) => Some(" LOCK IN SHARE MODE"),
                (Dialect::MySql, LockMode::PessimisticWrite) => Some(" FOR UPDATE"),
                (Dialect::MySql, LockMode::PessimisticPartialWrite) => {
                    Some(" FOR UPDATE SKIP LOCKED")
                }
                (Dialect::MySql, LockMode::PessimisticWriteOrFail) => Some(" FOR UPDATE NOWAIT"),
                (Dialect::MySql, LockMode::PessimisticPartialRead) => {
                    Some(" LOCK IN SHARE MODE SKIP LOCKED")
                }
                (Dialect::MySql, LockMode::PessimisticReadOrFail) => {
                    Some(" LOCK IN SHARE MODE NOWAIT")
                }
                _ => unreachable!(),
            };
            for s in &selects {
                match expected {
                    Some(clause) => assert!(s.ends_with(clause), "{}: {s}", b.name),
                    None => assert!(!s.contains(" FOR ") && !s.contains("LOCK IN"), "{s}"),
                }
            }
        }
        // Lock table aliases (MikroORM's: the table's first letter and position): PostgreSQL
        // renders OF, MySQL refuses.
        let result = em
            .transactional(|tx| async move {
                tx.find_with(
                    Filter::<Doc>::all(),
                    FindOptions::default()
                        .lock_mode(LockMode::PessimisticWrite)
                        .lock_table_aliases(["d0"]),
                )
                .await
            })
            .await;
        match b.dialect() {
            Dialect::MySql => assert!(
                matches!(result, Err(Error::LockUnsupported { .. })),
                "{result:?}"
            ),
            _ => assert_eq!(result.unwrap().len(), 1, "{}", b.name),
        }
        // SQLite: a read-only transaction cannot stand in for row locks.
        if b.dialect() == Dialect::Sqlite {
            let result = em
                .transactional_with(
                    TxOptions {
                        read_only: true,
                        ..Default::default()
                    },
                    |tx| async move {
                        tx.find_with(
                            Filter::<Doc>::all(),
                            FindOptions::default().lock_mode(LockMode::PessimisticRead),
                        )
                        .await
                    },
                )
                .await;
            assert!(
                matches!(result, Err(Error::LockUnsupported { .. })),
                "{result:?}"
            );
        }
    }
}

/// A holds row 1 FOR UPDATE; B's skip-locked read skips it; B's nowait fails at once with the
/// lock-not-available error; C's plain write lock waits until A commits.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn skip_locked_nowait_and_waiting_between_two_transactions() {
    for b in backends().into_iter().filter(|b| b.is_server()) {
        let orm = orm_for(&b).await;
        let seed = orm.em().fork();
        for t in ["one", "two", "three"] {
            seed.persist(doc(t)).unwrap();
        }
        seed.flush().await.unwrap();
        let ids: Vec<i64> = titles(&orm)
            .await
            .iter()
            .enumerate()
            .map(|(i, _)| i as i64 + 1)
            .collect();
        let first = ids[0];

        let a = orm.em().fork();
        a.begin().await.unwrap();
        let held = a
            .find_one_with::<Doc>(
                first,
                FindOptions::default().lock_mode(LockMode::PessimisticWrite),
            )
            .await
            .unwrap()
            .unwrap();
        held.write().title = "A was here".into();

        // B: skip locked sees the other two rows.
        let bm = orm.em().fork();
        let skipped = bm
            .transactional(|tx| async move {
                tx.find_with(
                    Filter::<Doc>::all(),
                    FindOptions {
                        order_by: vec![Doc::ID.asc()],
                        ..Default::default()
                    }
                    .lock_mode(LockMode::PessimisticPartialWrite),
                )
                .await
                .map(|v| v.iter().map(|d| d.read().id).collect::<Vec<_>>())
            })
            .await
            .unwrap();
        assert_eq!(skipped, ids[1..].to_vec(), "{}", b.name);

        // B: nowait fails at once.
        let started = Instant::now();
        let err = bm
            .transactional(|tx| async move {
                tx.find_one_with::<Doc>(
                    first,
                    FindOptions::default().lock_mode(LockMode::PessimisticWriteOrFail),
                )
                .await
            })
            .await
            .unwrap_err();
        assert!(
            matches!(err, Error::LockNotAvailable { .. }),
            "{}: {err:?}",
            b.name
        );
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "{}: NOWAIT did not wait",
            b.name
        );

        // C: a plain write lock waits for A.
        let c = orm.em().fork();
        let waiter = tokio::spawn(async move {
            c.transactional(|tx| async move {
                let d = tx
                    .find_one_with::<Doc>(
                        first,
                        FindOptions::default().lock_mode(LockMode::PessimisticWrite),
                    )
                    .await?
                    .unwrap();
                let seen = d.read().title.clone();
                Ok::<_, Error>((seen, Instant::now()))
            })
            .await
        });
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert!(!waiter.is_finished(), "{}: C must wait for A", b.name);
        let committed_at = Instant::now();
        a.commit().await.unwrap();
        let (seen, at) = waiter.await.unwrap().unwrap();
        assert_eq!(
            seen, "A was here",
            "{}: C reads A's committed write",
            b.name
        );
        assert!(at >= committed_at, "{}", b.name);
    }
}

/// `em.lock` renders MikroORM's probe, `SELECT 1 FROM t AS t0 WHERE t0.key = ? FOR ..`, and
/// `lock_with` takes lock table aliases: `OF "d0"` on PostgreSQL, refused on MySQL, an alias
/// the probe does not have refused before any SQL. The lock is real: another transaction's
/// NOWAIT on the row fails until the holder commits.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn em_lock_selects_one_with_aliases_and_holds_the_row() {
    for b in backends() {
        let orm = orm_for(&b).await;
        let seed = orm.em().fork();
        let d = seed.persist(doc("locked")).unwrap();
        seed.flush().await.unwrap();
        let id = d.read().id;

        let a = orm.em().fork();
        let d = a.find_one_or_fail::<Doc>(id).await.unwrap();
        a.begin().await.unwrap();
        let log = StatementLog::capture();
        let err = a
            .lock_with(&d, LockMode::PessimisticWrite, ["x9"])
            .await
            .unwrap_err();
        assert!(
            matches!(&err, Error::InvalidArgument(m) if m.contains("`x9`") && m.contains("d0")),
            "{}: {err:?}",
            b.name
        );
        assert!(log.take_all().is_empty(), "{}: nothing ran", b.name);
        let with_alias = a.lock_with(&d, LockMode::PessimisticWrite, ["d0"]).await;
        a.lock(&d, LockMode::PessimisticWrite).await.unwrap();
        let probes = log.take();
        match b.dialect() {
            Dialect::Sqlite => {
                with_alias.unwrap();
                assert!(
                    probes.is_empty(),
                    "{}: the write lock is held: {probes:?}",
                    b.name
                );
            }
            Dialect::Postgres => {
                with_alias.unwrap();
                assert_eq!(
                    probes,
                    [
                        r#"SELECT 1 FROM "docs" AS "d0" WHERE "d0"."id" = $1 FOR UPDATE OF "d0""#,
                        r#"SELECT 1 FROM "docs" AS "d0" WHERE "d0"."id" = $1 FOR UPDATE"#,
                    ],
                    "{}",
                    b.name
                );
            }
            Dialect::MySql => {
                assert!(
                    matches!(with_alias, Err(Error::LockUnsupported { .. })),
                    "{}: {with_alias:?}",
                    b.name
                );
                assert_eq!(
                    probes,
                    ["SELECT 1 FROM `docs` AS `d0` WHERE `d0`.`id` = ? FOR UPDATE"],
                    "{}",
                    b.name
                );
            }
        }
        drop(log);
        if b.is_server() {
            let other = orm.em().fork();
            let err = other
                .transactional(|tx| async move {
                    tx.find_one_with::<Doc>(
                        id,
                        FindOptions::default().lock_mode(LockMode::PessimisticWriteOrFail),
                    )
                    .await
                })
                .await
                .unwrap_err();
            assert!(
                matches!(err, Error::LockNotAvailable { .. }),
                "{}: {err:?}",
                b.name
            );
        }
        a.commit().await.unwrap();
        assert_eq!(
            titles(&orm).await,
            [("locked".to_string(), 1)],
            "{}",
            b.name
        );
    }
}

/// 32 tasks, each with its own fork, increment one counter 50 times: with optimistic locking
/// and retry, and with a pessimistic write lock. No increment is lost.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_lost_updates_under_load() {
    const TASKS: usize = 32;
    const ROUNDS: usize = 50;
    for b in backends() {
        let orm = orm_for(&b).await;
        for mode in [LockMode::Optimistic, LockMode::PessimisticWrite] {
            let seed = orm.em().fork();
            let counter = seed
                .persist(Counter {
                    id: 0,
                    value: 0,
                    version: 0,
                })
                .unwrap();
            seed.flush().await.unwrap();
            let id = counter.read().id;
            let conflicts = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
            let mut tasks = Vec::new();
            for _ in 0..TASKS {
                let em = orm.em().fork();
                let conflicts = conflicts.clone();
                tasks.push(tokio::spawn(async move {
                    for _ in 0..ROUNDS {
                        let attempts = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
                        let counted = attempts.clone();
                        em.transactional_retry(
                            TxOptions {
                                retry: 1000,
                                clear: true,
                                ..Default::default()
                            },
                            move |tx| {
                                counted.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                                async move {
                                    let lock = match mode {
                                        LockMode::Optimistic => LockMode::None,
                                        m => m,
                                    };
                                    let c = tx
                                        .find_one_with::<Counter>(
                                            id,
                                            FindOptions::default().lock_mode(lock),
                                        )
                                        .await?
                                        .unwrap();
                                    c.write().value += 1;
                                    Ok(())
                                }
                            },
                        )
                        .await?;
                        conflicts.fetch_add(
                            attempts.load(std::sync::atomic::Ordering::Relaxed) - 1,
                            std::sync::atomic::Ordering::Relaxed,
                        );
                    }
                    Ok::<_, Error>(())
                }));
            }
            for t in tasks {
                t.await.unwrap().unwrap();
            }
            let fresh = orm
                .em()
                .fork()
                .find_one_or_fail::<Counter>(id)
                .await
                .unwrap();
            assert_eq!(
                fresh.read().value,
                (TASKS * ROUNDS) as i64,
                "{} {mode:?}",
                b.name
            );
            println!(
                "{}: {mode:?}: {} increments, {} retried conflicts",
                b.name,
                TASKS * ROUNDS,
                conflicts.load(std::sync::atomic::Ordering::Relaxed)
            );
        }
    }
}

#[derive(Entity, Clone, Debug, PartialEq)]
#[entity(table = "jobs")]
pub struct Job {
    #[primary_key]
    pub id: i64,
    #[column(index)]
    pub done_by: Option<i32>,
    pub times: i32,
}

/// 4 workers take jobs with `PessimisticPartialWrite` (skip locked) in short transactions
/// until 2 000 jobs are done: every job is processed exactly once, none is skipped. On the
/// servers the transactions are READ COMMITTED (MariaDB's repeatable-read gap locks would make
/// skip-locked skip more than the rows others hold).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_queue_on_skip_locked_processes_every_job_exactly_once() {
    const JOBS: usize = 2_000;
    const WORKERS: i32 = 4;
    for b in backends() {
        let orm = b.orm_with(|o| o.entity::<Job>()).await;
        let seed = orm.em().fork();
        for _ in 0..JOBS {
            seed.persist(Job {
                id: 0,
                done_by: None,
                times: 0,
            })
            .unwrap();
        }
        seed.flush().await.unwrap();
        let isolation = (!b.is_sqlite()).then_some(IsolationLevel::ReadCommitted);
        let mut workers = Vec::new();
        for worker in 0..WORKERS {
            let em = orm.em().fork();
            workers.push(tokio::spawn(async move {
                let mut mine = Vec::new();
                loop {
                    let taken = em
                        .transactional_with(
                            TxOptions {
                                isolation,
                                clear: true,
                                ..Default::default()
                            },
                            |tx| async move {
                                let batch = tx
                                    .find_with(
                                        Job::DONE_BY.is_null(),
                                        FindOptions {
                                            order_by: vec![Job::ID.asc()],
                                            limit: Some(10),
                                            ..Default::default()
                                        }
                                        .lock_mode(LockMode::PessimisticPartialWrite),
                                    )
                                    .await?;
                                let mut ids = Vec::with_capacity(batch.len());
                                for job in &batch {
                                    let mut j = job.write();
                                    j.done_by = Some(worker);
                                    j.times += 1;
                                    ids.push(j.id);
                                }
                                Ok::<_, Error>(ids)
                            },
                        )
                        .await?;
                    if taken.is_empty() {
                        break;
                    }
                    mine.extend(taken);
                }
                Ok::<_, Error>(mine)
            }));
        }
        let mut processed = Vec::new();
        let mut per_worker = Vec::new();
        for w in workers {
            let mine = w.await.unwrap().unwrap();
            per_worker.push(mine.len());
            processed.extend(mine);
        }
        processed.sort_unstable();
        let before = processed.len();
        processed.dedup();
        assert_eq!(before, processed.len(), "{}: a job was taken twice", b.name);
        assert_eq!(processed.len(), JOBS, "{}: every job taken", b.name);
        let check = orm.em().fork();
        let left = check.count(Job::DONE_BY.is_null()).await.unwrap();
        assert_eq!(left, 0, "{}: none skipped", b.name);
        let twice = check.count(Job::TIMES.ne(1)).await.unwrap();
        assert_eq!(twice, 0, "{}: each processed exactly once", b.name);
        println!("{}: jobs per worker {per_worker:?}", b.name);
    }
}
