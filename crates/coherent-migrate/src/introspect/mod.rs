//! Reading the live schema back from the catalog, as a [`Schema`] that compares field by
//! field with the entities' ([`from_entities`](crate::model::from_entities)).
//!
//! Policy:
//! - **What is read.** The current schema: PostgreSQL's `current_schema()`, MariaDB's
//!   `DATABASE()`, SQLite's `main`. Every base table except the migration history
//!   ([`HISTORY_TABLE`]) and SQLite's own (`sqlite_*`); views are not tables. Per table: the
//!   columns in table order (type and default in their canonical spelling,
//!   [`canonical`](crate::model::canonical)), the primary key in key order, the indexes and
//!   unique constraints with their columns in index order, and the foreign keys with their
//!   ON DELETE rule.
//! - **Generated keys.** A PostgreSQL identity or `serial` column, a MariaDB
//!   `AUTO_INCREMENT` one and SQLite's `INTEGER PRIMARY KEY AUTOINCREMENT` (read from the
//!   table's stored `CREATE TABLE`) are [`auto_increment`](crate::model::Column::auto_increment),
//!   and then have no default (the sequence's `nextval(..)` is not one). A SQLite
//!   `INTEGER PRIMARY KEY` without `AUTOINCREMENT` is a rowid alias, not auto-increment
//!   (it may reuse the key of a deleted row); it is never NULL, whatever the catalog says.
//! - **Indexes left out.** The primary key's own index (SQLite's `sqlite_autoindex_*`
//!   included, so also the indexes of inline `UNIQUE` constraints there, which have no name
//!   of their own), and indexes the model cannot describe: partial indexes, indexes on
//!   expressions and (MariaDB) on a column prefix. A diff therefore never touches them.
//! - **ON DELETE.** Each rule as the catalog states it, through
//!   [`canonical::on_delete`](crate::model::canonical::on_delete): on MariaDB `RESTRICT` and
//!   `NO ACTION` are one rule, read as [`OnDelete::NoAction`](coherent_core::OnDelete) (InnoDB
//!   checks both at once, and its catalog says `RESTRICT` where no rule was given, so an
//!   entity without a rule introspects equal; the entities' side applies the same rule).
//!   `SET DEFAULT`, which no entity declares, reads as `NO ACTION`.
//! - **Foreign key names.** PostgreSQL and MariaDB name every constraint. SQLite keeps no
//!   names in its catalog: the name is the `CONSTRAINT "name"` of the stored `CREATE TABLE`
//!   where it has one, else `fk_<table>_<column>[_<column>..]`, the name Coherent gives its
//!   foreign keys (sea-query's SQLite DDL leaves the name out).
//! - **Round trips.** All catalog queries of a schema go to the database as one [`Batch`]
//!   (three queries over all tables, never one per table or column), as plain idempotent
//!   reads (inside the connection's transaction if it has one open, else outside any).
//!
//! [`Batch`]: coherent_core::Batch

mod catalog;
mod mysql;
mod postgres;
mod reading;
mod sqlite;
mod sqlite_ddl;

use crate::model::Schema;
use crate::{HISTORY_TABLE, Result};
use coherent_core::{Connection, Dialect};

/// The schema of the database `connection` is connected to, read as `dialect` stores it:
/// tables, indexes and foreign keys sorted by name ([`Schema::normalize`]).
///
/// For a tool that holds a connection already (the `Migrator` introspects on the connection
/// that holds its lock); [`live`] takes one from an [`Orm`](coherent_orm::Orm).
///
/// ```
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// use coherent_core::Dialect;
/// let orm = coherent_orm::Orm::connect("sqlite::memory:").await?;
/// orm.em().execute("CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT NOT NULL DEFAULT '')", vec![]).await?;
/// let mut connection = orm.driver().acquire().await?;
/// let schema = coherent_migrate::introspect::schema(connection.as_mut(), Dialect::Sqlite).await?;
/// let body = schema.table("notes").unwrap().column("body").unwrap();
/// assert_eq!((body.sql_type.as_str(), body.default.as_deref()), ("text", Some("''")));
/// # Ok::<(), coherent_migrate::Error>(())
/// # }).unwrap();
/// ```
pub async fn schema(connection: &mut dyn Connection, dialect: Dialect) -> Result<Schema> {
    let read = match dialect {
        Dialect::Sqlite => sqlite::read(connection).await?,
        Dialect::Postgres => postgres::read(connection).await?,
        Dialect::MySql => mysql::read(connection).await?,
    };
    let mut schema = read.finish();
    schema.remove(HISTORY_TABLE);
    schema.normalize();
    Ok(schema)
}

/// The schema of `orm`'s database, read on a connection of its driver.
///
/// ```
/// # use coherent_orm::doc_support::User;
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// use coherent_migrate::{introspect, model::from_entities};
/// let orm = coherent_orm::Orm::builder().url("sqlite::memory:").entity::<User>().build().await?;
/// orm.schema().create().await?;
/// let live = introspect::live(&orm).await?;
/// assert_eq!(live, from_entities::schema(&orm.entity_metas(), orm.dialect()));
/// # Ok::<(), coherent_migrate::Error>(())
/// # }).unwrap();
/// ```
pub async fn live(orm: &coherent_orm::Orm) -> Result<Schema> {
    let mut connection = orm.driver().acquire().await?;
    schema(connection.as_mut(), orm.dialect()).await
}
