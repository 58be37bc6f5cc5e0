//! Diesel's "load users with their posts" benchmark: Coherent beside a hand-written baseline
//! on the raw driver, in one run, on SQLite and (with the `postgres` and `mysql` features) on
//! PostgreSQL and MariaDB.
//!
//! Workload: `users(id, name, hair_color)` and `posts(id, user_id -> users, title, body)`,
//! U = 100 users with P = 10 posts each. One iteration loads every user with their posts:
//! - Coherent: into a fresh fork, `find_with::<User>(Filter::all(), populate(["posts"]))`:
//!   one SELECT of the users, one select-in of their posts, grouped into the collections;
//! - baseline (rusqlite on SQLite, sqlx on the servers): one SELECT of the users into structs,
//!   one SELECT of the posts `WHERE user_id IN (..)` with every user's key bound, grouped per
//!   user into a `Vec<(User, Vec<Post>)>`.
//!
//! Both sides have their own tables from the same DDL (Coherent's): on SQLite two files (WAL,
//! `synchronous=NORMAL`), on the servers a schema (PostgreSQL) or database (MariaDB) each.
//! Before timing, both sides' result is checked (U users, U x P posts); after all timing,
//! Coherent's statements per load are counted from its query log. The bench prints the median
//! of each side, the ratio, and the statements per backend.
//!
//! Run: `cargo bench -p coherent-bench --bench relations` (SQLite), and with the servers up
//! (`scripts/postgres.sh`, `scripts/mariadb.sh`):
//! `COHERENT_PG_URL=.. COHERENT_MYSQL_URL=.. cargo bench -p coherent-bench --features postgres,mysql --bench relations`
//! (`BENCH_USERS`, `BENCH_POSTS` override the sizes; a server whose URL is unset is skipped).

mod harness;

use coherent::prelude::*;
use harness::{Samples, StatementCounter, measure, print_summary, remove_db, size, temp_db};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

#[derive(Entity, Clone, Debug)]
#[entity(table = "users")]
struct User {
    #[primary_key]
    id: i64,
    name: String,
    hair_color: Option<String>,
    #[one_to_many(mapped_by = "user")]
    posts: Collection<Post>,
}

#[derive(Entity, Clone, Debug)]
#[entity(table = "posts")]
struct Post {
    #[primary_key]
    id: i64,
    #[many_to_one]
    user: Ref<User>,
    title: String,
    body: Option<String>,
}

/// The phase, as `print_summary` names it.
const PHASE: &str = "load U users with their posts";

/// The statements of one load on the hand-written side: the users, then their posts.
const RAW_STATEMENTS: usize = 2;

/// Sizes: `BENCH_USERS` users with `BENCH_POSTS` posts each.
#[derive(Clone, Copy)]
struct Sizes {
    users: usize,
    posts: usize,
}

/// The `i`-th user's values: every other user has a hair colour.
fn user_values(i: usize) -> (String, Option<String>) {
    (
        format!("user {i}"),
        i.is_multiple_of(2)
            .then(|| ["black", "brown", "red"][i % 3].to_string()),
    )
}

/// The `j`-th post of user `i`: every other post has a body.
fn post_values(i: usize, j: usize) -> (String, Option<String>) {
    (
        format!("post {j} of user {i}"),
        j.is_multiple_of(2)
            .then(|| format!("the body of post {j} of user {i}")),
    )
}

// ---------------------------------------------------------------- Coherent

/// Inserts the users with their posts through Coherent.
async fn seed_coherent(orm: &Orm, sizes: Sizes) {
    let em = orm.em().fork();
    for i in 0..sizes.users {
        let (name, hair_color) = user_values(i);
        let user = em
            .persist(User {
                id: 0,
                name,
                hair_color,
                posts: Collection::new(),
            })
            .unwrap();
        for j in 0..sizes.posts {
            let (title, body) = post_values(i, j);
            let post = Post {
                id: 0,
                user: Ref::to(&user),
                title,
                body,
            };
            user.write().posts.add_new(post).unwrap();
        }
    }
    em.flush().await.unwrap();
}

