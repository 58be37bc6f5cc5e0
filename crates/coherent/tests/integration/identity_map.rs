//! The identity map: lookups without queries, merge on re-query, no silent rebase.

use crate::common::*;
use crate::each_backend;
use coherent::prelude::*;

#[tokio::test]
async fn find_one_of_a_loaded_entity_issues_no_query() {
    each_backend!(|b, orm| {
        let em = orm.em().fork();
        let u = em.persist(User::new("a", "a@x.io")).unwrap();
        em.flush().await.unwrap();
        let id = u.read().id;
        let em = orm.em().fork();
        let log = StatementLog::capture();
        let first = em.find_one::<User>(id).await.unwrap().unwrap();
        assert_eq!(log.take().len(), 1, "{}: the first lookup queries", b.name);
        for _ in 0..3 {
            let again = em.find_one::<User>(id).await.unwrap().unwrap();
            assert!(Managed::ptr_eq(&first, &again));
        }
        assert!(
            log.take().is_empty(),
            "{}: later lookups are answered from memory",
            b.name
        );
    });
}

#[tokio::test]
async fn find_always_queries_and_refreshes_clean_entities() {
    each_backend!(|b, orm| {
        let em = orm.em().fork();
        let u = em.persist(User::new("John", "j@x.io")).unwrap();
        em.flush().await.unwrap();
        let id = u.read().id;
        // Another writer changes the row.
        orm.em()
            .execute(
                &b.sql("UPDATE users SET name = ? WHERE id = ?"),
                vec!["Mike".into(), id.into()],
            )
            .await
            .unwrap();
        let log = StatementLog::capture();
        assert_eq!(
            em.find_one::<User>(id).await.unwrap().unwrap().read().name,
            "John",
            "{}: find_one by key trusts the map",
            b.name
        );
        let found = em.find(User::ID.eq(id)).await.unwrap();
        assert_eq!(log.take().len(), 1, "{}: find queries", b.name);
        assert!(Managed::ptr_eq(&found[0], &u), "{}", b.name);
        assert_eq!(
            u.read().name,
            "Mike",
            "{}: a clean entity takes the row",
            b.name
        );
        assert!(!u.is_dirty());
    });
}

/// MikroORM merges a re-queried row into a dirty entity and rebases its snapshot (reference
/// 1.8), so a later flush overwrites the other writer unnoticed. Coherent keeps the user's
/// changes and, for the changed fields, the snapshot the user read; the fields the user did
/// not change are fresh in both, so the flush writes only the user's change (versions and
/// checked columns: `re_read.rs`).
#[tokio::test]
async fn a_re_query_never_rebases_a_dirty_entity() {
    each_backend!(|b, orm| {
        let em = orm.em().fork();
        let mut john = User::new("John", "j@x.io");
        john.age = Some(30);
        let u = em.persist(john).unwrap();
        em.flush().await.unwrap();
        let id = u.read().id;
        let read = u.get();

        u.write().name = "Mike".into(); // the user's change
        orm.em()
            .execute(
                &b.sql("UPDATE users SET name = ?, age = ? WHERE id = ?"),
                vec!["Bob".into(), 31.into(), id.into()],
            )
            .await
            .unwrap(); // someone else's change

        let found = em.find(User::ID.eq(id)).await.unwrap();
        assert!(Managed::ptr_eq(&found[0], &u));
        assert_eq!(
            u.read().name,
            "Mike",
            "{}: the user's change is kept",
            b.name
        );
        assert_eq!(
            u.read().age,
            Some(31),
            "{}: untouched fields are refreshed",
            b.name
        );
        let baseline = User {
            age: Some(31),
            ..read.clone()
        };
        assert_eq!(
            u.original(),
            Some(baseline.clone()),
            "{}: the changed field's baseline is what the user read",
            b.name
        );
        assert_eq!(u.changed_columns(), ["name"], "{}", b.name);
        // Re-querying again changes nothing about the baseline.
        em.find::<User>(Filter::all()).await.unwrap();
        assert_eq!(u.original(), Some(baseline), "{}", b.name);
    });
}

#[tokio::test]
async fn reading_does_not_make_an_entity_dirty_and_writing_the_same_value_is_clean() {
    each_backend!(|b, orm| {
        let em = orm.em().fork();
        let u = em.persist(User::new("a", "a@x.io")).unwrap();
        em.flush().await.unwrap();
        let _ = u.read().name.len();
        assert!(!u.is_dirty(), "{}", b.name);
        u.write().name = "a".into();
        assert!(!u.is_dirty(), "{}: same value, no change", b.name);
        let log = StatementLog::capture();
        em.flush().await.unwrap();
        assert!(log.take().is_empty(), "{}: nothing to write", b.name);
    });
}

/// After a flush the baseline is what was written: the next change is compared with it (the
/// snapshot buffer is reused, never stale).
#[tokio::test]
async fn after_a_flush_the_baseline_is_what_was_written() {
    each_backend!(|b, orm| {
        let em = orm.em().fork();
        let u = em.persist(User::new("a", "a@x.io")).unwrap();
        em.flush().await.unwrap();
        u.write().name = "b".into();
        u.write().age = Some(5);
        em.flush().await.unwrap();
        assert_eq!(u.original(), Some(u.get()), "{}", b.name);
        assert!(!u.is_dirty());
        u.write().name = "c".into();
        assert_eq!(
            u.original().unwrap().name,
            "b",
            "{}: baseline refreshed from the flush",
            b.name
        );
        assert_eq!(u.original().unwrap().age, Some(5));
        assert_eq!(u.changed_columns(), ["name"], "{}", b.name);
        u.write().name = "b".into();
        assert!(!u.is_dirty(), "{}: back to the baseline", b.name);
        let log = StatementLog::capture();
        em.flush().await.unwrap();
        assert!(log.take().is_empty(), "{}", b.name);
    });
}
