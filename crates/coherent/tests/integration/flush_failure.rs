//! A failed flush leaves nothing half-done, in the database or in memory (MikroORM keeps
//! generated ids and advanced snapshots of a rolled-back flush: reference 1.7, "Failure
//! semantics"). Each case checks the error, the database, the Unit of Work, and that fixing
//! the cause and flushing again writes everything exactly once.

use crate::common::*;
use crate::each_backend;
use coherent::Error;
use coherent::prelude::*;

/// MikroORM variant A: a later statement of the flush fails after earlier inserts ran.
#[tokio::test]
async fn a_unique_violation_rolls_back_the_flush_and_keeps_memory_as_before() {
    each_backend!(|b, orm| {
        let em = orm.em().fork();
        let tag = em.persist(Tag::new("t", "tag")).unwrap(); // inserted first (commit order)
        let a = em.persist(User::new("a", "same@x.io")).unwrap();
        let c = em.persist(User::new("c", "same@x.io")).unwrap();

        let err = em.flush().await.unwrap_err();
        match &err {
            Error::Constraint {
                kind: ConstraintKind::Unique,
                source,
            } => {
                // MariaDB's duplicate-entry message names no table; SQLite names the column,
                // the servers the constraint (or key).
                let expected_table = if b.is_mysql() { None } else { Some("users") };
                assert_eq!(source.table(), expected_table, "{}", b.name);
                let named = if b.is_sqlite() {
                    source.column()
                } else {
                    source.constraint()
                };
                assert!(named.unwrap_or("").contains("email"), "{}: {err}", b.name);
            }
            other => panic!("{}: expected a unique violation, got {other:?}", b.name),
        }
        // Database: nothing of the flush, not even the tag inserted before the failure.
        assert!(user_rows(&orm).await.is_empty(), "{}", b.name);
        assert!(
            orm.em()
                .query("SELECT * FROM tags", vec![])
                .await
                .unwrap()
                .is_empty(),
            "{}",
            b.name
        );
        // Memory: no generated id kept, everything still pending.
        assert_eq!((a.read().id, c.read().id), (0, 0), "{}", b.name);
        assert!(em.contains(&tag).unwrap() && em.contains(&a).unwrap() && em.contains(&c).unwrap());
        assert_eq!(em.len().unwrap(), 3, "{}", b.name);

        // Fix and flush again: every row exactly once.
        c.write().email = "c@x.io".into();
        em.flush().await.unwrap();
        let rows = user_rows(&orm).await;
        assert_eq!(rows.len(), 2, "{}", b.name);
        assert!(rows.contains(&(a.read().id, "a".into(), "same@x.io".into())));
        assert!(rows.contains(&(c.read().id, "c".into(), "c@x.io".into())));
        assert_eq!(
            orm.em()
                .query("SELECT * FROM tags", vec![])
                .await
                .unwrap()
                .len(),
            1
        );
        em.flush().await.unwrap();
        assert_eq!(
            user_rows(&orm).await.len(),
            2,
            "{}: no duplicate on a further flush",
            b.name
        );
    });
}

#[tokio::test]
async fn a_failed_update_keeps_pending_inserts_updates_and_removals() {
    each_backend!(|b, orm| {
        let em = orm.em().fork();
        let x = em.persist(User::new("x", "x@x.io")).unwrap();
        let y = em.persist(User::new("y", "y@x.io")).unwrap();
        let z = em.persist(User::new("z", "z@x.io")).unwrap();
        em.flush().await.unwrap();
        let before = user_rows(&orm).await;

        let fresh = em.persist(User::new("n", "n@x.io")).unwrap();
        y.write().email = "x@x.io".into(); // collides with x
        x.write().name = "x2".into();
        em.remove(&z).unwrap();

        let err = em.flush().await.unwrap_err();
        assert_eq!(
            err.constraint_kind(),
            Some(ConstraintKind::Unique),
            "{}: {err:?}",
            b.name
        );
        assert_eq!(
            user_rows(&orm).await,
            before,
            "{}: the database is untouched",
            b.name
        );
        assert_eq!(fresh.read().id, 0, "{}", b.name);
        assert!(x.is_dirty() && y.is_dirty(), "{}: still dirty", b.name);
        assert_eq!(
            y.original().unwrap().email,
            "y@x.io",
            "{}: snapshot not advanced",
            b.name
        );
        assert!(
            !em.contains(&z).unwrap(),
            "{}: still scheduled for removal",
            b.name
        );

        y.write().email = "y2@x.io".into();
        em.flush().await.unwrap();
        let names: Vec<_> = user_rows(&orm)
            .await
            .into_iter()
            .map(|r| (r.1, r.2))
            .collect();
        assert_eq!(
            names,
            vec![
                ("x2".into(), "x@x.io".into()),
                ("y".into(), "y2@x.io".into()),
                ("n".into(), "n@x.io".into())
            ],
            "{}",
            b.name
        );
    });
}

