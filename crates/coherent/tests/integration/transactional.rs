//! `transactional` and propagation.

use crate::common::*;
use crate::each_backend;
use coherent::prelude::*;
use coherent::{Error, Result};
use coherent::{TransactionEvent, TransactionListener};

/// An application error type: `transactional` returns the closure's error unchanged.
#[derive(Debug)]
enum AppError {
    Orm(Error),
    Refused(&'static str),
}

impl From<Error> for AppError {
    fn from(e: Error) -> Self {
        AppError::Orm(e)
    }
}

#[tokio::test]
async fn a_new_transaction_flushes_before_commit_returns_the_value_and_merges_back() {
    each_backend!(|b, orm| {
        let em = orm.em().fork();
        let early = em.persist(User::new("early", "early@x.io")).unwrap(); // pending in the parent
        let log = StatementLog::capture();
        let (inner, id) = em
            .transactional(|tx| async move {
                assert!(tx.in_transaction().await);
                let u = tx.persist(User::new("a", "a@x.io"))?;
                let id = u.read().id;
                Ok::<_, Error>((u, id))
            })
            .await
            .unwrap();
        assert_eq!(id, 0, "{}: not flushed inside the closure", b.name);
        assert_eq!(
            statement_kinds(&log.take()),
            [
                b.begin_sql(),
                "SAVEPOINT coherent_batch",
                "INSERT INTO",
                b.batch_release(),
                "COMMIT"
            ],
            "{}: one flush, inside the transaction, before COMMIT (the parent's pending work included)",
            b.name
        );
        assert!(inner.read().id > 0 && early.read().id > 0, "{}", b.name);
        assert!(
            em.contains(&inner).unwrap(),
            "{}: merged back into the parent",
            b.name
        );
        assert!(!em.in_transaction().await);
        let log = StatementLog::capture();
        em.flush().await.unwrap();
        assert!(
            log.take().is_empty(),
            "{}: the parent has nothing left to write",
            b.name
        );
        assert_eq!(user_rows(&orm).await.len(), 2);
    });
}

#[tokio::test]
async fn inside_the_closure_the_global_entity_manager_is_the_transaction() {
    each_backend!(|b, orm| {
        let global = orm.em().clone(); // what a service holds
        RequestContext::create(orm.em(), async {
            let request = RequestContext::current(orm.em()).unwrap();
            orm.em()
                .transactional(|tx| {
                    let global = global.clone();
                    async move {
                        assert!(
                            EntityManager::same(&global.resolve(), &tx),
                            "transaction first"
                        );
                        global.persist(User::new("g", "g@x.io"))?;
                        Ok::<_, Error>(())
                    }
                })
                .await
                .unwrap();
            assert!(
                EntityManager::same(&orm.em().resolve(), &request),
                "then the request again"
            );
            assert_eq!(
                request.len().unwrap(),
                1,
                "merged back into the request's EntityManager"
            );
        })
        .await;
        assert_eq!(user_rows(&orm).await.len(), 1, "{}", b.name);
    });
}

#[tokio::test]
async fn a_failing_closure_rolls_back_and_restores_memory() {
    each_backend!(|b, orm| {
        let em = orm.em().fork();
        let u = em.persist(User::new("a", "a@x.io")).unwrap();
        em.flush().await.unwrap();
        let before = u.get();
        let rows = user_rows(&orm).await;
        let err = em
            .transactional(|tx| {
                let u = u.clone();
                async move {
                    u.write().name = "inside".into();
                    tx.persist(User::new("b", "b@x.io"))?;
                    tx.flush().await?;
                    Err::<(), _>(AppError::Refused("business rule"))
                }
            })
            .await
            .unwrap_err();
        assert!(
            matches!(err, AppError::Refused("business rule")),
            "{}: the closure's own error",
            b.name
        );
        assert_eq!(user_rows(&orm).await, rows, "{}", b.name);
        assert_eq!(
            u.get(),
            before,
            "{}: the shared instance is restored",
            b.name
        );
        assert!(!u.is_dirty());
        assert_eq!(em.len().unwrap(), 1, "{}", b.name);
        // A flush error inside is returned as the closure's error type.
        let err = em
            .transactional(|tx| async move {
                tx.persist(User::new("dup", "a@x.io"))?;
                tx.flush().await?;
                Ok::<_, AppError>(())
            })
            .await
            .unwrap_err();
        assert!(
            matches!(err, AppError::Orm(Error::Constraint { .. })),
            "{}: {err:?}",
            b.name
        );
        assert_eq!(user_rows(&orm).await, rows);
    });
}

#[tokio::test]
async fn nested_is_a_savepoint_that_can_fail_alone() {
    each_backend!(|b, orm| {
        let em = orm.em().fork();
        let log = StatementLog::capture();
        em.transactional(|tx| async move {
            tx.persist(User::new("outer", "outer@x.io"))?;
            let inner = tx
                .transactional(|inner| async move {
                    inner.persist(User::new("inner", "inner@x.io"))?;
                    inner.flush().await?;
                    Err::<(), _>(Error::InvalidArgument("inner fails".into()))
                })
                .await;
            assert!(inner.is_err());
            assert!(tx.in_transaction().await, "the outer transaction goes on");
            Ok::<_, Error>(())
        })
        .await
        .unwrap();
        let sql = statement_kinds(&log.take());
        assert!(
            sql.contains(&"SAVEPOINT trx1".to_string())
                && sql.contains(&"ROLLBACK TO SAVEPOINT trx1".to_string()),
            "{}: {sql:?}",
            b.name
        );
        let names: Vec<_> = user_rows(&orm).await.into_iter().map(|r| r.1).collect();
        assert_eq!(names, ["outer"], "{}", b.name);
    });
}

/// MikroORM commits the outer work when a joined (`REQUIRED`) scope failed and the caller
/// swallowed its error (verified S6). Coherent marks the transaction rollback-only.
#[tokio::test]
async fn a_failed_required_scope_poisons_the_transaction() {
    each_backend!(|b, orm| {
        let em = orm.em().fork();
        let keep = em.persist(User::new("k", "k@x.io")).unwrap();
        em.flush().await.unwrap();
        let before = keep.get();
        let required = TxOptions {
            propagation: Propagation::Required,
            ..Default::default()
        };
        let err = em
            .transactional(|tx| async move {
                keep.write().name = "outer change".into();
                let outer_id = tx.id();
                let swallowed = tx
                    .transactional_with(required, |joined| async move {
                        assert_eq!(joined.id(), outer_id, "joined: the same EntityManager");
                        Err::<(), _>(Error::InvalidArgument("joined scope fails".into()))
                    })
                    .await;
                assert!(swallowed.is_err()); // ...and the caller carries on
                Ok::<_, Error>(())
            })
            .await
            .unwrap_err();
        assert!(
            matches!(err, Error::RollbackOnly { retryable: false }),
            "{}: {err:?}",
            b.name
        );
        assert_eq!(
            user_rows(&orm).await[0].1,
            "k",
            "{}: nothing committed",
            b.name
        );
        let current = em.find_one::<User>(before.id).await.unwrap().unwrap();
        assert_eq!(current.get(), before, "{}: memory restored", b.name);
    });
}

#[tokio::test]
async fn mandatory_never_and_supports() {
    each_backend!(|b, orm| {
        let em = orm.em().fork();
        let opts = |propagation| TxOptions {
            propagation,
            ..Default::default()
        };
        let err = em
            .transactional_with(opts(Propagation::Mandatory), |_| async {
                Ok::<_, Error>(())
            })
            .await
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            r#"No existing transaction found for transaction marked with propagation "mandatory""#
        );
        em.transactional(|tx| async move {
            let err = tx
                .transactional_with(opts(Propagation::Never), |_| async { Ok::<_, Error>(()) })
                .await
                .unwrap_err();
            assert_eq!(
                err.to_string(),
                r#"Existing transaction found for transaction marked with propagation "never""#
            );
            let joined = tx
                .transactional_with(opts(Propagation::Mandatory), |j| async move {
                    Ok::<_, Error>(j.id())
                })
                .await?;
            assert_eq!(joined, tx.id(), "mandatory joins");
            let supported = tx
                .transactional_with(opts(Propagation::Supports), |j| async move {
                    Ok::<_, Error>(j.id())
                })
                .await?;
            assert_eq!(supported, tx.id(), "supports joins");
            Ok::<_, Error>(())
        })
        .await
        .unwrap();
        // Without a transaction, supports (and never) run without one, flush, merge back.
        let u = em
            .transactional_with(opts(Propagation::Supports), |f| async move {
                assert!(!f.in_transaction().await);
                f.persist(User::new("s", "s@x.io"))
            })
            .await
            .unwrap();
        assert!(u.read().id > 0 && em.contains(&u).unwrap(), "{}", b.name);
        assert_eq!(user_rows(&orm).await.len(), 1, "{}", b.name);
    });
}

