//! Introspection reads back exactly the schema Coherent creates: for every entity set of the
//! suite, the live schema after `schema().refresh()` equals the entities' schema
//! (`from_entities`), on every backend; the schema attributes (composite indexes and unique
//! constraints, defaults, ON DELETE rules) are read as declared; and what hand-written DDL
//! adds (a column, an index, a table with named and unnamed foreign keys) is read too, while
//! views, the migration history and SQLite's own tables are not.
//!
//! The entities are the suite's own where they are public; [`mirrors`] copies the private
//! ones (of `types.rs`, `keys.rs`, `database_errors.rs`, `flush_failure.rs`).
#![cfg(all(
    feature = "migrate",
    feature = "chrono",
    feature = "uuid",
    feature = "rust_decimal",
    feature = "json"
))]

use crate::common::*;
use coherent::migrate::introspect;
use coherent::migrate::model::{Schema, Table, from_entities};
use coherent::prelude::*;
use coherent::{Dialect, OnDelete, OrmBuilder};

/// The schema the Orm's entities ask for, without the `renamed_from` hints (which only the
/// entities have).
fn entities_schema(orm: &Orm) -> Schema {
    let mut schema = from_entities::schema(&orm.entity_metas(), orm.dialect());
    for table in &mut schema.tables {
        table.renamed_from = None;
        for column in &mut table.columns {
            column.renamed_from = None;
        }
    }
    schema
}

/// Fails with both schemas, table by table where they differ, unless they are equal.
fn assert_same(backend: &str, set: &str, live: &Schema, entities: &Schema) {
    if live == entities {
        return;
    }
    let mut names: Vec<&str> = live
        .tables
        .iter()
        .chain(&entities.tables)
        .map(|t| t.name.as_str())
        .collect();
    names.sort_unstable();
    names.dedup();
    let mut report = String::new();
    for name in names {
        let (l, e) = (live.table(name), entities.table(name));
        if l != e {
            report.push_str(&format!(
                "\n--- table {name}\nlive:     {l:#?}\nentities: {e:#?}\n"
            ));
        }
    }
    panic!("{backend}, {set}: the live schema differs from the entities'{report}");
}

/// Fails unless `table` has the index `name` on `columns` (in this order), unique or not.
fn assert_index(backend: &str, table: &Table, name: &str, columns: &[&str], unique: bool) {
    let index = table
        .index(name)
        .unwrap_or_else(|| panic!("{backend}: no index {name} in {:?}", table.indexes));
    assert_eq!(index.columns, columns, "{backend}: {name}");
    assert_eq!(index.unique, unique, "{backend}: {name}");
}

/// An Orm on `b` with `set`'s entities and a fresh schema.
async fn orm_with_set(b: &Backend, set: Register) -> Orm {
    let orm = set(Orm::builder().url(b.url()))
        .build()
        .await
        .unwrap_or_else(|e| panic!("{}: connect: {e}", b.name));
    orm.schema()
        .refresh()
        .await
        .unwrap_or_else(|e| panic!("{}: schema: {e}", b.name));
    orm
}

/// The live schema of `orm`, checked against its entities'.
async fn round_trip(b: &Backend, set: &str, orm: &Orm) -> Schema {
    let live = introspect::live(orm)
        .await
        .unwrap_or_else(|e| panic!("{}, {set}: introspection: {e}", b.name));
    assert_same(b.name, set, &live, &entities_schema(orm));
    live
}

/// The suite's entities, in sets whose table names do not clash.
/// Registers a set of entities on a builder.
type Register = fn(OrmBuilder) -> OrmBuilder;

