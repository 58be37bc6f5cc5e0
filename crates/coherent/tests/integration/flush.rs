//! Flush: what SQL it issues, in what order and in how many statements.

use crate::common::*;
use crate::each_backend;
use coherent::Error;
use coherent::prelude::*;

fn kinds(log: &[String]) -> Vec<&'static str> {
    log.iter()
        .map(|s| {
            let s = s.to_uppercase();
            [
                "BEGIN",
                "COMMIT",
                "ROLLBACK",
                "SAVEPOINT",
                "RELEASE",
                "INSERT",
                "UPDATE",
                "DELETE",
                "SELECT",
            ]
            .into_iter()
            .find(|k| s.starts_with(k))
            .unwrap_or("OTHER")
        })
        .collect()
}

#[tokio::test]
async fn an_empty_flush_issues_no_sql() {
    each_backend!(|b, orm| {
        let em = orm.em().fork();
        let log = StatementLog::capture();
        em.flush().await.unwrap();
        let u = em.persist(User::new("a", "a@x.io")).unwrap();
        em.flush().await.unwrap();
        log.take();
        em.flush().await.unwrap();
        let _ = u.read().name.clone();
        em.flush().await.unwrap();
        assert!(log.take().is_empty(), "{}", b.name);
    });
}

#[tokio::test]
async fn inserts_are_multi_row_and_chunked_by_batch_size() {
    each_backend!(|b, orm| {
        let orm = b.orm_with(|o| o.batch_size(300)).await;
        let _ = &orm;
        let em = orm.em().fork();
        let users: Vec<_> = (0..700)
            .map(|i| {
                em.persist(User::new(&format!("u{i}"), &format!("u{i}@x.io")))
                    .unwrap()
            })
            .collect();
        let log = StatementLog::capture();
        em.flush().await.unwrap();
        let log = log.take();
        if b.dialect() == coherent::Dialect::Postgres {
            // PostgreSQL binds each column as one array: one INSERT whatever the row count.
            assert_eq!(kinds(&log), ["BEGIN", "INSERT", "COMMIT"], "{}", b.name);
            assert!(log[1].contains("UNNEST("), "{}", log[1]);
        } else {
            assert_eq!(
                kinds(&log),
                ["BEGIN", "INSERT", "INSERT", "INSERT", "COMMIT"],
                "{}",
                b.name
            );
        }
        // Every instance got the key of its own row.
        let rows = user_rows(&orm).await;
        assert_eq!(rows.len(), 700);
        for u in &users {
            let u = u.read();
            assert!(
                rows.contains(&(u.id, u.name.clone(), u.email.clone())),
                "{}: {:?}",
                b.name,
                *u
            );
        }
    });
}

/// SQLite's limit of 32 766 parameters per statement.
#[cfg(feature = "sqlite")]
#[tokio::test]
async fn inserts_are_chunked_by_the_parameter_limit() {
    let b = &sqlite_backends()[0];
    let orm = b.orm_with(|o| o.batch_size(1_000_000)).await;
    let em = orm.em().fork();
    for i in 0..25_000 {
        em.persist(User::new("n", &format!("{i}@x.io"))).unwrap();
    }
    let log = StatementLog::capture();
    em.flush().await.unwrap();
    // 3 columns per row, 32 766 parameters per statement: 10 922 rows per INSERT.
    assert_eq!(
        kinds(&log.take()),
        ["BEGIN", "INSERT", "INSERT", "INSERT", "COMMIT"]
    );
    assert_eq!(em.count::<User>(Filter::all()).await.unwrap(), 25_000);
}

#[tokio::test]
async fn updates_write_only_changed_columns_in_one_transaction() {
    each_backend!(|b, orm| {
        let em = orm.em().fork();
        let users: Vec<_> = (0..10)
            .map(|i| {
                em.persist(User::new(&format!("u{i}"), &format!("u{i}@x.io")))
                    .unwrap()
            })
            .collect();
        em.flush().await.unwrap();
        for u in &users {
            u.write().name += "!";
        }
        users[0].write().age = Some(7);
        let log = StatementLog::capture();
        em.flush().await.unwrap();
        let sql = log.take();
        // SQLite: one prepared UPDATE per row. The servers (a round trip per statement):
        // one multi-row UPDATE per set of changed columns, here {name} and {name, age}.
        let statements = if b.is_sqlite() { 10 } else { 2 };
        let mut expected = vec!["BEGIN"];
        expected.extend(vec!["UPDATE"; statements]);
        expected.push("COMMIT");
        assert_eq!(kinds(&sql), expected, "{}: {sql:?}", b.name);
        assert_eq!(sql[0], b.batch_begin(), "{}", b.name);
        let updates: Vec<_> = sql.iter().filter(|s| s.starts_with("UPDATE")).collect();
        let (name, email, age) = (b.quote("name"), b.quote("email"), b.quote("age"));
        assert!(
            updates
                .iter()
                .all(|s| s.contains(&name) && !s.contains(&email)),
            "{}: {updates:?}",
            b.name
        );
        let with_age = updates.iter().filter(|s| s.contains(&age)).count();
        assert_eq!(with_age, 1, "{}: only one user changed its age", b.name);
        let rows = user_rows(&orm).await;
        assert!(rows.iter().all(|(_, n, _)| n.ends_with('!')), "{}", b.name);
        let ages = orm
            .em()
            .query("SELECT age FROM users WHERE age IS NOT NULL", vec![])
            .await
            .unwrap();
        assert_eq!(ages.len(), 1, "{}: only one row has an age", b.name);
        assert!(
            users.iter().all(|u| !u.is_dirty()),
            "{}: clean after flush",
            b.name
        );
    });
}

