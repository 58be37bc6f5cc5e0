//! One-to-many collections (`Collection<T>`, `#[one_to_many(mapped_by = ..)]`): select-in
//! populate by path with a fixed number of queries, no hidden loads, cascade persist, the
//! owner's side written to the items' foreign keys, orphan removal, NULLing or refusing a
//! removal, moves between owners, and memory after a failed flush or a rollback.

use crate::common::*;
use coherent::Error;
use coherent::prelude::*;

#[derive(Entity, Clone, Debug)]
#[entity(table = "blogs")]
pub struct Blog {
    #[primary_key]
    pub id: i64,
    pub name: String,
    #[one_to_many(mapped_by = "blog", cascade_remove)]
    pub posts: Collection<Post>,
}

#[derive(Entity, Clone, Debug)]
#[entity(table = "posts")]
pub struct Post {
    #[primary_key]
    pub id: i64,
    #[column(unique)]
    pub title: String,
    #[many_to_one]
    pub blog: Ref<Blog>,
    #[one_to_many(mapped_by = "post", orphan_removal)]
    pub comments: Collection<Comment>,
}

#[derive(Entity, Clone, Debug)]
#[entity(table = "comments")]
pub struct Comment {
    #[primary_key]
    pub id: i64,
    pub body: String,
    #[many_to_one]
    pub post: Ref<Post>,
}

#[derive(Entity, Clone, Debug)]
#[entity(table = "boards")]
pub struct Board {
    #[primary_key]
    pub id: i64,
    pub name: String,
    #[one_to_many(mapped_by = "board")]
    pub cards: Collection<Card>,
}

#[derive(Entity, Clone, Debug)]
#[entity(table = "cards")]
pub struct Card {
    #[primary_key]
    pub id: i64,
    pub title: String,
    #[many_to_one]
    pub board: Option<Ref<Board>>,
}

async fn orm_for(b: &Backend) -> Orm {
    b.orm_with(|o| {
        o.entity::<Comment>()
            .entity::<Post>()
            .entity::<Blog>()
            .entity::<Card>()
            .entity::<Board>()
    })
    .await
}

fn blog(name: &str) -> Blog {
    Blog {
        id: 0,
        name: name.into(),
        posts: Collection::new(),
    }
}

fn post(title: &str, blog: &Managed<Blog>) -> Post {
    Post {
        id: 0,
        title: title.into(),
        blog: Ref::to(blog),
        comments: Collection::new(),
    }
}

fn comment(body: &str, post: &Managed<Post>) -> Comment {
    Comment {
        id: 0,
        body: body.into(),
        post: Ref::to(post),
    }
}

/// A new blog with `posts` new posts of `comments` new comments each, all through the
/// collections (cascade persist), in one flush.
pub async fn seed_blog(
    em: &EntityManager,
    name: &str,
    posts: usize,
    comments: usize,
) -> Managed<Blog> {
    let b = em.persist(blog(name)).unwrap();
    for p in 0..posts {
        let new_post = b
            .write()
            .posts
            .add_new(post(&format!("{name}/p{p}"), &b))
            .unwrap();
        for c in 0..comments {
            let new_comment = comment(&format!("{name}/p{p}/c{c}"), &new_post);
            new_post.write().comments.add_new(new_comment).unwrap();
        }
    }
    em.flush().await.unwrap();
    b
}

/// Blogs in name order, with `paths` populated.
fn by_name(paths: &[&str]) -> FindOptions {
    FindOptions {
        order_by: vec![Blog::NAME.asc()],
        ..Default::default()
    }
    .populate(paths.iter().copied())
}

async fn count_rows(orm: &Orm, table: &str) -> i64 {
    let rows = orm
        .em()
        .fork()
        .query(&format!("SELECT COUNT(*) AS n FROM {table}"), vec![])
        .await
        .unwrap();
    rows[0].get::<i64>("n").unwrap()
}

#[tokio::test]
async fn new_items_reachable_through_collections_are_persisted_with_their_owner() {
    for b in backends() {
        let orm = orm_for(&b).await;
        let em = orm.em().fork();
        let blog = seed_blog(&em, "tech", 3, 2).await;
        assert_eq!(count_rows(&orm, "posts").await, 3, "{}", b.name);
        assert_eq!(count_rows(&orm, "comments").await, 6, "{}", b.name);
        let blog_id = blog.read().id;
        assert!(blog_id > 0);
        for p in blog.read().posts.items().unwrap() {
            assert!(
                em.contains(p).unwrap(),
                "{}: managed after the flush",
                b.name
            );
            assert_eq!(p.read().blog.key(), blog_id);
            for c in p.read().comments.items().unwrap() {
                assert_eq!(c.read().post.key(), p.read().id, "{}", b.name);
            }
        }
        // Nothing left to write.
        let log = StatementLog::capture();
        em.flush().await.unwrap();
        assert!(log.take().is_empty(), "{}", b.name);
    }
}