/// Dropping the future of a transaction (a timeout, a client disconnect) rolls it back,
/// restores memory and leaves no lock behind.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dropped_transaction_rolls_back() {
    for b in backends() {
        let orm = b.orm().await;
        let em = orm.em().fork();
        let u = em.persist(User::new("a", "a@x.io")).unwrap();
        em.flush().await.unwrap();
        let before = u.get();
        let (entered_tx, entered_em) = (std::sync::Arc::new(tokio::sync::Notify::new()), u.clone());
        let signal = entered_tx.clone();
        let work = em.transactional(move |tx| async move {
            entered_em.write().name = "inside".into();
            tx.persist(User::new("b", "b@x.io"))?;
            tx.flush().await?;
            signal.notify_one();
            std::future::pending::<()>().await; // a slow external call
            Ok::<_, Error>(())
        });
        tokio::select! {
            _ = work => unreachable!("never finishes"),
            _ = entered_tx.notified() => {} // drop the transaction mid-way
        }
        assert_eq!(u.get(), before, "{}: memory restored", b.name);
        assert_eq!(user_rows(&orm).await.len(), 1, "{}: rolled back", b.name);
        let other = orm.em().fork();
        other.persist(User::new("c", "c@x.io")).unwrap();
        other.flush().await.unwrap(); // no lock left behind
        assert_eq!(user_rows(&orm).await.len(), 2, "{}", b.name);
    }
}

