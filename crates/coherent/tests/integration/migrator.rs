//! The Migrator (`coherent::migrate`) on every backend: order, status, idempotence, down and
//! up again, the refusals (a changed file, a malformed one, a down past what is applied, a
//! database ahead of the files, a migration failing halfway), Rust migrations, embedded
//! migrations, and Migrators on separate Orms racing `up`. Every failure checks the error
//! and what the database holds afterwards (its tables and history rows).

use crate::common::*;
use coherent::core::BoxFuture;
use coherent::migrate::migration::{MigrationContext, Migrations, RustMigration};
use coherent::migrate::migrator::{MigrationState, Migrator, Resolution};
use coherent::migrate::{Error, HISTORY_TABLE};
use coherent::{Orm, Value};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

static NEXT_DIR: AtomicU64 = AtomicU64::new(0);

/// A fresh, empty migrations directory (removed when dropped).
struct Dir(PathBuf);

impl Dir {
    fn new(test: &str) -> Dir {
        let path = std::env::temp_dir().join(format!(
            "coherent-migrations-{test}-{}-{}",
            std::process::id(),
            NEXT_DIR.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&path).unwrap();
        Dir(path)
    }

    /// Writes (or overwrites) the migration `name`.
    fn write(&self, name: &str, up: &str, down: Option<&str>) -> &Dir {
        let dir = self.0.join(name);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("up.sql"), up).unwrap();
        match down {
            Some(down) => std::fs::write(dir.join("down.sql"), down).unwrap(),
            None => {
                let _ = std::fs::remove_file(dir.join("down.sql"));
            }
        }
        self
    }

    fn path(&self) -> &Path {
        &self.0
    }

    fn migrations(&self) -> Migrations {
        Migrations::from_dir(&self.0).unwrap()
    }
}

impl Drop for Dir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

const A: &str = "20260101000000_create_items";
const B: &str = "20260102000000_seed_items";
const C: &str = "20260103000000_create_tags";

/// Three migrations, each depending on the one before (B fills A's table; C is
/// independent), all reversible.
fn three(test: &str) -> Dir {
    let dir = Dir::new(test);
    dir.write(
        A,
        "CREATE TABLE items (id BIGINT NOT NULL PRIMARY KEY, label VARCHAR(50) NOT NULL);\n",
        Some("DROP TABLE items;\n"),
    )
    .write(
        B,
        "-- two rows\nINSERT INTO items (id, label) VALUES (1, 'one; uno');\nINSERT INTO items (id, label) VALUES (2, 'it''s two');\n",
        Some("DELETE FROM items;\n"),
    )
    .write(
        C,
        "CREATE TABLE item_tags (id BIGINT NOT NULL PRIMARY KEY);",
        Some("DROP TABLE item_tags;"),
    );
    dir
}

/// The history rows as (name, state).
async fn history(b: &Backend, orm: &Orm) -> Vec<(String, String)> {
    if !b.tables(orm).await.iter().any(|t| t == HISTORY_TABLE) {
        return Vec::new();
    }
    orm.em()
        .query(
            &format!("SELECT name, state FROM {HISTORY_TABLE} ORDER BY name"),
            vec![],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get("name").unwrap(), r.get("state").unwrap()))
        .collect()
}

/// The tables, sorted in Rust (MariaDB's collation sorts `_` after letters).
async fn tables(b: &Backend, orm: &Orm) -> Vec<String> {
    let mut tables = b.tables(orm).await;
    tables.sort();
    tables
}

/// `names`, each `applied`.
fn applied(names: &[&str]) -> Vec<(String, String)> {
    names
        .iter()
        .map(|n| (n.to_string(), "applied".to_string()))
        .collect()
}

/// The `id`s in `table`.
async fn ids(orm: &Orm, table: &str) -> Vec<i64> {
    orm.em()
        .query(&format!("SELECT id FROM {table} ORDER BY id"), vec![])
        .await
        .unwrap()
        .iter()
        .map(|r| r.get("id").unwrap())
        .collect()
}

fn strings(names: &[&str]) -> Vec<String> {
    names.iter().map(|s| s.to_string()).collect()
}

#[tokio::test]
async fn applies_in_order_with_status_and_pending() {
    for b in backends() {
        let orm = b.second_orm().await;
        let dir = three("order");
        let migrator = Migrator::new(&orm, dir.migrations());
        assert_eq!(migrator.pending().await.unwrap(), [A, B, C], "{}", b.name);
        let status = migrator.status().await.unwrap();
        assert!(
            status
                .iter()
                .all(|s| s.state == MigrationState::Pending && s.record.is_none())
        );
        assert!(
            tables(&b, &orm).await.is_empty(),
            "{}: status creates nothing",
            b.name
        );

        assert_eq!(migrator.up().await.unwrap(), [A, B, C], "{}", b.name);
        assert_eq!(
            tables(&b, &orm).await,
            [HISTORY_TABLE, "item_tags", "items"],
            "{}",
            b.name
        );
        assert_eq!(ids(&orm, "items").await, [1, 2], "{}", b.name);
        assert_eq!(history(&b, &orm).await, applied(&[A, B, C]), "{}", b.name);
        assert!(migrator.pending().await.unwrap().is_empty());
        let status = migrator.status().await.unwrap();
        assert_eq!(status.len(), 3);
        for (s, m) in status.iter().zip(migrator.migrations()) {
            assert_eq!(s.state, MigrationState::Applied, "{}: {}", b.name, s.name);
            let record = s.record.as_ref().unwrap();
            assert_eq!(record.checksum, m.checksum());
            assert!(record.applied_at.ends_with('Z') && record.applied_at.len() == 20);
        }

        // Again: nothing to do, nothing changes.
        assert!(migrator.up().await.unwrap().is_empty(), "{}", b.name);
        assert_eq!(migrator.status().await.unwrap(), status, "{}", b.name);
        assert_eq!(ids(&orm, "items").await, [1, 2], "{}", b.name);
    }
}

