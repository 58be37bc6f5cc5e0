//! Re-reading a changed entity never rebases its optimistic check (issue 10, defect 1).
//!
//! EntityManager A loads a row and changes `title` (no flush); another writer changes
//! `title` and `body` and commits. A re-reads the row (`find`, a populate, a joined load):
//! `title` stays A's, `body` is the other writer's, and the version (or the checked
//! columns) stays what A's change was based on. A's flush is then an optimistic-lock
//! conflict that writes nothing, where MikroORM takes the new version and overwrites the
//! other writer's `title`. An entity without a version writes only what A changed.

use crate::common::{Backend, StatementLog, backends};
use coherent::Error;
use coherent::prelude::*;

#[derive(Entity, Clone, Debug)]
#[entity(table = "journals")]
pub struct Journal {
    #[primary_key]
    pub id: i64,
    pub name: String,
    #[one_to_many(mapped_by = "journal")]
    pub articles: Collection<Article>,
}

#[derive(Entity, Clone, Debug)]
#[entity(table = "articles")]
pub struct Article {
    #[primary_key]
    pub id: i64,
    pub title: String,
    pub body: String,
    #[version]
    pub version: i64,
    #[many_to_one]
    pub journal: Ref<Journal>,
}

#[cfg(feature = "chrono")]
#[derive(Entity, Clone, Debug, PartialEq)]
#[entity(table = "stamped_articles")]
pub struct StampedArticle {
    #[primary_key]
    pub id: i64,
    pub title: String,
    pub body: String,
    #[version]
    pub version: chrono::DateTime<chrono::Utc>,
}

#[derive(Entity, Clone, Debug, PartialEq)]
#[entity(table = "checked_articles")]
pub struct CheckedArticle {
    #[primary_key]
    pub id: i64,
    #[concurrency_check]
    pub title: String,
    #[concurrency_check]
    pub body: String,
    pub views: i64,
}

#[derive(Entity, Clone, Debug, PartialEq)]
#[entity(table = "plain_articles")]
pub struct PlainArticle {
    #[primary_key]
    pub id: i64,
    pub title: String,
    pub body: String,
}

async fn orm_for(b: &Backend) -> Orm {
    b.orm_with(|o| {
        let o = o.entity::<Journal>().entity::<Article>();
        #[cfg(feature = "chrono")]
        let o = o.entity::<StampedArticle>();
        o.entity::<CheckedArticle>().entity::<PlainArticle>()
    })
    .await
}

/// How A re-reads the article.
#[derive(Clone, Copy, Debug)]
enum ReRead {
    Find,
    Populate,
    Joined,
}

/// A journal with one article, flushed; the article's key.
async fn seed(orm: &Orm) -> i64 {
    let em = orm.em().fork();
    let journal = em
        .persist(Journal {
            id: 0,
            name: "j".into(),
            articles: Collection::new(),
        })
        .unwrap();
    let article = em
        .persist(Article {
            id: 0,
            title: "t0".into(),
            body: "b0".into(),
            version: 0,
            journal: Ref::to(&journal),
        })
        .unwrap();
    em.flush().await.unwrap();
    article.key()
}

/// Row `id` of `T` as a fresh EntityManager reads it.
async fn fresh<T: Entity<Key = i64>>(orm: &Orm, id: i64) -> T {
    orm.em()
        .fork()
        .find_one_or_fail::<T>(id)
        .await
        .unwrap()
        .get()
}

/// The article's row as a fresh EntityManager reads it: (title, body, version).
async fn article_row(orm: &Orm, id: i64) -> (String, String, i64) {
    let a = orm
        .em()
        .fork()
        .find_one_or_fail::<Article>(id)
        .await
        .unwrap();
    let a = a.read();
    (a.title.clone(), a.body.clone(), a.version)
}

#[tokio::test]
async fn a_re_read_never_moves_the_version_a_change_was_based_on() {
    for b in backends() {
        for how in [ReRead::Find, ReRead::Populate, ReRead::Joined] {
            let orm = orm_for(&b).await;
            let id = seed(&orm).await;
            let a = orm.em().fork();
            let mine = a.find_one_or_fail::<Article>(id).await.unwrap();
            mine.write().title = "mine".into();

            let other = orm.em().fork();
            let theirs = other.find_one_or_fail::<Article>(id).await.unwrap();
            theirs.update(|t| {
                t.title = "theirs".into();
                t.body = "their body".into();
            });
            other.flush().await.unwrap();
            assert_eq!(theirs.read().version, 2, "{} {how:?}", b.name);

            match how {
                ReRead::Find => {
                    a.find(Article::ID.eq(id)).await.unwrap();
                }
                ReRead::Populate | ReRead::Joined => {
                    let options = FindOptions::default().populate(["articles"]);
                    let options = match how {
                        ReRead::Joined => options.strategy(LoadStrategy::Joined),
                        _ => options,
                    };
                    let journals = a
                        .find_with(Filter::<Journal>::all(), options)
                        .await
                        .unwrap();
                    let articles = journals[0].read().articles.items().unwrap().to_vec();
                    assert!(Managed::ptr_eq(&articles[0], &mine), "{} {how:?}", b.name);
                }
            }
            {
                let m = mine.read();
                assert_eq!(m.title, "mine", "{} {how:?}: A's change is kept", b.name);
                assert_eq!(
                    m.body, "their body",
                    "{} {how:?}: the rest is fresh",
                    b.name
                );
                assert_eq!(m.version, 1, "{} {how:?}: the version A read", b.name);
            }
            assert_eq!(mine.changed_columns(), ["title"], "{} {how:?}", b.name);

            let log = StatementLog::capture();
            let err = a.flush().await.unwrap_err();
            assert!(
                matches!(
                    err,
                    Error::OptimisticLock {
                        entity: "Article",
                        ..
                    }
                ),
                "{} {how:?}: {err:?}",
                b.name
            );
            let writes = log.take_all();
            let update = writes
                .iter()
                .find_map(|(sql, failed)| (*failed && sql.starts_with("UPDATE")).then_some(sql))
                .unwrap_or_else(|| panic!("{} {how:?}: the UPDATE fails: {writes:?}", b.name));
            assert!(
                !update.contains("body"),
                "{} {how:?}: body is not A's to write: {update}",
                b.name
            );
            assert_eq!(
                article_row(&orm, id).await,
                ("theirs".into(), "their body".into(), 2),
                "{} {how:?}: nothing written",
                b.name
            );
            assert_eq!(
                mine.read().title,
                "mine",
                "{} {how:?}: memory as before",
                b.name
            );
            assert_eq!(mine.read().version, 1, "{} {how:?}", b.name);
        }
    }
}

