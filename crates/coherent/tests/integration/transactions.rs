//! Explicit transactions: begin / commit / rollback, savepoints, and rollback restoring
//! memory (MikroORM leaves memory as the rolled-back scope made it: reference 1.4, 1.5).

use crate::common::*;
use crate::each_backend;
use coherent::Error;
use coherent::prelude::*;

const REQUIRED: &str = "An open transaction is required for this operation";

#[tokio::test]
async fn commit_or_rollback_without_a_transaction_is_a_typed_error() {
    each_backend!(|b, orm| {
        let em = orm.em().fork();
        em.persist(User::new("a", "a@x.io")).unwrap();
        let err = em.commit().await.unwrap_err();
        assert!(matches!(err, Error::TransactionRequired), "{}", b.name);
        assert_eq!(err.to_string(), REQUIRED);
        assert!(matches!(
            em.rollback().await,
            Err(Error::TransactionRequired)
        ));
        assert!(
            user_rows(&orm).await.is_empty(),
            "{}: commit did not flush",
            b.name
        );
        assert_eq!(em.len().unwrap(), 1, "{}: nothing lost either", b.name);
        // The global EntityManager cannot hold a transaction for everyone.
        assert!(matches!(orm.em().begin().await, Err(Error::GlobalContext)));
    });
}

#[tokio::test]
async fn commit_flushes_inside_the_transaction() {
    each_backend!(|b, orm| {
        let em = orm.em().fork();
        let log = StatementLog::capture();
        em.begin().await.unwrap();
        assert!(em.in_transaction().await);
        let u = em.persist(User::new("a", "a@x.io")).unwrap();
        em.flush().await.unwrap();
        assert!(u.read().id > 0, "{}", b.name);
        u.write().name = "b".into();
        em.commit().await.unwrap();
        assert!(!em.in_transaction().await);
        let update_users = format!("UPDATE {}", b.quote("users"));
        assert_eq!(
            statement_kinds(&log.take()),
            [
                b.begin_sql(),
                "SAVEPOINT coherent_batch",
                "INSERT INTO",
                b.batch_release(),
                "SAVEPOINT coherent_batch",
                &update_users,
                b.batch_release(),
                "COMMIT"
            ],
            "{}",
            b.name
        );
        assert_eq!(
            user_rows(&orm).await,
            vec![(u.read().id, "b".into(), "a@x.io".into())]
        );
    });
}

/// Uncommitted work is invisible to other connections until COMMIT. (On a WAL file; an
/// in-memory database has no WAL, so there other connections wait for the COMMIT instead.)
#[tokio::test]
async fn other_connections_see_the_work_only_after_commit() {
    for b in backends().into_iter().filter(|b| b.shared_between_orms()) {
        let orm = b.orm().await;
        let em = orm.em().fork();
        em.begin().await.unwrap();
        em.persist(User::new("a", "a@x.io")).unwrap();
        em.flush().await.unwrap();
        let inside = em.query("SELECT * FROM users", vec![]).await.unwrap().len();
        assert_eq!(inside, 1, "{}: the transaction sees its own row", b.name);
        assert!(
            user_rows(&orm).await.is_empty(),
            "{}: others do not",
            b.name
        );
        em.commit().await.unwrap();
        assert_eq!(user_rows(&orm).await.len(), 1, "{}", b.name);
    }
}

