//! `ConnectOptions` on every backend: the statement timeout (a long query and a flush that hits
//! it fail with `StatementTimeout` instead of waiting, and the flush writes nothing), the lock
//! timeout (a wait for a row another connection locked ends in `LockTimeout`; the configured
//! value is what a pooled connection gets back after a transaction's own), `min_connections`
//! (that many are open at once), `max_lifetime` (an old connection is replaced), SQLite's
//! journal mode and synchronous level, and URL parameters (the same fields; a bad value is
//! `Error::Config` naming the parameter).

use crate::common::{
    Backend, User, backends, lock_wait_setting, suite_builder, user_rows, with_param,
};
use coherent::prelude::*;
use coherent::{Error, JournalMode, Synchronous};
use std::time::{Duration, Instant};

/// `url` without its `max_connections` (the suite's MariaDB URLs carry one, and URL
/// parameters win over the fields).
fn pool_free(url: &str) -> String {
    let Some((base, query)) = url.split_once('?') else {
        return url.to_owned();
    };
    let rest: Vec<&str> = query
        .split('&')
        .filter(|p| !p.starts_with("max_connections="))
        .collect();
    if rest.is_empty() {
        base.to_owned()
    } else {
        format!("{base}?{}", rest.join("&"))
    }
}

/// An Orm on `options` with the suite's entities and a fresh schema.
async fn orm_with_options(options: ConnectOptions) -> Orm {
    let orm = suite_builder("")
        .connect_options(options)
        .build()
        .await
        .expect("connect");
    orm.schema().refresh().await.expect("schema");
    orm
}

/// A query that runs for seconds: a sleep on the servers, a long recursive count on SQLite.
fn long_query(b: &Backend) -> &'static str {
    if b.is_postgres() {
        "SELECT pg_sleep(3) AS x"
    } else if b.is_mysql() {
        "SELECT SLEEP(3) AS x"
    } else {
        "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 1000000000) \
         SELECT count(*) AS x FROM c"
    }
}

/// Makes every insert of a user named `slow` take seconds (a trigger).
async fn slow_inserts(b: &Backend, orm: &Orm) {
    let em = orm.em();
    if b.is_postgres() {
        em.execute(
            "CREATE FUNCTION slow_insert() RETURNS trigger LANGUAGE plpgsql AS $$ \
             BEGIN IF NEW.name = 'slow' THEN PERFORM pg_sleep(3); END IF; RETURN NEW; END $$",
            vec![],
        )
        .await
        .unwrap();
        em.execute(
            "CREATE TRIGGER slow_insert BEFORE INSERT ON users \
             FOR EACH ROW EXECUTE FUNCTION slow_insert()",
            vec![],
        )
        .await
        .unwrap();
    } else if b.is_mysql() {
        em.execute(
            "CREATE TRIGGER slow_insert BEFORE INSERT ON users FOR EACH ROW \
             SET NEW.age = IF(NEW.name = 'slow', SLEEP(3), NEW.age)",
            vec![],
        )
        .await
        .unwrap();
    } else {
        em.execute("CREATE TABLE slow_rows (x INTEGER)", vec![])
            .await
            .unwrap();
        em.execute(
            "INSERT INTO slow_rows (x) WITH RECURSIVE c(x) AS \
             (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 2000) SELECT x FROM c",
            vec![],
        )
        .await
        .unwrap();
        em.execute(
            "CREATE TRIGGER slow_insert BEFORE INSERT ON users WHEN NEW.name = 'slow' \
             BEGIN SELECT count(*) FROM slow_rows a, slow_rows b, slow_rows c; END",
            vec![],
        )
        .await
        .unwrap();
    }
}

fn assert_statement_timeout<T: std::fmt::Debug>(name: &str, result: Result<T, Error>) {
    match result {
        Err(e @ Error::StatementTimeout { .. }) => assert!(!e.is_retryable(), "{name}"),
        other => panic!("{name}: expected StatementTimeout, got {other:?}"),
    }
}

