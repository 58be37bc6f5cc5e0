//! A relation-filtered find (issue 13): the authors who wrote a book of a given title, 100 of
//! 1 000, as Coherent's `find(Author::BOOKS.any(Book::TITLE.eq(..)))` beside the same query
//! hand-written on the raw driver, in one run, on SQLite and (with the `postgres` and `mysql`
//! features) on PostgreSQL and MariaDB.
//!
//! Workload: `rf_authors(id, name)` with A = 1 000 rows and `rf_books(id, title, author_id)`
//! with 10 books each (`title` and `author_id` indexed); every tenth author wrote a book
//! titled "Needle". One iteration finds those authors:
//! - Coherent: in a fresh fork, `em.find(Author::BOOKS.any(Book::TITLE.eq("Needle")))`: the
//!   filter checked, rendered as `EXISTS (SELECT 1 FROM rf_books ..)`, run, and every row
//!   decoded and merged into the identity map as a managed `Author`;
//! - baseline (rusqlite on SQLite, sqlx on the servers): `SELECT a.id, a.name FROM rf_authors
//!   a WHERE EXISTS (SELECT 1 FROM rf_books b WHERE b.author_id = a.id AND b.title = ?)` into
//!   plain `(i64, String)` tuples.
//!
//! Both sides have their own tables from the same DDL (Coherent's); before timing both results
//! are checked (the same 100 authors), and afterwards Coherent's statements per find are
//! counted from its query log (1, as the baseline's; asserted).
//!
//! Run: `cargo bench -p coherent-bench --bench relation_filter` (SQLite), and with the servers
//! up: `COHERENT_PG_URL=.. COHERENT_MYSQL_URL=.. cargo bench -p coherent-bench --features postgres,mysql --bench relation_filter`
//! (`BENCH_AUTHORS` overrides A; a server whose URL is unset is skipped).

mod harness;

use coherent::prelude::*;
use harness::{Samples, StatementCounter, measure, print_summary, remove_db, size, temp_db};
use std::sync::Arc;
use std::time::{Duration, Instant};

#[derive(Entity, Clone, Debug)]
#[entity(table = "rf_authors")]
struct Author {
    #[primary_key]
    id: i64,
    name: String,
    #[one_to_many(mapped_by = "author")]
    books: Collection<Book>,
}

#[derive(Entity, Clone, Debug)]
#[entity(table = "rf_books")]
struct Book {
    #[primary_key]
    id: i64,
    #[column(index)]
    title: String,
    #[many_to_one]
    author: Ref<Author>,
}

/// The phase, as `print_summary` names it.
const PHASE: &str = "authors filtered by a book title";
/// The control: the same authors by key, a find without a relation path, beside
/// `WHERE id IN (..)` by hand; what the relation path adds is the difference of the ratios.
const CONTROL: &str = "control: the same authors by key (IN list)";

/// `IN (?, ?, ..)` (or `$1, $2, ..`) for `n` values.
fn in_list(n: usize, numbered: bool) -> String {
    let marks: Vec<String> = (1..=n)
        .map(|i| {
            if numbered {
                format!("${i}")
            } else {
                "?".into()
            }
        })
        .collect();
    format!(
        "SELECT id, name FROM rf_authors WHERE id IN ({})",
        marks.join(", ")
    )
}
/// Books per author.
const BOOKS: usize = 10;

/// The title of book `b` (0-based) of author `a` (1-based).
fn title(a: usize, b: usize) -> String {
    if a.is_multiple_of(10) && b == 3 {
        "Needle".to_owned()
    } else {
        format!("Book {a}-{b}")
    }
}

/// The authors the query finds, by key.
fn expected(authors: usize) -> Vec<i64> {
    (1..=authors)
        .filter(|a| a % 10 == 0)
        .map(|a| a as i64)
        .collect()
}

fn check(authors: usize, mut seen: Vec<(i64, String)>, side: &str) {
    seen.sort();
    let keys: Vec<i64> = seen.iter().map(|r| r.0).collect();
    assert_eq!(keys, expected(authors), "{side}");
    assert!(
        seen.iter()
            .all(|(id, name)| *name == format!("Author {id}")),
        "{side}"
    );
}

// ---------------------------------------------------------------- Coherent

async fn seed_coherent(orm: &Orm, authors: usize) {
    let em = orm.em().fork();
    for a in 1..=authors {
        let author = em
            .persist(Author {
                id: 0,
                name: format!("Author {a}"),
                books: Collection::new(),
            })
            .unwrap();
        for b in 0..BOOKS {
            em.persist(Book {
                id: 0,
                title: title(a, b),
                author: Ref::to(&author),
            })
            .unwrap();
        }
    }
    em.flush().await.unwrap();
}

/// One find, in a fresh fork (as a request would).
async fn find_coherent(orm: &Orm) -> Vec<Managed<Author>> {
    orm.em()
        .fork()
        .find(Author::BOOKS.any(Book::TITLE.eq("Needle")))
        .await
        .unwrap()
}

