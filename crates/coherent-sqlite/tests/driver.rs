//! The driver against real SQLite: memory and file databases, through the `Driver` and
//! `Connection` traits, on a multi-thread runtime.

use coherent_core::{
    Batch, BatchFailure, BatchResult, Connection, ConstraintKind, Driver, Error, Rows, Statement,
    TxMode, Value,
};
use coherent_sqlite::{SqliteDriver, SqliteOptions};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// A database file under the temp dir, removed (with its WAL files) when dropped.
struct TempDb(PathBuf);

impl TempDb {
    fn new(tag: &str) -> TempDb {
        static N: AtomicU64 = AtomicU64::new(0);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos();
        TempDb(std::env::temp_dir().join(format!(
            "coherent-sqlite-{tag}-{}-{nanos}-{}.db",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        )))
    }

    fn options(&self) -> SqliteOptions {
        SqliteOptions::file(&self.0)
    }
}

impl Drop for TempDb {
    fn drop(&mut self) {
        for suffix in ["", "-wal", "-shm", "-journal"] {
            let mut path = self.0.clone().into_os_string();
            path.push(suffix);
            let _ = std::fs::remove_file(path);
        }
    }
}

fn atomic(statements: Vec<Statement>) -> Batch {
    Batch {
        statements,
        mode: TxMode::Atomic,
    }
}

fn plain(statements: Vec<Statement>) -> Batch {
    Batch {
        statements,
        mode: TxMode::Plain,
    }
}

fn exec(sql: &str) -> Statement {
    Statement::execute(sql, vec![])
}

fn insert(name: &str) -> Statement {
    Statement::execute("INSERT INTO t (name) VALUES (?)", vec![name.into()])
}

async fn run(conn: &mut Box<dyn Connection>, batch: Batch) -> BatchResult {
    match conn.run(batch).await {
        Ok(result) => result,
        Err(f) => panic!("batch failed at {:?}: {}", f.index, f.error),
    }
}

async fn query(conn: &mut Box<dyn Connection>, sql: &str) -> Rows {
    let mut result = run(conn, plain(vec![Statement::query(sql, vec![])])).await;
    result.outcomes.remove(0).rows.expect("rows")
}

async fn count(conn: &mut Box<dyn Connection>, table: &str) -> i64 {
    match query(conn, &format!("SELECT count(*) FROM {table}"))
        .await
        .values[..]
    {
        [Value::I64(n)] => n,
        ref other => panic!("unexpected count {other:?}"),
    }
}

async fn pragma(conn: &mut Box<dyn Connection>, name: &str) -> Vec<Value> {
    query(conn, &format!("PRAGMA {name}")).await.values
}

async fn names(conn: &mut Box<dyn Connection>) -> Vec<Value> {
    query(conn, "SELECT name FROM t ORDER BY id").await.values
}

const CREATE_T: &str = "CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE)";

