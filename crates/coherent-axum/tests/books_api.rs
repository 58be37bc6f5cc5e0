//! The books_api example over real HTTP (an axum server on 127.0.0.1, one SQLite file per
//! test): optimistic locking end to end. A `PUT` with the version the client read succeeds
//! and advances it; a `PUT` with a stale version is 409 `optimistic_lock` and writes nothing;
//! two clients racing from the same version get one 200 and one 409; a writer that commits
//! between a `PUT`'s read and its flush makes that `PUT` a 409 too. After every failure the
//! database row is checked directly: nothing lost, nothing overwritten.
//!
//! The HTTP client is hand-written HTTP/1.1 over a tokio `TcpStream` (`Connection: close`).

use coherent::prelude::*;
use serde_json::{Value, json};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

// The application under test is the example itself.
mod common;
use common::{Reply, Server, TempDb};

#[path = "../examples/books_api.rs"]
#[allow(dead_code)]
mod books_api;
use books_api::Book;

// ---------------------------------------------------------------------------------------
// A database file, a server and a client.
// ---------------------------------------------------------------------------------------

impl TempDb {
    /// An Orm on the file, with the schema created.
    async fn orm(&self) -> Orm {
        let orm = Orm::builder()
            .url(self.url())
            .entity::<Book>()
            .build()
            .await
            .expect("connect");
        orm.schema().create().await.expect("schema");
        orm
    }
}

/// The stored row, read with plain SQL (no identity map): `(title, author, version)`.
async fn stored(orm: &Orm, id: i64) -> (String, String, i64) {
    let rows = orm
        .em()
        .fork()
        .query(
            "SELECT title, author, version FROM books WHERE id = ?",
            vec![id.into()],
        )
        .await
        .expect("select");
    assert_eq!(rows.len(), 1, "book {id}");
    let row = &rows[0];
    (
        row.get("title").unwrap(),
        row.get("author").unwrap(),
        row.get("version").unwrap(),
    )
}

fn row(title: &str, author: &str, version: i64) -> (String, String, i64) {
    (title.to_string(), author.to_string(), version)
}

impl Server {
    async fn post(&self, path: &str, body: &Value) -> Reply {
        self.send_json("POST", path, body).await
    }

    async fn put(&self, path: &str, body: &Value) -> Reply {
        self.send_json("PUT", path, body).await
    }

    async fn put_raw(&self, path: &str, body: &str) -> Reply {
        self.send("PUT", path, "application/json", body).await
    }

    /// `POST /books`; the new book's id.
    async fn create(&self, title: &str, author: &str) -> i64 {
        let created = self
            .post("/books", &json!({ "title": title, "author": author }))
            .await;
        assert_eq!(created.status, 201, "{created:?}");
        let book = created.json();
        assert_eq!(book["version"], 1, "{book}");
        let id = book["id"].as_i64().unwrap();
        assert_eq!(
            created.header("location").as_deref(),
            Some(format!("/books/{id}").as_str())
        );
        id
    }
}

/// `PUT` of a JSON body, from a spawned task (which owns no `Server`).
async fn put_json(addr: std::net::SocketAddr, path: &str, body: &Value) -> Reply {
    common::request(
        addr,
        "PUT",
        path,
        Some(("application/json", &body.to_string())),
    )
    .await
}

impl Reply {
    /// Asserts a 409 `optimistic_lock` and returns its message.
    fn expect_optimistic_lock(&self) -> String {
        assert_eq!(self.status, 409, "{self:?}");
        let json = self.json();
        assert_eq!(json["error"], "optimistic_lock", "{json}");
        json["message"].as_str().unwrap().to_string()
    }
}

// ---------------------------------------------------------------------------------------
// The tests.
// ---------------------------------------------------------------------------------------