fn rows_of(found: Vec<Managed<Author>>) -> Vec<(i64, String)> {
    found
        .iter()
        .map(|a| {
            let a = a.read();
            (a.id, a.name.clone())
        })
        .collect()
}

async fn time_coherent(orm: &Orm, iters: u64) -> Duration {
    let t = Instant::now();
    for _ in 0..iters {
        std::hint::black_box(find_coherent(orm).await);
    }
    t.elapsed()
}

/// The control find: the expected authors by key.
async fn time_control(orm: &Orm, keys: &[i64], iters: u64) -> Duration {
    let t = Instant::now();
    for _ in 0..iters {
        let found = orm
            .em()
            .fork()
            .find(Author::ID.is_in(keys.iter().copied()))
            .await
            .unwrap();
        std::hint::black_box(found);
    }
    t.elapsed()
}

// ---------------------------------------------------------------- the hand-written side

const SELECT: &str = "SELECT a.id, a.name FROM rf_authors a WHERE EXISTS \
                      (SELECT 1 FROM rf_books b WHERE b.author_id = a.id AND b.title = ?)";

/// rusqlite on a file of its own.
struct Sqlite {
    conn: rusqlite::Connection,
}

impl Sqlite {
    fn seed(&self, authors: usize) {
        let tx = self.conn.unchecked_transaction().unwrap();
        let mut book = 0i64;
        for a in 1..=authors {
            tx.execute(
                "INSERT INTO rf_authors (id, name) VALUES (?, ?)",
                rusqlite::params![a as i64, format!("Author {a}")],
            )
            .unwrap();
            for b in 0..BOOKS {
                book += 1;
                tx.execute(
                    "INSERT INTO rf_books (id, title, author_id) VALUES (?, ?, ?)",
                    rusqlite::params![book, title(a, b), a as i64],
                )
                .unwrap();
            }
        }
        tx.commit().unwrap();
    }

