//! The request context: the global EntityManager resolves to the request's fork.

use crate::common::*;
use crate::each_backend;
use coherent::prelude::*;

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
    let backends = backends();
    let (one, two) = (backends[0].orm().await, backends[1].orm().await);
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