#[tokio::test]
async fn down_then_up_again() {
    for b in backends() {
        let orm = b.second_orm().await;
        let dir = three("down");
        let migrator = Migrator::new(&orm, dir.migrations());
        migrator.up().await.unwrap();

        assert_eq!(migrator.down(2).await.unwrap(), [C, B], "{}", b.name);
        assert_eq!(
            tables(&b, &orm).await,
            [HISTORY_TABLE, "items"],
            "{}",
            b.name
        );
        assert!(ids(&orm, "items").await.is_empty(), "{}", b.name);
        assert_eq!(history(&b, &orm).await, applied(&[A]), "{}", b.name);
        assert_eq!(migrator.pending().await.unwrap(), [B, C]);

        assert_eq!(migrator.up().await.unwrap(), [B, C], "{}", b.name);
        assert_eq!(ids(&orm, "items").await, [1, 2], "{}", b.name);
        assert_eq!(history(&b, &orm).await, applied(&[A, B, C]), "{}", b.name);

        assert_eq!(migrator.down_to(A).await.unwrap(), [C, B], "{}", b.name);
        assert_eq!(history(&b, &orm).await, applied(&[A]), "{}", b.name);
        assert!(migrator.down(0).await.unwrap().is_empty());

        // More than are applied: refused before anything is reverted.
        let err = migrator.down(2).await.unwrap_err();
        assert!(
            matches!(
                err,
                Error::NotEnoughApplied {
                    requested: 2,
                    applied: 1
                }
            ),
            "{}: {err}",
            b.name
        );
        assert_eq!(history(&b, &orm).await, applied(&[A]), "{}", b.name);
        assert_eq!(
            tables(&b, &orm).await,
            [HISTORY_TABLE, "items"],
            "{}",
            b.name
        );

        assert_eq!(migrator.down(1).await.unwrap(), [A], "{}", b.name);
        assert_eq!(tables(&b, &orm).await, [HISTORY_TABLE], "{}", b.name);
        assert!(history(&b, &orm).await.is_empty());
    }
}

#[tokio::test]
async fn down_of_a_migration_not_applied_is_refused() {
    for b in backends() {
        let orm = b.second_orm().await;
        let dir = three("not-applied");
        dir.write(
            "20260104000000_irreversible",
            "CREATE TABLE one_way (id BIGINT NOT NULL PRIMARY KEY);",
            None,
        );
        let migrator = Migrator::new(&orm, dir.migrations());

        let err = migrator.down_to(A).await.unwrap_err();
        assert!(
            matches!(&err, Error::NotApplied { migration } if migration == A),
            "{}: {err}",
            b.name
        );
        assert_eq!(err.to_string(), format!("migration {A} is not applied"));
        assert!(history(&b, &orm).await.is_empty(), "{}", b.name);

        migrator.up().await.unwrap();
        migrator.down_to(A).await.unwrap_err(); // the irreversible one is in the way
        let err = migrator.down(1).await.unwrap_err();
        assert!(
            matches!(&err, Error::Irreversible { migration } if migration == "20260104000000_irreversible"),
            "{}: {err}",
            b.name
        );
        assert_eq!(
            history(&b, &orm).await,
            applied(&[A, B, C, "20260104000000_irreversible"]),
            "{}: nothing was reverted",
            b.name
        );
        assert_eq!(
            tables(&b, &orm).await,
            [HISTORY_TABLE, "item_tags", "items", "one_way"],
            "{}",
            b.name
        );
        assert_eq!(ids(&orm, "items").await, [1, 2], "{}", b.name);
    }
}

#[tokio::test]
async fn a_changed_file_of_an_applied_migration_is_refused() {
    for b in backends() {
        let orm = b.second_orm().await;
        let dir = three("checksum");
        let before = dir.migrations();
        let old = before.get(B).unwrap().checksum().to_owned();
        Migrator::new(&orm, before).up().await.unwrap();

        dir.write(
            B,
            "INSERT INTO items (id, label) VALUES (3, 'three');",
            Some("DELETE FROM items;"),
        );
        dir.write(
            "20260104000000_more",
            "CREATE TABLE more_items (id BIGINT NOT NULL PRIMARY KEY);",
            None,
        );
        let migrator = Migrator::new(&orm, dir.migrations());
        let new = migrator.migrations().get(B).unwrap().checksum().to_owned();
        for err in [
            migrator.up().await.unwrap_err(),
            migrator.down(1).await.unwrap_err(),
        ] {
            assert!(
                matches!(&err, Error::ChecksumMismatch { migration, applied, found }
                    if migration == B && *applied == old && *found == new),
                "{}: {err}",
                b.name
            );
        }
        let status = migrator.status().await.unwrap();
        let states: Vec<MigrationState> = status.iter().map(|s| s.state).collect();
        use MigrationState::*;
        assert_eq!(states, [Applied, Changed, Applied, Pending], "{}", b.name);
        assert_eq!(
            tables(&b, &orm).await,
            [HISTORY_TABLE, "item_tags", "items"],
            "{}: the pending migration did not run",
            b.name
        );
        assert_eq!(history(&b, &orm).await, applied(&[A, B, C]), "{}", b.name);
        assert_eq!(ids(&orm, "items").await, [1, 2], "{}", b.name);
    }
}

