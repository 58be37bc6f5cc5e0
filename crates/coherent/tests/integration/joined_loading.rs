//! Joined loading (`LoadStrategy::Joined`): one query with LEFT JOINs and MikroORM's table
//! aliases, de-duplicated into the identity map; locks combined with joins
//! (`lock_table_aliases(["b0"])`, the root-only default on PostgreSQL); the select-in
//! fallback for paged collection joins.

use crate::collections::{Blog, Comment, Post, seed_blog};
use crate::common::*;
use coherent::Error;
use coherent::prelude::*;
use std::time::{Duration, Instant};

async fn orm_for(b: &Backend) -> Orm {
    b.orm_with(|o| {
        o.entity::<Comment>()
            .entity::<Post>()
            .entity::<Blog>()
            .entity::<crate::collections::Card>()
            .entity::<crate::collections::Board>()
    })
    .await
}

fn joined(paths: &[&str]) -> FindOptions {
    FindOptions {
        order_by: vec![Blog::NAME.asc()],
        ..Default::default()
    }
    .populate(paths.iter().copied())
    .strategy(LoadStrategy::Joined)
}

#[tokio::test]
async fn joined_loading_of_two_collection_levels_is_one_query() {
    for b in backends() {
        let orm = orm_for(&b).await;
        let seed = orm.em().fork();
        for i in 0..100 {
            seed_blog(&seed, &format!("b{i:03}"), 3, 2).await;
        }
        seed_blog(&seed, "empty", 0, 0).await;

        let em = orm.em().fork();
        let log = StatementLog::capture();
        let blogs = em
            .find_with::<Blog>(
                Filter::all(),
                joined(&["posts", "posts.comments", "posts.blog"]),
            )
            .await
            .unwrap();
        let statements = log.take();
        assert_eq!(statements.len(), 1, "{}: {statements:#?}", b.name);
        let sql = &statements[0];
        let q = |s: &str| b.quote(s);
        for part in [
            format!("FROM {} AS {}", q("blogs"), q("b0")),
            format!("LEFT JOIN {} AS {}", q("posts"), q("p1")),
            format!("LEFT JOIN {} AS {}", q("comments"), q("c2")),
            format!("LEFT JOIN {} AS {}", q("blogs"), q("b3")),
        ] {
            assert!(sql.contains(&part), "{}: {part} in {sql}", b.name);
        }
        assert_eq!(blogs.len(), 101, "{}: each root once", b.name);
        assert_eq!(blogs[100].read().name, "empty");
        assert_eq!(blogs[100].read().posts.len().unwrap(), 0, "{}", b.name);
        for blog in &blogs[..100] {
            let r = blog.read();
            let posts = r.posts.items().unwrap();
            assert_eq!(posts.len(), 3, "{}", b.name);
            let titles: Vec<String> = posts.iter().map(|p| p.read().title.clone()).collect();
            assert_eq!(
                titles,
                (0..3)
                    .map(|p| format!("{}/p{p}", r.name))
                    .collect::<Vec<_>>()
            );
            for p in posts {
                let p = p.read();
                assert!(Managed::ptr_eq(p.blog.get().unwrap(), blog), "{}", b.name);
                let comments = p.comments.items().unwrap();
                assert_eq!(comments.len(), 2, "{}", b.name);
                for c in comments {
                    assert_eq!(c.read().post.key(), p.id);
                }
            }
        }
        // The same rows through select-in give the same instances (one identity map).
        let again = em
            .find_with::<Blog>(Filter::all(), FindOptions::default().populate(["posts"]))
            .await
            .unwrap();
        assert!(
            again
                .iter()
                .all(|a| blogs.iter().any(|b| Managed::ptr_eq(a, b)))
        );
        em.flush().await.unwrap();
        log.take();
        em.flush().await.unwrap();
        assert!(log.take().is_empty(), "{}: loading changed nothing", b.name);
    }
}

#[tokio::test]
async fn a_joined_filter_and_order_apply_to_the_root_table() {
    for b in backends() {
        let orm = orm_for(&b).await;
        let seed = orm.em().fork();
        let keep = seed_blog(&seed, "keep", 2, 1).await.read().id;
        seed_blog(&seed, "skip", 2, 1).await;
        let em = orm.em().fork();
        // `id` is in every joined table: the filter must name the root's.
        let blogs = em
            .find_with::<Blog>(Blog::ID.eq(keep), joined(&["posts.comments"]))
            .await
            .unwrap();
        assert_eq!(blogs.len(), 1, "{}", b.name);
        assert_eq!(blogs[0].read().posts.len().unwrap(), 2, "{}", b.name);
    }
}

#[tokio::test]
async fn a_paged_collection_join_falls_back_to_select_in() {
    for b in backends() {
        let orm = orm_for(&b).await;
        let seed = orm.em().fork();
        for i in 0..5 {
            seed_blog(&seed, &format!("p{i}"), 3, 0).await;
        }
        let em = orm.em().fork();
        let log = StatementLog::capture();
        let blogs = em
            .find_with::<Blog>(
                Filter::all(),
                FindOptions {
                    limit: Some(2),
                    ..joined(&["posts"])
                },
            )
            .await
            .unwrap();
        assert_eq!(
            log.take().len(),
            2,
            "{}: the root page, then the posts",
            b.name
        );
        assert_eq!(blogs.len(), 2, "{}: two blogs, not two rows", b.name);
        assert!(blogs.iter().all(|x| x.read().posts.len().unwrap() == 3));
    }
}