const SETS: [(&str, Register); 3] = [
    (
        "common, relations, one-to-one, many-to-many, flush, bad input, locking",
        |o| {
            use crate::{bad_input, flush, locking, many_to_many, one_to_one, relations};
            o.entity::<Tag>()
                .entity::<User>()
                .entity::<relations::Publisher>()
                .entity::<relations::Author>()
                .entity::<relations::Book>()
                .entity::<relations::Review>()
                .entity::<relations::Team>()
                .entity::<relations::Player>()
                .entity::<one_to_one::Person>()
                .entity::<one_to_one::Passport>()
                .entity::<many_to_many::Article>()
                .entity::<many_to_many::Label>()
                .entity::<flush::Ticket>()
                .entity::<bad_input::Payload>()
                .entity::<locking::Doc>()
                .entity::<locking::StampedDoc>()
                .entity::<locking::Account>()
                .entity::<locking::Counter>()
                .entity::<locking::Job>()
        },
    ),
    ("collections, re-read, relation cycles, model", |o| {
        use crate::{collections, model, re_read, relation_cycles};
        o.entity::<collections::Blog>()
            .entity::<collections::Post>()
            .entity::<collections::Comment>()
            .entity::<collections::Board>()
            .entity::<collections::Card>()
            .entity::<collections::Album>()
            .entity::<collections::Track>()
            .entity::<re_read::Journal>()
            .entity::<re_read::Article>()
            .entity::<re_read::StampedArticle>()
            .entity::<re_read::CheckedArticle>()
            .entity::<re_read::PlainArticle>()
            .entity::<relation_cycles::Shelf>()
            .entity::<relation_cycles::Item>()
            .entity::<model::Item>()
            .entity::<model::Doc>()
    }),
    (
        "types, keys, database errors, flush failure (mirrored)",
        |o| {
            o.entity::<mirrors::Sample>()
                .entity::<mirrors::Counter>()
                .entity::<mirrors::Writer>()
                .entity::<mirrors::Note>()
                .entity::<mirrors::Profile>()
                .entity::<mirrors::Reading>()
                .entity::<mirrors::Post>()
                .entity::<mirrors::Tagging>()
        },
    ),
];

#[tokio::test]
async fn the_suites_schemas_introspect_as_their_entities() {
    for (set, register) in SETS {
        for b in backends() {
            let orm = orm_with_set(&b, register).await;
            let live = round_trip(&b, set, &orm).await;
            assert!(!live.tables.is_empty(), "{}, {set}: no table read", b.name);
        }
    }
}

/// The "migrate, introspect, diff is empty", for every entity set: from an empty
/// database, the migration generated from the entities is applied by the Migrator; the
/// introspected schema then diffs empty against the entities, and `down` leaves no table.
#[tokio::test]
async fn the_suites_schemas_migrate_introspect_and_diff_empty() {
    use coherent::migrate::diff::{PlanOptions, diff, plan};
    use coherent::migrate::{Migrations, Migrator};
    for (n, (set, register)) in SETS.into_iter().enumerate() {
        for b in backends() {
            let orm = register(Orm::builder().url(b.url())).build().await.unwrap();
            let empty = introspect::live(&orm).await.unwrap();
            assert!(empty.tables.is_empty(), "{}, {set}", b.name);
            let p = plan(
                &empty,
                &entities_schema(&orm),
                orm.dialect(),
                PlanOptions::default(),
            );
            let dir = std::env::temp_dir().join(format!(
                "coherent-sets-{}-{n}-{}",
                b.name,
                std::process::id()
            ));
            let _ = std::fs::remove_dir_all(&dir);
            coherent::migrate::migration::write(&dir, "init", &p.up, Some(&p.down)).unwrap();
            let migrator = Migrator::new(&orm, Migrations::from_dir(&dir).unwrap());
            migrator.up().await.unwrap_or_else(|e| {
                panic!(
                    "{}, {set}: {e}
{}",
                    b.name, p.up
                )
            });
            let live = introspect::live(&orm).await.unwrap();
            let left = diff(&live, &entities_schema(&orm));
            assert!(left.is_empty(), "{}, {set}: {left:#?}", b.name);
            assert_same(b.name, set, &live, &entities_schema(&orm));
            migrator.down(1).await.unwrap();
            assert!(
                introspect::live(&orm).await.unwrap().tables.is_empty(),
                "{}, {set}",
                b.name
            );
            orm.close().await;
            std::fs::remove_dir_all(&dir).unwrap();
        }
    }
}

/// Copies of the suite's private entities.
mod mirrors {
    use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
    use coherent::prelude::*;
    use rust_decimal::Decimal;
    use uuid::Uuid;