async fn memory(max_connections: usize) -> SqliteDriver {
    SqliteDriver::open(SqliteOptions::memory().max_connections(max_connections))
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn create_insert_returning_select() {
    let driver = memory(4).await;
    let mut conn = driver.acquire().await.unwrap();
    let result = run(
        &mut conn,
        atomic(vec![
            exec(CREATE_T),
            Statement::query(
                "INSERT INTO t (name) VALUES (?), (?), (?) RETURNING id",
                vec!["a".into(), "b".into(), "c".into()],
            ),
            Statement::query(
                "SELECT id, name FROM t WHERE id >= ? ORDER BY id",
                vec![Value::I32(2)],
            ),
        ]),
    )
    .await;
    assert_eq!(result.outcomes.len(), 3);
    let returned = result.outcomes[1].rows.as_ref().unwrap();
    assert_eq!(&*returned.columns, ["id"]);
    assert_eq!(
        returned.values,
        [Value::I64(1), Value::I64(2), Value::I64(3)]
    );
    assert_eq!(result.outcomes[1].affected, 3);
    let selected = result.outcomes[2].rows.clone().unwrap();
    assert_eq!(&*selected.columns, ["id", "name"]);
    assert_eq!(selected.len(), 2);
    assert_eq!(
        selected.values,
        [Value::I64(2), "b".into(), Value::I64(3), "c".into()]
    );
    let rows = selected.into_rows();
    assert_eq!(rows[1].get::<String>("name").unwrap(), "c");
    let control: Vec<&str> = result.control.iter().map(|c| c.sql).collect();
    assert_eq!(control, ["BEGIN IMMEDIATE", "COMMIT"]);
}

fn assert_unique_on_t(failure: &BatchFailure, index: usize) {
    assert_eq!(failure.index, Some(index), "{}", failure.error);
    match &failure.error {
        Error::Constraint {
            kind: ConstraintKind::Unique,
            source,
        } => {
            assert_eq!(source.table(), Some("t"));
            assert_eq!(source.column(), Some("name"));
            assert_eq!(source.code(), Some("SQLITE_CONSTRAINT_UNIQUE"));
        }
        other => panic!("expected a unique violation, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failing_atomic_batch_leaves_nothing() {
    let driver = memory(2).await;
    let mut conn = driver.acquire().await.unwrap();
    run(&mut conn, plain(vec![exec(CREATE_T), insert("existing")])).await;

    let failure = conn
        .run(atomic(vec![
            insert("a"),
            insert("b"),
            insert("existing"),
            insert("c"),
        ]))
        .await
        .unwrap_err();
    assert_unique_on_t(&failure, 2);
    assert_eq!(failure.executed.outcomes.len(), 2);
    let control: Vec<&str> = failure.executed.control.iter().map(|c| c.sql).collect();
    assert_eq!(control, ["BEGIN IMMEDIATE", "ROLLBACK"]);
    assert_eq!(names(&mut conn).await, [Value::from("existing")]);

    // Another connection sees the same.
    let mut other = driver.acquire().await.unwrap();
    assert_eq!(count(&mut other, "t").await, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failing_atomic_batch_inside_a_transaction_rolls_back_its_savepoint() {
    let driver = memory(2).await;
    let mut conn = driver.acquire().await.unwrap();
    run(&mut conn, plain(vec![exec(CREATE_T), insert("existing")])).await;
    run(&mut conn, plain(vec![exec("BEGIN"), insert("outer")])).await;

    let ok = run(&mut conn, atomic(vec![insert("inner")])).await;
    let control: Vec<&str> = ok.control.iter().map(|c| c.sql).collect();
    assert_eq!(
        control,
        ["SAVEPOINT coherent_batch", "RELEASE coherent_batch"]
    );

    let failure = conn
        .run(atomic(vec![insert("x"), insert("y"), insert("existing")]))
        .await
        .unwrap_err();
    assert_unique_on_t(&failure, 2);
    let control: Vec<&str> = failure.executed.control.iter().map(|c| c.sql).collect();
    assert_eq!(
        control,
        [
            "SAVEPOINT coherent_batch",
            "ROLLBACK TO coherent_batch",
            "RELEASE coherent_batch"
        ]
    );

    run(&mut conn, plain(vec![exec("COMMIT")])).await;
    assert_eq!(
        names(&mut conn).await,
        [Value::from("existing"), "outer".into(), "inner".into()]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expect_rows_mismatch_rolls_back() {
    let driver = memory(1).await;
    let mut conn = driver.acquire().await.unwrap();
    run(&mut conn, plain(vec![exec(CREATE_T), insert("a")])).await;

    let failure = conn
        .run(atomic(vec![
            insert("b"),
            Statement::execute(
                "UPDATE t SET name = ? WHERE id = ?",
                vec!["renamed".into(), Value::I64(1)],
            )
            .expecting(1),
            Statement::execute("DELETE FROM t WHERE id = ?", vec![Value::I64(99)])
                .expecting(1)
                .about("Thing"),
        ]))
        .await
        .unwrap_err();
    assert_eq!(failure.index, Some(2));
    match failure.error {
        Error::RowCountMismatch {
            entity,
            expected,
            actual,
            ..
        } => assert_eq!((entity, expected, actual), ("Thing", 1, 0)),
        other => panic!("expected a row count mismatch, got {other:?}"),
    }
    assert_eq!(failure.executed.outcomes[1].affected, 1);
    assert_eq!(names(&mut conn).await, [Value::from("a")]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn memory_connections_share_one_database() {
    let driver = memory(2).await;
    let mut a = driver.acquire().await.unwrap();
    let mut b = driver.acquire().await.unwrap();
    assert_eq!(driver.open_connections(), 2);
    run(&mut a, atomic(vec![exec(CREATE_T), insert("from a")])).await;
    assert_eq!(names(&mut b).await, [Value::from("from a")]);
    run(&mut b, atomic(vec![insert("from b")])).await;
    assert_eq!(
        names(&mut a).await,
        [Value::from("from a"), "from b".into()]
    );

    // A second driver on sqlite::memory: is another database.
    let other = SqliteDriver::open_url("sqlite::memory:").await.unwrap();
    let mut c = other.acquire().await.unwrap();
    let err = c
        .run(plain(vec![Statement::query("SELECT * FROM t", vec![])]))
        .await
        .unwrap_err();
    assert!(
        matches!(&err.error, Error::Database { source } if source.message().contains("no such table")),
        "{:?}",
        err.error
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn memory_database_outlives_idle_connections() {
    let driver = memory(1).await;
    {
        let mut conn = driver.acquire().await.unwrap();
        run(&mut conn, plain(vec![exec(CREATE_T), insert("kept")])).await;
    }
    let mut conn = driver.acquire().await.unwrap();
    assert_eq!(names(&mut conn).await, [Value::from("kept")]);
}

async fn concurrent_writers(driver: SqliteDriver) {
    {
        let mut conn = driver.acquire().await.unwrap();
        run(
            &mut conn,
            plain(vec![exec(
                "CREATE TABLE w (id INTEGER PRIMARY KEY, task INTEGER NOT NULL, n INTEGER NOT NULL)",
            )]),
        )
        .await;
    }
    const TASKS: i64 = 8;
    const ROWS: i64 = 25;
    let mut handles = Vec::new();
    for task in 0..TASKS {
        let driver = driver.clone();
        handles.push(tokio::spawn(async move {
            let mut conn = driver.acquire().await.unwrap();
            let statements = (0..ROWS)
                .map(|n| {
                    Statement::execute(
                        "INSERT INTO w (task, n) VALUES (?, ?)",
                        vec![Value::I64(task), Value::I64(n)],
                    )
                    .expecting(1)
                })
                .collect();
            conn.run(atomic(statements)).await.map(|r| r.outcomes.len())
        }));
    }
    for handle in handles {
        match handle.await.unwrap() {
            Ok(n) => assert_eq!(n, ROWS as usize),
            Err(f) => panic!("writer failed: {}", f.error),
        }
    }
    let mut conn = driver.acquire().await.unwrap();
    assert_eq!(count(&mut conn, "w").await, TASKS * ROWS);
    let per_task = query(
        &mut conn,
        "SELECT count(DISTINCT task), min(c), max(c) FROM (SELECT task, count(*) AS c FROM w GROUP BY task)",
    )
    .await;
    assert_eq!(
        per_task.values,
        [Value::I64(TASKS), Value::I64(ROWS), Value::I64(ROWS)]
    );
    assert!(driver.open_connections() <= driver.options().max_connections);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_writers_memory() {
    concurrent_writers(memory(4).await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_writers_file() {
    let db = TempDb::new("writers");
    let driver = SqliteDriver::open(db.options()).await.unwrap();
    concurrent_writers(driver.clone()).await;
    // WAL mode is on for files.
    let mut conn = driver.acquire().await.unwrap();
    assert_eq!(
        pragma(&mut conn, "journal_mode").await,
        [Value::from("wal")]
    );
    assert_eq!(pragma(&mut conn, "foreign_keys").await, [Value::I64(1)]);
}

async fn lock_timeout(a_driver: &SqliteDriver, b_driver: &SqliteDriver) {
    let mut a = a_driver.acquire().await.unwrap();
    run(&mut a, plain(vec![exec(CREATE_T)])).await;
    run(&mut a, plain(vec![exec("BEGIN IMMEDIATE"), insert("by a")])).await;

    let mut b = b_driver.acquire().await.unwrap();
    let started = Instant::now();
    let failure = b.run(atomic(vec![insert("by b")])).await.unwrap_err();
    let waited = started.elapsed();
    assert!(
        matches!(failure.error, Error::LockTimeout { .. }),
        "expected a lock timeout, got {:?}",
        failure.error
    );
    assert!(failure.error.is_retryable());
    assert_eq!(failure.index, None, "BEGIN IMMEDIATE is what timed out");
    // Bounded: far below the default 5 s timeout, so the 100 ms setting applied.
    assert!(waited < Duration::from_secs(4), "waited {waited:?}");

    run(&mut a, plain(vec![exec("COMMIT")])).await;
    run(&mut b, atomic(vec![insert("by b")])).await;
    assert_eq!(names(&mut a).await, [Value::from("by a"), "by b".into()]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lock_timeout_file() {
    let db = TempDb::new("lock");
    let a = SqliteDriver::open(db.options()).await.unwrap();
    let b = SqliteDriver::open_url(&format!("sqlite://{}?busy_timeout_ms=100", db.0.display()))
        .await
        .unwrap();
    lock_timeout(&a, &b).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lock_timeout_memory() {
    let driver = SqliteDriver::open(
        SqliteOptions::memory()
            .busy_timeout(Duration::from_millis(100))
            .max_connections(2),
    )
    .await
    .unwrap();
    lock_timeout(&driver, &driver).await;
}

async fn dropped_transaction_is_rolled_back(driver: SqliteDriver) {
    assert_eq!(driver.options().max_connections, 1);
    {
        let mut conn = driver.acquire().await.unwrap();
        run(&mut conn, plain(vec![exec(CREATE_T), insert("committed")])).await;
    }
    {
        let mut conn = driver.acquire().await.unwrap();
        run(
            &mut conn,
            plain(vec![exec("BEGIN IMMEDIATE"), insert("dropped")]),
        )
        .await;
        // Dropped without COMMIT.
    }
    let mut conn = driver.acquire().await.unwrap();
    assert_eq!(driver.open_connections(), 1, "the same worker is reused");
    // An atomic batch starting with BEGIN IMMEDIATE would fail inside an open transaction.
    let result = run(&mut conn, atomic(vec![insert("after")])).await;
    assert_eq!(result.control[0].sql, "BEGIN IMMEDIATE");
    assert_eq!(
        names(&mut conn).await,
        [Value::from("committed"), "after".into()]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropped_connection_rolls_back_memory() {
    dropped_transaction_is_rolled_back(memory(1).await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropped_connection_rolls_back_file() {
    let db = TempDb::new("drop");
    let driver = SqliteDriver::open(db.options().max_connections(1))
        .await
        .unwrap();
    dropped_transaction_is_rolled_back(driver).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancelled_future_does_not_leave_a_transaction_open() {
    let driver = memory(1).await;
    {
        let mut conn = driver.acquire().await.unwrap();
        run(&mut conn, plain(vec![exec(CREATE_T)])).await;
    }
    {
        let mut conn = driver.acquire().await.unwrap();
        // A long batch that opens a transaction, cancelled while it runs.
        let mut statements = vec![exec("BEGIN IMMEDIATE")];
        statements.extend((0..2000).map(|i| insert(&format!("n{i}"))));
        let cancelled = tokio::time::timeout(Duration::ZERO, conn.run(plain(statements))).await;
        assert!(cancelled.is_err(), "the zero timeout must cancel the run");
    }
    let mut conn = driver.acquire().await.unwrap();
    run(&mut conn, atomic(vec![insert("after")])).await;
    assert_eq!(names(&mut conn).await, [Value::from("after")]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn waiting_for_a_connection() {
    let driver = memory(1).await;
    let held = driver.acquire().await.unwrap();
    let second = tokio::time::timeout(Duration::from_millis(50), driver.acquire()).await;
    assert!(
        second.is_err(),
        "max_connections=1 must make the second acquire wait"
    );
    let waiter = {
        let driver = driver.clone();
        tokio::spawn(async move { driver.acquire().await.map(|_| ()) })
    };
    drop(held);
    tokio::time::timeout(Duration::from_secs(10), waiter)
        .await
        .expect("the waiter gets the released connection")
        .unwrap()
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn open_failures_are_typed() {
    let missing_dir = std::env::temp_dir().join(format!(
        "coherent-sqlite-missing-{}/x.db",
        std::process::id()
    ));
    let err = SqliteDriver::open(SqliteOptions::file(&missing_dir))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Connection { .. }), "{err:?}");

    let db = TempDb::new("nocreate");
    let err = SqliteDriver::open(db.options().create(false))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Connection { .. }), "{err:?}");
    assert!(!db.0.exists());

    let garbage = TempDb::new("garbage");
    std::fs::write(&garbage.0, vec![b'x'; 4096]).unwrap();
    let err = SqliteDriver::open(garbage.options()).await.unwrap_err();
    assert!(
        matches!(&err, Error::Connection { message: m, .. } if m.contains("not a database")),
        "{err:?}"
    );
    // The chain reaches rusqlite's error: Connection -> Database -> DatabaseError -> rusqlite.
    let mut source = std::error::Error::source(&err);
    while let Some(s) = source {
        if s.downcast_ref::<rusqlite::Error>().is_some() {
            break;
        }
        source = s.source();
    }
    assert!(source.is_some(), "{err:?}");

    let err = SqliteDriver::open_url("sqlite:x.db?max_connections=0")
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Config(_)), "{err:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn values_round_trip_through_the_driver() {
    let driver = memory(1).await;
    let mut conn = driver.acquire().await.unwrap();
    let params = vec![
        Value::Null,
        Value::Bool(true),
        Value::I16(-3),
        Value::I32(70_000),
        Value::I64(1 << 40),
        Value::F32(0.5),
        Value::F64(f64::INFINITY),
        Value::Text("ünï".into()),
        Value::Bytes(vec![0, 159, 146, 150]),
    ];
    let result = run(
        &mut conn,
        plain(vec![Statement::query(
            "SELECT ?, ?, ?, ?, ?, ?, ?, ?, ?",
            params,
        )]),
    )
    .await;
    assert_eq!(
        result.outcomes[0].rows.as_ref().unwrap().values,
        [
            Value::Null,
            Value::I64(1),
            Value::I64(-3),
            Value::I64(70_000),
            Value::I64(1 << 40),
            Value::F64(0.5),
            Value::F64(f64::INFINITY),
            Value::Text("ünï".into()),
            Value::Bytes(vec![0, 159, 146, 150]),
        ]
    );
    let failure = conn
        .run(plain(vec![Statement::query(
            "SELECT ?",
            vec![Value::F64(f64::NAN)],
        )]))
        .await
        .unwrap_err();
    assert_eq!(failure.index, Some(0));
    assert!(
        matches!(failure.error, Error::InvalidArgument(_)),
        "{:?}",
        failure.error
    );
}

/// `min_connections` are opened by `open`; with an idle timeout, idle connections above it
/// are closed (and the pool opens connections up to it again); a connection past
/// `max_lifetime` is closed: when idle at once, when checked out as it comes back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pool_sizes_and_lifetimes() {
    let driver = SqliteDriver::open(
        SqliteOptions::memory()
            .max_connections(4)
            .min_connections(2)
            .idle_timeout(Duration::from_millis(100))
            .max_lifetime(None),
    )
    .await
    .unwrap();
    assert_eq!(driver.open_connections(), 2);
    let held: Vec<_> = acquire_all(&driver, 4).await;
    assert_eq!(driver.open_connections(), 4);
    drop(held);
    assert_eq!(driver.open_connections(), 4);
    let deadline = Instant::now() + Duration::from_secs(5);
    while driver.open_connections() > 2 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(
        driver.open_connections(),
        2,
        "idle ones above the minimum are closed"
    );

    // A temporary table is private to its connection: it tells one from another.
    let driver =
        one_connection(SqliteOptions::memory().max_lifetime(Duration::from_millis(150))).await;
    let mut conn = driver.acquire().await.unwrap();
    run(&mut conn, plain(vec![exec("CREATE TEMP TABLE marker (x)")])).await;
    drop(conn);
    let mut conn = driver.acquire().await.unwrap();
    assert!(marked(&mut conn).await, "reused while young");
    // Checked out past its lifetime: it serves its holder, and is closed when it comes back.
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert!(marked(&mut conn).await, "closed under its holder");
    drop(conn);
    let mut conn = driver.acquire().await.unwrap();
    assert!(!marked(&mut conn).await, "reused past its lifetime");
    drop(conn);
    // Idle past its lifetime: closed by the upkeep.
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(driver.open_connections(), 0);
    let mut conn = driver.acquire().await.unwrap();
    assert!(!marked(&mut conn).await);
}

/// Runs `batch`, which must fail with `StatementTimeout`.
async fn timed_out(conn: &mut Box<dyn Connection>, batch: Batch) -> BatchFailure {
    let failure = conn.run(batch).await.unwrap_err();
    assert!(
        matches!(failure.error, Error::StatementTimeout { .. }),
        "{:?}",
        failure.error
    );
    failure
}

/// A driver of one connection.
async fn one_connection(options: SqliteOptions) -> SqliteDriver {
    SqliteDriver::open(options.max_connections(1))
        .await
        .unwrap()
}

/// Whether `conn` is the connection that made the temporary table `marker`.
async fn marked(conn: &mut Box<dyn Connection>) -> bool {
    query(
        conn,
        "SELECT count(*) FROM sqlite_temp_master WHERE name = 'marker'",
    )
    .await
    .values
        == [Value::I64(1)]
}

async fn acquire_all(driver: &SqliteDriver, n: usize) -> Vec<Box<dyn Connection>> {
    let mut held = Vec::new();
    for _ in 0..n {
        held.push(driver.acquire().await.unwrap());
    }
    held
}

/// A statement running past the statement timeout is interrupted with `StatementTimeout`;
/// control statements and quick statements are not; an interrupted write inside an open
/// transaction (which SQLite rolls back whole) leaves the connection refusing the
/// transaction's statements with `TransactionAborted` until its `ROLLBACK` (or `COMMIT`,
/// refused too), and a connection released in that state is clean for the next holder.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn statement_timeout() {
    let db = TempDb::new("timeout");
    let driver = one_connection(db.options().statement_timeout(Duration::from_millis(100))).await;
    let mut conn = driver.acquire().await.unwrap();
    run(&mut conn, plain(vec![exec(CREATE_T), insert("a")])).await;
    let long = "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) \
                SELECT count(*) FROM (SELECT x FROM c LIMIT 1000000000)";
    let slow_insert = Statement::execute(
        format!("INSERT INTO t (name) SELECT 'n' || count(*) FROM ({long})"),
        vec![],
    );
    let started = Instant::now();
    let failure = timed_out(&mut conn, plain(vec![Statement::query(long, vec![])])).await;
    assert!(!failure.error.is_retryable());
    assert!(started.elapsed() < Duration::from_secs(5));

    // An atomic batch that hits it writes nothing.
    let failure = timed_out(&mut conn, atomic(vec![insert("b"), slow_insert.clone()])).await;
    assert_eq!(failure.index, Some(1));
    assert_eq!(names(&mut conn).await, [Value::from("a")]);

    // Inside an open transaction SQLite rolls the whole transaction back.
    run(&mut conn, plain(vec![exec("BEGIN"), insert("c")])).await;
    timed_out(&mut conn, atomic(vec![slow_insert.clone()])).await;
    let refused = conn.run(plain(vec![insert("d")])).await.unwrap_err();
    assert!(
        matches!(refused.error, Error::TransactionAborted { .. }),
        "{:?}",
        refused.error
    );
    let refused = conn.run(plain(vec![exec("COMMIT")])).await.unwrap_err();
    assert!(matches!(refused.error, Error::TransactionAborted { .. }));
    // Ended: the connection runs statements again.
    assert_eq!(names(&mut conn).await, [Value::from("a")]);

    run(&mut conn, plain(vec![exec("BEGIN"), insert("e")])).await;
    conn.run(atomic(vec![slow_insert])).await.unwrap_err();
    run(&mut conn, plain(vec![exec("ROLLBACK TO SAVEPOINT x")])).await;
    run(&mut conn, plain(vec![exec("ROLLBACK")])).await;
    assert_eq!(names(&mut conn).await, [Value::from("a")]);
    drop(conn);
    let mut conn = driver.acquire().await.unwrap();
    assert_eq!(names(&mut conn).await, [Value::from("a")]);
}

/// A connection released while SQLite's rollback of its transaction is not yet ended is
/// clean for the next holder.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_transaction_sqlite_rolled_back_is_released_clean() {
    let driver =
        one_connection(SqliteOptions::memory().statement_timeout(Duration::from_millis(50))).await;
    let mut conn = driver.acquire().await.unwrap();
    run(
        &mut conn,
        plain(vec![exec(CREATE_T), exec("BEGIN"), insert("x")]),
    )
    .await;
    let slow = "INSERT INTO t (name) SELECT 'n' || count(*) FROM (WITH RECURSIVE c(x) AS \
                (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT x FROM c LIMIT 1000000000)";
    conn.run(plain(vec![exec(slow)])).await.unwrap_err();
    drop(conn);
    let mut conn = driver.acquire().await.unwrap();
    assert_eq!(count(&mut conn, "t").await, 0);
    run(&mut conn, plain(vec![insert("y")])).await;
    assert_eq!(names(&mut conn).await, [Value::from("y")]);
}

/// The journal mode and synchronous level of a database file are the configured ones.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn journal_mode_and_synchronous() {
    use coherent_core::{ConnectOptions, JournalMode, Synchronous};
    let db = TempDb::new("pragmas");
    let driver = SqliteDriver::open_with(
        &ConnectOptions::new(format!("sqlite://{}", db.0.display()))
            .journal_mode(JournalMode::Persist)
            .synchronous(Synchronous::Off),
    )
    .await
    .unwrap();
    let mut conn = driver.acquire().await.unwrap();
    assert_eq!(
        pragma(&mut conn, "journal_mode").await,
        [Value::from("persist")]
    );
    assert_eq!(pragma(&mut conn, "synchronous").await, [Value::I64(0)]);
}

/// Not a check, a measurement: the cost of one hop to the worker thread and back, as the
/// difference between a trivial batch through the driver and the same batch run directly.
/// Run with `cargo test -p coherent-sqlite --release --test driver -- --ignored --nocapture`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a measurement, not a check"]
async fn hop_latency() {
    const N: u32 = 20_000;
    let batch = plain(vec![Statement::query("SELECT ?", vec![Value::I64(1)])]);

    let direct = rusqlite::Connection::open_in_memory().unwrap();
    for _ in 0..1000 {
        coherent_sqlite::execute::run_batch(&direct, &batch).unwrap();
    }
    let started = Instant::now();
    for _ in 0..N {
        coherent_sqlite::execute::run_batch(&direct, &batch).unwrap();
    }
    let direct_each = started.elapsed() / N;

    let driver = memory(1).await;
    let mut conn = driver.acquire().await.unwrap();
    for _ in 0..1000 {
        run(&mut conn, batch.clone()).await;
    }
    let started = Instant::now();
    for _ in 0..N {
        run(&mut conn, batch.clone()).await;
    }
    let driver_each = started.elapsed() / N;
    println!(
        "direct {direct_each:?} per batch, through the driver {driver_each:?}: hop ≈ {:?}",
        driver_each.saturating_sub(direct_each)
    );
    assert!(driver_each > Duration::ZERO);
}

/// Every row of a streamed query, in chunks, or the error that ended it (after the rows
/// before it).
async fn stream_all(
    conn: &mut Box<dyn Connection>,
    sql: &str,
    chunk_rows: usize,
) -> (Vec<Value>, Vec<usize>, Option<Error>) {
    let mut chunks = conn.query_stream(Statement::query(sql, vec![]), chunk_rows);
    let (mut values, mut sizes) = (Vec::new(), Vec::new());
    while let Some(chunk) = coherent_core::stream::next(&mut chunks).await {
        match chunk {
            Ok(rows) => {
                sizes.push(rows.len());
                values.extend(rows.values);
            }
            Err(error) => {
                assert!(coherent_core::stream::next(&mut chunks).await.is_none());
                return (values, sizes, Some(error));
            }
        }
    }
    (values, sizes, None)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn query_stream_yields_every_row_in_chunks_and_errors_last() {
    let driver = memory(1).await;
    let mut conn = driver.acquire().await.unwrap();
    run(
        &mut conn,
        plain(vec![
            exec("CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT)"),
            exec(
                "WITH RECURSIVE c(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM c WHERE n < 2500) \
                 INSERT INTO t (id, name) SELECT n, 'n' || n FROM c",
            ),
        ]),
    )
    .await;
    let (values, sizes, error) = stream_all(&mut conn, "SELECT id FROM t ORDER BY id", 1000).await;
    assert!(error.is_none());
    assert_eq!(sizes, [1000, 1000, 500]);
    assert_eq!(values, (1..=2500).map(Value::I64).collect::<Vec<_>>());

    let (values, sizes, error) = stream_all(&mut conn, "SELECT id FROM t WHERE id < 0", 10).await;
    assert!(values.is_empty() && sizes.is_empty() && error.is_none());

    // A statement SQLite refuses: the error is the only item.
    let (values, _, error) = stream_all(&mut conn, "SELECT nope FROM t", 10).await;
    assert!(values.is_empty());
    assert!(matches!(error, Some(Error::Database { .. })), "{error:?}");

    // A row that fails mid-way (integer overflow at id 25): the rows before it, then the
    // error, classified as a batch's would be.
    let sql = "SELECT CASE WHEN id < 25 THEN id ELSE abs(-9223372036854775807 - 1) END \
               FROM t ORDER BY id";
    let (values, sizes, error) = stream_all(&mut conn, sql, 10).await;
    assert_eq!(sizes, [10, 10, 4]);
    assert_eq!(values, (1..=24).map(Value::I64).collect::<Vec<_>>());
    let batch_error = conn
        .run(plain(vec![Statement::query(sql, vec![])]))
        .await
        .unwrap_err()
        .error;
    assert_eq!(
        format!("{error:?}"),
        format!("{:?}", Some(batch_error)),
        "classified as in a batch"
    );
    // The connection still works.
    assert_eq!(count(&mut conn, "t").await, 2500);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn query_stream_inside_a_transaction_sees_its_rows_and_an_early_drop_keeps_it() {
    let db = TempDb::new("stream-tx");
    let driver = SqliteDriver::open(db.options().max_connections(1))
        .await
        .unwrap();
    let mut conn = driver.acquire().await.unwrap();
    run(
        &mut conn,
        plain(vec![exec(
            "CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT)",
        )]),
    )
    .await;
    run(&mut conn, plain(vec![exec("BEGIN")])).await;
    run(
        &mut conn,
        plain(vec![exec(
            "WITH RECURSIVE c(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM c WHERE n < 5000) \
             INSERT INTO t (id, name) SELECT n, 'n' || n FROM c",
        )]),
    )
    .await;
    {
        let mut chunks = conn.query_stream(
            Statement::query("SELECT id FROM t ORDER BY id", vec![]),
            100,
        );
        let first = coherent_core::stream::next(&mut chunks)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(first.values[0], Value::I64(1));
        // Dropped after one chunk of fifty.
    }
    run(&mut conn, plain(vec![insert("after")])).await;
    run(&mut conn, plain(vec![exec("ROLLBACK")])).await;
    assert_eq!(count(&mut conn, "t").await, 0);
}