/// MikroORM hangs forever on REQUIRES_NEW inside a transaction on SQLite (one writer: the
/// new transaction waits for a lock its own caller holds). Coherent fails at once there, with
/// a typed error that says why, and the outer transaction goes on. Where there are concurrent
/// writers (PostgreSQL, MySQL) the new transaction runs on a connection of its own and
/// commits on its own, before the outer one.
#[tokio::test]
async fn requires_new_fails_fast_where_there_is_one_writer() {
    each_backend!(|b, orm| {
        let em = orm.em().fork();
        let requires_new = TxOptions {
            propagation: Propagation::RequiresNew,
            ..Default::default()
        };
        let one_writer = b.is_sqlite();
        let observer = orm.clone();
        em.transactional(|tx| async move {
            tx.persist(User::new("outer", "outer@x.io"))?;
            let outer_id = tx.id();
            let result = tx
                .transactional_with(requires_new.clone(), |inner| async move {
                    assert!(inner.in_transaction().await);
                    inner.persist(User::new("inner", "inner@x.io"))?;
                    Ok::<_, Error>(inner.id())
                })
                .await;
            if one_writer {
                let err = result.unwrap_err();
                assert!(
                    matches!(err, Error::RequiresNewUnavailable { backend: "SQLite" }),
                    "{err:?}"
                );
                assert!(err.to_string().contains("wait forever"));
            } else {
                let inner_id = result.unwrap();
                assert_ne!(inner_id, outer_id, "a transaction of its own");
                let seen: Vec<_> = user_rows(&observer)
                    .await
                    .into_iter()
                    .map(|r| r.1)
                    .collect();
                assert_eq!(seen, ["inner"], "committed before the outer transaction");
                assert!(tx.in_transaction().await, "the outer transaction goes on");
            }
            Ok::<_, Error>(())
        })
        .await
        .unwrap();
        let mut names: Vec<_> = user_rows(&orm).await.into_iter().map(|r| r.1).collect();
        names.sort();
        let expected: &[&str] = if one_writer {
            &["outer"]
        } else {
            &["inner", "outer"]
        };
        assert_eq!(
            names, expected,
            "{}: the outer transaction committed",
            b.name
        );
        // Without an open transaction it is simply a new one.
        let id = em
            .transactional_with(
                TxOptions {
                    propagation: Propagation::RequiresNew,
                    ..Default::default()
                },
                |tx| async move {
                    assert!(tx.in_transaction().await);
                    Ok::<_, Error>(tx.id())
                },
            )
            .await
            .unwrap();
        assert_ne!(id, em.id());
    });
}