#[tokio::test]
async fn a_migration_failing_halfway_is_undone_or_reported_half_applied() {
    const BAD: &str = "20260102000000_half";
    for b in backends() {
        let orm = b.second_orm().await;
        let dir = Dir::new("halfway");
        dir.write(
            A,
            "CREATE TABLE items (id BIGINT NOT NULL PRIMARY KEY, label VARCHAR(50) NOT NULL);",
            Some("DROP TABLE items;"),
        )
        .write(
            BAD,
            "CREATE TABLE half (id BIGINT NOT NULL PRIMARY KEY);\nINSERT INTO no_such_table (id) VALUES (1);\nCREATE TABLE never (id BIGINT);",
            Some("DROP TABLE half;"),
        )
        .write(
            C,
            "CREATE TABLE item_tags (id BIGINT NOT NULL PRIMARY KEY);",
            Some("DROP TABLE item_tags;"),
        );
        let migrator = Migrator::new(&orm, dir.migrations());

        let err = migrator.up().await.unwrap_err();
        let Error::Failed {
            migration,
            file,
            statement,
            sql,
            source,
        } = &err
        else {
            panic!("{}: {err}", b.name)
        };
        assert_eq!(migration, BAD, "{}", b.name);
        assert!(file.ends_with("up.sql") && file.contains(BAD), "{file}");
        assert_eq!(*statement, 1, "{}", b.name);
        assert_eq!(sql, "INSERT INTO no_such_table (id) VALUES (1)");
        assert!(
            !matches!(**source, coherent::Error::Connection { .. }),
            "{source}"
        );
        let text = err.to_string();
        assert!(
            text.contains("at statement 2 of") && text.contains(sql),
            "{text}"
        );
        assert!(std::error::Error::source(&err).is_some());

        // The migration before stays applied, the one after did not run.
        assert_eq!(ids(&orm, "items").await, Vec::<i64>::new());
        if b.is_mysql() {
            // DDL committed as it went: `half` stays, and the migration is marked started.
            assert_eq!(tables(&b, &orm).await, [HISTORY_TABLE, "half", "items"]);
            assert_eq!(
                history(&b, &orm).await,
                [
                    (A.to_string(), "applied".to_string()),
                    (BAD.to_string(), "started".to_string())
                ]
            );
            for err in [
                migrator.up().await.unwrap_err(),
                migrator.down(1).await.unwrap_err(),
            ] {
                assert!(
                    matches!(&err, Error::HalfApplied { migration } if migration == BAD),
                    "{err}"
                );
            }
            let states: Vec<MigrationState> = migrator
                .status()
                .await
                .unwrap()
                .iter()
                .map(|s| s.state)
                .collect();
            use MigrationState::*;
            assert_eq!(states, [Applied, HalfApplied, Pending]);
            assert_eq!(tables(&b, &orm).await, [HISTORY_TABLE, "half", "items"]);
            // Resolved by hand: the half-made table dropped, the migration marked rolled back.
            let err = migrator
                .resolve(A, Resolution::RolledBack)
                .await
                .unwrap_err();
            assert!(
                matches!(&err, Error::NotHalfApplied { migration } if migration == A),
                "{err}"
            );
            orm.em().execute("DROP TABLE half", vec![]).await.unwrap();
            migrator.resolve(BAD, Resolution::RolledBack).await.unwrap();
        } else {
            // Rolled back whole: the first statement's table is gone, nothing recorded.
            assert_eq!(
                tables(&b, &orm).await,
                [HISTORY_TABLE, "items"],
                "{}",
                b.name
            );
            assert_eq!(history(&b, &orm).await, applied(&[A]), "{}", b.name);
            let err = migrator
                .resolve(BAD, Resolution::Applied)
                .await
                .unwrap_err();
            assert!(matches!(&err, Error::NotHalfApplied { .. }), "{err}");
        }
        assert_eq!(migrator.pending().await.unwrap(), [BAD, C], "{}", b.name);

        // Fixed, it applies.
        dir.write(
            BAD,
            "CREATE TABLE half (id BIGINT NOT NULL PRIMARY KEY);\nINSERT INTO half (id) VALUES (1);",
            Some("DROP TABLE half;"),
        );
        let migrator = Migrator::new(&orm, dir.migrations());
        assert_eq!(migrator.up().await.unwrap(), [BAD, C], "{}", b.name);
        assert_eq!(ids(&orm, "half").await, [1], "{}", b.name);
        assert_eq!(history(&b, &orm).await, applied(&[A, BAD, C]), "{}", b.name);
    }
}

#[tokio::test]
async fn half_applied_resolved_as_applied_takes_the_fixed_file() {
    // MariaDB only: the migration is finished by hand and its file fixed to match.
    const BAD: &str = "20260102000000_half";
    for b in backends().into_iter().filter(|b| b.is_mysql()) {
        let orm = b.second_orm().await;
        let dir = Dir::new("resolve-applied");
        dir.write(
            BAD,
            "CREATE TABLE half (id BIGINT NOT NULL PRIMARY KEY);\nALTER TABLE no_such_table ADD COLUMN x INT;",
            Some("DROP TABLE half;"),
        );
        let migrator = Migrator::new(&orm, dir.migrations());
        assert!(matches!(
            migrator.up().await.unwrap_err(),
            Error::Failed { statement: 1, .. }
        ));
        dir.write(
            BAD,
            "CREATE TABLE half (id BIGINT NOT NULL PRIMARY KEY);",
            Some("DROP TABLE half;"),
        );
        let migrator = Migrator::new(&orm, dir.migrations());
        migrator.resolve(BAD, Resolution::Applied).await.unwrap();
        assert_eq!(history(&b, &orm).await, applied(&[BAD]));
        assert!(
            migrator.up().await.unwrap().is_empty(),
            "no checksum mismatch"
        );
        assert_eq!(migrator.down(1).await.unwrap(), [BAD]);
        assert_eq!(tables(&b, &orm).await, [HISTORY_TABLE]);
    }
}

