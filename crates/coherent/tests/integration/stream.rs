//! `em.stream::<T>(filter, options)` (issue 13, item 6): detached values in bounded memory, on
//! every backend. The bound itself is checked where it is made (the SQLite driver's
//! `a_stream_reads_ahead_of_its_reader_by_a_bounded_number_of_chunks`; the servers' is their
//! socket buffers) and measured by the probe (`coherent-bench`, BENCHMARKS.md).

use crate::common::*;
use crate::each_backend;
use coherent::Error;
use coherent::prelude::*;
use futures_util::{StreamExt, TryStreamExt};

/// A gauge whose `level` column may hold values an `i32` cannot (see
/// [`a_row_that_does_not_decode_ends_the_stream_with_an_error`]).
#[derive(Entity, Clone, Debug, PartialEq)]
#[entity(table = "gauges")]
pub struct Gauge {
    #[primary_key]
    pub id: i64,
    pub level: i32,
}

/// `n` users `u0000`, `u0001`, .. (ages cycling 0..50), flushed, and the map cleared.
async fn seed(em: &EntityManager, n: usize) {
    for i in 0..n {
        let mut u = User::new(&format!("u{i:04}"), &format!("u{i:04}@x.io"));
        u.age = Some((i % 50) as i32);
        em.persist(u).unwrap();
    }
    em.flush().await.unwrap();
    em.clear().unwrap();
}

/// The names of users, in order.
fn names(users: &[User]) -> Vec<String> {
    users.iter().map(|u| u.name.clone()).collect()
}

#[tokio::test]
async fn a_stream_yields_every_row_in_order_as_detached_values() {
    each_backend!(|b, orm| {
        let em = orm.em().fork();
        seed(&em, 2500).await;
        let by_id = || FindOptions::default().order_by([User::ID.asc()]);
        let streamed: Vec<User> = em
            .stream::<User>(Filter::all(), by_id())
            .unwrap()
            .try_collect()
            .await
            .unwrap();
        assert_eq!(streamed.len(), 2500, "{}", b.name);
        assert!(
            streamed.windows(2).all(|w| w[0].id < w[1].id),
            "{}: in key order",
            b.name
        );
        assert_eq!(em.len().unwrap(), 0, "{}: nothing entered the map", b.name);
        let found = em.find_with::<User>(Filter::all(), by_id()).await.unwrap();
        let found: Vec<User> = found.iter().map(|m| m.read().clone()).collect();
        assert_eq!(streamed, found, "{}: the rows find reads", b.name);

        // The stream owns what it needs: it moves to another task.
        let stream = em.stream::<User>(User::AGE.eq(7), by_id()).unwrap();
        let counted = tokio::spawn(stream.map(|u| u.unwrap().age).collect::<Vec<_>>())
            .await
            .unwrap();
        assert_eq!(counted, vec![Some(7); 50], "{}", b.name);

        // An empty result ends at once.
        let mut none = em.stream::<User>(User::AGE.gt(1000), by_id()).unwrap();
        assert!(none.next().await.is_none(), "{}", b.name);
    });
}

#[tokio::test]
async fn filter_order_limit_and_offset_apply_as_in_find_with() {
    each_backend!(|b, orm| {
        let em = orm.em().fork();
        seed(&em, 1500).await;
        let options = || {
            FindOptions::default()
                .order_by([User::AGE.desc(), User::NAME.asc()])
                .limit(1100)
                .offset(40)
        };
        let filter = || User::AGE.gte(10) & User::NAME.like("u1%");
        let streamed: Vec<User> = em
            .stream::<User>(filter(), options())
            .unwrap()
            .try_collect()
            .await
            .unwrap();
        let found = em.find_with::<User>(filter(), options()).await.unwrap();
        let found: Vec<User> = found.iter().map(|m| m.read().clone()).collect();
        assert!(!found.is_empty() && found.len() < 1100, "{}", b.name);
        assert_eq!(names(&streamed), names(&found), "{}", b.name);
        assert!(
            streamed
                .iter()
                .all(|u| u.age >= Some(10) && u.name.starts_with("u1")),
            "{}",
            b.name
        );
        let limited: Vec<User> = em
            .stream::<User>(
                Filter::all(),
                FindOptions::default().order_by([User::ID.desc()]).limit(3),
            )
            .unwrap()
            .try_collect()
            .await
            .unwrap();
        assert_eq!(
            names(&limited),
            ["u1499", "u1498", "u1497"],
            "{}: limit with order",
            b.name
        );
    });
}