/// NotSupported suspends the open transaction: the closure runs outside it (on a WAL file it
/// reads the last committed state, not the outer transaction's uncommitted row), and the
/// outer transaction's pending work is not written by it.
#[tokio::test]
async fn not_supported_runs_outside_the_open_transaction() {
    for b in backends().into_iter().filter(|b| b.shared_between_orms()) {
        let orm = b.orm().await;
        let em = orm.em().fork();
        em.transactional(|tx| async move {
            tx.persist(User::new("flushed", "f@x.io"))?;
            tx.flush().await?;
            let pending = tx.persist(User::new("pending", "p@x.io"))?;
            let seen = tx
                .transactional_with(
                    TxOptions {
                        propagation: Propagation::NotSupported,
                        ..Default::default()
                    },
                    |outside| async move {
                        assert!(!outside.in_transaction().await);
                        outside.count::<User>(Filter::all()).await
                    },
                )
                .await?;
            assert_eq!(
                seen, 0,
                "the uncommitted row is not seen outside the transaction"
            );
            assert_eq!(
                pending.read().id,
                0,
                "the outer pending work was not written outside it"
            );
            Ok::<_, Error>(())
        })
        .await
        .unwrap();
        assert_eq!(user_rows(&orm).await.len(), 2, "{}", b.name);
    }
}

#[tokio::test]
async fn isolation_levels_a_backend_lacks_are_typed_errors_and_joins_keep_the_level() {
    each_backend!(|b, orm| {
        let em = orm.em().fork();
        // SQLite is always serializable; the servers lack only SQL Server's SNAPSHOT.
        let (lacking, backend) = match b.dialect() {
            coherent::Dialect::Sqlite => (IsolationLevel::ReadCommitted, "SQLite"),
            coherent::Dialect::Postgres => (IsolationLevel::Snapshot, "PostgreSQL"),
            coherent::Dialect::MySql => (IsolationLevel::Snapshot, "MySQL"),
        };
        let called = std::sync::atomic::AtomicBool::new(false);
        let log = StatementLog::capture();
        let lacking = TxOptions {
            isolation: Some(lacking),
            ..Default::default()
        };
        let err = em
            .transactional_with(lacking.clone(), |_| async {
                called.store(true, std::sync::atomic::Ordering::SeqCst);
                Ok::<_, Error>(())
            })
            .await
            .unwrap_err();
        let level = lacking.isolation.unwrap().sql();
        assert!(
            matches!(
                err,
                Error::IsolationUnsupported { level: l, backend: n } if l == level && n == backend
            ),
            "{}: {err:?}",
            b.name
        );
        assert_eq!(
            err.to_string(),
            format!("{backend} has no isolation level {level}")
        );
        assert!(
            !called.load(std::sync::atomic::Ordering::SeqCst),
            "{}: the closure never ran",
            b.name
        );
        assert!(log.take().is_empty(), "{}: no SQL at all", b.name);
        if b.is_server() {
            // READ COMMITTED, which SQLite lacks, is a level of its own on the servers.
            em.transactional_with(
                TxOptions {
                    isolation: Some(IsolationLevel::ReadCommitted),
                    ..Default::default()
                },
                |tx| async move { tx.count::<User>(Filter::all()).await },
            )
            .await
            .unwrap();
            let expected: &[&str] = if b.is_postgres() {
                &["BEGIN ISOLATION LEVEL READ COMMITTED"]
            } else {
                &[
                    "SET TRANSACTION ISOLATION LEVEL READ COMMITTED",
                    "START TRANSACTION",
                ]
            };
            let sql = log.take();
            assert_eq!(&sql[..expected.len()], expected, "{}: {sql:?}", b.name);
        }
        // SQLite transactions are serializable, and so can the servers' be: asking is fine.
        let serializable = TxOptions {
            isolation: Some(IsolationLevel::Serializable),
            ..Default::default()
        };
        em.transactional_with(serializable, |tx| async move {
            tx.persist(User::new("s", "s@x.io"))
        })
        .await
        .unwrap();
        // A joined scope keeps the open transaction's level: no error, no new BEGIN.
        log.take();
        em.transactional(|tx| async move {
            let joined = TxOptions {
                propagation: Propagation::Required,
                ..lacking
            };
            tx.transactional_with(joined, |j| async move { Ok::<_, Error>(j.id()) })
                .await
        })
        .await
        .unwrap();
        assert_eq!(
            statement_kinds(&log.take()),
            [b.begin_sql(), "COMMIT"],
            "{}",
            b.name
        );
        assert_eq!(user_rows(&orm).await.len(), 1, "{}", b.name);
    });
}