#[tokio::test]
async fn malformed_files_are_refused_naming_them() {
    for b in backends() {
        let orm = b.second_orm().await;

        let dir = three("malformed-name");
        std::fs::create_dir(dir.path().join("2026_add_things")).unwrap();
        let err = Migrations::from_dir(dir.path()).unwrap_err();
        assert!(
            matches!(&err, Error::Malformed { path, reason } if path.ends_with("2026_add_things") && reason.contains("timestamp")),
            "{err}"
        );

        let dir = three("malformed-missing-up");
        std::fs::create_dir(dir.path().join("20260105000000_empty")).unwrap();
        let err = Migrations::from_dir(dir.path()).unwrap_err();
        assert!(
            matches!(&err, Error::Malformed { path, reason } if path.ends_with("20260105000000_empty") && reason.contains("no up.sql")),
            "{err}"
        );

        let dir = three("malformed-misspelt");
        std::fs::write(dir.path().join(A).join("donw.sql"), "DROP TABLE items;").unwrap();
        let err = Migrations::from_dir(dir.path()).unwrap_err();
        assert!(
            matches!(&err, Error::Malformed { path, .. } if path.ends_with("donw.sql")),
            "{err}"
        );

        let dir = three("malformed-sql");
        dir.write(
            C,
            "CREATE TABLE item_tags (id BIGINT);\nINSERT INTO item_tags VALUES ('unterminated);\n",
            None,
        );
        let err = Migrations::from_dir(dir.path()).unwrap_err();
        assert!(
            matches!(&err, Error::Malformed { path, reason }
                if path.ends_with(Path::new(C).join("up.sql")) && reason == "a string starting on line 2 is not closed"),
            "{err}"
        );
        assert!(err.to_string().contains("up.sql"), "{err}");

        // Plain files beside the migrations are not migrations.
        let dir = three("readme");
        std::fs::write(dir.path().join("README.md"), "notes").unwrap();
        assert_eq!(dir.migrations().len(), 3);

        // Nothing ran anywhere.
        assert!(tables(&b, &orm).await.is_empty(), "{}", b.name);
    }
}

#[tokio::test]
async fn a_database_ahead_of_the_files_is_refused() {
    for b in backends() {
        let orm = b.second_orm().await;
        let dir = three("ahead");
        Migrator::new(&orm, dir.migrations()).up().await.unwrap();

        // An older build: only the first migration's files.
        let old = Dir::new("ahead-old");
        old.write(
            A,
            &std::fs::read_to_string(dir.path().join(A).join("up.sql")).unwrap(),
            Some("DROP TABLE items;\n"),
        );
        let migrator = Migrator::new(&orm, old.migrations());
        for err in [
            migrator.up().await.unwrap_err(),
            migrator.down(1).await.unwrap_err(),
        ] {
            assert!(
                matches!(&err, Error::UnknownApplied { migrations } if *migrations == strings(&[B, C])),
                "{}: {err}",
                b.name
            );
        }
        let states: Vec<MigrationState> = migrator
            .status()
            .await
            .unwrap()
            .iter()
            .map(|s| s.state)
            .collect();
        use MigrationState::*;
        assert_eq!(states, [Applied, Unknown, Unknown], "{}", b.name);
        assert_eq!(history(&b, &orm).await, applied(&[A, B, C]), "{}", b.name);
        assert_eq!(
            tables(&b, &orm).await,
            [HISTORY_TABLE, "item_tags", "items"],
            "{}",
            b.name
        );
        assert_eq!(ids(&orm, "items").await, [1, 2], "{}", b.name);
    }
}

/// A Rust migration: inserts `ids` into `items` with bound values, reads them back, and then
/// (if `fail`) runs a statement that fails.
struct Fill {
    name: &'static str,
    ids: &'static [i64],
    fail: bool,
}

impl RustMigration for Fill {
    fn name(&self) -> &str {
        self.name
    }

    fn up<'a>(&'a self, tx: &'a mut MigrationContext<'_>) -> BoxFuture<'a, coherent::Result<()>> {
        Box::pin(async move {
            let insert = tx.placeholders("INSERT INTO items (id, label) VALUES (?, ?)");
            for id in self.ids {
                tx.execute(&insert, vec![Value::I64(*id), format!("rust {id}").into()])
                    .await?;
            }
            let select = tx.placeholders("SELECT id, label FROM items WHERE id >= ? ORDER BY id");
            let rows = tx.query(&select, vec![Value::I64(self.ids[0])]).await?;
            let labels: Vec<String> = rows.iter().map(|r| r.get("label").unwrap()).collect();
            assert_eq!(labels.len(), self.ids.len());
            if self.fail {
                tx.execute("UPDATE no_such_table SET x = 1", vec![]).await?;
            }
            Ok(())
        })
    }

    fn down<'a>(&'a self, tx: &'a mut MigrationContext<'_>) -> BoxFuture<'a, coherent::Result<()>> {
        Box::pin(async move {
            let delete = tx.placeholders("DELETE FROM items WHERE id >= ?");
            tx.execute(&delete, vec![Value::I64(self.ids[0])]).await?;
            Ok(())
        })
    }
}

