//! `refresh` overwrites local changes with the row; a vanished row detaches the entity.

use crate::common::*;
use crate::each_backend;
use coherent::Error;

#[tokio::test]
async fn refresh_overwrites_local_changes() {
    each_backend!(|b, orm| {
        let em = orm.em().fork();
        let u = em.persist(User::new("a", "a@x.io")).unwrap();
        em.flush().await.unwrap();
        let id = u.read().id;
        orm.em()
            .execute(
                &b.sql("UPDATE users SET email = ? WHERE id = ?"),
                vec!["db@x.io".into(), id.into()],
            )
            .await
            .unwrap();
        u.write().name = "local".into();
        assert!(em.refresh(&u).await.unwrap(), "{}", b.name);
        assert_eq!(
            u.get(),
            User {
                id,
                name: "a".into(),
                email: "db@x.io".into(),
                age: None
            },
            "{}",
            b.name
        );
        assert!(!u.is_dirty());
        let log = StatementLog::capture();
        em.flush().await.unwrap();
        assert!(log.take().is_empty(), "{}: nothing left to write", b.name);
    });
}

#[tokio::test]
async fn refresh_of_a_vanished_row_detaches_the_entity() {
    each_backend!(|b, orm| {
        let em = orm.em().fork();
        let u = em.persist(User::new("a", "a@x.io")).unwrap();
        em.flush().await.unwrap();
        let id = u.read().id;
        orm.em()
            .execute(&b.sql("DELETE FROM users WHERE id = ?"), vec![id.into()])
            .await
            .unwrap();
        u.write().name = "changed".into();
        assert!(!em.refresh(&u).await.unwrap(), "{}", b.name);
        assert!(!em.contains(&u).unwrap(), "{}: detached", b.name);
        let log = StatementLog::capture();
        em.flush().await.unwrap();
        assert!(
            log.take().is_empty(),
            "{}: a detached entity is not written",
            b.name
        );
        assert!(em.find_one::<User>(id).await.unwrap().is_none());
        assert!(
            matches!(em.refresh(&u).await, Err(Error::NotManaged { .. })),
            "{}",
            b.name
        );
    });
}

#[tokio::test]
async fn refresh_of_a_pending_insert_is_refused() {
    each_backend!(|b, orm| {
        let em = orm.em().fork();
        let u = em.persist(User::new("a", "a@x.io")).unwrap();
        assert!(
            matches!(em.refresh(&u).await, Err(Error::InvalidArgument(_))),
            "{}",
            b.name
        );
        assert!(em.contains(&u).unwrap());
        em.flush().await.unwrap();
        assert_eq!(user_rows(&orm).await.len(), 1);
    });
}
