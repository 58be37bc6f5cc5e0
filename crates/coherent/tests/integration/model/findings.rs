//! Minimal sequences the model test found, as regular tests: each failed before its fix
//! (a finding that is not fixed yet is `#[ignore]`d with the finding in one line, and the
//! model test skips the operations that reach it, so it keeps hunting for the next one).

use super::{Item, builder};
use crate::common::backends;
use coherent::Error;
use coherent::prelude::*;

async fn item_ids(orm: &Orm) -> Vec<i64> {
    orm.em()
        .query("SELECT id FROM model_items ORDER BY id", vec![])
        .await
        .expect("raw select")
        .iter()
        .map(|r| r.get("id").unwrap())
        .collect()
}

/// Finding 1 (shrunk from `[Persist Item 1, Transactional { Never, [Remove it] }]` and
/// `[Persist Item 1, Transactional { RequiresNew, [Flush, Remove it] }]`): a scope on a fork
/// that shares the EntityManager's instances (a new transaction under `Nested`, `Required`
/// or `RequiresNew`, or no transaction under `Supports`, `Never`, `NotSupported`) removes an
/// instance the parent has pending. The scope succeeds, but the merge back leaves the
/// instance pending in the parent (`IdentityMap::merge_from` only drops pending inserts
/// that became loaded), so the parent still contains it and its next flush inserts the row
/// the application removed, or inserts again the row the scope inserted and deleted.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pending_insert_removed_in_a_forked_scope_stays_removed() {
    let mut wrong = Vec::new();
    for b in backends() {
        let orm = builder(b.url()).build().await.expect("connect");
        orm.schema().refresh().await.expect("schema");
        for (propagation, flush_first) in [
            (Propagation::Never, false),
            (Propagation::Required, false),
            (Propagation::Required, true),
        ] {
            orm.em()
                .execute("DELETE FROM model_items", vec![])
                .await
                .unwrap();
            let em = orm.em().fork();
            let item = em
                .persist(Item {
                    id: 1,
                    name: "ann".into(),
                    qty: None,
                })
                .unwrap();
            let options = TxOptions {
                propagation,
                ..Default::default()
            };
            let inner = item.clone();
            em.transactional_with(options, |tx| async move {
                if flush_first {
                    tx.flush().await?;
                }
                tx.remove(&inner)?;
                Ok::<_, Error>(())
            })
            .await
            .unwrap();
            let at = format!("{} {propagation:?} flush first {flush_first}", b.name);
            assert!(
                item_ids(&orm).await.is_empty(),
                "{at}: committed without the row"
            );
            if em.contains(&item).unwrap() {
                wrong.push(format!(
                    "{at}: the parent still contains the removed instance"
                ));
            }
            em.flush().await.unwrap();
            if !item_ids(&orm).await.is_empty() {
                wrong.push(format!("{at}: the parent's next flush wrote it"));
            }
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

/// Finding 2 (from the model's merge of an empty fork, checked by hand against the
/// documentation): inside a transaction, a `RequiresNew` (servers) or `NotSupported` scope
/// that reads a row the transaction's EntityManager holds changed merges the fork's clean,
/// committed copy onto the parent's instance (`merge_from` copies the fork's state over it).
/// The application's change, not flushed yet, is lost without an error, and a change the
/// transaction had flushed is forgotten in memory (the instance shows the committed value,
/// clean, while the transaction's row has the new one).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_suspended_scope_reading_a_row_keeps_the_parents_change() {
    let mut wrong = Vec::new();
    // SQLite in memory: a read outside the transaction waits for its write lock.
    for b in backends().into_iter().filter(|b| b.name != "sqlite-memory") {
        let orm = builder(b.url()).build().await.expect("connect");
        orm.schema().refresh().await.expect("schema");
        let mut propagations = vec![Propagation::NotSupported];
        if b.is_server() {
            propagations.push(Propagation::RequiresNew);
        }
        for propagation in propagations {
            for flushed in [false, true] {
                let at = format!("{} {propagation:?} flushed {flushed}", b.name);
                orm.em()
                    .execute("DELETE FROM model_items", vec![])
                    .await
                    .unwrap();
                let seed = orm.em().fork();
                seed.persist(Item {
                    id: 1,
                    name: "ann".into(),
                    qty: None,
                })
                .unwrap();
                seed.flush().await.unwrap();
                let em = orm.em().fork();
                em.begin().await.unwrap();
                let item = em.find_one_or_fail::<Item>(1).await.unwrap();
                item.write().name = "bob".into();
                if flushed {
                    em.flush().await.unwrap();
                }
                let options = TxOptions {
                    propagation,
                    ..Default::default()
                };
                em.transactional_with(options, |tx| async move {
                    tx.find::<Item>(Filter::all()).await?;
                    Ok::<_, Error>(())
                })
                .await
                .unwrap();
                if item.read().name != "bob" {
                    wrong.push(format!("{at}: the instance holds {:?}", item.read().name));
                }
                em.commit().await.unwrap();
                let fresh = orm.em().fork();
                let stored = fresh
                    .find_one_or_fail::<Item>(1)
                    .await
                    .unwrap()
                    .read()
                    .name
                    .clone();
                if stored != "bob" {
                    wrong.push(format!("{at}: the database holds {stored:?}"));
                }
            }
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

/// Finding 3 (shrunk from `[Persist Item 1, Transactional { Never, [Remove it, Persist
/// Item 1] }]`, found by the long run once finding 1 was fixed): a scope on a fork sharing
/// the EntityManager's instances removes a pending insert and persists a new instance with
/// the same key, which its flush inserts. The merge back found the parent's pending instance
/// under the key, could not merge a row into it (it is not loaded) and then dropped it as
/// removed: the parent held no instance of the row at all.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_key_persisted_anew_in_a_forked_scope_is_the_parents_instance_after_the_merge() {
    for b in backends() {
        let orm = builder(b.url()).build().await.expect("connect");
        orm.schema().refresh().await.expect("schema");
        let em = orm.em().fork();
        let item = |name: &str| Item {
            id: 1,
            name: name.into(),
            qty: None,
        };
        let first = em.persist(item("ann")).unwrap();
        let options = TxOptions {
            propagation: Propagation::Never,
            ..Default::default()
        };
        let second = em
            .transactional_with(options, |tx| async move {
                tx.remove(&first)?;
                tx.persist(item("bo"))
            })
            .await
            .unwrap();
        assert_eq!(item_ids(&orm).await, [1], "{}: inserted once", b.name);
        assert!(
            em.contains(&second).unwrap(),
            "{}: the parent holds the row",
            b.name
        );
        assert_eq!(em.len().unwrap(), 1, "{}", b.name);
        let found = em.find_one_or_fail::<Item>(1).await.unwrap();
        assert!(Managed::ptr_eq(&found, &second), "{}", b.name);
        assert_eq!(found.read().name, "bo", "{}", b.name);
        em.flush().await.unwrap();
        assert_eq!(
            item_ids(&orm).await,
            [1],
            "{}: nothing written twice",
            b.name
        );
    }
}

/// Finding 4 (shrunk from `[Persist Item 2, RawInsert 2, Begin, Transactional { RequiresNew,
/// [FindAll Item] }]`, the long run's, against the first fix of finding 3): a scope on an
/// empty fork outside the transaction reads a row whose key the parent has a pending insert
/// for (someone else inserted it). The parent's pending insert is its own: it stays
/// pending, the fork's instance does not take its place, and the parent's flush meets the
/// row (a unique-key violation) instead of silently adopting someone else's row.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_empty_forks_read_never_replaces_the_parents_pending_insert() {
    for b in backends().into_iter().filter(|b| b.is_server()) {
        let orm = builder(b.url()).build().await.expect("connect");
        orm.schema().refresh().await.expect("schema");
        let em = orm.em().fork();
        let mine = em
            .persist(Item {
                id: 2,
                name: "mine".into(),
                qty: None,
            })
            .unwrap();
        orm.em()
            .execute(
                "INSERT INTO model_items (id, name) VALUES (2, 'theirs')",
                vec![],
            )
            .await
            .unwrap();
        em.begin().await.unwrap();
        let options = TxOptions {
            propagation: Propagation::RequiresNew,
            ..Default::default()
        };
        let seen = em
            .transactional_with(
                options,
                |tx| async move { tx.find::<Item>(Filter::all()).await },
            )
            .await
            .unwrap();
        assert_eq!(seen.len(), 1, "{}", b.name);
        assert!(
            em.contains(&mine).unwrap(),
            "{}: still the parent's",
            b.name
        );
        assert!(!em.contains(&seen[0]).unwrap(), "{}", b.name);
        let err = em.flush().await.unwrap_err();
        assert_eq!(
            err.constraint_kind(),
            Some(coherent::ConstraintKind::Unique),
            "{}: {err:?}",
            b.name
        );
        em.rollback().await.unwrap();
        assert_eq!(item_ids(&orm).await, [2], "{}", b.name);
    }
}
