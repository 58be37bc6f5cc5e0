//! The request context: the global EntityManager resolves to the request's fork.

use crate::common::*;
use crate::each_backend;
use coherent::prelude::*;
use coherent::{Error, Result};

/// A service as an application writes it: it holds the global EntityManager.
#[derive(Clone)]
struct UserService {
    em: EntityManager,
}

impl UserService {
    async fn rename(&self, id: i64, name: &str) -> Result<()> {
        let user = self.em.find_one_or_fail::<User>(id).await?;
        user.write().name = name.into();
        self.em.flush().await
    }

    async fn name(&self, id: i64) -> Result<String> {
        Ok(self
            .em
            .find_one_or_fail::<User>(id)
            .await?
            .read()
            .name
            .clone())
    }
}

async fn seed(orm: &Orm) -> i64 {
    let em = orm.em().fork();
    let u = em.persist(User::new("John", "john@x.io")).unwrap();
    em.flush().await.unwrap();
    u.read().id
}

#[tokio::test]
async fn the_global_entity_manager_resolves_to_the_request_fork() {
    each_backend!(|b, orm| {
        let id = seed(&orm).await;
        let service = UserService {
            em: orm.em().clone(),
        };
        assert!(
            matches!(service.name(id).await, Err(Error::GlobalContext)),
            "{}: outside a context",
            b.name
        );

        let (first, second) = (
            RequestContext::create(orm.em(), async {
                let em = RequestContext::current(orm.em()).expect("inside");
                assert!(!em.is_global());
                assert!(EntityManager::same(&orm.em().resolve(), &em));
                assert!(
                    EntityManager::same(&service.em.resolve(), &em),
                    "a held clone resolves too"
                );
                service.rename(id, "Mike").await.unwrap();
                let a = orm.em().find_one::<User>(id).await.unwrap().unwrap();
                let b = service.em.find_one::<User>(id).await.unwrap().unwrap();
                assert!(Managed::ptr_eq(&a, &b), "one identity map per request");
                em
            })
            .await,
            RequestContext::create(orm.em(), async {
                RequestContext::current(orm.em()).unwrap()
            })
            .await,
        );
        assert!(
            !EntityManager::same(&first, &second),
            "{}: a fresh fork per request",
            b.name
        );
        assert!(RequestContext::current(orm.em()).is_none());
        // The change went to the database, and the next request sees it.
        let name = RequestContext::create(orm.em(), service.name(id))
            .await
            .unwrap();
        assert_eq!(name, "Mike", "{}", b.name);
    });
}

/// The blog's fix: every request gets a fresh identity map, so a GET after another
/// instance's PATCH sees the new name, every time.
#[tokio::test]
async fn one_context_per_request_never_serves_stale_data() {
    for b in backends().into_iter().filter(|b| b.shared_between_orms()) {
        let api1 = b.orm().await;
        let api2 = b.second_orm().await;
        let id = seed(&api1).await;
        let get1 = UserService {
            em: api1.em().clone(),
        };
        let patch2 = UserService {
            em: api2.em().clone(),
        };
        for round in 0..5 {
            let name = format!("name {round}");
            let before = RequestContext::create(api1.em(), get1.name(id))
                .await
                .unwrap();
            assert_ne!(before, name);
            RequestContext::create(api2.em(), patch2.rename(id, &name))
                .await
                .unwrap();
            let after = RequestContext::create(api1.em(), get1.name(id))
                .await
                .unwrap();
            assert_eq!(after, name, "{}: round {round}", b.name);
        }
    }
}

#[tokio::test]
async fn only_forks_made_with_use_context_resolve() {
    each_backend!(|b, orm| {
        RequestContext::create(orm.em(), async {
            let request = RequestContext::current(orm.em()).unwrap();
            let plain = orm.em().fork();
            assert!(
                !EntityManager::same(&plain.resolve(), &request),
                "{}: a plain fork is its own",
                b.name
            );
            let along = orm.em().fork_with(ForkOptions {
                use_context: true,
                ..Default::default()
            });
            assert!(
                EntityManager::same(&along.resolve(), &request),
                "{}",
                b.name
            );
            let u = plain.persist(User::new("p", "p@x.io")).unwrap();
            assert!(!request.contains(&u).unwrap());
            assert!(plain.contains(&u).unwrap());
        })
        .await;
        // Outside any context a use_context fork is just itself.
        let along = orm.em().fork_with(ForkOptions {
            use_context: true,
            ..Default::default()
        });
        assert!(EntityManager::same(&along.resolve(), &along));
    });
}

