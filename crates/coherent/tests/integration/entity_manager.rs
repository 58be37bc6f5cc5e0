//! EntityManager basics: persist, find, find_one, count, remove, contains, clear, fork.

use crate::common::*;
use crate::each_backend;
use coherent::Error;
use coherent::prelude::*;

#[tokio::test]
async fn persist_flush_assigns_keys_and_find_one_returns_the_same_instance() {
    each_backend!(|b, orm| {
        let em = orm.em().fork();
        let jon = em.persist(User::new("Jon", "jon@x.io")).unwrap();
        assert_eq!(jon.read().id, 0, "{}: no key before the flush", b.name);
        em.flush().await.unwrap();
        let id = jon.read().id;
        assert!(id > 0, "{}", b.name);
        let again = em.find_one::<User>(id).await.unwrap().unwrap();
        assert!(
            Managed::ptr_eq(&jon, &again),
            "{}: one instance per row",
            b.name
        );
        let by_filter = em
            .find_one(User::EMAIL.eq("jon@x.io"))
            .await
            .unwrap()
            .unwrap();
        assert!(Managed::ptr_eq(&jon, &by_filter), "{}", b.name);
        assert_eq!(
            user_rows(&orm).await,
            vec![(id, "Jon".into(), "jon@x.io".into())]
        );
    });
}

#[tokio::test]
async fn client_assigned_keys_are_managed_at_once() {
    each_backend!(|b, orm| {
        let em = orm.em().fork();
        let log = StatementLog::capture();
        let tag = em.persist(Tag::new("rust", "Rust")).unwrap();
        let found = em.find_one::<Tag>("rust").await.unwrap().unwrap();
        assert!(Managed::ptr_eq(&tag, &found), "{}", b.name);
        assert!(
            log.take().is_empty(),
            "{}: answered from the identity map",
            b.name
        );
        em.flush().await.unwrap();
        let fresh = orm.em().fork();
        let loaded = fresh.find_one::<Tag>("rust").await.unwrap().unwrap();
        assert_eq!(loaded.read().label, "Rust", "{}", b.name);
    });
}

