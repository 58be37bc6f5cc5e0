//! Disabling transactions (MikroORM's `disableTransactions`, reference 1.5): globally, per
//! fork, and for nested scopes (`ignore_nested`).

use crate::common::*;
use crate::each_backend;
use coherent::Error;
use coherent::prelude::*;

fn kinds(log: Vec<String>) -> Vec<String> {
    log.iter()
        .map(|s| s.split(' ').take(2).collect::<Vec<_>>().join(" "))
        .collect()
}

/// Without transactions a flush issues no BEGIN/COMMIT; when a statement fails, what ran
/// before it stays written, and memory says so (the written entity is managed, not pending),
/// so fixing the cause and flushing again writes only the rest.
#[tokio::test]
async fn without_transactions_a_failed_flush_keeps_and_applies_what_ran() {
    each_backend!(|b, orm| {
        let orm = b.orm_with(|o| o.disable_transactions(true)).await;
        let em = orm.em().fork();
        assert!(em.transactions_disabled());
        em.persist(User::new("taken", "taken@x.io")).unwrap();
        let log = StatementLog::capture();
        em.flush().await.unwrap();
        assert_eq!(
            kinds(log.take()),
            ["INSERT INTO"],
            "{}: no BEGIN, no COMMIT",
            b.name
        );

        let tag = em.persist(Tag::new("t", "tag")).unwrap(); // runs first
        let user = em.persist(User::new("dup", "taken@x.io")).unwrap(); // fails
        let err = em.flush().await.unwrap_err();
        assert_eq!(
            err.constraint_kind(),
            Some(ConstraintKind::Unique),
            "{}",
            b.name
        );
        let tags = orm
            .em()
            .query("SELECT * FROM tags", vec![])
            .await
            .unwrap()
            .len();
        assert_eq!(tags, 1, "{}: the tag's INSERT was not undone", b.name);
        assert!(
            em.contains(&tag).unwrap() && tag.original().is_some(),
            "{}: and memory knows it",
            b.name
        );
        assert_eq!(user.read().id, 0);
        user.write().email = "dup@x.io".into();
        em.flush().await.unwrap();
        assert_eq!(
            orm.em()
                .query("SELECT * FROM tags", vec![])
                .await
                .unwrap()
                .len(),
            1,
            "{}: not twice",
            b.name
        );
        assert_eq!(user_rows(&orm).await.len(), 2, "{}", b.name);
    });
}

#[tokio::test]
async fn without_transactions_begin_rollback_and_transactional_do_not_open_one() {
    each_backend!(|b, orm| {
        let em = orm.em().fork_with(ForkOptions {
            disable_transactions: Some(true),
            ..Default::default()
        });
        let log = StatementLog::capture();
        em.begin().await.unwrap();
        assert!(!em.in_transaction().await);
        em.persist(User::new("a", "a@x.io")).unwrap();
        em.rollback().await.unwrap(); // nothing to roll back: a no-op
        em.commit().await.unwrap(); // only flushes
        let value = em
            .transactional(|tx| async move {
                assert!(!tx.in_transaction().await);
                tx.persist(User::new("b", "b@x.io"))?;
                Ok::<_, Error>(7)
            })
            .await
            .unwrap();
        assert_eq!(value, 7);
        em.flush().await.unwrap();
        assert_eq!(
            kinds(log.take()),
            ["INSERT INTO", "INSERT INTO"],
            "{}",
            b.name
        );
        assert_eq!(user_rows(&orm).await.len(), 2, "{}", b.name);
        // A fork can turn them back on.
        let on = em.fork_with(ForkOptions {
            disable_transactions: Some(false),
            ..Default::default()
        });
        on.begin().await.unwrap();
        assert!(on.in_transaction().await, "{}", b.name);
        on.rollback().await.unwrap();
    });
}

/// `ignore_nested`: inside the transaction nested scopes open no savepoint, and a nested
/// failure rolls back the whole transaction.
#[tokio::test]
async fn ignore_nested_turns_nested_scopes_into_plain_calls() {
    each_backend!(|b, orm| {
        let em = orm.em().fork();
        let options = TxOptions {
            ignore_nested: true,
            ..Default::default()
        };
        let log = StatementLog::capture();
        let err = em
            .transactional_with(options, |tx| async move {
                tx.persist(User::new("outer", "outer@x.io"))?;
                tx.transactional(|inner| async move {
                    inner.persist(User::new("inner", "inner@x.io"))?;
                    inner.flush().await?;
                    Err::<(), _>(Error::InvalidArgument("nested fails".into()))
                })
                .await
            })
            .await
            .unwrap_err();
        assert!(matches!(err, Error::InvalidArgument(_)));
        let sql = kinds(log.take());
        assert!(
            !sql.iter().any(|s| s.starts_with("SAVEPOINT trx")),
            "{}: {sql:?}",
            b.name
        );
        assert!(sql.contains(&"ROLLBACK".to_string()), "{}: {sql:?}", b.name);
        assert!(
            user_rows(&orm).await.is_empty(),
            "{}: the whole transaction rolled back",
            b.name
        );
    });
}