/// Streamed values never enter the identity map and never touch a managed instance of the
/// same row: a dirty one keeps its change and the values it read (a `find` would merge the
/// other writer's column into it), a clean one is not refreshed either.
#[tokio::test]
async fn streamed_values_leave_managed_instances_alone() {
    each_backend!(|b, orm| {
        let em = orm.em().fork();
        seed(&em, 10).await;
        let dirty = em
            .find_one::<User>(User::NAME.eq("u0003".to_string()))
            .await
            .unwrap()
            .unwrap();
        let clean = em
            .find_one::<User>(User::NAME.eq("u0004".to_string()))
            .await
            .unwrap()
            .unwrap();
        dirty.write().name = "changed here".into();
        // Another writer changes both rows' e-mail.
        orm.em()
            .fork()
            .execute(
                &b.sql(
                    "UPDATE users SET email = CONCAT(name, '@elsewhere.io') WHERE name IN (?, ?)",
                )
                .replace(
                    "CONCAT(name, '@elsewhere.io')",
                    if b.is_mysql() {
                        "CONCAT(name, '@elsewhere.io')"
                    } else {
                        "name || '@elsewhere.io'"
                    },
                ),
                vec!["u0003".into(), "u0004".into()],
            )
            .await
            .unwrap();
        let before = em.len().unwrap();
        let streamed: Vec<User> = em
            .stream::<User>(
                Filter::all(),
                FindOptions::default().order_by([User::ID.asc()]),
            )
            .unwrap()
            .try_collect()
            .await
            .unwrap();
        assert_eq!(streamed.len(), 10, "{}", b.name);
        let row = streamed.iter().find(|u| u.id == dirty.key()).unwrap();
        assert_eq!(
            (row.name.as_str(), row.email.as_str()),
            ("u0003", "u0003@elsewhere.io"),
            "{}: the stream yields the row as stored",
            b.name
        );
        assert_eq!(
            em.len().unwrap(),
            before,
            "{}: no new managed instance",
            b.name
        );
        assert_eq!(
            (dirty.read().name.as_str(), dirty.read().email.as_str()),
            ("changed here", "u0003@x.io"),
            "{}: the dirty instance keeps its change and what it read",
            b.name
        );
        assert!(dirty.is_dirty(), "{}", b.name);
        assert_eq!(
            clean.read().email,
            "u0004@x.io",
            "{}: not refreshed",
            b.name
        );
        assert!(!clean.is_dirty(), "{}", b.name);
        // The identity map still answers with the managed instances.
        let again = em.find_one::<User>(dirty.key()).await.unwrap().unwrap();
        assert!(Managed::ptr_eq(&again, &dirty), "{}", b.name);
        // A stream of rows not loaded adds none of them.
        let all = em
            .stream::<User>(Filter::all(), FindOptions::default())
            .unwrap();
        assert_eq!(all.count().await, 10, "{}", b.name);
        assert_eq!(em.len().unwrap(), before, "{}", b.name);
    });
}

/// The stream flushes first as `find` does (`Auto`: the type's queued persists; a query's own
/// flush mode wins), when it is first polled.
#[tokio::test]
async fn the_stream_flushes_first_as_find_does() {
    each_backend!(|b, orm| {
        let em = orm.em().fork();
        let log = StatementLog::capture();
        em.persist(User::new("pending", "pending@x.io")).unwrap();
        let commit_mode = FindOptions::default().flush_mode(FlushMode::Commit);
        let skipped: Vec<User> = em
            .stream::<User>(Filter::all(), commit_mode)
            .unwrap()
            .try_collect()
            .await
            .unwrap();
        assert!(
            skipped.is_empty(),
            "{}: FlushMode::Commit does not flush",
            b.name
        );
        let stream = em
            .stream::<User>(Filter::all(), FindOptions::default())
            .unwrap();
        assert!(
            !statement_kinds(&log.take())
                .iter()
                .any(|s| s.starts_with("INSERT")),
            "{}: nothing runs before the first poll",
            b.name
        );
        let streamed: Vec<User> = stream.try_collect().await.unwrap();
        assert_eq!(names(&streamed), ["pending"], "{}", b.name);
        let kinds = statement_kinds(&log.take());
        let insert = kinds.iter().position(|s| s.starts_with("INSERT"));
        let select = kinds.iter().rposition(|s| s.starts_with("SELECT"));
        assert!(
            matches!((insert, select), (Some(i), Some(s)) if i < s),
            "{}: {kinds:?}",
            b.name
        );
    });
}