/// A statement running past `statement_timeout` fails with `StatementTimeout` (not retryable)
/// instead of running on; a flush whose INSERT runs past it writes nothing, keeps its work
/// pending, and writes it once the cause is gone; the connection is usable afterwards.
#[tokio::test]
async fn a_statement_past_the_statement_timeout_is_cancelled() {
    for b in backends() {
        let name = b.name;
        let timeout = Duration::from_millis(300);
        let orm = orm_with_options(ConnectOptions::new(b.url()).statement_timeout(timeout)).await;
        slow_inserts(&b, &orm).await;
        let em = orm.em().fork();

        let start = Instant::now();
        assert_statement_timeout(name, em.query(long_query(&b), vec![]).await);
        assert!(
            start.elapsed() < Duration::from_secs(3),
            "{name}: it waited"
        );

        em.persist(User::new("fast", "fast@x.io")).unwrap();
        let slow = em.persist(User::new("slow", "slow@x.io")).unwrap();
        let start = Instant::now();
        assert_statement_timeout(name, em.flush().await);
        assert!(
            start.elapsed() < Duration::from_secs(3),
            "{name}: it waited"
        );
        assert!(
            user_rows(&orm).await.is_empty(),
            "{name}: a row was written"
        );
        assert_eq!(slow.read().id, 0, "{name}: the key was kept");
        assert!(
            em.contains(&slow).unwrap(),
            "{name}: the insert is no longer pending"
        );

        // The cause gone, the same flush writes both rows once.
        slow.write().name = "patient".into();
        em.flush().await.unwrap();
        let names: Vec<String> = user_rows(&orm).await.into_iter().map(|r| r.1).collect();
        assert_eq!(names, ["fast", "patient"], "{name}");
    }
}

/// Inside a transaction a timed-out flush fails alone on the servers (its savepoint is undone,
/// the transaction commits what it wrote before); SQLite rolls the whole transaction back
/// when it interrupts a write, and the driver then refuses the transaction's statements: its
/// commit fails with `TransactionAborted` and nothing is written, never half of it.
#[tokio::test]
async fn a_statement_timeout_inside_a_transaction() {
    for b in backends() {
        let name = b.name;
        let options = ConnectOptions::new(b.url()).statement_timeout(Duration::from_millis(300));
        let orm = orm_with_options(options).await;
        slow_inserts(&b, &orm).await;
        let em = orm.em().fork();
        em.begin().await.unwrap();
        em.persist(User::new("before", "before@x.io")).unwrap();
        em.flush().await.unwrap();
        let slow = em.persist(User::new("slow", "slow@x.io")).unwrap();
        assert_statement_timeout(name, em.flush().await);
        em.remove(&slow).unwrap();
        let committed = em.commit().await;
        let names: Vec<String> = user_rows(&orm).await.into_iter().map(|r| r.1).collect();
        if b.is_sqlite() {
            assert!(
                matches!(committed, Err(Error::TransactionAborted { .. })),
                "{name}: {committed:?}"
            );
            assert!(names.is_empty(), "{name}: {names:?}");
        } else {
            committed.unwrap();
            assert_eq!(names, ["before"], "{name}");
        }
        // The connection serves the next unit of work.
        let next = orm.em().fork();
        next.persist(User::new("after", "after@x.io")).unwrap();
        next.flush().await.unwrap();
        assert!(
            user_rows(&orm).await.iter().any(|r| r.1 == "after"),
            "{name}"
        );
    }
}

/// The row-locking statement of another connection's open transaction, on `b`.
fn lock_row_sql(b: &Backend) -> String {
    b.sql("UPDATE users SET name = ? WHERE id = ?")
}