#[tokio::test]
async fn rust_migrations_run_on_the_migration_transaction() {
    const GOOD: &str = "20260101120000_fill";
    const BAD: &str = "20260101130000_fill_and_fail";
    for b in backends() {
        let orm = b.second_orm().await;
        let dir = three("rust");
        let set = |fail_too: bool| {
            let set = dir
                .migrations()
                .rust(Fill {
                    name: GOOD,
                    ids: &[10, 11, 12],
                    fail: false,
                })
                .unwrap();
            if !fail_too {
                return set;
            }
            set.rust(Fill {
                name: BAD,
                ids: &[20, 21],
                fail: true,
            })
            .unwrap()
        };
        let migrator = Migrator::new(&orm, set(true));
        assert_eq!(migrator.pending().await.unwrap(), [A, GOOD, BAD, B, C]);

        let err = migrator.up().await.unwrap_err();
        let Error::Failed {
            migration,
            file,
            statement,
            sql,
            ..
        } = &err
        else {
            panic!("{}: {err}", b.name)
        };
        assert_eq!((migration.as_str(), *statement), (BAD, 3), "{}", b.name);
        assert!(file.ends_with("Fill::up"), "{file}");
        assert_eq!(sql, "UPDATE no_such_table SET x = 1");
        // The good one committed; the failing one's inserts were rolled back with it.
        assert_eq!(ids(&orm, "items").await, [10, 11, 12], "{}", b.name);
        let mut expected = applied(&[A, GOOD]);
        if b.is_mysql() {
            expected.push((BAD.into(), "started".into()));
            assert!(matches!(
                migrator.up().await.unwrap_err(),
                Error::HalfApplied { .. }
            ));
            migrator.resolve(BAD, Resolution::RolledBack).await.unwrap();
            expected.pop();
        }
        assert_eq!(history(&b, &orm).await, expected, "{}", b.name);

        // Without the failing one, the rest applies; down runs the Rust down.
        let migrator = Migrator::new(&orm, set(false));
        assert_eq!(migrator.up().await.unwrap(), [B, C], "{}", b.name);
        assert_eq!(ids(&orm, "items").await, [1, 2, 10, 11, 12], "{}", b.name);
        assert_eq!(
            migrator.down_to(A).await.unwrap(),
            [C, B, GOOD],
            "{}",
            b.name
        );
        assert!(ids(&orm, "items").await.is_empty(), "{}", b.name);
        assert_eq!(history(&b, &orm).await, applied(&[A]), "{}", b.name);
    }
}