/// After a rollback every instance touched inside is as it was before `begin`, work
/// persisted inside is gone, removals are undone, and a later flush writes nothing.
#[tokio::test]
async fn rollback_restores_memory() {
    each_backend!(|b, orm| {
        let em = orm.em().fork();
        let kept = em.persist(User::new("kept", "kept@x.io")).unwrap();
        let doomed = em.persist(User::new("doomed", "doomed@x.io")).unwrap();
        em.flush().await.unwrap();
        let before = kept.get();
        let rows = user_rows(&orm).await;

        em.begin().await.unwrap();
        kept.write().name = "changed in tx".into();
        let fresh = em.persist(User::new("new", "new@x.io")).unwrap();
        em.remove(&doomed).unwrap();
        em.flush().await.unwrap(); // inside the transaction: snapshots advance, ids assigned
        assert!(fresh.read().id > 0);
        kept.write().age = Some(9); // and an unflushed change on top
        let unflushed = em.persist(User::new("unflushed", "u@x.io")).unwrap();
        em.rollback().await.unwrap();

        assert_eq!(
            user_rows(&orm).await,
            rows,
            "{}: the database is as before",
            b.name
        );
        assert_eq!(kept.get(), before, "{}: values restored", b.name);
        assert_eq!(
            kept.original(),
            Some(before.clone()),
            "{}: snapshot restored",
            b.name
        );
        assert!(!kept.is_dirty(), "{}", b.name);
        assert!(
            em.contains(&doomed).unwrap(),
            "{}: the removal is undone",
            b.name
        );
        assert!(
            !em.contains(&fresh).unwrap() && !em.contains(&unflushed).unwrap(),
            "{}",
            b.name
        );
        assert_eq!(em.len().unwrap(), 2, "{}", b.name);
        let log = StatementLog::capture();
        em.flush().await.unwrap();
        assert!(
            log.take().is_empty(),
            "{}: nothing to write, nothing skipped",
            b.name
        );
        assert!(Managed::ptr_eq(
            &em.find_one::<User>(doomed.read().id)
                .await
                .unwrap()
                .unwrap(),
            &doomed
        ));
    });
}

/// Pending work from before `begin` survives a rollback as pending (it was never written).
#[tokio::test]
async fn work_pending_before_begin_is_still_pending_after_rollback() {
    each_backend!(|b, orm| {
        let em = orm.em().fork();
        let early = em.persist(User::new("early", "early@x.io")).unwrap();
        em.begin().await.unwrap();
        em.flush().await.unwrap(); // writes `early` inside the transaction
        assert!(early.read().id > 0);
        em.rollback().await.unwrap();
        assert_eq!(early.read().id, 0, "{}: back to pending", b.name);
        assert!(em.contains(&early).unwrap());
        em.flush().await.unwrap();
        assert_eq!(
            user_rows(&orm).await.len(),
            1,
            "{}: written once, after the rollback",
            b.name
        );
        assert!(early.read().id > 0);
    });
}

#[tokio::test]
async fn nested_begin_is_a_savepoint() {
    each_backend!(|b, orm| {
        let em = orm.em().fork();
        let x = em.persist(User::new("x", "x@x.io")).unwrap();
        let y = em.persist(User::new("y", "y@x.io")).unwrap();
        em.flush().await.unwrap();

        em.begin().await.unwrap();
        x.write().name = "x outer".into();
        em.begin().await.unwrap(); // SAVEPOINT trx1
        y.write().name = "y inner".into();
        em.flush().await.unwrap();
        em.rollback().await.unwrap(); // ROLLBACK TO SAVEPOINT trx1
        assert_eq!(y.read().name, "y", "{}: the inner change is undone", b.name);
        assert_eq!(
            x.read().name,
            "x outer",
            "{}: the outer one is kept",
            b.name
        );
        assert!(em.in_transaction().await);
        em.begin().await.unwrap();
        y.write().age = Some(3);
        em.commit().await.unwrap(); // RELEASE SAVEPOINT trx1
        em.commit().await.unwrap(); // COMMIT
        let rows = orm
            .em()
            .query("SELECT name, age FROM users ORDER BY id", vec![])
            .await
            .unwrap()
            .iter()
            .map(|r| {
                (
                    r.get::<String>("name").unwrap(),
                    r.get::<Option<i32>>("age").unwrap(),
                )
            })
            .collect::<Vec<_>>();
        assert_eq!(
            rows,
            vec![("x outer".to_string(), None), ("y".to_string(), Some(3))],
            "{}",
            b.name
        );
    });
}