#[tokio::test]
async fn lock_table_aliases_name_the_tables_of_the_query() {
    for b in backends() {
        let orm = orm_for(&b).await;
        let seed = orm.em().fork();
        seed_blog(&seed, "l", 2, 0).await;
        let em = orm.em().fork();
        em.begin().await.unwrap();

        // An alias the query does not have: refused before any SQL, on every backend.
        let log = StatementLog::capture();
        let err = em
            .find_with::<Blog>(
                Filter::all(),
                joined(&["posts"])
                    .lock_mode(LockMode::PessimisticWrite)
                    .lock_table_aliases(["u0"]),
            )
            .await
            .unwrap_err();
        assert!(
            matches!(&err, Error::InvalidArgument(m) if m.contains("`u0`") && m.contains("b0, p1")),
            "{}: {err:?}",
            b.name
        );
        assert!(log.take().is_empty(), "{}", b.name);

        // Seed 002's shape: joined populate, a partial write lock on the root alias.
        let result = em
            .find_with::<Blog>(
                Filter::all(),
                joined(&["posts"])
                    .lock_mode(LockMode::PessimisticPartialWrite)
                    .lock_table_aliases(["b0"]),
            )
            .await;
        let sql = log.take().pop().unwrap_or_default();
        if b.is_postgres() {
            assert!(sql.ends_with(r#" FOR UPDATE OF "b0" SKIP LOCKED"#), "{sql}");
            assert_eq!(result.unwrap()[0].read().posts.len().unwrap(), 2);
        } else if b.is_mysql() {
            assert!(
                matches!(result, Err(Error::LockUnsupported { .. })),
                "{}: no OF on MySQL: {result:?}",
                b.name
            );
        } else {
            assert!(!sql.contains("FOR "), "{sql}");
            assert_eq!(result.unwrap().len(), 1, "{}", b.name);
        }

        // Without aliases: PostgreSQL locks the root only (it cannot lock the nullable side
        // of a left join); MySQL locks every joined row.
        em.find_with::<Blog>(
            Filter::all(),
            joined(&["posts"]).lock_mode(LockMode::PessimisticWrite),
        )
        .await
        .unwrap();
        let sql = log.take().pop().unwrap();
        if b.is_postgres() {
            assert!(sql.ends_with(r#" FOR UPDATE OF "b0""#), "{sql}");
        } else if b.is_mysql() {
            assert!(sql.ends_with(" FOR UPDATE"), "{sql}");
        }

        // Aliases without joins: the root is aliased too.
        let plain = em
            .find_with::<Blog>(
                Filter::all(),
                FindOptions::default()
                    .lock_mode(LockMode::PessimisticRead)
                    .lock_table_aliases(["b0"]),
            )
            .await;
        if b.is_mysql() {
            assert!(matches!(plain, Err(Error::LockUnsupported { .. })));
        } else {
            assert_eq!(plain.unwrap().len(), 1, "{}", b.name);
        }
        em.rollback().await.unwrap();
    }
}

/// A holds a joined `FOR UPDATE` on a blog and its posts' rows. On PostgreSQL only the blog
/// is locked (`OF "b0"`): B can lock a post at once but not the blog. MySQL locks the joined
/// rows as well: B's post lock fails too.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_joined_lock_takes_the_root_rows_only_where_the_dialect_can() {
    for b in backends().into_iter().filter(|b| b.is_server()) {
        let orm = orm_for(&b).await;
        let seed = orm.em().fork();
        let blog = seed_blog(&seed, "held", 1, 0).await;
        let (blog_id, post_id) = (
            blog.read().id,
            blog.read().posts.items().unwrap()[0].read().id,
        );

        let a = orm.em().fork();
        a.begin().await.unwrap();
        a.find_with::<Blog>(
            Blog::ID.eq(blog_id),
            joined(&["posts"]).lock_mode(LockMode::PessimisticWrite),
        )
        .await
        .unwrap();

        let bm = orm.em().fork();
        let started = Instant::now();
        let blog_lock = bm
            .transactional(|tx| async move {
                tx.find_one_with::<Blog>(
                    blog_id,
                    FindOptions::default().lock_mode(LockMode::PessimisticWriteOrFail),
                )
                .await
            })
            .await;
        assert!(
            matches!(blog_lock, Err(Error::LockNotAvailable { .. })),
            "{}: {blog_lock:?}",
            b.name
        );
        let post_lock = bm
            .transactional(|tx| async move {
                tx.find_one_with::<Post>(
                    post_id,
                    FindOptions::default().lock_mode(LockMode::PessimisticWriteOrFail),
                )
                .await
            })
            .await;
        if b.is_postgres() {
            assert!(
                post_lock.unwrap().is_some(),
                "{}: the post is not locked",
                b.name
            );
        } else {
            assert!(
                matches!(post_lock, Err(Error::LockNotAvailable { .. })),
                "{}: {post_lock:?}",
                b.name
            );
        }
        assert!(started.elapsed() < Duration::from_secs(5), "{}", b.name);
        a.rollback().await.unwrap();
    }
}