/// A stream dropped after a few values abandons its query; on a pool of one connection the
/// next query runs on that same connection, and the dropped stream's query is in the log.
#[tokio::test]
async fn a_stream_dropped_early_leaves_its_connection_usable() {
    for b in backends() {
        let orm = suite_orm(&with_param(b.url(), "max_connections=1")).await;
        let em = orm.em().fork();
        seed(&em, 3000).await;
        let log = StatementLog::capture();
        {
            let mut stream = em
                .stream::<User>(
                    Filter::all(),
                    FindOptions::default().order_by([User::ID.asc()]),
                )
                .unwrap();
            for _ in 0..5 {
                stream.next().await.unwrap().unwrap();
            }
        }
        let logged = log.take();
        assert!(
            logged.len() == 1 && logged[0].starts_with("SELECT") && logged[0].contains("users"),
            "{}: the dropped stream's query is logged: {logged:?}",
            b.name
        );
        assert_eq!(
            em.count::<User>(Filter::all()).await.unwrap(),
            3000,
            "{}",
            b.name
        );
        log.take();
        let all: Vec<User> = em
            .stream::<User>(Filter::all(), FindOptions::default())
            .unwrap()
            .try_collect()
            .await
            .unwrap();
        assert_eq!(all.len(), 3000, "{}", b.name);
        // Dropped before its first value: never polled, nothing ran.
        drop(
            em.stream::<User>(Filter::all(), FindOptions::default())
                .unwrap(),
        );
        assert!(
            log.take().len() == 1,
            "{}: the complete stream only",
            b.name
        );
        em.persist(User::new("after", "after@x.io")).unwrap();
        em.flush().await.unwrap();
        assert_eq!(
            em.count::<User>(Filter::all()).await.unwrap(),
            3001,
            "{}",
            b.name
        );
    }
}

/// Inside a transaction the stream reads on the transaction's connection: it sees the
/// transaction's uncommitted rows. While it holds that connection every other statement of
/// the EntityManager is `StreamOpen` at once (waiting would never end: the stream only moves
/// while it is read); work that needs no connection goes on. Once it ends or is dropped the
/// transaction goes on and commits.
#[tokio::test]
async fn inside_a_transaction_the_stream_holds_the_transactions_connection() {
    each_backend!(|b, orm| {
        let em = orm.em().fork();
        seed(&em, 5).await;
        em.begin().await.unwrap();
        for i in 0..2000 {
            em.persist(User::new(&format!("t{i:04}"), &format!("t{i:04}@x.io")))
                .unwrap();
        }
        em.flush().await.unwrap();
        let outside = orm.em().fork();
        if b.name != "sqlite-memory" {
            // (In memory SQLite has no WAL: a reader waits for the writing transaction.)
            assert_eq!(
                outside.count::<User>(Filter::all()).await.unwrap(),
                5,
                "{}: not committed",
                b.name
            );
        }
        let log = StatementLog::capture();
        let mut stream = em
            .stream::<User>(
                User::NAME.like("t%"),
                FindOptions::default().order_by([User::NAME.asc()]),
            )
            .unwrap();
        assert_eq!(
            stream.next().await.unwrap().unwrap().name,
            "t0000",
            "{}",
            b.name
        );
        log.take();

        let refused = |e: Error| matches!(e, Error::StreamOpen { entity: "User" });
        assert!(
            refused(em.find::<User>(Filter::all()).await.unwrap_err()),
            "{}",
            b.name
        );
        assert!(
            refused(em.count::<User>(Filter::all()).await.unwrap_err()),
            "{}",
            b.name
        );
        assert!(
            refused(em.query("SELECT 1 AS one", vec![]).await.unwrap_err()),
            "{}",
            b.name
        );
        let second = em
            .stream::<User>(Filter::all(), FindOptions::default())
            .unwrap()
            .next()
            .await
            .unwrap();
        assert!(refused(second.unwrap_err()), "{}: a second stream", b.name);
        em.flush().await.unwrap(); // nothing to write: no connection needed
        let late = em.persist(User::new("late", "late@x.io")).unwrap();
        assert!(refused(em.flush().await.unwrap_err()), "{}", b.name);
        assert!(refused(em.commit().await.unwrap_err()), "{}", b.name);
        assert!(refused(em.rollback().await.unwrap_err()), "{}", b.name);
        assert!(refused(em.begin().await.unwrap_err()), "{}", b.name);
        assert!(em.in_transaction().await, "{}", b.name);
        assert!(log.take().is_empty(), "{}: refused before any SQL", b.name);

        // Reading on: the rest of the transaction's rows, in order.
        let mut rest = 1;
        let mut last = String::from("t0000");
        while let Some(user) = stream.next().await {
            let user = user.unwrap();
            assert!(user.name > last, "{}", b.name);
            last = user.name;
            rest += 1;
            if rest == 1500 {
                break;
            }
        }
        drop(stream); // dropped before its end: the transaction goes on
        em.flush().await.unwrap();
        assert_eq!(
            em.count::<User>(Filter::all()).await.unwrap(),
            2006,
            "{}",
            b.name
        );
        em.commit().await.unwrap();
        assert!(em.contains(&late).unwrap(), "{}", b.name);
        assert_eq!(
            outside.count::<User>(Filter::all()).await.unwrap(),
            2006,
            "{}: committed",
            b.name
        );
    });
}