#[tokio::test]
async fn populating_two_collection_levels_of_100_owners_is_three_queries() {
    for b in backends() {
        let orm = orm_for(&b).await;
        let seed = orm.em().fork();
        for i in 0..100 {
            seed_blog(&seed, &format!("b{i}"), 3, 2).await;
        }
        let em = orm.em().fork();
        // Unloaded until populated: a typed error, never a query.
        let plain = em.find::<Blog>(Filter::all()).await.unwrap();
        let err = plain[0].read().posts.items().unwrap_err();
        assert!(
            matches!(
                err,
                Error::CollectionNotLoaded {
                    entity: "Post",
                    relation: "Blog.posts"
                }
            ),
            "{err:?}"
        );
        em.clear().unwrap();

        let log = StatementLog::capture();
        let blogs = em
            .find_with::<Blog>(
                Filter::all(),
                FindOptions::default().populate(["posts", "posts.comments"]),
            )
            .await
            .unwrap();
        let statements = log.take();
        assert_eq!(statements.len(), 3, "{}: {statements:#?}", b.name);
        assert_eq!(blogs.len(), 100);
        for blog in &blogs {
            let blog_read = blog.read();
            let posts = blog_read.posts.items().unwrap();
            assert_eq!(posts.len(), 3, "{}", b.name);
            for p in posts {
                let p = p.read();
                assert!(p.title.starts_with(&format!("{}/", blog_read.name)));
                // The back reference is linked to the owner instance.
                assert!(Managed::ptr_eq(p.blog.get().unwrap(), blog));
                assert_eq!(p.comments.len().unwrap(), 2, "{}", b.name);
            }
        }
        // Populating again loads nothing: the collections are loaded.
        em.populate_paths(&blogs, ["posts.comments"]).await.unwrap();
        assert!(log.take().is_empty(), "{}", b.name);
        // A reference path from the item side: the blogs are in the identity map already.
        let comments = em.find::<Comment>(Filter::all()).await.unwrap();
        log.take();
        em.populate_paths(&comments, ["post.blog"]).await.unwrap();
        assert!(log.take().is_empty(), "{}: all in the identity map", b.name);
        assert!(
            comments[0]
                .read()
                .post
                .get()
                .unwrap()
                .read()
                .blog
                .is_loaded()
        );
        // Not modified by populating: nothing to flush.
        em.flush().await.unwrap();
        assert!(log.take().is_empty(), "{}", b.name);
    }
}

#[tokio::test]
async fn an_unknown_populate_path_is_refused_before_any_query() {
    for b in backends() {
        let orm = orm_for(&b).await;
        let em = orm.em().fork();
        let log = StatementLog::capture();
        let err = em
            .find_with::<Blog>(
                Filter::all(),
                FindOptions::default().populate(["posts.nope"]),
            )
            .await
            .unwrap_err();
        assert!(
            matches!(&err, Error::InvalidArgument(m) if m.contains("Post has no relation `nope`")),
            "{err:?}"
        );
        // find_with queried the blogs before populating: the populate itself made no query.
        assert_eq!(log.take().len(), 1, "{}", b.name);
        let blogs = em.find::<Blog>(Filter::all()).await.unwrap();
        log.take();
        assert!(em.populate_paths(&blogs, ["name"]).await.is_err());
        assert!(log.take().is_empty(), "{}", b.name);
    }
}

#[tokio::test]
async fn adding_a_loaded_item_points_its_reference_at_the_owner() {
    for b in backends() {
        let orm = orm_for(&b).await;
        let seed = orm.em().fork();
        seed_blog(&seed, "a", 2, 0).await;
        seed_blog(&seed, "b", 0, 0).await;

        let em = orm.em().fork();
        let blogs = em
            .find_with::<Blog>(Filter::all(), by_name(&["posts"]))
            .await
            .unwrap();
        let (a, bb) = (&blogs[0], &blogs[1]);
        let moved = a.read().posts.items().unwrap()[0].clone();
        // A move: removed from one owner, added to the other (the reference is not
        // nullable, so this is allowed only because it is added elsewhere).
        a.write().posts.remove(&moved).unwrap();
        bb.write().posts.add(&moved).unwrap();
        em.flush().await.unwrap();
        assert_eq!(moved.read().blog.key(), bb.read().id, "{}", b.name);

        let check = orm.em().fork();
        let fresh = check
            .find_with::<Blog>(Filter::all(), by_name(&["posts"]))
            .await
            .unwrap();
        assert_eq!(fresh[0].read().posts.len().unwrap(), 1, "{}", b.name);
        assert_eq!(fresh[1].read().posts.len().unwrap(), 1, "{}", b.name);
    }
}