#[tokio::test]
async fn a_read_only_transaction_refuses_to_flush() {
    each_backend!(|b, orm| {
        let em = orm.em().fork();
        let u = em.persist(User::new("a", "a@x.io")).unwrap();
        em.flush().await.unwrap();
        let before = u.get();
        let read_only = TxOptions {
            read_only: true,
            ..Default::default()
        };
        let log = StatementLog::capture();
        let count = em
            .transactional_with(read_only.clone(), |tx| async move {
                tx.count::<User>(Filter::all()).await
            })
            .await
            .unwrap();
        assert_eq!(count, 1);
        // SQLite: a deferred BEGIN (no write lock); the servers: a READ ONLY transaction.
        let expected: &[&str] = match b.dialect() {
            coherent::Dialect::Sqlite => &["BEGIN"],
            coherent::Dialect::Postgres => &["BEGIN READ ONLY"],
            coherent::Dialect::MySql => &["SET TRANSACTION READ ONLY", "START TRANSACTION"],
        };
        let sql = log.take();
        assert!(
            sql.len() >= expected.len() && sql[..expected.len()] == *expected,
            "{}: {sql:?}",
            b.name
        );
        let err = em
            .transactional_with(read_only, |tx| {
                let u = u.clone();
                async move {
                    u.write().name = "changed".into();
                    tx.persist(User::new("b", "b@x.io"))?;
                    tx.flush().await
                }
            })
            .await
            .unwrap_err();
        assert!(
            matches!(err, Error::ReadOnlyTransaction),
            "{}: {err:?}",
            b.name
        );
        assert_eq!(user_rows(&orm).await.len(), 1, "{}", b.name);
        assert_eq!(u.get(), before, "{}: memory restored", b.name);
    });
}

/// Services written as seed 003 describes: `#[transactional]` methods that use the injected
/// (global) EntityManager, calling each other.
struct Accounts {
    em: EntityManager,
}

impl Accounts {
    #[transactional]
    async fn open_two(&self, first: &str, second: &str) -> Result<u64> {
        let outer = self.em.resolve().id();
        assert_eq!(self.open(first).await?, outer, "a Required method joins");
        let inner = self.open_checked(second).await;
        if let Err(e) = inner {
            // swallowed on purpose: the failed joined scope must still poison the transaction
            let _ = e;
        }
        Ok(outer)
    }

    #[transactional]
    async fn open(&self, email: &str) -> Result<u64> {
        self.em.persist(User::new("acct", email))?;
        Ok(self.em.resolve().id())
    }

    /// Persists, then fails for addresses starting with "bad": a joined scope that failed
    /// after changing something.
    #[transactional(propagation = Required)]
    async fn open_checked(&self, email: &str) -> Result<()> {
        self.em.persist(User::new("acct", email))?;
        if email.starts_with("bad") {
            return Err(Error::InvalidArgument(format!("{email} is refused")));
        }
        Ok(())
    }

    #[transactional(propagation = RequiresNew, isolation = Serializable)]
    async fn audit(&self) -> Result<()> {
        Ok(())
    }

    #[transactional(read_only)]
    async fn report(&self) -> Result<u64> {
        self.em.count::<User>(Filter::all()).await
    }
}

#[tokio::test]
async fn transactional_methods_join_poison_and_fail_fast() {
    each_backend!(|b, orm| {
        let accounts = Accounts {
            em: orm.em().clone(),
        };
        RequestContext::create(orm.em(), async {
            accounts.open_two("a@x.io", "b@x.io").await.unwrap();
            assert_eq!(accounts.report().await.unwrap(), 2);
            let err = accounts.open_two("c@x.io", "bad@x.io").await.unwrap_err();
            assert!(
                matches!(err, Error::RollbackOnly { retryable: false }),
                "{err:?}"
            );
            assert_eq!(
                accounts.report().await.unwrap(),
                2,
                "nothing of the poisoned transaction"
            );
            // RequiresNew outside a transaction is a new one; inside, SQLite fails fast and
            // the servers (concurrent writers) begin a second transaction.
            accounts.audit().await.unwrap();
            let inside = orm.em().transactional(|_| accounts.audit()).await;
            if b.is_sqlite() {
                let err = inside.unwrap_err();
                assert!(
                    matches!(err, Error::RequiresNewUnavailable { .. }),
                    "{err:?}"
                );
            } else {
                inside.unwrap();
            }
        })
        .await;
    });
}