/// Outside a transaction the stream has a pooled connection of its own: the EntityManager's
/// other reads run meanwhile on others.
#[tokio::test]
async fn outside_a_transaction_the_entity_manager_stays_usable_while_a_stream_is_open() {
    each_backend!(|b, orm| {
        let em = orm.em().fork();
        seed(&em, 2000).await;
        let mut stream = em
            .stream::<User>(
                Filter::all(),
                FindOptions::default().order_by([User::ID.asc()]),
            )
            .unwrap();
        stream.next().await.unwrap().unwrap();
        assert_eq!(
            em.count::<User>(Filter::all()).await.unwrap(),
            2000,
            "{}",
            b.name
        );
        let found = em.find::<User>(User::AGE.eq(3)).await.unwrap();
        assert_eq!(found.len(), 40, "{}", b.name);
        assert_eq!(stream.count().await, 1999, "{}", b.name);
    });
}

/// Options a stream cannot honour are refused by `stream` itself: `InvalidArgument`, no SQL
/// (not even the flush the query would have made first), nothing changed.
#[tokio::test]
async fn options_a_stream_cannot_honour_are_refused_before_any_sql() {
    each_backend!(|b, orm| {
        let em = orm.em().fork();
        let log = StatementLog::capture();
        let pending = em.persist(User::new("pending", "pending@x.io")).unwrap();
        let refused = [
            FindOptions::default().populate(["tags"]),
            FindOptions::default().lock_mode(LockMode::PessimisticWrite),
            FindOptions::default().lock_mode(LockMode::PessimisticRead),
            FindOptions::default().lock_mode(LockMode::Optimistic),
            FindOptions::default().lock_version(1i64),
            FindOptions::default().lock_table_aliases(["u0"]),
        ];
        for options in refused {
            let described = format!("{options:?}");
            let err = em.stream::<User>(Filter::all(), options).unwrap_err();
            assert!(
                matches!(&err, Error::InvalidArgument(m) if m.contains("EntityManager::stream")),
                "{}: {described}: {err:?}",
                b.name
            );
        }
        let foreign_order = FindOptions::default().order_by([Tag::LABEL.asc()]);
        assert!(matches!(
            em.stream::<User>(Filter::all(), foreign_order),
            Err(Error::InvalidArgument(_))
        ));
        assert!(matches!(
            em.stream::<Gauge>(Filter::all(), FindOptions::default()),
            Err(Error::UnknownEntity { .. })
        ));
        assert!(log.take().is_empty(), "{}: no SQL", b.name);
        assert_eq!(em.len().unwrap(), 1, "{}", b.name);
        assert!(em.contains(&pending).unwrap(), "{}: still pending", b.name);
        assert!(
            user_rows(&orm).await.is_empty(),
            "{}: nothing written",
            b.name
        );
    });
}