#[tokio::test]
async fn embedded_migrations_apply() {
    for b in backends() {
        let orm = b.second_orm().await;
        let migrations = coherent::migrate::embed_migrations!("tests/fixtures/migrations").unwrap();
        assert_eq!(
            migrations.names().collect::<Vec<_>>(),
            ["20260101000000_create_notes", "20260102000000_seed_notes"]
        );
        let up = migrations
            .get("20260101000000_create_notes")
            .unwrap()
            .up_file()
            .unwrap();
        assert_eq!(
            up.path(),
            "tests/fixtures/migrations/20260101000000_create_notes/up.sql"
        );
        // The embedded set is the directory's, checksums included.
        let from_dir = Migrations::from_dir("tests/fixtures/migrations").unwrap();
        for (e, d) in migrations.iter().zip(&from_dir) {
            assert_eq!((e.name(), e.checksum()), (d.name(), d.checksum()));
        }

        let migrator = Migrator::new(&orm, migrations);
        assert_eq!(migrator.up().await.unwrap().len(), 2, "{}", b.name);
        let bodies: Vec<String> = orm
            .em()
            .query("SELECT body FROM notes ORDER BY id", vec![])
            .await
            .unwrap()
            .iter()
            .map(|r| r.get("body").unwrap())
            .collect();
        assert_eq!(bodies, ["first; with a semicolon", "it's the second"]);
        assert_eq!(migrator.down(2).await.unwrap().len(), 2);
        assert_eq!(tables(&b, &orm).await, [HISTORY_TABLE], "{}", b.name);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn racing_migrators_apply_each_migration_exactly_once() {
    const INSTANCES: usize = 4;
    for b in backends().into_iter().filter(|b| b.shared_between_orms()) {
        let dir = Dir::new("race");
        dir.write(
            "20260101000000_race_log",
            "CREATE TABLE race_log (name VARCHAR(100) NOT NULL);",
            None,
        );
        let orms = futures_all((0..INSTANCES).map(|_| b.second_orm()).collect::<Vec<_>>()).await;
        for round in 1..=3 {
            // Each round adds migrations that each log themselves once and change the schema.
            for i in 0..3 {
                let name = format!("2026010{round}0000{i}0_round_{round}_{i}");
                dir.write(
                    &name,
                    &format!(
                        "INSERT INTO race_log (name) VALUES ('{name}');\nCREATE TABLE race_{round}_{i} (id BIGINT);"
                    ),
                    None,
                );
            }
            let handles: Vec<_> = orms
                .iter()
                .map(|orm| {
                    let migrator = Migrator::new(orm, dir.migrations());
                    tokio::spawn(async move { migrator.up().await })
                })
                .collect();
            let mut all: Vec<String> = Vec::new();
            for handle in handles {
                let applied = handle
                    .await
                    .unwrap()
                    .unwrap_or_else(|e| panic!("{}: {e}", b.name));
                all.extend(applied);
            }
            all.sort();
            let expected: Vec<String> = dir.migrations().names().map(str::to_owned).collect();
            let new = if round == 1 {
                &expected[..]
            } else {
                &expected[expected.len() - 3..]
            };
            assert_eq!(
                all, new,
                "{} round {round}: each applied exactly once",
                b.name
            );

            let logged: Vec<String> = orms[0]
                .em()
                .query("SELECT name FROM race_log ORDER BY name", vec![])
                .await
                .unwrap()
                .iter()
                .map(|r| r.get("name").unwrap())
                .collect();
            assert_eq!(logged, expected[1..], "{} round {round}", b.name);
            let names: Vec<&str> = expected.iter().map(String::as_str).collect();
            assert_eq!(history(&b, &orms[0]).await, applied(&names), "{}", b.name);
        }
    }
}

/// Awaits every future, in order.
async fn futures_all<F: std::future::Future>(futures: Vec<F>) -> Vec<F::Output> {
    let mut out = Vec::with_capacity(futures.len());
    for f in futures {
        out.push(f.await);
    }
    out
}

#[tokio::test]
async fn routine_and_trigger_bodies_run_whole() {
    for b in backends() {
        let orm = b.second_orm().await;
        let trigger = match b.dialect() {
            coherent::Dialect::Sqlite => {
                "CREATE TRIGGER count_events AFTER INSERT ON events BEGIN\n  UPDATE counters SET n = n + 1;\n  UPDATE counters SET n = n + CASE WHEN NEW.id > 1 THEN 10 ELSE 0 END;\nEND;"
            }
            coherent::Dialect::Postgres => {
                "CREATE FUNCTION count_event() RETURNS trigger AS $body$\nBEGIN\n  UPDATE counters SET n = n + 1;\n  UPDATE counters SET n = n + CASE WHEN NEW.id > 1 THEN 10 ELSE 0 END;\n  RETURN NEW;\nEND;\n$body$ LANGUAGE plpgsql;\nCREATE TRIGGER count_events AFTER INSERT ON events FOR EACH ROW EXECUTE FUNCTION count_event();"
            }
            coherent::Dialect::MySql => {
                "CREATE TRIGGER count_events AFTER INSERT ON events FOR EACH ROW BEGIN\n  UPDATE counters SET n = n + 1;\n  IF NEW.id > 1 THEN UPDATE counters SET n = n + 10; END IF;\nEND;"
            }
        };
        let dir = Dir::new("routines");
        dir.write(
            "20260101000000_events",
            &format!(
                "CREATE TABLE counters (n BIGINT NOT NULL);\nINSERT INTO counters (n) VALUES (0);\nCREATE TABLE events (id BIGINT NOT NULL);\n{trigger}\nINSERT INTO events (id) VALUES (1);\nINSERT INTO events (id) VALUES (2);\n"
            ),
            None,
        );
        let migrator = Migrator::new(&orm, dir.migrations());
        migrator
            .up()
            .await
            .unwrap_or_else(|e| panic!("{}: {e}", b.name));
        let n: i64 = orm
            .em()
            .query("SELECT n FROM counters", vec![])
            .await
            .unwrap()[0]
            .get("n")
            .unwrap();
        assert_eq!(n, 12, "{}", b.name);
    }
}

/// The first instance: an Orm of `b` whose Migrator's `up` runs [`Gate`], returned once it
/// holds the lock inside the migration, with its task and what lets the migration finish.
async fn gated_up(
    b: &Backend,
) -> (
    Orm,
    tokio::task::JoinHandle<Result<Vec<String>, Error>>,
    tokio::sync::oneshot::Sender<()>,
) {
    let orm = b.second_orm().await;
    let (started, started_rx) = tokio::sync::oneshot::channel();
    let (release, release_rx) = tokio::sync::oneshot::channel();
    let gate = Gate {
        started: std::sync::Mutex::new(Some(started)),
        release: std::sync::Mutex::new(Some(release_rx)),
    };
    let migrator = Migrator::new(&orm, Migrations::new().rust(gate).unwrap());
    let task = tokio::spawn(async move { migrator.up().await });
    started_rx.await.unwrap();
    (orm, task, release)
}

/// A second instance on another Orm of `b` (SQLite waits in steps of the busy timeout: a
/// short one), whose Migrator of the same, idle migration waits at most `lock_timeout`.
async fn second_instance(b: &Backend, lock_timeout: std::time::Duration) -> (Orm, Migrator) {
    let orm = if b.is_sqlite() {
        Orm::connect(&with_param(b.url(), "lock_timeout_ms=100"))
            .await
            .unwrap()
    } else {
        b.second_orm().await
    };
    let idle = Gate {
        started: std::sync::Mutex::new(None),
        release: std::sync::Mutex::new(None),
    };
    let migrator =
        Migrator::new(&orm, Migrations::new().rust(idle).unwrap()).lock_timeout(lock_timeout);
    (orm, migrator)
}

/// A Rust migration that says when it runs (so the lock is held) and waits to be let go.
struct Gate {
    started: std::sync::Mutex<Option<tokio::sync::oneshot::Sender<()>>>,
    release: std::sync::Mutex<Option<tokio::sync::oneshot::Receiver<()>>>,
}

const GATE: &str = "20260101000000_gate";

impl RustMigration for Gate {
    fn name(&self) -> &str {
        GATE
    }

    fn up<'a>(&'a self, tx: &'a mut MigrationContext<'_>) -> BoxFuture<'a, coherent::Result<()>> {
        Box::pin(async move {
            tx.execute("CREATE TABLE gated (id BIGINT)", vec![]).await?;
            let started = self.started.lock().unwrap().take();
            let release = self.release.lock().unwrap().take();
            if let (Some(started), Some(release)) = (started, release) {
                started.send(()).unwrap();
                release.await.unwrap();
            }
            Ok(())
        })
    }

    fn down<'a>(
        &'a self,
        _tx: &'a mut MigrationContext<'_>,
    ) -> BoxFuture<'a, coherent::Result<()>> {
        Box::pin(async { Ok(()) })
    }
}

