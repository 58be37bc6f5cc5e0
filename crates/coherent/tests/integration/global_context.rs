//! The global EntityManager refuses context-specific work unless allowed (reference 1.2).

use crate::common::*;
use crate::each_backend;
use coherent::prelude::*;
use coherent::{Error, Result};

const MESSAGE: &str = "Using global EntityManager instance methods for context specific actions is disallowed. Work on a fork of your own (`em.fork()`, or a request context: `RequestContext::create`), or allow work on the global identity map with `OrmBuilder::allow_global_context(true)`.";

fn is_global(r: Result<impl std::fmt::Debug>) -> bool {
    matches!(r, Err(Error::GlobalContext))
}

#[tokio::test]
async fn context_specific_methods_on_the_global_entity_manager_are_refused() {
    each_backend!(|b, orm| {
        let global = orm.em();
        assert!(global.is_global());
        let err = global.find::<User>(Filter::all()).await.unwrap_err();
        assert_eq!(err.to_string(), MESSAGE);
        assert!(is_global(global.find_one::<User>(1).await), "{}", b.name);
        assert!(is_global(global.find_one_or_fail::<User>(1).await));
        assert!(is_global(global.count::<User>(Filter::all()).await));
        assert!(is_global(global.persist(User::new("a", "a@x.io"))));
        assert!(is_global(global.flush().await));
        assert!(is_global(global.clear()));
        // Nothing was written by the refused persist.
        assert!(user_rows(&orm).await.is_empty());
        // A handle from a fork cannot be removed or refreshed through the global one.
        let fork = global.fork();
        let u = fork.persist(User::new("a", "a@x.io")).unwrap();
        fork.flush().await.unwrap();
        assert!(is_global(global.remove(&u)));
        assert!(is_global(global.refresh(&u).await));
        assert!(is_global(global.contains(&u)));
        // fork and raw SQL are always allowed.
        assert!(!fork.is_global());
        assert_eq!(
            global
                .execute(&b.sql("UPDATE users SET name = ?"), vec!["b".into()])
                .await
                .unwrap(),
            1
        );
        assert_eq!(
            global
                .query("SELECT name FROM users", vec![])
                .await
                .unwrap()
                .len(),
            1
        );
    });
}

#[tokio::test]
async fn allow_global_context_lets_the_global_entity_manager_work() {
    for b in backends() {
        let orm = b.orm_with(|o| o.allow_global_context(true)).await;
        let global = orm.em();
        let u = global.persist(User::new("a", "a@x.io")).unwrap();
        global.flush().await.unwrap();
        let again = global.find_one::<User>(u.read().id).await.unwrap().unwrap();
        assert!(Managed::ptr_eq(&u, &again), "{}", b.name);
    }
}
