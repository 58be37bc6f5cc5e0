//! `Orm::close`: no new connection once closing began (a transaction holding one still
//! commits), the future ends when every connection is closed (SQLite's threads joined: the
//! WAL file is gone; the server shows no session of the pool), and afterwards every call
//! fails with `Error::Closed`, losing nothing that was committed.

use crate::common::*;
use coherent::Error;
use coherent::prelude::*;
use std::time::Duration;

/// How many other sessions the server shows on this test's database.
async fn server_sessions(b: &Backend, admin: &Orm) -> i64 {
    let sql = if b.is_postgres() {
        "SELECT count(*)::int8 AS n FROM pg_stat_activity \
         WHERE datname = current_database() AND pid <> pg_backend_pid()"
    } else {
        "SELECT CAST(count(*) AS SIGNED) AS n FROM information_schema.processlist \
         WHERE db = DATABASE() AND id <> CONNECTION_ID()"
    };
    let rows = admin.em().query(sql, vec![]).await.unwrap();
    rows[0].get("n").unwrap()
}

/// The WAL file beside a SQLite database file.
fn wal(file: &std::path::Path) -> std::path::PathBuf {
    let mut name = file.as_os_str().to_owned();
    name.push("-wal");
    name.into()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn close_waits_for_connections_closes_them_all_and_then_refuses_every_call() {
    for b in backends() {
        let n = b.name;
        let orm = b.orm().await;
        let em = orm.em().fork();
        em.persist(User::new("a", "a@x.io")).unwrap();
        em.flush().await.unwrap();
        let tx = orm.em().fork();
        tx.begin().await.unwrap();
        tx.persist(User::new("b", "b@x.io")).unwrap();
        tx.flush().await.unwrap();
        if let Some(file) = b.file() {
            assert!(
                wal(file).exists(),
                "{n}: the WAL file is there while connections are open"
            );
        }

        let closing = {
            let orm = orm.clone();
            tokio::spawn(async move { orm.close().await })
        };
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert!(
            !closing.is_finished(),
            "{n}: close waits for the transaction's connection"
        );
        assert!(!orm.is_closed(), "{n}");
        let other = orm.em().fork();
        let err = other.count::<User>(Filter::all()).await.unwrap_err();
        assert!(
            matches!(err, Error::Closed),
            "{n}: no new connection: {err:?}"
        );
        tx.commit()
            .await
            .unwrap_or_else(|e| panic!("{n}: the open transaction commits: {e:?}"));
        drop(tx);
        tokio::time::timeout(Duration::from_secs(20), closing)
            .await
            .unwrap_or_else(|_| panic!("{n}: close did not end"))
            .unwrap();
        assert!(orm.is_closed(), "{n}");

        // Every call fails with Closed, memory-only ones too.
        let err = em.find_one::<User>(1).await.unwrap_err();
        assert!(matches!(err, Error::Closed), "{n}: find_one: {err:?}");
        let err = em.persist(User::new("c", "c@x.io")).unwrap_err();
        assert!(matches!(err, Error::Closed), "{n}: persist: {err:?}");
        let err = em.flush().await.unwrap_err();
        assert!(matches!(err, Error::Closed), "{n}: flush: {err:?}");
        let err = orm.em().fork().begin().await.unwrap_err();
        assert!(matches!(err, Error::Closed), "{n}: begin: {err:?}");
        let err = orm.em().query("SELECT 1", vec![]).await.unwrap_err();
        assert!(matches!(err, Error::Closed), "{n}: raw SQL: {err:?}");

        // Every connection is closed, and nothing committed was lost.
        if let Some(file) = b.file() {
            assert!(
                !wal(file).exists(),
                "{n}: the last connection closed the WAL"
            );
        }
        if b.shared_between_orms() {
            // One connection of its own, so that every other session is the closed pool's.
            let sep = if b.url().contains('?') { '&' } else { '?' };
            let admin = suite_builder(&format!("{}{sep}max_connections=1", b.url()))
                .build()
                .await
                .unwrap();
            if b.is_server() {
                // The server ends a session a moment after its client hung up.
                let mut left = server_sessions(&b, &admin).await;
                for _ in 0..50 {
                    if left == 0 {
                        break;
                    }
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    left = server_sessions(&b, &admin).await;
                }
                assert_eq!(left, 0, "{n}: no session of the closed Orm left");
            }
            let names: Vec<_> = user_rows(&admin).await.into_iter().map(|r| r.1).collect();
            assert_eq!(names, ["a", "b"], "{n}: both commits kept");
        }
    }
}

/// Closing an Orm nobody uses ends at once, and closing twice is harmless.
#[tokio::test]
async fn closing_an_idle_orm_twice_ends_at_once() {
    for b in backends() {
        let orm = b.orm().await;
        tokio::time::timeout(Duration::from_secs(10), async {
            orm.close().await;
            orm.close().await;
        })
        .await
        .unwrap_or_else(|_| panic!("{}: close did not end", b.name));
        assert!(orm.is_closed(), "{}", b.name);
    }
}