#[tokio::test]
async fn lock_timeout_bounds_the_wait_for_another_instance() {
    for b in backends().into_iter().filter(|b| b.shared_between_orms()) {
        let (_first_orm, first, release) = gated_up(&b).await;
        let (second_orm, second) = second_instance(&b, std::time::Duration::from_millis(200)).await;
        let waited = std::time::Instant::now();
        let err = second.up().await.unwrap_err();
        assert!(
            matches!(err, Error::Database(coherent::Error::LockTimeout { .. })),
            "{}: {err}",
            b.name
        );
        assert!(
            waited.elapsed() < std::time::Duration::from_secs(5),
            "{}: {:?}",
            b.name,
            waited.elapsed()
        );

        release.send(()).unwrap();
        assert_eq!(first.await.unwrap().unwrap(), [GATE], "{}", b.name);
        assert!(second.up().await.unwrap().is_empty(), "{}", b.name);
        assert_eq!(
            history(&b, &second_orm).await,
            applied(&[GATE]),
            "{}",
            b.name
        );
        assert!(tables(&b, &second_orm).await.contains(&"gated".to_string()));
    }
}

/// A Migrator dropped while it holds the lock (inside a migration) frees it for the next
/// instance: PostgreSQL and SQLite roll the step back with the connection; MariaDB's named
/// lock belongs to the connection, which is closed rather than pooled (the migration stays
/// marked started: half-applied).
#[tokio::test]
async fn a_dropped_up_frees_the_lock() {
    for b in backends().into_iter().filter(|b| b.shared_between_orms()) {
        let (first_orm, first, _release) = gated_up(&b).await;
        first.abort();
        assert!(first.await.unwrap_err().is_cancelled());

        // `first_orm` stays open: a connection given back to its pool would keep the lock.
        let (second_orm, second) = second_instance(&b, std::time::Duration::from_secs(10)).await;
        let result = second.up().await;
        if b.is_mysql() {
            assert!(
                matches!(&result, Err(Error::HalfApplied { migration }) if migration == GATE),
                "{}: {result:?}",
                b.name
            );
            assert_eq!(
                history(&b, &second_orm).await,
                [(GATE.to_string(), "started".to_string())]
            );
        } else {
            assert_eq!(result.unwrap(), [GATE], "{}", b.name);
            assert_eq!(
                history(&b, &second_orm).await,
                applied(&[GATE]),
                "{}",
                b.name
            );
        }
        first_orm.close().await;
        second_orm.close().await;
    }
}

#[tokio::test]
async fn a_down_failing_halfway_is_undone_or_reported_half_reverted() {
    for b in backends() {
        let orm = b.second_orm().await;
        let dir = Dir::new("down-halfway");
        dir.write(
            A,
            "CREATE TABLE items (id BIGINT NOT NULL PRIMARY KEY);\nCREATE TABLE extras (id BIGINT NOT NULL PRIMARY KEY);",
            Some("DROP TABLE extras;\nDROP TABLE no_such_table;\nDROP TABLE items;"),
        );
        let migrator = Migrator::new(&orm, dir.migrations());
        migrator.up().await.unwrap();

        let err = migrator.down(1).await.unwrap_err();
        assert!(
            matches!(&err, Error::Failed { migration, file, statement: 1, .. }
                if migration == A && file.ends_with("down.sql")),
            "{}: {err}",
            b.name
        );
        if b.is_mysql() {
            // `extras` is dropped for good; the migration is marked as being reverted.
            assert_eq!(tables(&b, &orm).await, [HISTORY_TABLE, "items"]);
            assert_eq!(
                history(&b, &orm).await,
                [(A.to_string(), "reverting".to_string())]
            );
            assert!(matches!(
                migrator.up().await.unwrap_err(),
                Error::HalfApplied { .. }
            ));
            // Put back by hand, then resolved as still applied.
            orm.em()
                .execute(
                    "CREATE TABLE extras (id BIGINT NOT NULL PRIMARY KEY)",
                    vec![],
                )
                .await
                .unwrap();
            migrator.resolve(A, Resolution::Applied).await.unwrap();
        }
        // Still applied, whole.
        assert_eq!(
            tables(&b, &orm).await,
            [HISTORY_TABLE, "extras", "items"],
            "{}",
            b.name
        );
        assert_eq!(history(&b, &orm).await, applied(&[A]), "{}", b.name);
        assert!(migrator.up().await.unwrap().is_empty());
    }
}

