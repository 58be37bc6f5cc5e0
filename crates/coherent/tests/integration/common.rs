//! Shared entities, backends and the statement log.

use coherent::prelude::*;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use tracing::field::{Field, Visit};
use tracing_subscriber::layer::{Context, Layer, SubscriberExt};

#[derive(Entity, Clone, Debug, PartialEq)]
#[entity(table = "users")]
pub struct User {
    #[primary_key]
    pub id: i64,
    pub name: String,
    #[column(unique)]
    pub email: String,
    pub age: Option<i32>,
}

impl User {
    pub fn new(name: &str, email: &str) -> User {
        User {
            id: 0,
            name: name.into(),
            email: email.into(),
            age: None,
        }
    }
}

/// A client-assigned String key.
#[derive(Entity, Clone, Debug, PartialEq)]
#[entity(table = "tags")]
pub struct Tag {
    #[primary_key]
    pub code: String,
    pub label: String,
}

impl Tag {
    pub fn new(code: &str, label: &str) -> Tag {
        Tag {
            code: code.into(),
            label: label.into(),
        }
    }
}

/// A backend the suite runs on.
pub struct Backend {
    pub name: &'static str,
    url: String,
    file: Option<PathBuf>,
    /// A server backend: the admin URL and the statements that drop this test's database.
    server: Option<(String, Vec<String>)>,
}

static NEXT: AtomicU64 = AtomicU64::new(0);

impl Backend {
    /// A new URL for a fresh database of this backend kind.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The database file of a SQLite file backend.
    pub fn file(&self) -> Option<&std::path::Path> {
        self.file.as_deref()
    }

    /// An Orm on this backend with the suite's entities and a fresh schema.
    pub async fn orm(&self) -> Orm {
        self.orm_with(|b| b).await
    }

    /// Like [`Backend::orm`], with builder changes.
    pub async fn orm_with(
        &self,
        f: impl FnOnce(coherent::OrmBuilder) -> coherent::OrmBuilder,
    ) -> Orm {
        let orm = f(suite_builder(&self.url)).build().await.expect("connect");
        orm.schema().refresh().await.expect("schema");
        orm
    }

    /// Another Orm on the same database (a second API instance), without touching the schema.
    pub async fn second_orm(&self) -> Orm {
        suite_builder(&self.url).build().await.expect("connect")
    }

    /// Whether a second Orm sees the same database (not so for `sqlite::memory:`, which is
    /// private to one Orm).
    pub fn shared_between_orms(&self) -> bool {
        self.file.is_some() || self.server.is_some()
    }

    /// Whether this is a server backend (PostgreSQL, MariaDB).
    pub fn is_server(&self) -> bool {
        self.server.is_some()
    }

    /// Whether this is SQLite (in memory or in a file).
    pub fn is_sqlite(&self) -> bool {
        self.server.is_none()
    }

    /// The dialect.
    pub fn dialect(&self) -> coherent::Dialect {
        match self.name {
            "postgres" => coherent::Dialect::Postgres,
            "mariadb" => coherent::Dialect::MySql,
            _ => coherent::Dialect::Sqlite,
        }
    }

    /// Whether this is PostgreSQL.
    pub fn is_postgres(&self) -> bool {
        self.dialect() == coherent::Dialect::Postgres
    }

    /// Whether this is MySQL / MariaDB.
    pub fn is_mysql(&self) -> bool {
        self.dialect() == coherent::Dialect::MySql
    }

    /// Raw SQL written with `?` placeholders, as this dialect takes it: `$1, $2, ..` on
    /// PostgreSQL (a `?` inside a quoted literal or identifier is left alone).
    pub fn sql(&self, sql: &str) -> String {
        coherent_sql::raw::statement(self.dialect(), sql).0
    }

    /// An identifier quoted as the ORM quotes it: `"name"`, or `` `name` `` on MySQL.
    pub fn quote(&self, ident: &str) -> String {
        if self.is_mysql() {
            format!("`{ident}`")
        } else {
            format!("\"{ident}\"")
        }
    }