/// A write waiting for a row another connection locked ends after `lock_timeout_ms` (a URL
/// parameter here; MariaDB's whole second) with `LockTimeout` (retryable); nothing is
/// written, and once the lock is gone the same flush succeeds.
#[tokio::test]
async fn a_lock_wait_past_the_lock_timeout_fails() {
    for b in backends() {
        let name = b.name;
        let orm = crate::common::suite_orm(&with_param(b.url(), "lock_timeout_ms=300")).await;
        let seed = orm.em().fork();
        let user = seed.persist(User::new("a", "a@x.io")).unwrap();
        seed.flush().await.unwrap();
        let id = user.read().id;

        // Read first: an in-memory SQLite database has no WAL, so reads wait for the writer.
        let em = orm.em().fork();
        let mine = em.find_one_or_fail::<User>(id).await.unwrap();
        mine.write().name = "mine".into();

        let holder = orm.em().fork();
        holder.begin().await.unwrap();
        holder
            .execute(&lock_row_sql(&b), vec!["held".into(), id.into()])
            .await
            .unwrap();
        let start = Instant::now();
        let err = em.flush().await.unwrap_err();
        assert!(
            matches!(err, Error::LockTimeout { .. }) && err.is_retryable(),
            "{name}: {err:?}"
        );
        assert!(
            start.elapsed() < Duration::from_secs(5),
            "{name}: it waited"
        );
        holder.rollback().await.unwrap();
        assert_eq!(user_rows(&orm).await[0].1, "a", "{name}");
        assert!(mine.is_dirty(), "{name}: the change was dropped");
        em.flush().await.unwrap();
        assert_eq!(user_rows(&orm).await[0].1, "mine", "{name}");
    }
}

/// A configured lock timeout is every server connection's setting, and what a pooled
/// connection gets back after a transaction that set its own (`TxOptions::lock_timeout`),
/// not the server's default.
#[tokio::test]
async fn the_configured_lock_timeout_comes_back_after_a_transaction_s_own() {
    for b in backends().into_iter().filter(Backend::is_server) {
        let name = b.name;
        let options = ConnectOptions::new(pool_free(b.url()))
            .max_connections(1)
            .lock_timeout(Duration::from_secs(3));
        let orm = orm_with_options(options).await;
        let configured = if b.is_postgres() { "3s" } else { "3" };
        let own = if b.is_postgres() { "1s" } else { "1" };
        assert_eq!(lock_wait_setting(&b, orm.em()).await, configured, "{name}");
        let b = &b;
        orm.em()
            .fork()
            .transactional_with(
                TxOptions::default().lock_timeout(Duration::from_secs(1)),
                |tx| async move {
                    assert_eq!(lock_wait_setting(b, &tx).await, own, "{name}");
                    Ok::<_, Error>(())
                },
            )
            .await
            .unwrap();
        // One connection: the same one, given back its configured setting.
        assert_eq!(lock_wait_setting(b, orm.em()).await, configured, "{name}");
    }
}

/// `min_connections` are opened when the Orm is built (PostgreSQL: its sessions in
/// `pg_stat_activity`; MariaDB: `information_schema.processlist`; SQLite counts its own, in
/// `coherent-sqlite`'s tests).
#[tokio::test]
async fn min_connections_are_open_from_the_start() {
    for b in backends().into_iter().filter(Backend::is_server) {
        let name = b.name;
        let app = format!("coherent_min_{}", std::process::id());
        let url = if b.is_postgres() {
            with_param(b.url(), &format!("application_name={app}"))
        } else {
            pool_free(b.url())
        };
        let orm = Orm::builder()
            .connect_options(
                ConnectOptions::new(url)
                    .min_connections(3)
                    .max_connections(5),
            )
            .build()
            .await
            .unwrap();
        let (sql, params) = if b.is_postgres() {
            (
                "SELECT count(*)::bigint AS n FROM pg_stat_activity WHERE application_name = $1",
                vec![app.clone().into()],
            )
        } else {
            (
                "SELECT CAST(COUNT(*) AS SIGNED) AS n FROM information_schema.processlist WHERE db = DATABASE()",
                vec![],
            )
        };
        let n: i64 = orm.em().query(sql, params).await.unwrap()[0]
            .get("n")
            .unwrap();
        assert_eq!(n, 3, "{name}");
    }
}

/// What tells one connection from another: the server's session id; on SQLite whether a
/// temporary table (private to its connection) is there.
async fn connection_marker(b: &Backend, em: &EntityManager) -> String {
    let sql = if b.is_postgres() {
        "SELECT pg_backend_pid()::text AS id"
    } else if b.is_mysql() {
        "SELECT CAST(CONNECTION_ID() AS CHAR) AS id"
    } else {
        "SELECT CAST(count(*) AS TEXT) AS id FROM sqlite_temp_master WHERE name = 'marker'"
    };
    em.query(sql, vec![]).await.unwrap()[0].get("id").unwrap()
}