/// One load: every user with their posts, into a fresh fork.
async fn load_coherent(orm: &Orm) -> Vec<Managed<User>> {
    orm.em()
        .fork()
        .find_with::<User>(Filter::all(), FindOptions::default().populate(["posts"]))
        .await
        .unwrap()
}

/// What Coherent's load saw.
fn coherent_seen(users: &[Managed<User>]) -> Seen {
    users
        .iter()
        .map(|u| {
            let u = u.read();
            let posts = u.posts.items().unwrap().iter().map(|p| {
                let p = p.read();
                (p.id, p.user.key(), p.title.clone(), p.body.clone())
            });
            (
                (u.id, u.name.clone(), u.hair_color.clone()),
                posts.collect(),
            )
        })
        .collect()
}

async fn time_coherent(orm: &Orm, iters: u64) -> Duration {
    let t = Instant::now();
    for _ in 0..iters {
        std::hint::black_box(load_coherent(orm).await);
    }
    t.elapsed()
}

// ---------------------------------------------------------------- the hand-written side

#[derive(Debug)]
struct RawUser {
    id: i64,
    name: String,
    hair_color: Option<String>,
}

#[derive(Debug)]
struct RawPost {
    id: i64,
    user_id: i64,
    title: String,
    body: Option<String>,
}

/// The hand-written side's rows, with the keys 1, 2, ..: the users' values.
fn users(sizes: Sizes) -> impl Iterator<Item = (i64, String, Option<String>)> {
    (0..sizes.users).map(|i| {
        let (name, hair_color) = user_values(i);
        (i as i64 + 1, name, hair_color)
    })
}

/// The hand-written side's rows: the posts' values with their user's key.
fn posts(sizes: Sizes) -> impl Iterator<Item = (i64, i64, String, Option<String>)> {
    (0..sizes.users).flat_map(move |i| {
        (0..sizes.posts).map(move |j| {
            let (title, body) = post_values(i, j);
            ((i * sizes.posts + j) as i64 + 1, i as i64 + 1, title, body)
        })
    })
}

const INSERT_USER: &str = "INSERT INTO users (id, name, hair_color) VALUES (?, ?, ?)";
const INSERT_POST: &str = "INSERT INTO posts (id, user_id, title, body) VALUES (?, ?, ?, ?)";
const SELECT_USERS: &str = "SELECT id, name, hair_color FROM users";

/// `SELECT .. FROM posts WHERE user_id IN (<marks>)`, the marks numbered from 1 by `mark`.
fn select_posts(n: usize, mark: impl Fn(usize) -> String) -> String {
    let marks: Vec<String> = (1..=n).map(mark).collect();
    format!(
        "SELECT id, user_id, title, body FROM posts WHERE user_id IN ({})",
        marks.join(", ")
    )
}

/// The posts grouped per user, in the users' order.
fn group(users: Vec<RawUser>, posts: Vec<RawPost>) -> Vec<(RawUser, Vec<RawPost>)> {
    let index: HashMap<i64, usize> = users.iter().enumerate().map(|(i, u)| (u.id, i)).collect();
    let mut out: Vec<(RawUser, Vec<RawPost>)> =
        users.into_iter().map(|u| (u, Vec::new())).collect();
    for p in posts {
        out[index[&p.user_id]].1.push(p);
    }
    out
}

/// What the hand-written load saw.
fn raw_seen(loaded: Vec<(RawUser, Vec<RawPost>)>) -> Seen {
    loaded
        .into_iter()
        .map(|(u, posts)| {
            let posts = posts
                .into_iter()
                .map(|p| (p.id, p.user_id, p.title, p.body));
            ((u.id, u.name, u.hair_color), posts.collect())
        })
        .collect()
}

/// rusqlite on a file of its own.
struct Sqlite {
    conn: rusqlite::Connection,
}

impl Sqlite {
    fn open(path: &std::path::Path, ddl: &[String]) -> Sqlite {
        Sqlite {
            conn: harness::rusqlite_open(path, ddl),
        }
    }

    fn seed(&self, sizes: Sizes) {
        let tx = self.conn.unchecked_transaction().unwrap();
        for (id, name, hair_color) in users(sizes) {
            tx.execute(INSERT_USER, rusqlite::params![id, name, hair_color])
                .unwrap();
        }
        for (id, user_id, title, body) in posts(sizes) {
            tx.execute(INSERT_POST, rusqlite::params![id, user_id, title, body])
                .unwrap();
        }
        tx.commit().unwrap();
    }