/// A row that does not decode (a `level` beyond `i32`) ends the stream with an error after
/// every value before it; the connection goes on.
#[tokio::test]
async fn a_row_that_does_not_decode_ends_the_stream_with_an_error() {
    for b in backends() {
        let orm = b.orm_with(|o| o.entity::<Gauge>()).await;
        let em = orm.em().fork();
        match b.dialect() {
            coherent::Dialect::Postgres => {
                em.execute("ALTER TABLE gauges ALTER COLUMN level TYPE BIGINT", vec![])
                    .await
                    .unwrap();
            }
            coherent::Dialect::MySql => {
                em.execute("ALTER TABLE gauges MODIFY level BIGINT NOT NULL", vec![])
                    .await
                    .unwrap();
            }
            coherent::Dialect::Sqlite => {} // an INTEGER column holds any 64-bit integer
        }
        let values: Vec<String> = (1..=3000)
            .map(|id| {
                let level: i64 = if id == 1500 { 5_000_000_000 } else { id };
                format!("({id}, {level})")
            })
            .collect();
        em.execute(
            &format!(
                "INSERT INTO gauges (id, level) VALUES {}",
                values.join(", ")
            ),
            vec![],
        )
        .await
        .unwrap();
        let mut stream = em
            .stream::<Gauge>(
                Filter::all(),
                FindOptions::default().order_by([Gauge::ID.asc()]),
            )
            .unwrap();
        let mut read = 0;
        let error = loop {
            match stream.next().await {
                Some(Ok(g)) => {
                    read += 1;
                    assert_eq!(g.id, read, "{}", b.name);
                }
                Some(Err(e)) => break e,
                None => panic!("{}: no error", b.name),
            }
        };
        assert_eq!(read, 1499, "{}: every value before the bad row", b.name);
        assert!(
            matches!(&error, Error::Decode { .. }),
            "{}: {error:?}",
            b.name
        );
        assert!(
            stream.next().await.is_none(),
            "{}: the error is last",
            b.name
        );
        drop(stream);
        assert_eq!(
            em.count::<Gauge>(Filter::all()).await.unwrap(),
            3000,
            "{}",
            b.name
        );
        assert_eq!(em.len().unwrap(), 0, "{}", b.name);
    }
}

/// The drivers' `query_stream` under the ORM: chunks of the size asked for, and a statement
/// that fails mid-way ends the stream with the error a batch would report (after the rows
/// before it, where the server sent them).
#[tokio::test]
async fn driver_streams_hand_rows_over_in_chunks_and_end_with_a_classified_error() {
    each_backend!(|b, orm| {
        let em = orm.em().fork();
        em.execute("CREATE TABLE nums (n BIGINT PRIMARY KEY)", vec![])
            .await
            .unwrap();
        let values: Vec<String> = (1..=2500).map(|n| format!("({n})")).collect();
        em.execute(
            &format!("INSERT INTO nums (n) VALUES {}", values.join(", ")),
            vec![],
        )
        .await
        .unwrap();
        let mut conn = orm.driver().acquire().await.unwrap();
        let query = |sql: &str| coherent::core::Statement::query(sql, vec![]);
        let sizes: Vec<usize> = conn
            .query_stream(query("SELECT n FROM nums ORDER BY n"), 1000)
            .map(|chunk| chunk.unwrap().len())
            .collect()
            .await;
        assert_eq!(sizes, [1000, 1000, 500], "{}", b.name);

        // Fails at n = 25: SQLite's integer overflow; the servers' scalar subquery of two
        // rows.
        let failing = if b.is_sqlite() {
            "SELECT CASE WHEN n < 25 THEN n ELSE abs(-9223372036854775807 - 1) END AS v \
             FROM nums ORDER BY n"
        } else {
            "SELECT (SELECT u.n FROM nums u WHERE u.n <= t.n - 23 AND t.n >= 24) AS v \
             FROM nums t ORDER BY t.n"
        };
        let mut rows = 0;
        let mut chunks = conn.query_stream(query(failing), 10);
        let error = loop {
            match chunks.next().await {
                Some(Ok(chunk)) => rows += chunk.len(),
                Some(Err(e)) => break e,
                None => panic!("{}: no error", b.name),
            }
        };
        assert!(chunks.next().await.is_none(), "{}", b.name);
        drop(chunks);
        assert!(rows <= 24, "{}: {rows} rows before the failing one", b.name);
        if b.is_sqlite() {
            assert_eq!(rows, 24, "{}: every row before the failing one", b.name);
        }
        let batch = coherent::core::Batch {
            statements: vec![query(failing)],
            mode: coherent::core::TxMode::Plain,
        };
        let batch_error = conn.run(batch).await.unwrap_err().error;
        assert_eq!(
            format!("{error:?}"),
            format!("{batch_error:?}"),
            "{}: classified as in a batch",
            b.name
        );
        // The connection goes on.
        let sizes: Vec<usize> = conn
            .query_stream(query("SELECT n FROM nums WHERE n <= 15"), 10)
            .map(|chunk| chunk.unwrap().len())
            .collect()
            .await;
        assert_eq!(sizes, [10, 5], "{}", b.name);
    });
}