/// The seed's story: read version 1, save (version 2), then save again with the version 1
/// read before: 409, and the second write stays as it was.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_put_with_a_stale_version_is_409_and_overwrites_nothing() {
    let db = TempDb::new();
    let orm = db.orm().await;
    let api = Server::start(books_api::app(&orm)).await;

    let id = api.create("Dune", "Frank Herbert").await;
    let path = format!("/books/{id}");
    assert_eq!(stored(&orm, id).await, row("Dune", "Frank Herbert", 1));

    let read = api.get(&path).await;
    assert_eq!(read.status, 200, "{read:?}");
    assert_eq!(
        read.json(),
        json!({ "id": id, "title": "Dune", "author": "Frank Herbert", "version": 1 })
    );

    // The first save, with the version read: 200 and version 2.
    let saved = api
        .put(
            &path,
            &json!({ "title": "Dune Messiah", "author": "F. Herbert", "version": 1 }),
        )
        .await;
    assert_eq!(saved.status, 200, "{saved:?}");
    assert_eq!(
        saved.json(),
        json!({ "id": id, "title": "Dune Messiah", "author": "F. Herbert", "version": 2 })
    );
    assert_eq!(stored(&orm, id).await, row("Dune Messiah", "F. Herbert", 2));

    // A second save still carrying version 1: refused before any write.
    let stale = api
        .put(
            &path,
            &json!({ "title": "Children of Dune", "author": "Frank Herbert", "version": 1 }),
        )
        .await;
    assert_eq!(
        stale.expect_optimistic_lock(),
        "The optimistic lock failed, version 1 was expected, but is actually 2"
    );
    assert_eq!(
        stored(&orm, id).await,
        row("Dune Messiah", "F. Herbert", 2),
        "the stale PUT wrote nothing"
    );
    let after = api.get(&path).await;
    assert_eq!(after.status, 200, "{after:?}");
    assert_eq!(
        after.json(),
        json!({ "id": id, "title": "Dune Messiah", "author": "F. Herbert", "version": 2 }),
        "the second write's data, unchanged"
    );

    // A version from the future is just as stale.
    let future = api
        .put(
            &path,
            &json!({ "title": "God Emperor", "author": "Frank Herbert", "version": 7 }),
        )
        .await;
    assert_eq!(
        future.expect_optimistic_lock(),
        "The optimistic lock failed, version 7 was expected, but is actually 2"
    );
    assert_eq!(stored(&orm, id).await, row("Dune Messiah", "F. Herbert", 2));

    // With the current version the client's edit goes through.
    let retried = api
        .put(
            &path,
            &json!({ "title": "Children of Dune", "author": "Frank Herbert", "version": 2 }),
        )
        .await;
    assert_eq!(retried.status, 200, "{retried:?}");
    assert_eq!(retried.json()["version"], 3);
    assert_eq!(
        stored(&orm, id).await,
        row("Children of Dune", "Frank Herbert", 3)
    );
}

const RACES: usize = 10;

/// Two clients GET the same version and PUT at the same time: exactly one wins (200), the
/// other gets 409, and the stored book is the winner's. Several rounds, each from the
/// version the previous one left.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_clients_putting_the_version_they_both_read_one_gets_200_the_other_409() {
    let db = TempDb::new();
    let orm = db.orm().await;
    let api = Server::start(books_api::app(&orm)).await;
    let id = api.create("Dune", "Frank Herbert").await;
    let path = format!("/books/{id}");
    let first = api
        .put(
            &path,
            &json!({ "title": "Dune", "author": "Frank Herbert", "version": 1 }),
        )
        .await;
    assert_eq!(first.status, 200, "{first:?}");
    assert_eq!(
        first.json()["version"],
        1,
        "a PUT that changes nothing writes nothing"
    );
    let second = api
        .put(
            &path,
            &json!({ "title": "Dune (2nd ed.)", "author": "Frank Herbert", "version": 1 }),
        )
        .await;
    assert_eq!(second.json()["version"], 2, "{second:?}");

    let mut messages = Vec::new();
    for round in 0..RACES {
        // Both clients read the same version.
        let (alice_read, bob_read) = (api.get(&path).await.json(), api.get(&path).await.json());
        assert_eq!(alice_read, bob_read, "round {round}");
        let version = alice_read["version"].as_i64().unwrap();
        assert_eq!(version, 2 + round as i64, "round {round}");
        let before = stored(&orm, id).await;

        // And save at the same time.
        let alice = format!("Alice's title {round}");
        let bob = format!("Bob's title {round}");
        let put = |title: &str, author: &str| {
            let body = json!({ "title": title, "author": author, "version": version });
            let (addr, path) = (api.addr, path.clone());
            tokio::spawn(async move { put_json(addr, &path, &body).await })
        };
        let (a, b) = (put(&alice, "Alice"), put(&bob, "Bob"));
        let (a, b) = (a.await.unwrap(), b.await.unwrap());

        let (winner, winner_author, won, lost) = match (a.status, b.status) {
            (200, 409) => (&alice, "Alice", a, b),
            (409, 200) => (&bob, "Bob", b, a),
            _ => panic!("round {round}: exactly one must win: {a:?} {b:?}"),
        };
        assert_eq!(
            won.json(),
            json!({ "id": id, "title": winner, "author": winner_author, "version": version + 1 }),
            "round {round}"
        );
        let message = lost.expect_optimistic_lock();
        assert!(
            message == "The optimistic lock on entity Book failed"
                || message
                    == format!(
                        "The optimistic lock failed, version {version} was expected, but is actually {}",
                        version + 1
                    ),
            "round {round}: {message}"
        );
        messages.push(message);
        assert_eq!(
            stored(&orm, id).await,
            row(winner, winner_author, version + 1),
            "round {round}: the winner's write, and only it (before: {before:?})"
        );
        let after = api.get(&path).await.json();
        assert_eq!(after["title"], winner.as_str(), "round {round}");
        assert_eq!(after["version"], version + 1, "round {round}");
    }
    // Which check caught the loser depends on the interleaving (the read's version check, or
    // the UPDATE's WHERE); the next test pins the second one down.
    eprintln!("losers' messages: {messages:#?}");
}