    /// `types.rs`: one field of every supported type.
    #[derive(Entity, Clone, Debug)]
    #[entity(table = "samples")]
    pub struct Sample {
        #[primary_key]
        id: i64,
        flag: bool,
        small: i16,
        medium: i32,
        big: i64,
        single: f32,
        double: f64,
        text: String,
        bytes: Vec<u8>,
        opt_flag: Option<bool>,
        opt_small: Option<i16>,
        opt_big: Option<i64>,
        opt_single: Option<f32>,
        opt_double: Option<f64>,
        opt_text: Option<String>,
        opt_bytes: Option<Vec<u8>>,
        at: DateTime<Utc>,
        local: NaiveDateTime,
        day: NaiveDate,
        id_uuid: Uuid,
        amount: Decimal,
        doc: serde_json::Value,
        opt_at: Option<DateTime<Utc>>,
        opt_local: Option<NaiveDateTime>,
        opt_day: Option<NaiveDate>,
        opt_uuid: Option<Uuid>,
        opt_amount: Option<Decimal>,
        opt_doc: Option<serde_json::Value>,
    }

    /// `keys.rs`: an `i32` key the database generates.
    #[derive(Entity, Clone, Debug)]
    #[entity(table = "counters")]
    pub struct Counter {
        #[primary_key]
        id: i32,
        label: String,
    }

    /// `database_errors.rs`.
    #[derive(Entity, Clone, Debug)]
    #[entity(table = "writers")]
    pub struct Writer {
        #[primary_key]
        id: i64,
        name: String,
    }

    /// `database_errors.rs`.
    #[derive(Entity, Clone, Debug)]
    #[entity(table = "notes")]
    pub struct Note {
        #[primary_key]
        id: i64,
        text: String,
        #[many_to_one]
        writer: Ref<Writer>,
    }

    /// `database_errors.rs`.
    #[derive(Entity, Clone, Debug)]
    #[entity(table = "profiles")]
    pub struct Profile {
        #[primary_key]
        id: i64,
        nick: Option<String>,
        age: i32,
    }

    /// `database_errors.rs`.
    #[derive(Entity, Clone, Debug)]
    #[entity(table = "readings")]
    pub struct Reading {
        #[primary_key]
        id: i64,
        value: String,
    }

    /// `flush_failure.rs`.
    #[derive(Entity, Clone, Debug)]
    #[entity(table = "posts")]
    pub struct Post {
        #[primary_key]
        id: i64,
        user_id: i64,
        score: Option<i32>,
    }

    /// `flush_failure.rs`.
    #[derive(Entity, Clone, Debug)]
    #[entity(table = "taggings")]
    pub struct Tagging {
        #[primary_key]
        id: i64,
        tag_code: String,
    }
}

/// Referenced by [`Entry`] three times, with three ON DELETE rules.
#[derive(Entity, Clone, Debug)]
#[entity(table = "ix_owners")]
pub struct Owner {
    #[primary_key]
    pub id: i64,
    pub name: String,
}

/// Every schema attribute: a composite index and a composite unique constraint (columns
/// listed out of table order), defaults, and foreign keys with rules.
#[derive(Entity, Clone, Debug)]
#[entity(
    table = "ix_entries",
    index(columns = ["b", "a"]),
    unique(columns = ["d", "c"])
)]
pub struct Entry {
    #[primary_key]
    pub id: i64,
    pub a: i32,
    pub b: i64,
    pub c: i64,
    pub d: i32,
    #[column(default = "0")]
    pub score: i32,
    #[column(default = "-1")]
    pub rank: i64,
    #[column(default = "'draft'")]
    pub status: String,
    #[column(default = "false")]
    pub hidden: bool,
    #[column(default = "0")]
    pub amount: rust_decimal::Decimal,
    #[many_to_one(on_delete = "cascade")]
    pub owner: Ref<Owner>,
    #[many_to_one(on_delete = "set null")]
    pub reviewer: Option<Ref<Owner>>,
    #[many_to_one(on_delete = "restrict")]
    pub approver: Ref<Owner>,
}