/// A failed flush inside a transaction undoes only itself (a savepoint): the transaction and
/// what it wrote before go on.
#[tokio::test]
async fn a_failed_flush_inside_a_transaction_keeps_the_transaction() {
    each_backend!(|b, orm| {
        let em = orm.em().fork();
        em.begin().await.unwrap();
        let a = em.persist(User::new("a", "a@x.io")).unwrap();
        em.flush().await.unwrap();
        let c = em.persist(User::new("c", "a@x.io")).unwrap();
        let err = em.flush().await.unwrap_err();
        assert_eq!(
            err.constraint_kind(),
            Some(ConstraintKind::Unique),
            "{}",
            b.name
        );
        assert_eq!(c.read().id, 0);
        assert!(em.in_transaction().await);
        c.write().email = "c@x.io".into();
        em.commit().await.unwrap();
        let rows = user_rows(&orm).await;
        assert_eq!(rows.len(), 2, "{}", b.name);
        assert!(a.read().id > 0 && c.read().id > 0);
    });
}

/// An EntityManager dropped with its transaction open gives the connection back rolled back:
/// nothing it wrote stays, and nothing stays locked.
#[tokio::test]
async fn dropping_an_entity_manager_in_a_transaction_rolls_back() {
    each_backend!(|b, orm| {
        let em = orm.em().fork();
        em.begin().await.unwrap();
        em.persist(User::new("a", "a@x.io")).unwrap();
        em.flush().await.unwrap();
        drop(em);
        // The same unique email: the insert waits for the dropped transaction's row until it
        // is rolled back (and would time out on a lock left behind, or fail as a duplicate if
        // it had been committed). So the rollback has also run before the test's teardown.
        let other = orm.em().fork();
        other.persist(User::new("b", "a@x.io")).unwrap();
        other.flush().await.unwrap();
        let names: Vec<_> = user_rows(&orm).await.into_iter().map(|r| r.1).collect();
        assert_eq!(names, ["b"], "{}", b.name);
    });
}

/// A statement that fails inside a savepoint is undone with the savepoint, and the
/// transaction goes on. (On PostgreSQL any failed statement aborts the transaction until it
/// rolls back to a savepoint: `ROLLBACK TO SAVEPOINT trx1` must still be let through.)
#[tokio::test]
async fn a_failed_statement_inside_a_savepoint_is_undone_and_the_transaction_goes_on() {
    each_backend!(|b, orm| {
        let em = orm.em().fork();
        em.begin().await.unwrap();
        em.persist(User::new("a", "a@x.io")).unwrap();
        em.flush().await.unwrap();
        em.begin().await.unwrap(); // SAVEPOINT trx1
        let err = em.execute("SELEKT 1", vec![]).await.unwrap_err();
        assert!(matches!(err, Error::Database { .. }), "{}: {err:?}", b.name);
        em.rollback().await.unwrap(); // ROLLBACK TO SAVEPOINT trx1
        assert!(em.in_transaction().await, "{}", b.name);
        em.persist(User::new("b", "b@x.io")).unwrap();
        em.commit().await.unwrap();
        let names: Vec<_> = user_rows(&orm).await.into_iter().map(|r| r.1).collect();
        assert_eq!(names, ["a", "b"], "{}", b.name);
    });
}

/// A transaction with an isolation level is one transaction like any other: what it flushed
/// is rolled back with it.
#[tokio::test]
async fn a_transaction_with_an_isolation_level_rolls_back_whole() {
    each_backend!(|b, orm| {
        let em = orm.em().fork();
        let serializable = TxOptions {
            isolation: Some(IsolationLevel::Serializable),
            ..Default::default()
        };
        let err = em
            .transactional_with(serializable, |tx| async move {
                tx.persist(User::new("a", "a@x.io"))?;
                tx.flush().await?;
                assert_eq!(tx.count::<User>(Filter::all()).await?, 1);
                Err::<(), _>(Error::InvalidArgument("refused".into()))
            })
            .await
            .unwrap_err();
        assert!(
            matches!(err, Error::InvalidArgument(_)),
            "{}: {err:?}",
            b.name
        );
        assert!(
            user_rows(&orm).await.is_empty(),
            "{}: the flush was rolled back with the transaction",
            b.name
        );
    });
}