    /// What opens a read-write transaction the ORM begins (default isolation).
    pub fn begin_sql(&self) -> &'static str {
        match self.dialect() {
            coherent::Dialect::Sqlite => "BEGIN IMMEDIATE",
            coherent::Dialect::Postgres => "BEGIN",
            coherent::Dialect::MySql => "START TRANSACTION",
        }
    }

    /// What the driver opens an atomic batch (a flush) with outside a transaction.
    pub fn batch_begin(&self) -> &'static str {
        if self.is_sqlite() {
            "BEGIN IMMEDIATE"
        } else {
            "BEGIN"
        }
    }

    /// What the driver ends an atomic batch inside a transaction with.
    pub fn batch_release(&self) -> &'static str {
        if self.is_sqlite() {
            "RELEASE coherent_batch"
        } else {
            "RELEASE SAVEPOINT coherent_batch"
        }
    }

    /// Hand-written DDL: the type of a generated integer primary key column.
    pub fn auto_key(&self) -> &'static str {
        match self.dialect() {
            coherent::Dialect::Sqlite => "INTEGER PRIMARY KEY AUTOINCREMENT",
            coherent::Dialect::Postgres => "BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY",
            coherent::Dialect::MySql => "BIGINT AUTO_INCREMENT PRIMARY KEY",
        }
    }

    /// Hand-written DDL: the type of a text column that is a key or unique (MySQL cannot
    /// index unbounded `TEXT`).
    pub fn key_text(&self) -> &'static str {
        if self.is_mysql() {
            "VARCHAR(255)"
        } else {
            "TEXT"
        }
    }

    /// The tables of this test's database, by name.
    pub async fn tables(&self, orm: &Orm) -> Vec<String> {
        let sql = match self.dialect() {
            coherent::Dialect::Sqlite => {
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name"
            }
            coherent::Dialect::Postgres => {
                "SELECT tablename::text AS name FROM pg_tables WHERE schemaname = current_schema() ORDER BY tablename"
            }
            coherent::Dialect::MySql => {
                "SELECT table_name AS name FROM information_schema.tables WHERE table_schema = DATABASE() ORDER BY table_name"
            }
        };
        names(orm, sql, vec![]).await
    }

    /// The unique indexes on `table`, by name.
    pub async fn unique_indexes(&self, orm: &Orm, table: &str) -> Vec<String> {
        let sql = match self.dialect() {
            coherent::Dialect::Sqlite => {
                "SELECT name FROM pragma_index_list(?) WHERE \"unique\" = 1 AND origin = 'c' ORDER BY name"
            }
            coherent::Dialect::Postgres => {
                "SELECT indexname::text AS name FROM pg_indexes WHERE schemaname = current_schema() AND tablename = $1 AND indexdef LIKE 'CREATE UNIQUE INDEX%' AND indexname <> tablename || '_pkey' ORDER BY 1"
            }
            coherent::Dialect::MySql => {
                "SELECT DISTINCT index_name AS name FROM information_schema.statistics WHERE table_schema = DATABASE() AND table_name = ? AND non_unique = 0 AND index_name <> 'PRIMARY' ORDER BY index_name"
            }
        };
        names(orm, sql, vec![table.into()]).await
    }
}

/// The `name` column of a catalog query.
async fn names(orm: &Orm, sql: &str, params: Vec<Value>) -> Vec<String> {
    orm.em()
        .query(sql, params)
        .await
        .expect(sql)
        .iter()
        .map(|r| r.get("name").unwrap())
        .collect()
}

/// Statements in a comparable form: transaction control whole (`BEGIN IMMEDIATE`, `RELEASE
/// SAVEPOINT coherent_batch`), anything else by its first two words (`INSERT INTO`,
/// `UPDATE "users"`).
pub fn statement_kinds(log: &[String]) -> Vec<String> {
    log.iter()
        .map(|s| {
            let control = [
                "BEGIN",
                "START TRANSACTION",
                "SET TRANSACTION",
                "COMMIT",
                "ROLLBACK",
                "SAVEPOINT",
                "RELEASE",
            ];
            if control.iter().any(|c| s.starts_with(c)) {
                s.clone()
            } else {
                s.split(' ').take(2).collect::<Vec<_>>().join(" ")
            }
        })
        .collect()
}