/// An UPDATE must hit exactly one row: a row deleted behind our back is an error, and the
/// whole flush is undone (no silently lost write).
#[tokio::test]
async fn updating_a_row_deleted_by_someone_else_fails_and_undoes_the_flush() {
    each_backend!(|b, orm| {
        let em = orm.em().fork();
        let u = em.persist(User::new("a", "a@x.io")).unwrap();
        em.flush().await.unwrap();
        let id = u.read().id;
        orm.em()
            .execute(&b.sql("DELETE FROM users WHERE id = ?"), vec![id.into()])
            .await
            .unwrap();
        u.write().name = "lost?".into();
        let other = em.persist(User::new("o", "o@x.io")).unwrap();
        let err = em.flush().await.unwrap_err();
        match &err {
            Error::RowCountMismatch {
                entity,
                key,
                expected,
                actual,
            } => {
                assert_eq!(
                    (*entity, key.as_str(), *expected, *actual),
                    ("User", id.to_string().as_str(), 1, 0),
                    "{}",
                    b.name
                );
            }
            other => panic!("{}: {other:?}", b.name),
        }
        assert!(
            user_rows(&orm).await.is_empty(),
            "{}: the insert of the same flush is undone",
            b.name
        );
        assert_eq!(other.read().id, 0, "{}", b.name);
    });
}

#[derive(Entity, Clone, Debug)]
#[entity(table = "posts")]
struct Post {
    #[primary_key]
    id: i64,
    user_id: i64,
    score: Option<i32>,
}

/// Not-null, check and foreign-key violations from a hand-written schema.
#[tokio::test]
async fn not_null_check_and_foreign_key_violations_are_typed() {
    for b in backends() {
        let orm = Orm::builder()
            .url(b.url())
            .entity::<User>()
            .entity::<Post>()
            .build()
            .await
            .unwrap();
        let em = orm.em();
        let (key, text_key) = (b.auto_key(), b.key_text());
        em.execute(&format!("CREATE TABLE users (id {key}, name TEXT NOT NULL, email {text_key} NOT NULL UNIQUE, age INTEGER NOT NULL)"), vec![]).await.unwrap();
        em.execute(&format!("CREATE TABLE posts (id {key}, user_id BIGINT NOT NULL, score INTEGER, CONSTRAINT score_positive CHECK (score > 0), FOREIGN KEY (user_id) REFERENCES users(id))"), vec![]).await.unwrap();
        let em = orm.em().fork();

        let u = em.persist(User::new("a", "a@x.io")).unwrap(); // age NULL, the table says NOT NULL
        let err = em.flush().await.unwrap_err();
        match &err {
            Error::Constraint {
                kind: ConstraintKind::NotNull,
                source,
            } => {
                // MariaDB names the column only ("Column 'age' cannot be null").
                let expected_table = if b.is_mysql() { None } else { Some("users") };
                assert_eq!(source.table(), expected_table, "{}", b.name);
                assert_eq!(source.column(), Some("age"), "{}", b.name);
                assert_eq!(source.constraint(), None, "{}", b.name);
            }
            other => panic!("{}: {other:?}", b.name),
        }
        u.write().age = Some(1);
        em.flush().await.unwrap();
        let uid = u.read().id;

        let p = em
            .persist(Post {
                id: 0,
                user_id: uid,
                score: Some(-1),
            })
            .unwrap();
        let err = em.flush().await.unwrap_err();
        match &err {
            Error::Constraint {
                kind: ConstraintKind::Check,
                source,
            } => {
                assert_eq!(source.constraint(), Some("score_positive"), "{}", b.name);
            }
            other => panic!("{}: {other:?}", b.name),
        }
        p.write().score = Some(5);
        p.write().user_id = 4242;
        let err = em.flush().await.unwrap_err();
        assert_eq!(
            err.constraint_kind(),
            Some(ConstraintKind::ForeignKey),
            "{}: {err:?}",
            b.name
        );
        let posts = orm.em().query("SELECT * FROM posts", vec![]).await.unwrap();
        assert!(posts.is_empty(), "{}", b.name);
        assert_eq!(p.read().id, 0);
        p.write().user_id = uid;
        em.flush().await.unwrap();
        assert_eq!(
            orm.em()
                .query("SELECT * FROM posts", vec![])
                .await
                .unwrap()
                .len(),
            1
        );
    }
}