#[transactional(em = orm)]
async fn free_function(orm: &Orm) -> Result<bool> {
    Ok(orm.em().in_transaction().await)
}

#[tokio::test]
async fn transactional_free_functions_take_the_orm() {
    each_backend!(|b, orm| {
        assert!(free_function(&orm).await.unwrap(), "{}", b.name);
    });
}

/// Seed 003: side effects after commit. `on_commit` work runs only after the outermost
/// COMMIT (the row is visible to others by then), in order; it survives a released savepoint
/// and is dropped with a rolled-back one or a rolled-back transaction.
#[tokio::test]
async fn on_commit_work_runs_after_the_outermost_commit_only() {
    for b in backends().into_iter().filter(|b| b.shared_between_orms()) {
        let orm = b.orm().await;
        let ran = std::sync::Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
        let record = |what: &'static str| {
            let ran = ran.clone();
            let orm = orm.clone();
            move || async move {
                let visible = orm
                    .em()
                    .query("SELECT * FROM users", vec![])
                    .await
                    .unwrap()
                    .len();
                ran.lock()
                    .unwrap()
                    .push(format!("{what}: {visible} row(s) visible"));
            }
        };
        let em = orm.em().fork();
        assert!(matches!(
            em.on_commit(|| async {}).await,
            Err(Error::TransactionRequired)
        ));
        em.transactional(|tx| {
            let (first, kept, dropped, second) = (
                record("first"),
                record("kept"),
                record("dropped"),
                record("second"),
            );
            let ran = ran.clone();
            async move {
                tx.persist(User::new("a", "a@x.io"))?;
                tx.on_commit(first).await?;
                tx.transactional(|inner| async move {
                    inner.on_commit(kept).await?;
                    Ok::<_, Error>(())
                })
                .await?;
                let _ = tx
                    .transactional(|inner| async move {
                        inner.on_commit(dropped).await?;
                        Err::<(), _>(Error::InvalidArgument("savepoint fails".into()))
                    })
                    .await;
                tx.on_commit(second).await?;
                assert!(ran.lock().unwrap().is_empty(), "nothing runs before COMMIT");
                Ok::<_, Error>(())
            }
        })
        .await
        .unwrap();
        assert_eq!(
            *ran.lock().unwrap(),
            [
                "first: 1 row(s) visible",
                "kept: 1 row(s) visible",
                "second: 1 row(s) visible"
            ],
            "{}",
            b.name
        );
        ran.lock().unwrap().clear();
        let _ = em
            .transactional(|tx| {
                let work = record("never");
                async move {
                    tx.on_commit(work).await?;
                    Err::<(), _>(Error::InvalidArgument("rolled back".into()))
                }
            })
            .await;
        assert!(
            ran.lock().unwrap().is_empty(),
            "{}: dropped with the rollback",
            b.name
        );
    }
}

struct Recorder(std::sync::Arc<std::sync::Mutex<Vec<String>>>);

impl TransactionListener for Recorder {
    fn on_event(&self, event: &TransactionEvent<'_>) {
        self.0.lock().unwrap().push(format!(
            "{:?}{}",
            event.kind,
            event
                .savepoint
                .map(|s| format!("({s})"))
                .unwrap_or_default()
        ));
    }
}