impl Drop for Backend {
    fn drop(&mut self) {
        if let Some(f) = &self.file {
            remove_db(f);
        }
        if let Some((admin, drop)) = self.server.take() {
            if std::thread::panicking() {
                // The failed test may have left a connection in a transaction whose rollback
                // is a task of the runtime this drop blocks: the drop then waits for its locks
                // until the lock timeout, and a failure is ignored (no panic while panicking).
                let _ = admin_thread(admin, drop, false).join();
            } else {
                run_admin(admin, drop);
            }
        }
    }
}

/// Runs admin statements on a server, from a thread of its own (callable from sync code
/// inside a test's runtime).
fn run_admin(url: String, statements: Vec<String>) {
    admin_thread(url, statements, true)
        .join()
        .expect("admin thread");
}

/// Runs `statements` on `url` from a thread of its own; with `strict`, a failure panics it.
fn admin_thread(url: String, statements: Vec<String>, strict: bool) -> std::thread::JoinHandle<()> {
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        rt.block_on(async {
            let orm = match Orm::connect(&url).await {
                Ok(orm) => orm,
                Err(e) if strict => panic!("admin connection: {e}"),
                Err(_) => return,
            };
            for sql in statements {
                match orm.em().execute(&sql, vec![]).await {
                    Err(e) if strict => panic!("{sql}: {e}"),
                    Err(_) => return,
                    Ok(_) => {}
                }
            }
        })
    })
}

/// A server backend from `var` (a URL printed by `scripts/<server>.sh`), with a database of
/// its own for this test; None (with a notice) when `var` is unset, except under `CI=true`.
#[cfg(any(feature = "postgres", feature = "mysql"))]
fn server_backend(name: &'static str, var: &str, script: &str) -> Option<Backend> {
    let Ok(url) = std::env::var(var) else {
        if std::env::var("CI").as_deref() == Ok("true") {
            panic!("{var} is not set: CI runs the suite on {name} (start it with `{script}`)");
        }
        // Once per server and run, straight to stderr (libtest captures `eprintln!` of a
        // passing test, which would hide the notice).
        static NOTICED: std::sync::Mutex<Vec<&str>> = std::sync::Mutex::new(Vec::new());
        let mut noticed = NOTICED.lock().unwrap_or_else(|e| e.into_inner());
        if !noticed.contains(&name) {
            noticed.push(name);
            use std::io::Write;
            let _ = writeln!(
                std::io::stderr(),
                "note: {var} is not set; skipping the {name} backend (start it with `eval \"export {var}=$({script} | cut -d= -f2-)\"`)"
            );
        }
        return None;
    };
    let db = format!(
        "coherent_t{}_{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    );
    let (base, query) = url.split_once('?').unwrap_or((&url, ""));
    let sep = |q: &str| {
        if q.is_empty() {
            String::new()
        } else {
            format!("&{q}")
        }
    };
    // One admin connection, so that a session setting holds for the statements after it;
    // dropping a database waits for its locks at most 10 s (a lock a test left behind fails
    // the drop instead of hanging the suite).
    let admin = format!("{base}?max_connections=1{}", sep(query));
    let (test_url, create, drop) = if name == "postgres" {
        (
            format!("{base}?options[search_path]={db}{}", sep(query)),
            format!("CREATE SCHEMA {db}"),
            vec![
                "SET lock_timeout = '10s'".to_string(),
                format!("DROP SCHEMA IF EXISTS {db} CASCADE"),
            ],
        )
    } else {
        let server = base.rsplit_once('/').map(|(s, _)| s).unwrap_or(base);
        (
            format!("{server}/{db}?max_connections=40{}", sep(query)),
            format!("CREATE DATABASE {db} CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci"),
            vec![
                "SET SESSION lock_wait_timeout = 10".to_string(),
                format!("DROP DATABASE IF EXISTS {db}"),
            ],
        )
    };
    run_admin(admin.clone(), vec![create]);
    Some(Backend {
        name,
        url: test_url,
        file: None,
        server: Some((admin, drop)),
    })
}

/// Removes a SQLite file database and its WAL files.
pub fn remove_db(path: &std::path::Path) {
    for ext in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{ext}", path.display()));
    }
}