/// Polls `fut` up to `polls` times (sleeping `pause` between polls, so the connection thread
/// makes progress), then drops it: a client disconnect at a chosen point. Returns whether it
/// completed.
async fn poll_then_drop<F: std::future::Future>(
    fut: F,
    polls: u32,
    pause: std::time::Duration,
) -> bool {
    let mut fut = std::pin::pin!(fut);
    for _ in 0..polls {
        let ready =
            std::future::poll_fn(|cx| std::task::Poll::Ready(fut.as_mut().poll(cx).is_ready()))
                .await;
        if ready {
            return true;
        }
        std::thread::sleep(pause);
    }
    false
}

/// A flush cancelled at any point (a client disconnect, a timeout) either commits and is
/// applied to memory, or rolls back and leaves memory pending: the next flush then writes
/// exactly what is left. A flush that committed without being applied would insert the rows
/// again (a unique violation here) or lose the update.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cancelled_flush_never_leaves_memory_and_database_apart() {
    for b in backends() {
        let orm = orm_without_spin(&b).await;
        let mut outcomes = std::collections::BTreeMap::new();
        for attempt in 0..40u32 {
            let em = orm.em().fork();
            let users: Vec<_> = (0..500)
                .map(|i| {
                    em.persist(User::new("new", &format!("{attempt}-{i}@x.io")))
                        .unwrap()
                })
                .collect();
            let pause = std::time::Duration::from_micros(u64::from(attempt) * 20);
            let done = poll_then_drop(em.flush(), 1 + attempt % 3, pause).await;
            *outcomes.entry(done).or_insert(0) += 1;
            em.flush().await.unwrap(); // waits for a rescued flush, then writes what is left
            assert!(
                users.iter().all(|u| u.read().id > 0),
                "{}: every user inserted",
                b.name
            );

            for u in &users {
                u.write().name = format!("renamed {attempt}");
            }
            poll_then_drop(em.flush(), 1 + attempt % 3, pause).await;
            em.flush().await.unwrap();
            assert!(users.iter().all(|u| !u.is_dirty()), "{}", b.name);
        }
        let rows = user_rows(&orm).await;
        assert_eq!(rows.len(), 40 * 500, "{}: no row lost or doubled", b.name);
        assert!(
            rows.iter().all(|(_, name, _)| name.starts_with("renamed")),
            "{}",
            b.name
        );
        assert!(
            outcomes.get(&false).is_some_and(|n| *n > 0),
            "{}: some flushes were cancelled: {outcomes:?}",
            b.name
        );
    }
}

#[derive(Entity, Clone, Debug)]
#[entity(table = "taggings")]
struct Tagging {
    #[primary_key]
    id: i64,
    tag_code: String,
}