/// The event order MikroORM's tests verify (reference 1.13), for a transaction whose nested
/// scope fails.
#[tokio::test]
async fn transaction_events_come_in_mikro_orms_order() {
    for b in backends() {
        let events = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let orm = b
            .orm_with(|o| o.transaction_listener(Recorder(events.clone())))
            .await;
        let em = orm.em().fork();
        em.transactional(|tx| async move {
            tx.persist(User::new("a", "a@x.io"))?;
            let _ = tx
                .transactional(|_| async {
                    Err::<(), _>(Error::InvalidArgument("nested fails".into()))
                })
                .await;
            Ok::<_, Error>(())
        })
        .await
        .unwrap();
        assert_eq!(
            *events.lock().unwrap(),
            [
                "BeforeStart",
                "AfterStart",
                "BeforeStart(trx1)",
                "AfterStart(trx1)",
                "BeforeRollback(trx1)",
                "AfterRollback(trx1)",
                "BeforeCommit",
                "AfterCommit"
            ],
            "{}",
            b.name
        );
    }
}

/// Another connection holds SQLite's write lock for a while: with a short busy timeout a
/// single attempt fails with the retryable lock timeout (first part); `transactional_retry`
/// tries again until it commits, and the work is applied exactly once (second part). On SQLite
/// the conflict surfaces at `BEGIN IMMEDIATE`, before the closure runs.
#[cfg(feature = "sqlite")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retry_reruns_the_whole_closure_after_a_lock_timeout() {
    let path = temp_db_path();
    let url = format!("sqlite://{}?busy_timeout_ms=20", path.display());
    let orm = suite_orm(&url).await;
    let em = orm.em().fork();
    let counter = em.persist(User::new("counter", "c@x.io")).unwrap();
    em.flush().await.unwrap();

    let hold = |millis: u64| {
        let holder = coherent::__private::rusqlite::Connection::open(&path).unwrap();
        holder.execute_batch("BEGIN IMMEDIATE; INSERT INTO tags (code, label) VALUES ('h', 'held'); DELETE FROM tags;").unwrap();
        std::thread::spawn(move || {
            std::thread::sleep(std::time::Duration::from_millis(millis));
            holder.execute_batch("COMMIT").unwrap();
        })
    };

    // Without retries: the typed, retryable error, and memory as before.
    let holder = hold(300);
    let err = em
        .transactional(|tx| {
            let counter = counter.clone();
            async move {
                counter.write().age = Some(1);
                tx.flush().await
            }
        })
        .await
        .unwrap_err();
    assert!(err.is_retryable(), "{err:?}");
    assert_eq!(counter.read().age, None, "memory restored");
    holder.join().unwrap();

    // With retries: runs again until the lock is free.
    let holder = hold(150);
    let attempts = std::sync::atomic::AtomicU32::new(0);
    let options = TxOptions {
        retry: 20,
        ..Default::default()
    };
    em.transactional_retry(options, |tx| {
        attempts.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let counter = counter.clone();
        async move {
            let now = counter.read().age.unwrap_or(0);
            counter.write().age = Some(now + 1);
            tx.flush().await
        }
    })
    .await
    .unwrap();
    holder.join().unwrap();
    let tries = attempts.load(std::sync::atomic::Ordering::SeqCst);
    assert!(tries >= 1);
    assert_eq!(
        counter.read().age,
        Some(1),
        "incremented once: failed attempts were undone"
    );
    let stored: Option<i32> = orm
        .em()
        .query("SELECT age FROM users", vec![])
        .await
        .unwrap()[0]
        .get("age")
        .unwrap();
    assert_eq!(stored, Some(1));
    remove_db(&path);
}

/// A nested (savepoint) scope whose future is dropped (a timeout around an inner call):
/// memory is restored at once, its savepoint is rolled back before the transaction's next
/// statement, and the outer transaction goes on and commits only its own work.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dropped_savepoint_scope_is_rolled_back_and_the_transaction_goes_on() {
    for b in backends() {
        let orm = b.orm().await;
        let em = orm.em().fork();
        let u = em.persist(User::new("a", "a@x.io")).unwrap();
        em.flush().await.unwrap();
        em.transactional(|tx| {
            let u = u.clone();
            async move {
                tx.persist(User::new("outer", "outer@x.io"))?;
                let entered = std::sync::Arc::new(tokio::sync::Notify::new());
                let signal = entered.clone();
                let inner_u = u.clone();
                let inner = tx.transactional(move |inner| async move {
                    inner_u.write().name = "inner".into();
                    inner.persist(User::new("inner", "inner@x.io"))?;
                    inner.flush().await?;
                    signal.notify_one();
                    std::future::pending::<()>().await;
                    Ok::<_, Error>(())
                });
                tokio::select! {
                    _ = inner => unreachable!(),
                    _ = entered.notified() => {}
                }
                assert_eq!(u.read().name, "a", "memory restored at once");
                assert!(tx.in_transaction().await);
                tx.persist(User::new("after", "after@x.io"))?;
                Ok::<_, Error>(())
            }
        })
        .await
        .unwrap();
        let mut names: Vec<_> = user_rows(&orm).await.into_iter().map(|r| r.1).collect();
        names.sort();
        assert_eq!(
            names,
            ["a", "after", "outer"],
            "{}: the inner work is gone",
            b.name
        );
    }
}