#[tokio::test]
async fn one_flush_orders_inserts_updates_deletes_and_deletes_with_in_lists() {
    each_backend!(|b, orm| {
        let em = orm.em().fork();
        let old: Vec<_> = (0..5)
            .map(|i| em.persist(User::new("old", &format!("o{i}@x.io"))).unwrap())
            .collect();
        em.flush().await.unwrap();
        old[0].write().name = "changed".into();
        for u in &old[1..] {
            em.remove(u).unwrap();
        }
        em.persist(User::new("new", "new@x.io")).unwrap();
        em.persist(Tag::new("t", "tag")).unwrap();
        let log = StatementLog::capture();
        em.flush().await.unwrap();
        assert_eq!(
            kinds(&log.take()),
            ["BEGIN", "INSERT", "INSERT", "UPDATE", "DELETE", "COMMIT"],
            "{}",
            b.name
        );
        let rows = user_rows(&orm).await;
        let names: Vec<_> = rows.iter().map(|r| r.1.as_str()).collect();
        assert_eq!(names, ["changed", "new"], "{}", b.name);
    });
}

#[tokio::test]
async fn changing_a_primary_key_is_refused_before_any_sql() {
    each_backend!(|b, orm| {
        let em = orm.em().fork();
        let u = em.persist(User::new("a", "a@x.io")).unwrap();
        em.flush().await.unwrap();
        let id = u.read().id;
        u.write().id = id + 100;
        let log = StatementLog::capture();
        let err = em.flush().await.unwrap_err();
        assert!(
            matches!(err, Error::InvalidArgument(_)),
            "{}: {err:?}",
            b.name
        );
        assert!(log.take().is_empty(), "{}", b.name);
        assert_eq!(user_rows(&orm).await[0].0, id, "{}", b.name);
    });
}

#[tokio::test]
async fn concurrent_flushes_of_one_entity_manager_insert_once() {
    each_backend!(|b, orm| {
        let em = orm.em().fork();
        for i in 0..50 {
            em.persist(User::new("c", &format!("c{i}@x.io"))).unwrap();
        }
        let (r1, r2) = tokio::join!(em.flush(), em.flush());
        r1.unwrap();
        r2.unwrap();
        assert_eq!(user_rows(&orm).await.len(), 50, "{}", b.name);
    });
}

#[derive(Entity, Clone, Debug)]
#[entity(table = "tickets")]
pub struct Ticket {
    #[primary_key]
    pub id: i64,
}

/// An entity that is its generated key alone: one row and several rows are inserted with the
/// key's default, and each instance gets its own key.
#[tokio::test]
async fn an_entity_that_is_only_its_generated_key_is_inserted() {
    for b in backends() {
        let orm = b.orm_with(|o| o.entity::<Ticket>()).await;
        let em = orm.em().fork();
        let one = em.persist(Ticket { id: 0 }).unwrap();
        em.flush().await.unwrap();
        let many: Vec<_> = (0..3)
            .map(|_| em.persist(Ticket { id: 0 }).unwrap())
            .collect();
        em.flush().await.unwrap();
        let mut keys: Vec<i64> = many.iter().map(|t| t.read().id).collect();
        keys.push(one.read().id);
        keys.sort_unstable();
        keys.dedup();
        assert_eq!(keys.len(), 4, "{}: {keys:?}", b.name);
        assert!(keys.iter().all(|k| *k > 0), "{}", b.name);
        let check = orm.em().fork();
        assert_eq!(
            check.count::<Ticket>(Filter::all()).await.unwrap(),
            4,
            "{}",
            b.name
        );
    }
}