/// MikroORM variant B (reference 1.7): after a failed flush MikroORM believes the rows
/// inserted before the failure exist ("ghosts"), so the retry skips them and the rows that
/// reference them fail their foreign key. Coherent keeps them pending: the retry inserts the
/// referenced row and the referencing one, in commit order.
#[tokio::test]
async fn a_retry_after_a_failed_flush_does_not_reference_ghost_rows() {
    for b in backends() {
        let orm = Orm::builder()
            .url(b.url())
            .entity::<Tag>()
            .entity::<Tagging>()
            .entity::<User>()
            .build()
            .await
            .unwrap();
        let raw = orm.em();
        let (key, text_key) = (b.auto_key(), b.key_text());
        raw.execute(
            &format!("CREATE TABLE tags (code {text_key} PRIMARY KEY, label TEXT NOT NULL)"),
            vec![],
        )
        .await
        .unwrap();
        raw.execute(&format!("CREATE TABLE taggings (id {key}, tag_code {text_key} NOT NULL, FOREIGN KEY (tag_code) REFERENCES tags(code))"), vec![]).await.unwrap();
        raw.execute(&format!("CREATE TABLE users (id {key}, name TEXT NOT NULL, email {text_key} NOT NULL UNIQUE, age INTEGER)"), vec![]).await.unwrap();
        raw.execute(
            "INSERT INTO users (name, email) VALUES ('taken', 'taken@x.io')",
            vec![],
        )
        .await
        .unwrap();

        let em = orm.em().fork();
        let tag = em.persist(Tag::new("rust", "Rust")).unwrap(); // inserted first
        let tagging = em
            .persist(Tagging {
                id: 0,
                tag_code: "rust".into(),
            })
            .unwrap(); // then this
        let user = em.persist(User::new("u", "taken@x.io")).unwrap(); // fails last
        let err = em.flush().await.unwrap_err();
        assert_eq!(
            err.constraint_kind(),
            Some(ConstraintKind::Unique),
            "{}: {err:?}",
            b.name
        );
        let count = |table: &'static str| {
            let orm = orm.clone();
            async move {
                orm.em()
                    .query(&format!("SELECT * FROM {table}"), vec![])
                    .await
                    .unwrap()
                    .len()
            }
        };
        assert_eq!(
            (
                count("tags").await,
                count("taggings").await,
                count("users").await
            ),
            (0, 0, 1),
            "{}",
            b.name
        );
        assert_eq!(tagging.read().id, 0, "{}: no ghost id", b.name);
        assert!(em.contains(&tag).unwrap() && em.contains(&tagging).unwrap());

        user.write().email = "u@x.io".into();
        em.flush().await.unwrap();
        assert_eq!(
            (
                count("tags").await,
                count("taggings").await,
                count("users").await
            ),
            (1, 1, 2),
            "{}",
            b.name
        );
        assert!(tagging.read().id > 0, "{}", b.name);
    }
}

/// Clearing the EntityManager while its flush runs detaches the flushed instances; the flush
/// still commits, and applies nothing to the work persisted after the clear (applying the old
/// plan to the new state would schedule the committed rows for deletion).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clearing_during_a_flush_leaves_later_work_alone() {
    for b in backends() {
        let orm = orm_without_spin(&b).await;
        let em = orm.em().fork();
        let mut inserted = 0;
        let mut exercised = false;
        // Under load the batch can finish within the first poll; try again until the flush is
        // seen in flight.
        for attempt in 0..20 {
            for i in 0..500 {
                em.persist(User::new("before", &format!("{attempt}-{i}@x.io")))
                    .unwrap();
            }
            inserted += 500;
            if b.is_server() {
                // A server flush's first poll plans only once it has a connection; one still
                // on its way back to the pool (a spawned task) would make that poll wait
                // before planning, and the clear below would come before the flush began.
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            }
            let mut flush = std::pin::pin!(em.flush());
            let first =
                std::future::poll_fn(|cx| std::task::Poll::Ready(flush.as_mut().poll(cx))).await;
            if first.is_ready() {
                continue;
            }
            em.clear().unwrap();
            let after = em.persist(User::new("after", "after@x.io")).unwrap();
            flush.await.unwrap();
            em.flush().await.unwrap();
            em.flush().await.unwrap();
            assert!(
                after.read().id > 0 && em.contains(&after).unwrap(),
                "{}",
                b.name
            );
            exercised = true;
            break;
        }
        assert!(exercised, "{}: never caught a flush in flight", b.name);
        assert_eq!(user_rows(&orm).await.len(), inserted + 1, "{}", b.name);
    }
}