#[tokio::test]
async fn orphan_removal_deletes_removed_items_and_the_items_of_a_removed_owner() {
    for b in backends() {
        let orm = orm_for(&b).await;
        let seed = orm.em().fork();
        seed_blog(&seed, "x", 2, 3).await;

        let em = orm.em().fork();
        let posts = em
            .find_with::<Post>(
                Filter::all(),
                FindOptions {
                    order_by: vec![Post::TITLE.asc()],
                    ..Default::default()
                }
                .populate(["comments"]),
            )
            .await
            .unwrap();
        let gone = posts[0].read().comments.items().unwrap()[1].clone();
        posts[0].write().comments.remove(&gone).unwrap();
        em.flush().await.unwrap();
        assert_eq!(count_rows(&orm, "comments").await, 5, "{}", b.name);
        assert!(!em.contains(&gone).unwrap(), "{}", b.name);

        // Removing the owner removes its loaded orphan-removal items first.
        em.remove(&posts[1]).unwrap();
        em.flush().await.unwrap();
        assert_eq!(count_rows(&orm, "posts").await, 1, "{}", b.name);
        assert_eq!(count_rows(&orm, "comments").await, 2, "{}", b.name);
    }
}

#[tokio::test]
async fn removing_an_item_whose_reference_is_not_nullable_is_refused_and_changes_nothing() {
    for b in backends() {
        let orm = orm_for(&b).await;
        let seed = orm.em().fork();
        seed_blog(&seed, "y", 2, 0).await;

        let em = orm.em().fork();
        let blog = em
            .find_one_with::<Blog>(Filter::all(), FindOptions::default().populate(["posts"]))
            .await
            .unwrap()
            .unwrap();
        let p = blog.read().posts.items().unwrap()[0].clone();
        blog.write().posts.remove(&p).unwrap();
        let log = StatementLog::capture();
        let err = em.flush().await.unwrap_err();
        assert!(
            matches!(
                &err,
                Error::RemovedItemNotNullable {
                    owner_entity: "Blog",
                    field: "posts",
                    item_entity: "Post",
                    reference: "blog",
                    ..
                }
            ) && err.to_string().contains("Post.blog is not nullable"),
            "{}: {err:?}",
            b.name
        );
        assert!(log.take().is_empty(), "{}: refused before any SQL", b.name);
        assert_eq!(count_rows(&orm, "posts").await, 2, "{}", b.name);
        assert!(em.contains(&p).unwrap());
        assert_eq!(p.read().blog.key(), blog.read().id);
        // Putting it back makes the flush a no-op.
        log.take();
        blog.write().posts.add(&p).unwrap();
        em.flush().await.unwrap();
        let after = log.take();
        assert!(after.is_empty(), "{}: {after:?}", b.name);
    }
}

#[tokio::test]
async fn removing_an_item_whose_reference_is_nullable_sets_it_to_null() {
    for b in backends() {
        let orm = orm_for(&b).await;
        let em = orm.em().fork();
        let board = em
            .persist(Board {
                id: 0,
                name: "kanban".into(),
                cards: Collection::new(),
            })
            .unwrap();
        let card = board
            .write()
            .cards
            .add_new(Card {
                id: 0,
                title: "todo".into(),
                board: None,
            })
            .unwrap();
        em.flush().await.unwrap();
        // The owner's side was written to the item's foreign key.
        assert_eq!(card.read().board.as_ref().unwrap().key(), board.read().id);
        let check = orm.em().fork();
        let on_board = check
            .find::<Card>(Card::BOARD.is_null().not())
            .await
            .unwrap();
        assert_eq!(on_board.len(), 1, "{}", b.name);

        board.write().cards.remove(&card).unwrap();
        em.flush().await.unwrap();
        assert!(card.read().board.is_none(), "{}", b.name);
        let check = orm.em().fork();
        let loose = check.find::<Card>(Card::BOARD.is_null()).await.unwrap();
        assert_eq!(loose.len(), 1, "{}: the row stays, unlinked", b.name);
    }
}