#[tokio::test]
async fn schema_attributes_are_read_as_declared() {
    for b in backends() {
        let n = b.name;
        let orm = orm_with_set(&b, |o| o.entity::<Owner>().entity::<Entry>()).await;
        let live = round_trip(&b, "attributes", &orm).await;
        let entries = live.table("ix_entries").expect("ix_entries");

        assert_index(n, entries, "idx_ix_entries_b_a", &["b", "a"], false);
        assert_index(n, entries, "uq_ix_entries_d_c", &["d", "c"], true);
        for reference in ["owner_id", "reviewer_id", "approver_id"] {
            let index = entries
                .index(&format!("idx_ix_entries_{reference}"))
                .unwrap_or_else(|| panic!("{n}: the index of {reference}"));
            assert_eq!(index.columns, [reference], "{n}");
        }

        // MariaDB cannot tell RESTRICT from NO ACTION (see `canonical::on_delete`).
        let restrict = if b.is_mysql() {
            OnDelete::NoAction
        } else {
            OnDelete::Restrict
        };
        for (column, rule) in [
            ("owner_id", OnDelete::Cascade),
            ("reviewer_id", OnDelete::SetNull),
            ("approver_id", restrict),
        ] {
            let fk = entries
                .foreign_key(&format!("fk_ix_entries_{column}"))
                .unwrap_or_else(|| panic!("{n}: the foreign key of {column}"));
            assert_eq!(fk.columns, [column], "{n}");
            assert_eq!(fk.referenced_table, "ix_owners", "{n}");
            assert_eq!(fk.referenced_columns, ["id"], "{n}");
            assert_eq!(fk.on_delete, rule, "{n}: {column}");
        }

        let default = |column: &str| {
            entries
                .column(column)
                .unwrap_or_else(|| panic!("{n}: column {column}"))
                .default
                .clone()
        };
        assert_eq!(default("score").as_deref(), Some("0"), "{n}");
        assert_eq!(default("rank").as_deref(), Some("-1"), "{n}");
        assert_eq!(default("status").as_deref(), Some("'draft'"), "{n}");
        let no = if b.is_mysql() { "0" } else { "false" };
        assert_eq!(default("hidden").as_deref(), Some(no), "{n}");
        // MariaDB reports `0.0000000000` for a DECIMAL(38, 10).
        assert_eq!(default("amount").as_deref(), Some("0"), "{n}");
        assert_eq!(default("a"), None, "{n}");

        let id = entries.column("id").expect("id");
        assert!(
            id.auto_increment && !id.nullable && id.default.is_none(),
            "{n}: {id:?}"
        );
        assert_eq!(entries.primary_key, ["id"], "{n}");
        let reviewer = entries.column("reviewer_id").expect("reviewer_id");
        assert!(reviewer.nullable, "{n}");
        let names: Vec<&str> = entries.columns.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "id",
                "a",
                "b",
                "c",
                "d",
                "score",
                "rank",
                "status",
                "hidden",
                "amount",
                "owner_id",
                "reviewer_id",
                "approver_id"
            ],
            "{n}: columns in table order"
        );
    }
}