    fn load(&self) -> Vec<(RawUser, Vec<RawPost>)> {
        let users: Vec<RawUser> = self
            .conn
            .prepare_cached(SELECT_USERS)
            .unwrap()
            .query_map([], |r| {
                Ok(RawUser {
                    id: r.get(0)?,
                    name: r.get(1)?,
                    hair_color: r.get(2)?,
                })
            })
            .unwrap()
            .map(Result::unwrap)
            .collect();
        let mut st = self
            .conn
            .prepare_cached(&select_posts(users.len(), |_| "?".into()))
            .unwrap();
        let posts: Vec<RawPost> = st
            .query_map(
                rusqlite::params_from_iter(users.iter().map(|u| u.id)),
                |r| {
                    Ok(RawPost {
                        id: r.get(0)?,
                        user_id: r.get(1)?,
                        title: r.get(2)?,
                        body: r.get(3)?,
                    })
                },
            )
            .unwrap()
            .map(Result::unwrap)
            .collect();
        group(users, posts)
    }
}

// ---------------------------------------------------------------- the run

fn main() {
    let sizes = Sizes {
        users: size("BENCH_USERS", 100),
        posts: size("BENCH_POSTS", 10),
    };
    let rt = harness::runtime();
    let mut c = harness::criterion();
    // (backend, its Orm, its samples); the statements are counted after all timing.
    let mut runs: Vec<(&str, Orm, Samples, &'static str)> = Vec::new();

    let orm_path = temp_db("relations-orm");
    let raw_path = temp_db("relations-raw");
    let orm = rt.block_on(async {
        let orm = Orm::builder()
            .url(format!("sqlite://{}", orm_path.display()))
            .entity::<User>()
            .entity::<Post>()
            .build()
            .await
            .unwrap();
        orm.schema().create().await.unwrap();
        seed_coherent(&orm, sizes).await;
        orm
    });
    let raw = Sqlite::open(&raw_path, &orm.schema().create_sql());
    raw.seed(sizes);
    check(
        sizes,
        coherent_seen(&rt.block_on(load_coherent(&orm))),
        raw_seen(raw.load()),
    );
    let samples: Samples = Arc::default();
    let mut g = c.benchmark_group("relations/sqlite");
    measure(&mut g, "load", "coherent", PHASE, &samples, |iters| {
        rt.block_on(time_coherent(&orm, iters))
    });
    measure(&mut g, "load", "rusqlite", PHASE, &samples, |iters| {
        let t = Instant::now();
        for _ in 0..iters {
            std::hint::black_box(raw.load());
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
            "coherent_bench_relations",
            |b| b.entity::<User>().entity::<Post>(),
        ));
        rt.block_on(async {
            seed_coherent(&orm, sizes).await;
            raw.seed(sizes).await;
            check(
                sizes,
                coherent_seen(&load_coherent(&orm).await),
                raw_seen(raw.load().await),
            );
        });
        let samples: Samples = Arc::default();
        let mut g = c.benchmark_group(format!("relations/{name}"));
        measure(&mut g, "load", "coherent", PHASE, &samples, |iters| {
            rt.block_on(time_coherent(&orm, iters))
        });
        measure(&mut g, "load", "sqlx", PHASE, &samples, |iters| {
            rt.block_on(async {
                let t = Instant::now();
                for _ in 0..iters {
                    std::hint::black_box(raw.load().await);
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
            rt.block_on(load_coherent(orm));
            counter.take()
        })
        .collect();
    c.final_summary();
    for ((name, _, samples, baseline), count) in runs.iter().zip(&counts) {
        print_summary(
            &format!(
                "Load users with their posts on {name}, U = {}, P = {}",
                sizes.users, sizes.posts
            ),
            samples,
            &[PHASE.to_string()],
            baseline,
            &[(*count, RAW_STATEMENTS)],
        );
    }
    remove_db(&orm_path);
    remove_db(&raw_path);
    for ((name, ..), count) in runs.iter().zip(counts) {
        assert_eq!(
            count, 2,
            "{name}: Coherent loads users with their posts in 2 statements"
        );
    }
}

/// What a load saw, comparable across the sides: per user (key, name, hair colour) and its
/// posts (key, user's key, title, body).
type Seen = Vec<(
    (i64, String, Option<String>),
    Vec<(i64, i64, String, Option<String>)>,
)>;

/// Both sides see every user with every post, as seeded (Coherent's keys too: they count
/// from 1 in the order of persisting).
fn check(sizes: Sizes, coherent: Seen, raw: Seen) {
    let mut expected: Seen = users(sizes).map(|u| (u, Vec::new())).collect();
    for p in posts(sizes) {
        expected[p.1 as usize - 1].1.push(p);
    }
    let sorted = |mut seen: Seen| {
        seen.sort();
        seen.iter_mut().for_each(|(_, posts)| posts.sort());
        seen
    };
    let (coherent, raw) = (sorted(coherent), sorted(raw));
    assert_eq!(coherent.len(), sizes.users);
    assert_eq!(
        coherent.iter().map(|(_, p)| p.len()).sum::<usize>(),
        sizes.users * sizes.posts
    );
    assert!(
        coherent == expected,
        "Coherent's load differs from the seed"
    );
    assert!(
        raw == expected,
        "the hand-written load differs from the seed"
    );
}

// ---------------------------------------------------------------- servers

#[cfg(all(feature = "postgres", feature = "mysql"))]
mod servers {
    use super::*;
    use harness::server::RawConn;
    use sqlx::Row;

    macro_rules! row_user {
        ($r:expr) => {
            RawUser {
                id: $r.get(0),
                name: $r.get(1),
                hair_color: $r.get(2),
            }
        };
    }

    macro_rules! row_post {
        ($r:expr) => {
            RawPost {
                id: $r.get(0),
                user_id: $r.get(1),
                title: $r.get(2),
                body: $r.get(3),
            }
        };
    }

    impl RawConn {
        /// Every user and post, one row a statement, in one transaction.
        pub(crate) async fn seed(&mut self, sizes: Sizes) {
            use sqlx::Connection;
            macro_rules! body {
                ($c:expr, $user:expr, $post:expr) => {{
                    let mut tx = $c.begin().await.unwrap();
                    for (id, name, hair_color) in users(sizes) {
                        sqlx::query($user)
                            .bind(id)
                            .bind(name)
                            .bind(hair_color)
                            .execute(&mut *tx)
                            .await
                            .unwrap();
                    }
                    for (id, user_id, title, body) in posts(sizes) {
                        sqlx::query($post)
                            .bind(id)
                            .bind(user_id)
                            .bind(title)
                            .bind(body)
                            .execute(&mut *tx)
                            .await
                            .unwrap();
                    }
                    tx.commit().await.unwrap();
                }};
            }
            match self {
                RawConn::Pg(c) => body!(
                    c,
                    "INSERT INTO users (id, name, hair_color) VALUES ($1, $2, $3)",
                    "INSERT INTO posts (id, user_id, title, body) VALUES ($1, $2, $3, $4)"
                ),
                RawConn::My(c) => body!(c, INSERT_USER, INSERT_POST),
            }
        }

        pub(crate) async fn load(&mut self) -> Vec<(RawUser, Vec<RawPost>)> {
            macro_rules! body {
                ($c:expr, $mark:expr) => {{
                    let users: Vec<RawUser> = sqlx::query(SELECT_USERS)
                        .fetch_all(&mut *$c)
                        .await
                        .unwrap()
                        .iter()
                        .map(|r| row_user!(r))
                        .collect();
                    let sql = select_posts(users.len(), $mark);
                    let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
                    for u in &users {
                        q = q.bind(u.id);
                    }
                    let posts: Vec<RawPost> = q
                        .fetch_all(&mut *$c)
                        .await
                        .unwrap()
                        .iter()
                        .map(|r| row_post!(r))
                        .collect();
                    group(users, posts)
                }};
            }
            match self {
                RawConn::Pg(c) => body!(c, |i| format!("${i}")),
                RawConn::My(c) => body!(c, |_| "?".to_string()),
            }
        }
    }
}