/// `clear: true` starts the transaction with an empty identity map: the parent's instances
/// and pending work are not shared (nor flushed by it); what it does is merged back.
#[tokio::test]
async fn a_clear_transaction_shares_nothing_and_still_merges_back() {
    each_backend!(|b, orm| {
        let em = orm.em().fork();
        let loaded = em.persist(User::new("a", "a@x.io")).unwrap();
        em.flush().await.unwrap();
        let pending = em.persist(User::new("p", "p@x.io")).unwrap();
        let clear = TxOptions {
            clear: true,
            ..Default::default()
        };
        let inside = em
            .transactional_with(clear, |tx| {
                let loaded = loaded.clone();
                async move {
                    assert!(tx.is_empty()?, "nothing shared");
                    let again = tx.find_one::<User>(loaded.read().id).await?.unwrap();
                    assert!(!Managed::ptr_eq(&again, &loaded), "its own instance");
                    again.write().name = "b".into();
                    tx.persist(User::new("n", "n@x.io"))
                }
            })
            .await
            .unwrap();
        assert_eq!(
            pending.read().id,
            0,
            "{}: the parent's pending work was not flushed",
            b.name
        );
        assert_eq!(
            loaded.read().name,
            "b",
            "{}: its change merged onto the parent's instance",
            b.name
        );
        assert!(
            em.contains(&inside).unwrap() && inside.read().id > 0,
            "{}",
            b.name
        );
        assert_eq!(user_rows(&orm).await.len(), 2, "{}", b.name);
    });
}

/// Without `em` and without `self`, `#[transactional]` runs against the current context.
#[transactional]
async fn in_current_context(email: &'static str) -> Result<bool> {
    let em = RequestContext::current_any()?;
    em.persist(User::new("ctx", email))?;
    Ok(em.in_transaction().await)
}

#[tokio::test]
async fn transactional_without_em_uses_the_current_context() {
    each_backend!(|b, orm| {
        let err = in_current_context("x@x.io").await.unwrap_err();
        assert!(
            matches!(err, Error::NoContext { .. }),
            "{}: {err:?}",
            b.name
        );
        assert!(user_rows(&orm).await.is_empty());
        let inside = RequestContext::create(orm.em(), in_current_context("y@x.io"))
            .await
            .unwrap();
        assert!(inside, "{}: it ran in a transaction", b.name);
        assert_eq!(user_rows(&orm).await.len(), 1, "{}", b.name);
    });
}

/// Merge-back carries deletions: an entity removed inside the transaction is no longer managed
/// by the parent afterwards, and one inserted inside is.
#[tokio::test]
async fn merge_back_evicts_what_the_transaction_deleted() {
    each_backend!(|b, orm| {
        let em = orm.em().fork();
        let doomed = em.persist(User::new("d", "d@x.io")).unwrap();
        em.flush().await.unwrap();
        let id = doomed.read().id;
        let created = em
            .transactional_with(
                TxOptions {
                    clear: true,
                    ..Default::default()
                },
                |tx| async move {
                    let there = tx.find_one_or_fail::<User>(id).await?;
                    tx.remove(&there)?;
                    tx.persist(User::new("n", "n@x.io"))
                },
            )
            .await
            .unwrap();
        assert!(
            !em.contains(&doomed).unwrap(),
            "{}: evicted from the parent",
            b.name
        );
        assert!(em.contains(&created).unwrap(), "{}", b.name);
        assert!(
            em.find_one::<User>(id).await.unwrap().is_none(),
            "{}",
            b.name
        );
        let log = StatementLog::capture();
        em.flush().await.unwrap();
        assert!(log.take().is_empty(), "{}: nothing left to write", b.name);
    });
}