#[tokio::test]
async fn hand_written_ddl_is_read_back() {
    for b in backends() {
        let n = b.name;
        let orm = b.orm().await;
        let key_text = b.key_text();
        let ddl = [
            format!("ALTER TABLE users ADD COLUMN nickname {key_text} DEFAULT 'x'"),
            "CREATE INDEX idx_users_age_email ON users (age, email)".to_owned(),
            format!(
                "CREATE TABLE extras (id {}, user_id BIGINT NOT NULL, reviewer_id BIGINT, \
                 note {key_text}, amount INTEGER DEFAULT 7, \
                 CONSTRAINT fk_extras_owner FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE, \
                 FOREIGN KEY (reviewer_id) REFERENCES users (id))",
                b.auto_key()
            ),
            "CREATE UNIQUE INDEX uq_extras_note ON extras (note)".to_owned(),
            // A key without a sequence of its own, but SERIAL on PostgreSQL; a column
            // constraint naming its foreign key on SQLite.
            match b.dialect() {
                Dialect::Sqlite => {
                    "CREATE TABLE legacy (id INTEGER PRIMARY KEY, \
                                    code INTEGER CONSTRAINT legacy_users REFERENCES users (id))"
                }
                Dialect::Postgres => "CREATE TABLE legacy (id SERIAL PRIMARY KEY, code INTEGER)",
                Dialect::MySql => "CREATE TABLE legacy (id INT NOT NULL PRIMARY KEY, code INTEGER)",
            }
            .to_owned(),
            "CREATE VIEW user_names AS SELECT id, name FROM users".to_owned(),
            "CREATE TABLE coherent_migrations (version BIGINT PRIMARY KEY)".to_owned(),
        ];
        for sql in &ddl {
            orm.em()
                .execute(sql, vec![])
                .await
                .unwrap_or_else(|e| panic!("{n}: {sql}: {e}"));
        }
        let live = introspect::live(&orm)
            .await
            .unwrap_or_else(|e| panic!("{n}: introspection: {e}"));

        let tables: Vec<&str> = live.tables.iter().map(|t| t.name.as_str()).collect();
        assert_eq!(
            tables,
            ["extras", "legacy", "tags", "users"],
            "{n}: no view, no history"
        );

        let users = live.table("users").unwrap();
        let nickname = users.column("nickname").expect("the added column");
        let text_type = if b.is_mysql() { "varchar(255)" } else { "text" };
        assert_eq!(nickname.sql_type, text_type, "{n}");
        assert!(nickname.nullable, "{n}");
        assert_eq!(nickname.default.as_deref(), Some("'x'"), "{n}");
        assert_eq!(
            users.columns.last().map(|c| c.name.as_str()),
            Some("nickname")
        );
        assert_index(n, users, "idx_users_age_email", &["age", "email"], false);
        // The rest of `users` is still the entity's.
        let mut without = users.clone();
        without.columns.retain(|c| c.name != "nickname");
        without.indexes.retain(|i| i.name != "idx_users_age_email");
        assert_eq!(Some(&without), entities_schema(&orm).table("users"), "{n}");

        let extras = live.table("extras").unwrap();
        let names: Vec<&str> = extras.columns.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(
            names,
            ["id", "user_id", "reviewer_id", "note", "amount"],
            "{n}"
        );
        assert_eq!(extras.primary_key, ["id"], "{n}");
        let id = extras.column("id").unwrap();
        assert!(
            id.auto_increment && !id.nullable && id.default.is_none(),
            "{n}: {id:?}"
        );
        let amount = extras.column("amount").unwrap();
        assert_eq!(amount.default.as_deref(), Some("7"), "{n}");
        assert!(amount.nullable, "{n}");
        assert!(!extras.column("user_id").unwrap().nullable, "{n}");
        assert_index(n, extras, "uq_extras_note", &["note"], true);

        let owner = extras
            .foreign_key("fk_extras_owner")
            .expect("the named key");
        assert_eq!(owner.columns, ["user_id"], "{n}");
        assert_eq!(owner.referenced_table, "users", "{n}");
        assert_eq!(owner.referenced_columns, ["id"], "{n}");
        assert_eq!(owner.on_delete, OnDelete::Cascade, "{n}");
        let unnamed: Vec<_> = extras
            .foreign_keys
            .iter()
            .filter(|fk| fk.columns == ["reviewer_id"])
            .collect();
        assert_eq!(unnamed.len(), 1, "{n}: {:?}", extras.foreign_keys);
        let unnamed = unnamed[0];
        match b.dialect() {
            // SQLite keeps no name: Coherent's.
            Dialect::Sqlite => assert_eq!(unnamed.name, "fk_extras_reviewer_id"),
            Dialect::Postgres => assert_eq!(unnamed.name, "extras_reviewer_id_fkey"),
            Dialect::MySql => assert!(unnamed.name.starts_with("extras_ibfk_"), "{}", unnamed.name),
        }
        assert_eq!(unnamed.on_delete, OnDelete::NoAction, "{n}");
        assert_eq!(extras.foreign_keys.len(), 2, "{n}");

        let legacy = live.table("legacy").unwrap();
        let id = legacy.column("id").unwrap();
        assert_eq!(id.auto_increment, b.is_postgres(), "{n}: {id:?}");
        assert!(!id.nullable && id.default.is_none(), "{n}: {id:?}");
        assert_eq!(legacy.primary_key, ["id"], "{n}");
        if b.is_sqlite() {
            let fk = legacy
                .foreign_key("legacy_users")
                .expect("the named column constraint");
            assert_eq!(fk.columns, ["code"], "{n}");
        }
        if b.is_mysql() {
            // InnoDB indexes a foreign key's columns itself when nothing else does.
            for column in ["user_id", "reviewer_id"] {
                assert!(
                    extras.indexes.iter().any(|i| i.columns == [column]),
                    "{n}: {:?}",
                    extras.indexes
                );
            }
        }
    }
}