#[tokio::test]
async fn find_with_filters_order_limit_offset_and_count() {
    each_backend!(|b, orm| {
        let em = orm.em().fork();
        for (i, name) in ["d", "a", "c", "b", "e"].iter().enumerate() {
            let mut u = User::new(name, &format!("{name}@x.io"));
            u.age = Some(20 + i as i32);
            em.persist(u).unwrap();
        }
        em.flush().await.unwrap();
        let em = orm.em().fork();
        let names =
            |v: &[Managed<User>]| v.iter().map(|u| u.read().name.clone()).collect::<Vec<_>>();
        let sorted = em
            .find_with(
                Filter::all(),
                FindOptions {
                    order_by: vec![User::NAME.asc()],
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        assert_eq!(names(&sorted), ["a", "b", "c", "d", "e"], "{}", b.name);
        let page = em
            .find_with(
                Filter::all(),
                FindOptions {
                    order_by: vec![User::NAME.desc()],
                    limit: Some(2),
                    offset: Some(1),
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        assert_eq!(names(&page), ["d", "c"], "{}", b.name);
        let older = em
            .find(User::AGE.gte(22).and(User::NAME.ne("e")))
            .await
            .unwrap();
        let mut got = names(&older);
        got.sort();
        assert_eq!(got, ["b", "c"], "{}", b.name);
        let either = em
            .find(User::NAME.eq("a").or(User::NAME.eq("b")))
            .await
            .unwrap();
        assert_eq!(either.len(), 2, "{}", b.name);
        // The operators build the same filters: `!`, `&`, `|`.
        let neither = em
            .find(!(User::NAME.eq("a") | User::NAME.eq("b")) & User::AGE.gte(22))
            .await
            .unwrap();
        let mut got = names(&neither);
        got.sort();
        assert_eq!(got, ["c", "e"], "{}: !(a | b) & age >= 22", b.name);
        // The same page through the setters.
        let page = em
            .find_with(
                Filter::all(),
                FindOptions::default()
                    .order_by([User::NAME.desc()])
                    .limit(2)
                    .offset(1),
            )
            .await
            .unwrap();
        assert_eq!(names(&page), ["d", "c"], "{}: setters", b.name);
        assert_eq!(
            em.count(User::NAME.is_in(["a", "b", "zz"])).await.unwrap(),
            2,
            "{}",
            b.name
        );
        assert_eq!(
            em.count::<User>(Filter::all()).await.unwrap(),
            5,
            "{}",
            b.name
        );
        assert_eq!(
            em.count(User::NAME.is_in(Vec::<String>::new()))
                .await
                .unwrap(),
            0,
            "{}",
            b.name
        );
        assert_eq!(
            em.count(User::AGE.is_null()).await.unwrap(),
            0,
            "{}",
            b.name
        );
        assert_eq!(
            em.count(User::NAME.like("%")).await.unwrap(),
            5,
            "{}",
            b.name
        );
        // Every entity found is in the identity map: the same instance again.
        let a1 = em.find_one(User::NAME.eq("a")).await.unwrap().unwrap();
        assert!(sorted.iter().any(|u| Managed::ptr_eq(u, &a1)), "{}", b.name);
    });
}

#[tokio::test]
async fn find_one_or_fail_names_entity_and_key() {
    each_backend!(|b, orm| {
        let em = orm.em().fork();
        let err = em.find_one_or_fail::<User>(999).await.unwrap_err();
        assert!(
            matches!(err, Error::NotFound { entity: "User", .. }),
            "{}: {err:?}",
            b.name
        );
        assert_eq!(err.to_string(), "User not found (999)");
        assert!(em.find_one::<User>(i64::MAX).await.unwrap().is_none());
    });
}

#[tokio::test]
async fn remove_deletes_on_flush_and_hides_the_entity_before() {
    each_backend!(|b, orm| {
        let em = orm.em().fork();
        let a = em.persist(User::new("a", "a@x.io")).unwrap();
        let keep = em.persist(User::new("k", "k@x.io")).unwrap();
        em.flush().await.unwrap();
        let id = a.read().id;
        em.remove(&a).unwrap();
        let log = StatementLog::capture();
        assert!(
            em.find_one::<User>(id).await.unwrap().is_none(),
            "{}",
            b.name
        );
        assert!(
            log.take().is_empty(),
            "{}: a removed entity is known to be gone",
            b.name
        );
        assert!(!em.contains(&a).unwrap());
        let without_flushing = FindOptions {
            flush_mode: Some(FlushMode::Commit),
            ..Default::default()
        };
        let found = em
            .find_with::<User>(Filter::all(), without_flushing)
            .await
            .unwrap();
        assert_eq!(found.len(), 1, "{}: find skips it", b.name);
        assert_eq!(
            user_rows(&orm).await.len(),
            2,
            "{}: still in the database before flush",
            b.name
        );
        em.flush().await.unwrap();
        let rows = user_rows(&orm).await;
        assert_eq!(
            rows,
            vec![(keep.read().id, "k".into(), "k@x.io".into())],
            "{}",
            b.name
        );
        // Removing a pending insert just drops it.
        let ghost = em.persist(User::new("g", "g@x.io")).unwrap();
        em.remove(&ghost).unwrap();
        em.flush().await.unwrap();
        assert_eq!(user_rows(&orm).await.len(), 1, "{}", b.name);
    });
}

#[tokio::test]
async fn remove_of_an_unmanaged_entity_is_a_typed_error() {
    each_backend!(|b, orm| {
        let em1 = orm.em().fork();
        let em2 = orm.em().fork();
        let u = em1.persist(User::new("a", "a@x.io")).unwrap();
        em1.flush().await.unwrap();
        let err = em2.remove(&u).unwrap_err();
        assert!(
            matches!(err, Error::NotManaged { entity: "User" }),
            "{}",
            b.name
        );
        assert_eq!(
            err.to_string(),
            "Entity User is not managed. An entity is managed if it was loaded from the database or registered as new with `em.persist(..)` on this EntityManager"
        );
        em2.flush().await.unwrap();
        assert_eq!(
            user_rows(&orm).await.len(),
            1,
            "{}: nothing deleted",
            b.name
        );
    });
}

#[tokio::test]
async fn persisting_a_second_instance_of_a_managed_key_is_refused() {
    each_backend!(|b, orm| {
        let em = orm.em().fork();
        em.persist(Tag::new("t", "one")).unwrap();
        let err = em.persist(Tag::new("t", "two")).unwrap_err();
        assert!(
            matches!(err, Error::DuplicateIdentity { entity: "Tag", .. }),
            "{}: {err:?}",
            b.name
        );
        em.flush().await.unwrap();
        let rows = orm
            .em()
            .query("SELECT label FROM tags", vec![])
            .await
            .unwrap();
        assert_eq!(rows.len(), 1, "{}", b.name);
        assert_eq!(rows[0].get::<String>("label").unwrap(), "one");
    });
}

#[tokio::test]
async fn clear_forgets_everything_and_forks_have_their_own_identity_map() {
    each_backend!(|b, orm| {
        let em = orm.em().fork();
        let u = em.persist(User::new("a", "a@x.io")).unwrap();
        em.flush().await.unwrap();
        let id = u.read().id;
        let other = orm.em().fork();
        let there = other.find_one::<User>(id).await.unwrap().unwrap();
        assert!(
            !Managed::ptr_eq(&u, &there),
            "{}: forks do not share instances",
            b.name
        );
        let shared = em.fork_with(ForkOptions {
            clear: false,
            ..Default::default()
        });
        let same = shared.find_one::<User>(id).await.unwrap().unwrap();
        assert!(
            Managed::ptr_eq(&u, &same),
            "{}: clear: false shares instances",
            b.name
        );
        em.clear().unwrap();
        assert!(em.is_empty().unwrap());
        assert!(!em.contains(&u).unwrap());
        let reloaded = em.find_one::<User>(id).await.unwrap().unwrap();
        assert!(
            !Managed::ptr_eq(&u, &reloaded),
            "{}: a new instance after clear",
            b.name
        );
    });
}

/// Without the `sqlite` feature a `sqlite:` URL is a configuration error that names it.
#[cfg(not(feature = "sqlite"))]
#[tokio::test]
async fn a_sqlite_url_without_the_sqlite_feature_is_a_typed_error() {
    for url in ["sqlite::memory:", "sqlite://app.db"] {
        let Err(err) = Orm::connect(url).await else {
            panic!("{url} connected without the sqlite feature");
        };
        assert!(
            matches!(&err, Error::Config(m) if m.contains("enable Coherent's `sqlite` feature")),
            "{err:?}"
        );
    }
}

/// An entity used without being registered is `Error::UnknownEntity`, naming it and both
/// remedies (`OrmBuilder::entity` and `all_entities`), before any SQL; nothing enters the
/// identity map. (`all_entities` has a test binary of its own, `tests/all_entities.rs`: this
/// one links several entities per table.)
#[tokio::test]
async fn an_unregistered_entity_is_a_typed_error() {
    #[derive(Entity, Clone, Debug)]
    struct Stray {
        #[primary_key]
        id: i64,
    }
    for b in backends() {
        let n = b.name;
        let orm = Orm::builder()
            .url(b.url())
            .entity::<User>()
            .build()
            .await
            .unwrap();
        let em = orm.em().fork();
        let err = em.find::<Stray>(Filter::all()).await.unwrap_err();
        assert!(
            matches!(err, Error::UnknownEntity { entity: "Stray" }),
            "{n}: {err:?}"
        );
        let text = err.to_string();
        assert!(
            text.contains("OrmBuilder::entity::<Stray>()") && text.contains("all_entities()"),
            "{n}: {text}"
        );
        let err = em.persist(Stray { id: 0 }).unwrap_err();
        assert!(
            matches!(err, Error::UnknownEntity { entity: "Stray" }),
            "{n}: {err:?}"
        );
        let err = em.find_one::<Stray>(1).await.unwrap_err();
        assert!(
            matches!(err, Error::UnknownEntity { entity: "Stray" }),
            "{n}: {err:?}"
        );
        assert_eq!(em.len().unwrap(), 0, "{n}: nothing entered the map");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn entity_manager_futures_are_send() {
    fn assert_send<F: std::future::Future + Send>(f: F) -> F {
        f
    }
    // SQLite in a file, or the first server.
    let all = backends();
    let Some(b) = all.get(1).filter(|b| b.is_sqlite()).or(all.first()) else {
        return;
    };
    let orm = b.orm().await;
    let em = orm.em().fork();
    let update = b.sql("UPDATE users SET age = ?");
    let task = tokio::spawn(assert_send(async move {
        let u = em.persist(User::new("s", "s@x.io"))?;
        em.flush().await?;
        let found = em.find::<User>(Filter::all()).await?;
        em.find_with::<User>(Filter::all(), FindOptions::default())
            .await?;
        let id = u.read().id;
        em.find_one::<User>(id).await?;
        em.find_one_or_fail::<User>(User::ID.eq(id)).await?;
        em.refresh(&u).await?;
        em.count::<User>(Filter::all()).await?;
        em.execute(&update, vec![1.into()]).await?;
        em.query("SELECT * FROM users", vec![]).await?;
        em.remove(&u)?;
        em.flush().await?;
        Ok::<_, Error>(found.len())
    }));
    assert_eq!(task.await.unwrap().unwrap(), 1);
}