/// Issue 11: `em.id()` resolves like every other method: inside a request context the
/// global EntityManager answers with the request fork's id, outside with its own.
#[tokio::test]
async fn the_global_entity_managers_id_inside_a_request_is_the_requests() {
    for b in backends() {
        let orm = b.orm().await;
        let global = orm.em().id();
        let orm2 = orm.clone();
        let (inside, request) = RequestContext::create(orm.em(), async move {
            let request = RequestContext::current(orm2.em()).unwrap();
            (orm2.em().id(), request.id())
        })
        .await;
        assert_eq!(inside, request, "{}", b.name);
        assert_ne!(inside, global, "{}", b.name);
        assert_eq!(orm.em().id(), global, "{}: outside again", b.name);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn spawned_tasks_get_a_context_only_when_asked() {
    for b in backends() {
        let orm = b.orm().await;
        let id = seed(&orm).await;
        let orm2 = orm.clone();
        RequestContext::create(orm.em(), async move {
            let request = RequestContext::current(orm2.em()).unwrap();
            let loaded = orm2.em().find_one::<User>(id).await.unwrap().unwrap();

            // A plain tokio::spawn does not inherit the task-local.
            let em = orm2.em().clone();
            let plain = tokio::spawn(async move { em.find_one::<User>(id).await.map(|_| ()) });
            assert!(matches!(plain.await.unwrap(), Err(Error::GlobalContext)));

            // A background job gets a fresh fork of its own.
            let em = orm2.em().clone();
            let request_id = request.id();
            let job = RequestContext::spawn(orm2.em(), async move {
                let own = RequestContext::current(&em).unwrap();
                assert_ne!(own.id(), request_id);
                em.find_one::<User>(id).await.unwrap().unwrap()
            });
            let from_job = job.await.unwrap();
            assert!(
                !Managed::ptr_eq(&from_job, &loaded),
                "the job has its own identity map"
            );

            // Fan-out work that belongs to the request shares it.
            let em = orm2.em().clone();
            let shared = RequestContext::spawn_current(async move {
                em.find_one::<User>(id).await.unwrap().unwrap()
            });
            assert!(Managed::ptr_eq(&shared.await.unwrap(), &loaded));
        })
        .await;
        // spawn_current outside a context is a plain spawn.
        let em = orm.em().clone();
        let outside =
            RequestContext::spawn_current(async move { em.find_one::<User>(id).await.map(|_| ()) });
        assert!(
            matches!(outside.await.unwrap(), Err(Error::GlobalContext)),
            "{}",
            b.name
        );
    }
}

#[tokio::test]
async fn several_orms_keep_separate_contexts() {
    // Two databases: SQLite in memory and in a file; without SQLite, the first two of two
    // rounds of the servers' (one server gives two databases of it).
    let (backends, more) = if cfg!(feature = "sqlite") {
        (backends(), Vec::new())
    } else {
        (backends(), backends())
    };
    let mut both = backends.iter().chain(more.iter());
    let (Some(one), Some(two)) = (both.next(), both.next()) else {
        return;
    };
    let (one, two) = (one.orm().await, two.orm().await);
    RequestContext::create(one.em(), async {
        assert!(RequestContext::current(one.em()).is_some());
        assert!(
            RequestContext::current(two.em()).is_none(),
            "the other Orm has no context"
        );
        assert!(matches!(
            two.em().find::<User>(Filter::all()).await,
            Err(Error::GlobalContext)
        ));
        let outer = RequestContext::current(one.em()).unwrap();
        RequestContext::create(two.em(), async {
            let kept = RequestContext::current(one.em()).unwrap();
            assert!(
                EntityManager::same(&kept, &outer),
                "a context for two keeps one's"
            );
            assert!(RequestContext::current(two.em()).is_some());
        })
        .await;
    })
    .await;
    RequestContext::create_many(&[one.em(), two.em()], async {
        let (a, b) = (
            RequestContext::current(one.em()).unwrap(),
            RequestContext::current(two.em()).unwrap(),
        );
        assert!(!EntityManager::same(&a, &b));
        one.em().persist(User::new("a", "a@x.io")).unwrap();
        two.em().persist(User::new("b", "b@x.io")).unwrap();
        one.em().flush().await.unwrap();
        two.em().flush().await.unwrap();
    })
    .await;
    assert_eq!(user_rows(&one).await.len(), 1);
    assert_eq!(user_rows(&two).await.len(), 1);
}

#[tokio::test]
async fn ensure_reuses_the_current_context_or_creates_one() {
    each_backend!(|b, orm| {
        let outside = RequestContext::ensure(orm.em(), async {
            RequestContext::current(orm.em()).unwrap()
        })
        .await;
        assert!(!outside.is_global(), "{}", b.name);
        RequestContext::create(orm.em(), async {
            let request = RequestContext::current(orm.em()).unwrap();
            let inner = RequestContext::ensure(orm.em(), async {
                RequestContext::current(orm.em()).unwrap()
            })
            .await;
            assert!(
                EntityManager::same(&inner, &request),
                "{}: ensure reuses",
                b.name
            );
            let created = RequestContext::create(orm.em(), async {
                RequestContext::current(orm.em()).unwrap()
            })
            .await;
            assert!(
                !EntityManager::same(&created, &request),
                "{}: create always forks",
                b.name
            );
        })
        .await;
    });
}

/// A service whose entry points run in request contexts through the attribute macros.
struct Jobs {
    em: EntityManager,
}

impl Jobs {
    /// Always a fresh context; `?` and `return` behave as in any async fn.
    #[create_request_context]
    async fn rename_all(&self, name: String) -> Result<usize> {
        let users = self.em.find::<User>(Filter::all()).await?;
        if users.is_empty() {
            return Ok(0);
        }
        for u in &users {
            u.write().name = name.clone();
        }
        self.em.flush().await?;
        Ok(users.len())
    }

    #[ensure_request_context]
    async fn context_id(&self) -> u64 {
        RequestContext::current(&self.em).unwrap().id()
    }
}

#[create_request_context(em = orm)]
async fn count_users(orm: &Orm) -> Result<u64> {
    orm.em().count::<User>(Filter::all()).await
}

#[ensure_request_context(em = std::sync::Arc::new(orm.em().clone()))]
async fn ensured_id(orm: &Orm) -> u64 {
    RequestContext::current(orm.em()).unwrap().id()
}

#[tokio::test]
async fn the_context_attributes_run_bodies_in_request_contexts() {
    each_backend!(|b, orm| {
        let jobs = Jobs {
            em: orm.em().clone(),
        };
        assert_eq!(
            jobs.rename_all("x".into()).await.unwrap(),
            0,
            "{}: early return",
            b.name
        );
        seed(&orm).await;
        assert_eq!(
            jobs.rename_all("Renamed".into()).await.unwrap(),
            1,
            "{}",
            b.name
        );
        assert_eq!(user_rows(&orm).await[0].1, "Renamed");
        assert_eq!(count_users(&orm).await.unwrap(), 1, "{}", b.name);
        // Outside a context: each call gets its own; inside one: ensure reuses it.
        assert_ne!(
            jobs.context_id().await,
            jobs.context_id().await,
            "{}",
            b.name
        );
        RequestContext::create(orm.em(), async {
            let current = RequestContext::current(orm.em()).unwrap().id();
            assert_eq!(jobs.context_id().await, current, "{}", b.name);
            assert_eq!(ensured_id(&orm).await, current, "{}", b.name);
            let (a, b2) = (
                count_users(&orm).await.unwrap(),
                RequestContext::current(orm.em()).unwrap().id(),
            );
            assert_eq!(
                (a, b2),
                (1, current),
                "create inside a context restores it afterwards"
            );
        })
        .await;
    });
}