/// An Orm on `b` (fresh schema) whose connection threads never spin: a flush's first poll
/// hands its batch over and returns Pending, so tests can stop a flush in flight.
pub async fn orm_without_spin(b: &Backend) -> Orm {
    let sep = if b.url().contains('?') { '&' } else { '?' };
    suite_orm(&format!("{}{sep}spin_us=0", b.url())).await
}

/// `url` with one more query parameter.
pub fn with_param(url: &str, param: &str) -> String {
    let sep = if url.contains('?') { '&' } else { '?' };
    format!("{url}{sep}{param}")
}

/// The session's lock wait as the server reports it, as text.
pub async fn lock_wait_setting(b: &Backend, em: &EntityManager) -> String {
    let sql = if b.is_postgres() {
        "SELECT current_setting('lock_timeout') AS t"
    } else {
        "SELECT CAST(@@SESSION.innodb_lock_wait_timeout AS CHAR) AS t"
    };
    em.query(sql, vec![]).await.unwrap()[0].get("t").unwrap()
}

/// A builder for `url` with the suite's entities registered.
pub fn suite_builder(url: &str) -> coherent::OrmBuilder {
    Orm::builder().url(url).entity::<Tag>().entity::<User>()
}

/// An Orm on `url` with the suite's entities and a fresh schema.
pub async fn suite_orm(url: &str) -> Orm {
    let orm = suite_builder(url).build().await.expect("connect");
    orm.schema().refresh().await.expect("schema");
    orm
}

/// A unique temporary SQLite file path.
#[cfg(feature = "sqlite")]
pub fn temp_db_path() -> PathBuf {
    std::env::temp_dir().join(format!(
        "coherent-test-{}-{}.db",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    ))
}

/// Every backend available here, each with its feature on: SQLite in memory and in a file
/// (`sqlite`), and the PostgreSQL (`postgres`) and MariaDB (`mysql`) servers named by
/// `COHERENT_PG_URL` and `COHERENT_MYSQL_URL`.
pub fn backends() -> Vec<Backend> {
    #[allow(unused_mut)] // without any backend feature
    let mut all = Vec::new();
    #[cfg(feature = "sqlite")]
    all.extend(sqlite_backends());
    #[cfg(feature = "postgres")]
    all.extend(server_backend(
        "postgres",
        "COHERENT_PG_URL",
        "scripts/postgres.sh",
    ));
    #[cfg(feature = "mysql")]
    all.extend(server_backend(
        "mariadb",
        "COHERENT_MYSQL_URL",
        "scripts/mariadb.sh",
    ));
    all
}

/// SQLite in memory and in a file.
#[cfg(feature = "sqlite")]
pub fn sqlite_backends() -> Vec<Backend> {
    let file = temp_db_path();
    vec![
        Backend {
            name: "sqlite-memory",
            url: "sqlite::memory:".into(),
            file: None,
            server: None,
        },
        Backend {
            name: "sqlite-file",
            url: format!("sqlite://{}", file.display()),
            file: Some(file),
            server: None,
        },
    ]
}

/// Captures the `coherent::sql` statement events emitted on this thread (tests that count
/// statements run on a current-thread runtime, so every ORM call of the test is on this
/// thread).
///
/// One global subscriber, installed once, routes the events into a thread-local buffer that a
/// `StatementLog` switches on. (Per-test `set_default` subscribers race with tracing's
/// callsite-interest cache when tests run in parallel: an event can be judged uninteresting
/// for good and silently missed.)
pub struct StatementLog {
    _not_send: std::marker::PhantomData<*const ()>,
}

thread_local! {
    /// Each statement's SQL, and whether it failed.
    static CAPTURED: std::cell::RefCell<Option<Vec<(String, bool)>>> = const { std::cell::RefCell::new(None) };
}

struct Capture;

struct SqlField(Option<String>);
impl Visit for SqlField {
    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "sql" {
            self.0 = Some(value.to_string());
        }
    }
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        if field.name() == "sql" {
            self.0 = Some(format!("{value:?}"));
        }
    }
}