/// Counts the SELECTs on `books` the query log reports on this thread (the whole test runs on
/// one thread: a current-thread runtime).
#[derive(Clone, Default)]
struct BookReads(Arc<AtomicUsize>);

impl BookReads {
    fn count(&self) -> usize {
        self.0.load(Ordering::SeqCst)
    }
}

struct SqlField(Option<String>);

impl tracing::field::Visit for SqlField {
    fn record_str(&mut self, field: &tracing::field::Field, value: &str) {
        if field.name() == "sql" {
            self.0 = Some(value.to_string());
        }
    }

    fn record_debug(&mut self, _: &tracing::field::Field, _: &dyn std::fmt::Debug) {}
}

impl tracing::Subscriber for BookReads {
    fn enabled(&self, metadata: &tracing::Metadata<'_>) -> bool {
        metadata.target() == coherent::query_log::TARGET
    }
    fn new_span(&self, _: &tracing::span::Attributes<'_>) -> tracing::span::Id {
        tracing::span::Id::from_u64(1)
    }
    fn record(&self, _: &tracing::span::Id, _: &tracing::span::Record<'_>) {}
    fn record_follows_from(&self, _: &tracing::span::Id, _: &tracing::span::Id) {}
    fn event(&self, event: &tracing::Event<'_>) {
        let mut sql = SqlField(None);
        event.record(&mut sql);
        if let Some(sql) = sql.0 {
            let sql = sql.replace(['"', '`'], "");
            if sql.starts_with("SELECT") && sql.contains("FROM books") {
                self.0.fetch_add(1, Ordering::SeqCst);
            }
        }
    }
    fn enter(&self, _: &tracing::span::Id) {}
    fn exit(&self, _: &tracing::span::Id) {}
}

/// Another writer commits after the PUT handler read the book (with the right version) and
/// before its flush: the flush's UPDATE finds the version changed, the PUT is 409
/// (`OptimisticLock`), and the other writer's data stays.
///
/// Deterministic: the other writer holds SQLite's write lock (an open transaction, `BEGIN
/// IMMEDIATE`) while the PUT reads, so the PUT's flush cannot write before the other commits,
/// and the test commits only once the query log has shown the PUT's read.
#[tokio::test(flavor = "current_thread")]
async fn a_write_between_the_puts_read_and_its_flush_is_409_and_writes_nothing() {
    let reads = BookReads::default();
    let _log = tracing::subscriber::set_default(reads.clone());
    let db = TempDb::new();
    let orm = db.orm().await;
    let api = Server::start(books_api::app(&orm)).await;
    let id = api.create("Dune", "Frank Herbert").await;
    let path = format!("/books/{id}");
    assert_eq!(api.get(&path).await.json()["version"], 1);

    // The other writer: a transaction holding the write lock, its change not yet flushed.
    let other = orm.em().fork();
    other.begin().await.unwrap();
    let book = other.find_one_or_fail::<Book>(id).await.unwrap();
    book.write().title = "Dune (the other writer's)".into();

    // Tracing caches per call site whether anyone listens; a call site that another test's
    // thread registered while this subscriber was being installed may have cached "nobody".
    // Recompute now that the subscriber and every call site involved are in place.
    tracing::callsite::rebuild_interest_cache();
    let before = reads.count();
    let addr = api.addr;
    let body = json!({ "title": "Dune (the client's)", "author": "F. H.", "version": 1 });
    let put = tokio::spawn({
        let path = path.clone();
        async move { put_json(addr, &path, &body).await }
    });
    // Wait for the PUT's read: it saw version 1, as the client said.
    let waited = tokio::time::timeout(Duration::from_secs(10), async {
        while reads.count() == before {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    })
    .await;
    assert!(waited.is_ok(), "the PUT never read the book");
    assert!(!put.is_finished(), "the PUT waits for the write lock");

    // The other writer saves and commits: version 2.
    other.flush().await.unwrap();
    other.commit().await.unwrap();
    assert_eq!(book.read().version, 2);

    let conflict = put.await.unwrap();
    assert_eq!(
        conflict.expect_optimistic_lock(),
        "The optimistic lock on entity Book failed",
        "caught by the flush's UPDATE, not by the read"
    );
    assert_eq!(
        stored(&orm, id).await,
        row("Dune (the other writer's)", "Frank Herbert", 2),
        "the PUT wrote nothing: neither its title nor its author"
    );
    assert_eq!(
        api.get(&path).await.json(),
        json!({ "id": id, "title": "Dune (the other writer's)", "author": "Frank Herbert", "version": 2 })
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_bodies_are_400_a_missing_book_is_404_and_neither_writes() {
    let db = TempDb::new();
    let orm = db.orm().await;
    let api = Server::start(books_api::app(&orm)).await;
    let id = api.create("Dune", "Frank Herbert").await;
    let path = format!("/books/{id}");

    let cases = [
        (
            json!({ "title": "No version", "author": "X" }).to_string(),
            "`version` is required: send back the version you read with GET /books/{id}",
        ),
        (
            json!({ "title": "Bad version", "author": "X", "version": "1" }).to_string(),
            "`version` must be an integer, not \"1\"",
        ),
        (
            json!({ "title": "", "author": "X", "version": 1 }).to_string(),
            "`title` must not be empty",
        ),
        (
            json!({ "title": "No author", "version": 1 }).to_string(),
            "`author` is required",
        ),
        ("[1, 2]".to_string(), "the body must be a JSON object"),
    ];
    for (body, message) in cases {
        let reply = api.put_raw(&path, &body).await;
        assert_eq!(reply.status, 400, "{body}: {reply:?}");
        assert_eq!(reply.json()["error"], "bad_request", "{body}");
        assert_eq!(reply.json()["message"], message, "{body}");
        assert_eq!(
            stored(&orm, id).await,
            row("Dune", "Frank Herbert", 1),
            "{body}"
        );
    }
    let reply = api.put_raw(&path, "{not json").await;
    assert_eq!(reply.status, 400, "{reply:?}");
    assert!(
        reply.json()["message"]
            .as_str()
            .unwrap()
            .starts_with("invalid JSON body"),
        "{reply:?}"
    );

    let missing = api
        .put(
            "/books/999",
            &json!({ "title": "Nobody's", "author": "X", "version": 1 }),
        )
        .await;
    assert_eq!(missing.status, 404, "{missing:?}");
    assert_eq!(missing.json()["error"], "not_found");
    assert_eq!(missing.json()["message"], "Book not found (999)");
    let missing = api.get("/books/999").await;
    assert_eq!(missing.status, 404, "{missing:?}");
    assert_eq!(missing.json()["message"], "Book not found (999)");

    let created = api.post("/books", &json!({ "title": "No author" })).await;
    assert_eq!(created.status, 400, "{created:?}");
    let count = orm
        .em()
        .fork()
        .query("SELECT COUNT(*) AS n FROM books", vec![])
        .await
        .unwrap()[0]
        .get::<i64>("n")
        .unwrap();
    assert_eq!(count, 1, "only the first book exists");
}