#[cfg(feature = "chrono")]
#[tokio::test]
async fn a_re_read_never_moves_a_timestamp_version() {
    for b in backends() {
        let orm = orm_for(&b).await;
        let em = orm.em().fork();
        let seeded = em
            .persist(StampedArticle {
                id: 0,
                title: "t0".into(),
                body: "b0".into(),
                version: chrono::DateTime::UNIX_EPOCH,
            })
            .unwrap();
        em.flush().await.unwrap();
        let id = seeded.key();

        let a = orm.em().fork();
        let mine = a.find_one_or_fail::<StampedArticle>(id).await.unwrap();
        let read_version = mine.read().version;
        mine.write().title = "mine".into();
        // Millisecond versions: let the other writer's stamp be a later one.
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        let other = orm.em().fork();
        let theirs = other.find_one_or_fail::<StampedArticle>(id).await.unwrap();
        theirs.update(|t| {
            t.title = "theirs".into();
            t.body = "their body".into();
        });
        other.flush().await.unwrap();
        assert_ne!(theirs.read().version, read_version, "{}", b.name);

        a.find(StampedArticle::ID.eq(id)).await.unwrap();
        assert_eq!(mine.read().version, read_version, "{}", b.name);
        assert_eq!(mine.read().body, "their body", "{}", b.name);
        let err = a.flush().await.unwrap_err();
        assert!(
            matches!(err, Error::OptimisticLock { .. }),
            "{}: {err:?}",
            b.name
        );
        let row = fresh::<StampedArticle>(&orm, id).await;
        assert_eq!(
            (row.title.as_str(), row.body.as_str()),
            ("theirs", "their body"),
            "{}",
            b.name
        );
    }
}

#[tokio::test]
async fn a_re_read_never_moves_the_checked_columns() {
    for b in backends() {
        let orm = orm_for(&b).await;
        let em = orm.em().fork();
        let seeded = em
            .persist(CheckedArticle {
                id: 0,
                title: "t0".into(),
                body: "b0".into(),
                views: 0,
            })
            .unwrap();
        em.flush().await.unwrap();
        let id = seeded.key();

        let a = orm.em().fork();
        let mine = a.find_one_or_fail::<CheckedArticle>(id).await.unwrap();
        mine.write().title = "mine".into();
        let other = orm.em().fork();
        let theirs = other.find_one_or_fail::<CheckedArticle>(id).await.unwrap();
        theirs.update(|t| {
            t.body = "their body".into();
            t.views = 7;
        });
        other.flush().await.unwrap();

        a.find(CheckedArticle::ID.eq(id)).await.unwrap();
        {
            let m = mine.read();
            assert_eq!(
                m.body, "b0",
                "{}: a checked column keeps what A read",
                b.name
            );
            assert_eq!(m.views, 7, "{}: an unchecked one is fresh", b.name);
        }
        assert_eq!(mine.changed_columns(), ["title"], "{}", b.name);
        let err = a.flush().await.unwrap_err();
        assert!(
            matches!(err, Error::OptimisticLock { .. }),
            "{}: {err:?}",
            b.name
        );
        let row = fresh::<CheckedArticle>(&orm, id).await;
        assert_eq!(
            (row.title.as_str(), row.body.as_str(), row.views),
            ("t0", "their body", 7),
            "{}: nothing written",
            b.name
        );
    }
}

/// Without a version or checks nothing guards the row, but a re-read still never makes A
/// write the other writer's fields back: A's flush writes `title` alone.
#[tokio::test]
async fn an_unversioned_re_read_writes_only_what_was_changed() {
    for b in backends() {
        let orm = orm_for(&b).await;
        let em = orm.em().fork();
        let seeded = em
            .persist(PlainArticle {
                id: 0,
                title: "t0".into(),
                body: "b0".into(),
            })
            .unwrap();
        em.flush().await.unwrap();
        let id = seeded.key();

        let a = orm.em().fork();
        let mine = a.find_one_or_fail::<PlainArticle>(id).await.unwrap();
        mine.write().title = "mine".into();
        let other = orm.em().fork();
        let theirs = other.find_one_or_fail::<PlainArticle>(id).await.unwrap();
        theirs.write().body = "their body".into();
        other.flush().await.unwrap();

        a.find(PlainArticle::ID.eq(id)).await.unwrap();
        assert_eq!(mine.read().body, "their body", "{}", b.name);
        assert_eq!(mine.changed_columns(), ["title"], "{}", b.name);
        // The other writer changes body again after A's re-read: A must not undo it.
        theirs.write().body = "their second body".into();
        other.flush().await.unwrap();
        a.flush().await.unwrap();
        let row = fresh::<PlainArticle>(&orm, id).await;
        assert_eq!(
            (row.title.as_str(), row.body.as_str()),
            ("mine", "their second body"),
            "{}",
            b.name
        );
    }
}