impl<S: tracing::Subscriber> Layer<S> for Capture {
    fn on_event(&self, event: &tracing::Event<'_>, _ctx: Context<'_, S>) {
        if event.metadata().target() != coherent::query_log::TARGET
            || event.metadata().level() != &tracing::Level::DEBUG
        {
            return;
        }
        let is_failure = event
            .metadata()
            .fields()
            .iter()
            .any(|f| f.name() == "error");
        let mut v = SqlField(None);
        event.record(&mut v);
        if let Some(sql) = v.0 {
            CAPTURED.with(|c| {
                if let Some(log) = c.borrow_mut().as_mut() {
                    log.push((sql, is_failure));
                }
            });
        }
    }
}

impl StatementLog {
    pub fn capture() -> StatementLog {
        static INSTALL: std::sync::Once = std::sync::Once::new();
        INSTALL.call_once(|| {
            let subscriber = tracing_subscriber::registry().with(Capture);
            tracing::subscriber::set_global_default(subscriber).expect("one global subscriber");
        });
        CAPTURED.with(|c| *c.borrow_mut() = Some(Vec::new()));
        StatementLog {
            _not_send: std::marker::PhantomData,
        }
    }

    /// Statements executed since the last `take`.
    pub fn take(&self) -> Vec<String> {
        self.take_all()
            .into_iter()
            .filter_map(|(sql, failed)| (!failed).then_some(sql))
            .collect()
    }

    /// Statements executed or failed since the last `take`, in order, each with whether it
    /// failed.
    pub fn take_all(&self) -> Vec<(String, bool)> {
        CAPTURED.with(|c| {
            c.borrow_mut()
                .as_mut()
                .map(std::mem::take)
                .unwrap_or_default()
        })
    }
}

impl Drop for StatementLog {
    fn drop(&mut self) {
        CAPTURED.with(|c| *c.borrow_mut() = None);
    }
}

/// Rows of `users` as (id, name, email), ordered by id, read with raw SQL on a fork.
pub async fn user_rows(orm: &Orm) -> Vec<(i64, String, String)> {
    orm.em()
        .query("SELECT id, name, email FROM users ORDER BY id", vec![])
        .await
        .expect("raw select")
        .iter()
        .map(|r| {
            (
                r.get("id").unwrap(),
                r.get("name").unwrap(),
                r.get("email").unwrap(),
            )
        })
        .collect()
}

/// Runs `$body` once per backend with `$b` bound to the backend and `$orm` to a fresh Orm.
#[macro_export]
macro_rules! each_backend {
    (|$b:ident, $orm:ident| $body:block) => {
        for $b in $crate::common::backends() {
            let $orm = $b.orm().await;
            let _ = &$orm;
            $body
        }
    };
}

/// A number from the environment variable `var`, if set (a panic if it is not a number).
pub fn env_u64(var: &str) -> Option<u64> {
    std::env::var(var).ok().map(|v| {
        v.parse()
            .unwrap_or_else(|_| panic!("{var} must be a number: {v}"))
    })
}

/// A seeded proptest runner, the same cases on every run: `cases` cases (or the number in
/// `cases_var`) from `seed` (or the number in `seed_var`), failures not persisted, shrinking
/// bounded by `max_shrink_iters`. Returns the runner and the seed it uses.
pub fn seeded_runner(
    (cases_var, cases): (&str, u32),
    (seed_var, seed): (&str, u64),
    max_shrink_iters: u32,
) -> (proptest::test_runner::TestRunner, u64) {
    use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};
    let cases = env_u64(cases_var).map_or(cases, |n| n as u32);
    let seed = env_u64(seed_var).unwrap_or(seed);
    let mut seed_bytes = [0u8; 32];
    seed_bytes[..8].copy_from_slice(&seed.to_le_bytes());
    let config = Config {
        cases,
        failure_persistence: None,
        rng_algorithm: RngAlgorithm::ChaCha,
        max_shrink_iters,
        ..Config::default()
    };
    let rng = TestRng::from_seed(RngAlgorithm::ChaCha, &seed_bytes);
    (TestRunner::new_with_rng(config, rng), seed)
}
