//! The unit-of-work workload's table `author(id, name, email, age, version)`: the entity
//! Coherent maps it to, and the hand-written rusqlite side (cached statements, one
//! transaction, multi-row INSERT and `IN`-list DELETE in chunks of 300), shared by the
//! unit-of-work and scaling benches.

use coherent::prelude::*;
use rusqlite::params;

#[derive(Entity, Clone, Debug)]
#[entity(table = "author")]
pub struct Author {
    #[primary_key]
    pub id: i64,
    pub name: String,
    pub email: String,
    pub age: i32,
    pub version: i64,
}

pub fn author(i: usize) -> Author {
    Author {
        id: 0,
        name: format!("author {i}"),
        email: format!("author{i}@example.com"),
        age: (i % 90) as i32,
        version: 1,
    }
}

pub struct Raw {
    pub conn: rusqlite::Connection,
}

#[derive(Clone, Debug)]
pub struct RawAuthor {
    pub id: i64,
    pub name: String,
    pub email: String,
    pub age: i32,
    pub version: i64,
}

/// Coherent's Orm on a SQLite file at `orm_path` with the `author` table created, and the
/// rusqlite side on `raw_path` with the same DDL.
pub async fn open_both(orm_path: &std::path::Path, raw_path: &std::path::Path) -> (Orm, Raw) {
    let orm = Orm::builder()
        .url(format!("sqlite://{}", orm_path.display()))
        .entity::<Author>()
        .build()
        .await
        .unwrap();
    orm.schema().create().await.unwrap();
    let raw = Raw::open(raw_path, &orm.schema().create_sql());
    (orm, raw)
}

impl Raw {
    pub fn open(path: &std::path::Path, ddl: &[String]) -> Raw {
        Raw {
            conn: super::rusqlite_open(path, ddl),
        }
    }

    pub fn clear(&self) {
        self.conn.execute("DELETE FROM author", []).unwrap();
    }

    /// Multi-row INSERT .. RETURNING id in chunks of 300, in one transaction; ids assigned
    /// to the structs.
    pub fn insert(&self, rows: &mut [RawAuthor]) {
        let tx = self.conn.unchecked_transaction().unwrap();
        for chunk in rows.chunks_mut(300) {
            let mut sql = String::from("INSERT INTO author (name, email, age, version) VALUES ");
            for i in 0..chunk.len() {
                sql.push_str(if i == 0 {
                    "(?, ?, ?, ?)"
                } else {
                    ", (?, ?, ?, ?)"
                });
            }
            sql.push_str(" RETURNING id");
            let mut st = tx.prepare_cached(&sql).unwrap();
            let mut values: Vec<&dyn rusqlite::ToSql> = Vec::with_capacity(chunk.len() * 4);
            for a in chunk.iter() {
                values.extend([
                    &a.name as &dyn rusqlite::ToSql,
                    &a.email,
                    &a.age,
                    &a.version,
                ]);
            }
            let mut ids: Vec<i64> = st
                .query_map(values.as_slice(), |r| r.get(0))
                .unwrap()
                .map(Result::unwrap)
                .collect();
            ids.sort_unstable();
            for (a, id) in chunk.iter_mut().zip(ids) {
                a.id = id;
            }
        }
        tx.commit().unwrap();
    }

    /// `iters` times: empty the table (untimed), build `n` structs and insert them; the
    /// time of the timed parts.
    pub fn timed_insert(&self, n: usize, iters: u64) -> std::time::Duration {
        let mut total = std::time::Duration::ZERO;
        for _ in 0..iters {
            self.clear();
            let t = std::time::Instant::now();
            let mut rows = raw_authors(n);
            self.insert(&mut rows);
            total += t.elapsed();
        }
        total
    }

    pub fn load_all(&self) -> Vec<RawAuthor> {
        let mut st = self
            .conn
            .prepare_cached("SELECT id, name, email, age, version FROM author")
            .unwrap();
        st.query_map([], raw_row)
            .unwrap()
            .map(Result::unwrap)
            .collect()
    }

    pub fn find(&self, id: i64) -> Option<RawAuthor> {
        let mut st = self
            .conn
            .prepare_cached("SELECT id, name, email, age, version FROM author WHERE id = ?")
            .unwrap();
        let mut rows = st.query_map([id], raw_row).unwrap();
        rows.next().map(Result::unwrap)
    }

    pub fn update_names(&self, rows: &[RawAuthor]) {
        let tx = self.conn.unchecked_transaction().unwrap();
        {
            let mut st = tx
                .prepare_cached("UPDATE author SET name = ? WHERE id = ?")
                .unwrap();
            for a in rows {
                assert_eq!(st.execute(params![a.name, a.id]).unwrap(), 1);
            }
        }
        tx.commit().unwrap();
    }

    pub fn delete(&self, rows: &[RawAuthor]) {
        let tx = self.conn.unchecked_transaction().unwrap();
        for chunk in rows.chunks(300) {
            let marks = vec!["?"; chunk.len()].join(", ");
            let mut st = tx
                .prepare_cached(&format!("DELETE FROM author WHERE id IN ({marks})"))
                .unwrap();
            st.execute(rusqlite::params_from_iter(chunk.iter().map(|a| a.id)))
                .unwrap();
        }
        tx.commit().unwrap();
    }
}

/// A row of `SELECT id, name, email, age, version FROM author`.
fn raw_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<RawAuthor> {
    Ok(RawAuthor {
        id: r.get(0)?,
        name: r.get(1)?,
        email: r.get(2)?,
        age: r.get(3)?,
        version: r.get(4)?,
    })
}

pub fn raw_authors(n: usize) -> Vec<RawAuthor> {
    (0..n)
        .map(|i| {
            let a = author(i);
            RawAuthor {
                id: 0,
                name: a.name,
                email: a.email,
                age: a.age,
                version: a.version,
            }
        })
        .collect()
}

impl super::Workload for Author {
    fn new_row(i: usize) -> Self {
        author(i)
    }
    fn rename(&mut self) {
        self.name.push('!');
    }
    fn rename_round(&mut self, round: u64) {
        self.name = format!("renamed {round} {}", self.id);
    }
    fn bump(&mut self) {
        self.age += 1;
    }
}