    fn select(&self) -> Vec<(i64, String)> {
        self.conn
            .prepare_cached(SELECT)
            .unwrap()
            .query_map(["Needle"], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap()
            .map(Result::unwrap)
            .collect()
    }

    fn control(&self, keys: &[i64]) -> Vec<(i64, String)> {
        self.conn
            .prepare_cached(&in_list(keys.len(), false))
            .unwrap()
            .query_map(rusqlite::params_from_iter(keys), |r| {
                Ok((r.get(0)?, r.get(1)?))
            })
            .unwrap()
            .map(Result::unwrap)
            .collect()
    }
}

// ---------------------------------------------------------------- the run

fn main() {
    let authors = size("BENCH_AUTHORS", 1_000);
    let keys = expected(authors);
    let rt = harness::runtime();
    let mut c = harness::criterion();
    let mut runs: Vec<(&str, Orm, Samples, &'static str)> = Vec::new();

    let orm_path = temp_db("relation-filter-orm");
    let raw_path = temp_db("relation-filter-raw");
    let orm = rt.block_on(async {
        let orm = Orm::builder()
            .url(format!("sqlite://{}", orm_path.display()))
            .entity::<Author>()
            .entity::<Book>()
            .build()
            .await
            .unwrap();
        orm.schema().create().await.unwrap();
        seed_coherent(&orm, authors).await;
        orm
    });
    let raw = Sqlite {
        conn: harness::rusqlite_open(&raw_path, &orm.schema().create_sql()),
    };
    raw.seed(authors);
    check(
        authors,
        rows_of(rt.block_on(find_coherent(&orm))),
        "coherent",
    );
    check(authors, raw.select(), "rusqlite");
    let samples: Samples = Arc::default();
    let mut g = c.benchmark_group("relation_filter/sqlite");
    measure(&mut g, "find", "coherent", PHASE, &samples, |iters| {
        rt.block_on(time_coherent(&orm, iters))
    });
    measure(&mut g, "find", "rusqlite", PHASE, &samples, |iters| {
        let t = Instant::now();
        for _ in 0..iters {
            std::hint::black_box(raw.select());
        }
        t.elapsed()
    });
    check(authors, raw.control(&keys), "rusqlite control");
    measure(&mut g, "control", "coherent", CONTROL, &samples, |iters| {
        rt.block_on(time_control(&orm, &keys, iters))
    });
    measure(&mut g, "control", "rusqlite", CONTROL, &samples, |iters| {
        let t = Instant::now();
        for _ in 0..iters {
            std::hint::black_box(raw.control(&keys));
        }
        t.elapsed()
    });
    g.finish();
    runs.push(("SQLite", orm, samples, "rusqlite"));

    #[cfg(all(feature = "postgres", feature = "mysql"))]
    for (server, name, url) in harness::server::configured() {
        let (orm, mut raw) = rt.block_on(harness::server::open(
            server,
            &url,
            "coherent_bench_relation_filter",
            |b| b.entity::<Author>().entity::<Book>(),
        ));
        rt.block_on(async {
            seed_coherent(&orm, authors).await;
            raw.seed(authors).await;
            check(authors, rows_of(find_coherent(&orm).await), "coherent");
            check(authors, raw.select().await, "sqlx");
        });
        let samples: Samples = Arc::default();
        let mut g = c.benchmark_group(format!("relation_filter/{name}"));
        measure(&mut g, "find", "coherent", PHASE, &samples, |iters| {
            rt.block_on(time_coherent(&orm, iters))
        });
        measure(&mut g, "find", "sqlx", PHASE, &samples, |iters| {
            rt.block_on(async {
                let t = Instant::now();
                for _ in 0..iters {
                    std::hint::black_box(raw.select().await);
                }
                t.elapsed()
            })
        });
        check(authors, rt.block_on(raw.control(&keys)), "sqlx control");
        measure(&mut g, "control", "coherent", CONTROL, &samples, |iters| {
            rt.block_on(time_control(&orm, &keys, iters))
        });
        measure(&mut g, "control", "sqlx", CONTROL, &samples, |iters| {
            rt.block_on(async {
                let t = Instant::now();
                for _ in 0..iters {
                    std::hint::black_box(raw.control(&keys).await);
                }
                t.elapsed()
            })
        });
        g.finish();
        runs.push((name, orm, samples, "sqlx"));
    }

    // Counting turns Coherent's query log on, which costs time: only after all timing.
    let counter = StatementCounter::install();
    let counts: Vec<usize> = runs
        .iter()
        .map(|(_, orm, ..)| {
            counter.take();
            rt.block_on(find_coherent(orm));
            counter.take()
        })
        .collect();
    c.final_summary();
    for ((name, _, samples, baseline), count) in runs.iter().zip(&counts) {
        print_summary(
            &format!("Relation-filtered find on {name}, A = {authors}, {BOOKS} books each"),
            samples,
            &[PHASE.to_string(), CONTROL.to_string()],
            baseline,
            &[(*count, 1), (1, 1)],
        );
    }
    remove_db(&orm_path);
    remove_db(&raw_path);
    for ((name, ..), count) in runs.iter().zip(counts) {
        assert_eq!(count, 1, "{name}: Coherent's find is one statement");
    }
}

// ---------------------------------------------------------------- servers

#[cfg(all(feature = "postgres", feature = "mysql"))]
mod servers {
    use super::*;
    use harness::server::RawConn;
    use sqlx::Row;

    impl RawConn {
        /// Every author and book, one row a statement, in one transaction.
        pub(crate) async fn seed(&mut self, authors: usize) {
            use sqlx::Connection;
            macro_rules! body {
                ($c:expr, $author:expr, $book:expr) => {{
                    let mut tx = $c.begin().await.unwrap();
                    let mut book = 0i64;
                    for a in 1..=authors {
                        sqlx::query($author)
                            .bind(a as i64)
                            .bind(format!("Author {a}"))
                            .execute(&mut *tx)
                            .await
                            .unwrap();
                        for b in 0..BOOKS {
                            book += 1;
                            sqlx::query($book)
                                .bind(book)
                                .bind(title(a, b))
                                .bind(a as i64)
                                .execute(&mut *tx)
                                .await
                                .unwrap();
                        }
                    }
                    tx.commit().await.unwrap();
                }};
            }
            match self {
                RawConn::Pg(c) => body!(
                    c,
                    "INSERT INTO rf_authors (id, name) VALUES ($1, $2)",
                    "INSERT INTO rf_books (id, title, author_id) VALUES ($1, $2, $3)"
                ),
                RawConn::My(c) => body!(
                    c,
                    "INSERT INTO rf_authors (id, name) VALUES (?, ?)",
                    "INSERT INTO rf_books (id, title, author_id) VALUES (?, ?, ?)"
                ),
            }
        }

        /// The control, hand-written per server.
        pub(crate) async fn control(&mut self, keys: &[i64]) -> Vec<(i64, String)> {
            macro_rules! body {
                ($c:expr, $numbered:expr) => {{
                    let sql = in_list(keys.len(), $numbered);
                    let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
                    for k in keys {
                        q = q.bind(*k);
                    }
                    q.fetch_all(&mut *$c)
                        .await
                        .unwrap()
                        .iter()
                        .map(|r| (r.get(0), r.get(1)))
                        .collect()
                }};
            }
            match self {
                RawConn::Pg(c) => body!(c, true),
                RawConn::My(c) => body!(c, false),
            }
        }

        /// The find, hand-written per server.
        pub(crate) async fn select(&mut self) -> Vec<(i64, String)> {
            macro_rules! body {
                ($c:expr, $sql:expr) => {
                    sqlx::query($sql)
                        .bind("Needle")
                        .fetch_all(&mut *$c)
                        .await
                        .unwrap()
                        .iter()
                        .map(|r| (r.get(0), r.get(1)))
                        .collect()
                };
            }
            match self {
                RawConn::Pg(c) => body!(
                    c,
                    "SELECT a.id, a.name FROM rf_authors a WHERE EXISTS \
                     (SELECT 1 FROM rf_books b WHERE b.author_id = a.id AND b.title = $1)"
                ),
                RawConn::My(c) => body!(c, SELECT),
            }
        }
    }
}