/// A connection older than `max_lifetime` is closed instead of reused: the next unit of work
/// runs on a new one.
#[tokio::test]
async fn a_connection_past_its_max_lifetime_is_replaced() {
    for b in backends() {
        let name = b.name;
        let options = ConnectOptions::new(pool_free(b.url()))
            .max_connections(1)
            .max_lifetime(Duration::from_millis(300));
        let orm = Orm::builder()
            .connect_options(options)
            .build()
            .await
            .unwrap();
        let em = orm.em();
        if b.is_sqlite() {
            em.execute("CREATE TEMP TABLE marker (x INTEGER)", vec![])
                .await
                .unwrap();
        }
        let first = connection_marker(&b, em).await;
        assert_eq!(
            connection_marker(&b, em).await,
            first,
            "{name}: reused at once"
        );
        tokio::time::sleep(Duration::from_millis(700)).await;
        assert_ne!(
            connection_marker(&b, em).await,
            first,
            "{name}: not replaced"
        );
    }
}

/// SQLite's journal mode and synchronous level are the configured ones on a database file
/// (WAL and NORMAL by default); an in-memory database keeps its own.
#[tokio::test]
async fn sqlite_journal_mode_and_synchronous_are_configured() {
    for b in backends().into_iter().filter(Backend::is_sqlite) {
        let name = b.name;
        // Each Orm is closed before the next opens the file: leaving WAL needs it alone.
        let pragmas = |orm: Orm| async move {
            let em = orm.em();
            let mode: String = em.query("PRAGMA journal_mode", vec![]).await.unwrap()[0]
                .get("journal_mode")
                .unwrap();
            let level: i64 = em.query("PRAGMA synchronous", vec![]).await.unwrap()[0]
                .get("synchronous")
                .unwrap();
            orm.close().await;
            (mode, level)
        };
        let defaults = pragmas(Orm::connect(b.url()).await.unwrap()).await;
        let options = ConnectOptions::new(b.url())
            .journal_mode(JournalMode::Truncate)
            .synchronous(Synchronous::Full);
        let configured = pragmas(orm_with_options(options).await).await;
        let url = with_param(b.url(), "journal_mode=delete&synchronous=extra");
        let from_url = pragmas(Orm::connect(&url).await.unwrap()).await;
        if b.file().is_some() {
            assert_eq!(defaults, ("wal".into(), 1), "{name}");
            assert_eq!(configured, ("truncate".into(), 2), "{name}");
            assert_eq!(from_url, ("delete".into(), 3), "{name}");
        } else {
            assert_eq!(defaults.0, "memory", "{name}");
            assert_eq!(configured.0, "memory", "{name}");
            assert_eq!(from_url.0, "memory", "{name}");
        }
    }
}

/// A URL parameter that does not parse is `Error::Config` naming it, on every backend, before
/// anything connects; on SQLite an unknown one too.
#[tokio::test]
async fn bad_url_parameters_are_config_errors() {
    for b in backends() {
        let name = b.name;
        for param in [
            "statement_timeout_ms=soon",
            "lock_timeout_ms=-1",
            "min_connections=many",
            "max_lifetime_ms=1h",
            "idle_timeout_ms=x",
            "journal_mode=fast",
            "synchronous=sometimes",
        ] {
            let key = param.split('=').next().unwrap();
            match Orm::connect(&with_param(b.url(), param)).await {
                Err(Error::Config(message)) => assert!(message.contains(key), "{name}: {message}"),
                other => panic!("{name} {param}: expected Error::Config, got {other:?}"),
            }
        }
        let err = Orm::connect(&with_param(b.url(), "min_connections=100"))
            .await
            .unwrap_err();
        assert!(
            matches!(&err, Error::Config(m) if m.contains("min_connections")),
            "{name}: {err:?}"
        );
        if b.is_sqlite() {
            let err = Orm::connect(&with_param(b.url(), "statement_timeout=5"))
                .await
                .unwrap_err();
            assert!(
                matches!(&err, Error::Config(m) if m.contains("\"statement_timeout\"")),
                "{name}: {err:?}"
            );
        }
    }
}