#[tokio::test]
async fn a_failed_flush_keeps_collection_changes_pending_and_a_retry_writes_them_once() {
    for b in backends() {
        let orm = orm_for(&b).await;
        let em = orm.em().fork();
        let blog = seed_blog(&em, "z", 1, 0).await;
        let taken = blog.read().posts.items().unwrap()[0].read().title.clone();
        let dup = blog.write().posts.add_new(post(&taken, &blog)).unwrap();
        let err = em.flush().await.unwrap_err();
        assert_eq!(
            err.constraint_kind(),
            Some(ConstraintKind::Unique),
            "{}",
            b.name
        );
        assert_eq!(
            dup.read().id,
            0,
            "{}: no key from a rolled-back insert",
            b.name
        );
        assert_eq!(count_rows(&orm, "posts").await, 1, "{}", b.name);
        dup.write().title = "z/unique".into();
        em.flush().await.unwrap();
        assert_eq!(count_rows(&orm, "posts").await, 2, "{}", b.name);
        assert_eq!(blog.read().posts.len().unwrap(), 2);
    }
}

#[tokio::test]
async fn a_rolled_back_transaction_restores_collections() {
    for b in backends() {
        let orm = orm_for(&b).await;
        let em = orm.em().fork();
        let blog = seed_blog(&em, "r", 2, 0).await;
        let first = blog.read().posts.items().unwrap()[0].clone();
        em.begin().await.unwrap();
        blog.write().posts.add_new(post("r/new", &blog)).unwrap();
        em.flush().await.unwrap();
        assert_eq!(count_rows_in(&em, "posts").await, 3, "{}", b.name);
        em.rollback().await.unwrap();
        let posts = blog.read().posts.items().unwrap().to_vec();
        assert_eq!(posts.len(), 2, "{}: the added item is gone again", b.name);
        assert!(Managed::ptr_eq(&posts[0], &first));
        assert_eq!(count_rows(&orm, "posts").await, 2, "{}", b.name);
        // And nothing is left to write.
        let log = StatementLog::capture();
        em.flush().await.unwrap();
        assert!(log.take().is_empty(), "{}: {:?}", b.name, log.take());
    }
}

async fn count_rows_in(em: &EntityManager, table: &str) -> i64 {
    let rows = em
        .query(&format!("SELECT COUNT(*) AS n FROM {table}"), vec![])
        .await
        .unwrap();
    rows[0].get::<i64>("n").unwrap()
}

#[tokio::test]
async fn a_transaction_fork_merges_its_relations_back_onto_the_parents_instances() {
    for b in backends() {
        let orm = orm_for(&b).await;
        let em = orm.em().fork();
        let blog = seed_blog(&em, "m", 2, 0).await;
        let blog_id = blog.read().id;
        let old: Vec<Managed<Post>> = blog.read().posts.items().unwrap().to_vec();
        // A fork with its own identity map: it loads its own instances of every row.
        let options = TxOptions {
            clear: true,
            ..Default::default()
        };
        em.transactional_with(options, |tx| async move {
            let theirs = tx
                .find_one_with::<Blog>(blog_id, FindOptions::default().populate(["posts"]))
                .await?
                .unwrap();
            let me = theirs.clone();
            theirs.write().name = "m2".into();
            theirs.write().posts.add_new(post("m/new", &me))?;
            Ok::<_, Error>(())
        })
        .await
        .unwrap();
        let r = blog.read();
        assert_eq!(r.name, "m2", "{}: the fork's state merged", b.name);
        let items = r.posts.items().unwrap();
        assert_eq!(items.len(), 3, "{}", b.name);
        for item in items {
            assert!(
                em.contains(item).unwrap(),
                "{}: every item is the parent's instance",
                b.name
            );
            assert!(
                Managed::ptr_eq(item.read().blog.get().unwrap(), &blog),
                "{}: the back references too",
                b.name
            );
        }
        for o in &old {
            assert!(items.iter().any(|i| Managed::ptr_eq(i, o)), "{}", b.name);
        }
    }
}

