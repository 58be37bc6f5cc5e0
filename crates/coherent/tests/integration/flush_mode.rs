//! Flush modes: when queries flush pending changes first (MikroORM v7, reference 1.9).

use crate::common::*;
use crate::each_backend;
use coherent::Error;
use coherent::prelude::*;

#[tokio::test]
async fn auto_flushes_queued_persists_and_removals_of_the_queried_type_only() {
    each_backend!(|b, orm| {
        let em = orm.em().fork();
        assert_eq!(em.flush_mode(), FlushMode::Auto);
        let log = StatementLog::capture();
        let u = em.persist(User::new("a", "a@x.io")).unwrap();
        em.persist(Tag::new("t", "tag")).unwrap();
        let found = em.find::<User>(Filter::all()).await.unwrap();
        assert!(
            found.iter().any(|f| Managed::ptr_eq(f, &u)),
            "{}: the persisted user is found",
            b.name
        );
        let sql = log.take();
        assert!(
            sql.iter()
                .any(|s| s.starts_with(&format!("INSERT INTO {}", b.quote("users")))),
            "{}: {sql:?}",
            b.name
        );
        // All pending changes are flushed, the tag included.
        assert_eq!(
            orm.em()
                .query("SELECT * FROM tags", vec![])
                .await
                .unwrap()
                .len(),
            1
        );
        // A changed field alone does not trigger it (v7): the query does not flush.
        u.write().name = "changed".into();
        em.count::<User>(Filter::all()).await.unwrap();
        assert_eq!(user_rows(&orm).await[0].1, "a", "{}", b.name);
        // A removal does: the count no longer sees the row.
        em.remove(&u).unwrap();
        assert_eq!(
            em.count::<User>(Filter::all()).await.unwrap(),
            0,
            "{}",
            b.name
        );
        // Nothing queued for Tag: a Tag query issues only its SELECT.
        log.take();
        em.find::<Tag>(Filter::all()).await.unwrap();
        assert_eq!(log.take().len(), 1, "{}", b.name);
    });
}

#[tokio::test]
async fn commit_never_flushes_before_queries_and_always_always_does() {
    each_backend!(|b, orm| {
        let em = orm.em().fork_with(ForkOptions {
            flush_mode: Some(FlushMode::Commit),
            ..Default::default()
        });
        em.persist(User::new("a", "a@x.io")).unwrap();
        assert!(
            em.find::<User>(Filter::all()).await.unwrap().is_empty(),
            "{}: not flushed",
            b.name
        );
        assert_eq!(em.count::<User>(Filter::all()).await.unwrap(), 0);
        // One query can ask otherwise.
        let auto = FindOptions {
            flush_mode: Some(FlushMode::Auto),
            ..Default::default()
        };
        assert_eq!(
            em.find_with::<User>(Filter::all(), auto)
                .await
                .unwrap()
                .len(),
            1,
            "{}",
            b.name
        );

        let em = orm.em().fork_with(ForkOptions {
            flush_mode: Some(FlushMode::Always),
            ..Default::default()
        });
        let u = em
            .find_one::<User>(User::EMAIL.eq("a@x.io"))
            .await
            .unwrap()
            .unwrap();
        u.write().name = "changed".into(); // no persist: Always flushes it anyway
        em.count::<User>(Filter::all()).await.unwrap();
        assert_eq!(user_rows(&orm).await[0].1, "changed", "{}", b.name);
        // set_flush_mode changes it afterwards; forks inherit it.
        em.set_flush_mode(FlushMode::Commit);
        assert_eq!(em.fork().flush_mode(), FlushMode::Commit);
    });
}

/// In Commit mode the end of `transactional` still flushes (MikroORM's `auto-flush` test:
/// `begin; select; update; commit`), and a transaction can have its own mode.
#[tokio::test]
async fn transactions_still_flush_at_the_end_and_can_set_their_own_mode() {
    each_backend!(|b, orm| {
        let orm = b.orm_with(|o| o.flush_mode(FlushMode::Commit)).await;
        let em = orm.em().fork();
        assert_eq!(
            em.flush_mode(),
            FlushMode::Commit,
            "{}: from the Orm",
            b.name
        );
        em.transactional(|tx| async move {
            tx.persist(User::new("a", "a@x.io"))?;
            assert_eq!(
                tx.count::<User>(Filter::all()).await?,
                0,
                "Commit: not flushed before the query"
            );
            Ok::<_, Error>(())
        })
        .await
        .unwrap();
        assert_eq!(
            user_rows(&orm).await.len(),
            1,
            "{}: flushed before COMMIT",
            b.name
        );
        let auto = TxOptions {
            flush_mode: Some(FlushMode::Auto),
            ..Default::default()
        };
        em.transactional_with(auto, |tx| async move {
            tx.persist(User::new("b", "b@x.io"))?;
            assert_eq!(
                tx.count::<User>(Filter::all()).await?,
                2,
                "Auto inside this transaction"
            );
            Ok::<_, Error>(())
        })
        .await
        .unwrap();
        let _ = &orm;
    });
}