/// SQLite: a rebuilt table (create new, copy, drop, rename) keeps the rows that reference
/// it, even through `ON DELETE CASCADE` (the Migrator runs with foreign keys off); a
/// migration that leaves a dangling reference is rolled back with `ForeignKeysViolated`;
/// and the connection has its foreign keys back on afterwards.
#[tokio::test]
async fn sqlite_rebuilds_keep_referencing_rows_and_check_foreign_keys() {
    for b in backends().into_iter().filter(Backend::is_sqlite) {
        let orm = Orm::connect(b.url()).await.unwrap();
        let dir = Dir::new("sqlite-rebuild");
        dir.write(
            "20260101000000_tables",
            "CREATE TABLE parents (id INTEGER NOT NULL PRIMARY KEY, name TEXT NOT NULL);
             CREATE TABLE kids (id INTEGER NOT NULL PRIMARY KEY,
                 parent_id INTEGER NOT NULL REFERENCES parents (id) ON DELETE CASCADE);
             INSERT INTO parents VALUES (1, 'p');
             INSERT INTO kids VALUES (10, 1), (11, 1);",
            None,
        );
        // What the diff renders for a parent whose column becomes nullable.
        dir.write(
            "20260102000000_rebuild_parents",
            "CREATE TABLE \"_coherent_new_parents\" (id INTEGER NOT NULL PRIMARY KEY, name TEXT NULL);
             INSERT INTO \"_coherent_new_parents\" (id, name) SELECT id, name FROM parents;
             DROP TABLE parents;
             ALTER TABLE \"_coherent_new_parents\" RENAME TO parents;",
            None,
        );
        let migrator = Migrator::new(&orm, dir.migrations());
        migrator.up().await.unwrap();
        assert_eq!(ids(&orm, "kids").await, [10, 11], "{}: kept", b.name);

        dir.write(
            "20260103000000_dangling",
            "CREATE TABLE marker (id INTEGER PRIMARY KEY);
             INSERT INTO kids VALUES (12, 99);",
            None,
        );
        let err = Migrator::new(&orm, dir.migrations())
            .up()
            .await
            .unwrap_err();
        match &err {
            Error::ForeignKeysViolated {
                migration,
                violations,
            } => {
                assert_eq!(migration, "20260103000000_dangling");
                assert_eq!(violations.len(), 1, "{violations:?}");
                assert!(
                    violations[0].contains("kids") && violations[0].contains("parents"),
                    "{err}"
                );
            }
            other => panic!("{}: {other}", b.name),
        }
        assert_eq!(ids(&orm, "kids").await, [10, 11], "{}: rolled back", b.name);
        assert!(
            !tables(&b, &orm).await.contains(&"marker".to_owned()),
            "{}",
            b.name
        );
        assert_eq!(history(&b, &orm).await.len(), 2, "{}: not recorded", b.name);
        // Enforcement is back on for the ORM's connections.
        let err = orm
            .em()
            .execute("INSERT INTO kids VALUES (13, 98)", vec![])
            .await
            .unwrap_err();
        assert!(err.to_string().contains("FOREIGN KEY"), "{}: {err}", b.name);
    }
}

/// SQLite: a generated migration adding columns whose defaults are not literals
/// (`CURRENT_TIMESTAMP`, an expression), which `ALTER TABLE .. ADD COLUMN` refuses, rebuilds
/// the table; the rebuild keeps the rows and the AUTOINCREMENT counter (the key of a
/// deleted row is never given again); `down` rebuilds it back.
#[tokio::test]
async fn sqlite_generated_rebuild_keeps_rows_and_the_autoincrement_counter() {
    use coherent::Dialect;
    use coherent::migrate::diff::{PlanOptions, diff, plan};
    use coherent::migrate::introspect;
    use coherent::migrate::model::Column;
    for b in backends().into_iter().filter(Backend::is_sqlite) {
        let orm = Orm::connect(b.url()).await.unwrap();
        let em = orm.em();
        em.execute(
            "CREATE TABLE notes (id INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT, body TEXT NOT NULL)",
            vec![],
        )
        .await
        .unwrap();
        for body in ["a", "b", "c"] {
            em.execute(
                &format!("INSERT INTO notes (body) VALUES ('{body}')"),
                vec![],
            )
            .await
            .unwrap();
        }
        em.execute("DELETE FROM notes WHERE id = 3", vec![])
            .await
            .unwrap();

        let before = introspect::live(&orm).await.unwrap();
        let mut wanted = before.clone();
        wanted.tables[0].columns.extend([
            Column {
                name: "created".into(),
                sql_type: "text".into(),
                default: Some("current_timestamp".into()),
                ..Column::default()
            },
            Column {
                name: "rank".into(),
                sql_type: "integer".into(),
                default: Some("abs(-2)".into()),
                ..Column::default()
            },
        ]);
        let p = plan(&before, &wanted, Dialect::Sqlite, PlanOptions::default());
        assert!(p.up.contains("_coherent_new_notes"), "{}", p.up);
        let dir = Dir::new("sqlite-generated-rebuild");
        coherent::migrate::migration::write(dir.path(), "dated_notes", &p.up, Some(&p.down))
            .unwrap();
        let migrator = Migrator::new(&orm, dir.migrations());
        migrator
            .up()
            .await
            .unwrap_or_else(|e| panic!("{}: {e}\n{}", b.name, p.up));
        let live = introspect::live(&orm).await.unwrap();
        assert!(diff(&live, &wanted).is_empty(), "{}: {live:#?}", b.name);

        em.execute("INSERT INTO notes (body) VALUES ('d')", vec![])
            .await
            .unwrap();
        let rows: Vec<(i64, String, i64, i64)> = em
            .query(
                "SELECT id, body, rank, created IS NOT NULL AS dated FROM notes ORDER BY id",
                vec![],
            )
            .await
            .unwrap()
            .iter()
            .map(|r| {
                (
                    r.get("id").unwrap(),
                    r.get("body").unwrap(),
                    r.get("rank").unwrap(),
                    r.get("dated").unwrap(),
                )
            })
            .collect();
        let expected = [(1, "a", 2, 1), (2, "b", 2, 1), (4, "d", 2, 1)]
            .map(|(id, body, rank, dated)| (id, body.to_string(), rank, dated));
        assert_eq!(
            rows, expected,
            "{}: kept, and key 3 not given again",
            b.name
        );

        migrator.down(1).await.unwrap();
        let live = introspect::live(&orm).await.unwrap();
        assert!(diff(&live, &before).is_empty(), "{}: {live:#?}", b.name);
        em.execute("INSERT INTO notes (body) VALUES ('e')", vec![])
            .await
            .unwrap();
        assert_eq!(ids(&orm, "notes").await, [1, 2, 4, 5], "{}", b.name);
    }
}