#[tokio::test]
async fn cascade_remove_removes_the_loaded_items_of_a_removed_owner_level_by_level() {
    for b in backends() {
        let orm = orm_for(&b).await;
        let seed = orm.em().fork();
        seed_blog(&seed, "gone", 2, 2).await;
        seed_blog(&seed, "kept", 1, 1).await;

        let em = orm.em().fork();
        let blog = em
            .find_one_with::<Blog>(
                Blog::NAME.eq("gone"),
                FindOptions::default().populate(["posts.comments"]),
            )
            .await
            .unwrap()
            .unwrap();
        em.remove(&blog).unwrap();
        let log = StatementLog::capture();
        em.flush().await.unwrap();
        let deletes: Vec<String> = statement_kinds(&log.take())
            .into_iter()
            .filter(|k| k.starts_with("DELETE"))
            .collect();
        assert_eq!(deletes.len(), 3, "{}: comments, posts, blog", b.name);
        assert_eq!(count_rows(&orm, "blogs").await, 1, "{}", b.name);
        assert_eq!(count_rows(&orm, "posts").await, 1, "{}", b.name);
        assert_eq!(count_rows(&orm, "comments").await, 1, "{}", b.name);

        // Not loaded: left to the database, which refuses (no hidden load).
        let other = orm.em().fork();
        let kept = other
            .find_one::<Blog>(Blog::NAME.eq("kept"))
            .await
            .unwrap()
            .unwrap();
        other.remove(&kept).unwrap();
        let err = other.flush().await.unwrap_err();
        assert_eq!(
            err.constraint_kind(),
            Some(ConstraintKind::ForeignKey),
            "{}: {err:?}",
            b.name
        );
        assert_eq!(count_rows(&orm, "blogs").await, 1, "{}", b.name);
    }
}

#[derive(Entity, Clone, Debug)]
#[entity(table = "albums")]
pub struct Album {
    #[primary_key]
    pub id: i64,
    pub name: String,
    #[one_to_many(mapped_by = "album")]
    pub tracks: Collection<Track>,
}

#[derive(Entity, Clone, Debug)]
#[entity(table = "tracks")]
pub struct Track {
    #[primary_key]
    pub id: i64,
    pub title: String,
    #[version]
    pub version: i32,
    #[many_to_one]
    pub album: Ref<Album>,
}

/// A collection change is an ordinary versioned UPDATE of the item: it advances the version,
/// and a stale concurrent write to the item is an optimistic-lock conflict that changes
/// nothing.
#[tokio::test]
async fn moving_a_versioned_item_between_collections_is_version_checked() {
    for b in backends() {
        let orm = b.orm_with(|o| o.entity::<Track>().entity::<Album>()).await;
        let seed = orm.em().fork();
        let a1 = seed
            .persist(Album {
                id: 0,
                name: "one".into(),
                tracks: Collection::new(),
            })
            .unwrap();
        let a2 = seed
            .persist(Album {
                id: 0,
                name: "two".into(),
                tracks: Collection::new(),
            })
            .unwrap();
        let t = a1
            .write()
            .tracks
            .add_new(Track {
                id: 0,
                title: "intro".into(),
                version: 0,
                album: Ref::to(&a1),
            })
            .unwrap();
        seed.flush().await.unwrap();
        let (a2_id, t_id) = (a2.read().id, t.read().id);
        assert_eq!(t.read().version, 1, "{}", b.name);

        // B reads the track first; A moves it to album two through the collections.
        let other = orm.em().fork();
        let stale = other.find_one_or_fail::<Track>(t_id).await.unwrap();
        let em = orm.em().fork();
        let albums = em
            .find_with::<Album>(Filter::all(), FindOptions::default().populate(["tracks"]))
            .await
            .unwrap();
        let (one, two) = if albums[0].read().id == a2_id {
            (&albums[1], &albums[0])
        } else {
            (&albums[0], &albums[1])
        };
        let track = one.read().tracks.items().unwrap()[0].clone();
        one.write().tracks.remove(&track).unwrap();
        two.write().tracks.add(&track).unwrap();
        em.flush().await.unwrap();
        assert_eq!(
            track.read().version,
            2,
            "{}: the move advanced the version",
            b.name
        );

        stale.write().title = "renamed".into();
        let err = other.flush().await.unwrap_err();
        assert!(
            matches!(err, Error::OptimisticLock { .. }),
            "{}: {err:?}",
            b.name
        );
        let check = orm.em().fork();
        let stored = check.find_one_or_fail::<Track>(t_id).await.unwrap();
        assert_eq!(stored.read().title, "intro", "{}", b.name);
        assert_eq!(stored.read().album.key(), a2_id, "{}", b.name);
        assert_eq!(stored.read().version, 2, "{}", b.name);
    }
}
