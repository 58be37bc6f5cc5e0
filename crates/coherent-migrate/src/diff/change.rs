//! [`Change`]: one step from one schema to another, what it does to a [`Schema`]
//! ([`Change::apply`]) and whether it can lose data ([`Change::destructive`]).

use crate::model::{Column, ForeignKey, Index, Schema, Table};
use coherent_core::Dialect;

/// One step of a schema change, in the order a migration runs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// Creates a table (its indexes too; its foreign keys come as [`Change::AddForeignKey`]).
    CreateTable(Table),
    /// Drops a table.
    DropTable(Table),
    /// Renames a table (`#[entity(renamed_from = "..")]`).
    RenameTable {
        /// The old name.
        from: String,
        /// The new name.
        to: String,
    },
    /// Adds a column.
    AddColumn {
        /// The table.
        table: String,
        /// The new column.
        column: Column,
    },
    /// Drops a column.
    DropColumn {
        /// The table.
        table: String,
        /// The column as it was.
        column: Column,
    },
    /// Changes a column's type, nullability or default.
    AlterColumn {
        /// The table.
        table: String,
        /// The column as it was.
        from: Column,
        /// The column as it becomes.
        to: Column,
    },
    /// Renames a column (`#[column(renamed_from = "..")]`).
    RenameColumn {
        /// The table.
        table: String,
        /// The old name.
        from: String,
        /// The new name.
        to: String,
    },
    /// Creates an index or unique constraint.
    AddIndex {
        /// The table.
        table: String,
        /// The index.
        index: Index,
    },
    /// Drops an index or unique constraint.
    DropIndex {
        /// The table.
        table: String,
        /// The index as it was.
        index: Index,
    },
    /// Adds a foreign key.
    AddForeignKey {
        /// The table.
        table: String,
        /// The foreign key.
        foreign_key: ForeignKey,
    },
    /// Drops a foreign key.
    DropForeignKey {
        /// The table.
        table: String,
        /// The foreign key as it was.
        foreign_key: ForeignKey,
    },
}

impl Change {
    /// The table the change is about (the new name of a renamed table).
    ///
    /// ```
    /// use coherent_migrate::diff::Change;
    /// let rename = Change::RenameTable { from: "authors".into(), to: "writers".into() };
    /// assert_eq!(rename.table(), "writers");
    /// ```
    pub fn table(&self) -> &str {
        match self {
            Change::CreateTable(t) | Change::DropTable(t) => &t.name,
            Change::RenameTable { to, .. } => to,
            Change::AddColumn { table, .. }
            | Change::DropColumn { table, .. }
            | Change::AlterColumn { table, .. }
            | Change::RenameColumn { table, .. }
            | Change::AddIndex { table, .. }
            | Change::DropIndex { table, .. }
            | Change::AddForeignKey { table, .. }
            | Change::DropForeignKey { table, .. } => table,
        }
    }

    /// Why the change can lose data, if it can: dropping a table or a column, or changing
    /// a column's type to one that does not hold every value of the old one.
    ///
    /// ```
    /// use coherent_core::Dialect;
    /// use coherent_migrate::diff::Change;
    /// use coherent_migrate::model::{Column, Table};
    /// let drop = Change::DropTable(Table::new("users"));
    /// assert!(drop.destructive(Dialect::Postgres).is_some());
    /// let col = |ty: &str| Column { name: "n".into(), sql_type: ty.into(), ..Column::default() };
    /// let widen = Change::AlterColumn { table: "t".into(), from: col("integer"), to: col("bigint") };
    /// assert!(widen.destructive(Dialect::Postgres).is_none());
    /// let narrow = Change::AlterColumn { table: "t".into(), from: col("bigint"), to: col("integer") };
    /// assert!(narrow.destructive(Dialect::Postgres).is_some());
    /// ```
    pub fn destructive(&self, dialect: Dialect) -> Option<String> {
        match self {
            Change::DropTable(t) => Some(format!("drops table {} and its rows", t.name)),
            Change::DropColumn { table, column } => Some(format!(
                "drops column {}.{} and its values",
                table, column.name
            )),
            Change::AlterColumn { table, from, to }
                if from.sql_type != to.sql_type
                    && !widens(dialect, &from.sql_type, &to.sql_type) =>
            {
                Some(format!(
                    "changes {}.{} from {} to {}, which may not hold every value",
                    table, from.name, from.sql_type, to.sql_type
                ))
            }
            _ => None,
        }
    }

    /// What the change does, in a few words (for comments and the CLI).
    ///
    /// ```
    /// use coherent_migrate::diff::Change;
    /// let rename = Change::RenameColumn { table: "posts".into(), from: "body".into(), to: "content".into() };
    /// assert_eq!(rename.describe(), "rename column posts.body to content");
    /// ```
    pub fn describe(&self) -> String {
        match self {
            Change::CreateTable(t) => format!("create table {}", t.name),
            Change::DropTable(t) => format!("drop table {}", t.name),
            Change::RenameTable { from, to } => format!("rename table {from} to {to}"),
            Change::AddColumn { table, column } => {
                format!("add column {table}.{}", column.name)
            }
            Change::DropColumn { table, column } => {
                format!("drop column {table}.{}", column.name)
            }
            Change::AlterColumn { table, to, .. } => format!("alter column {table}.{}", to.name),
            Change::RenameColumn { table, from, to } => {
                format!("rename column {table}.{from} to {to}")
            }
            Change::AddIndex { table, index } => format!("add index {} on {table}", index.name),
            Change::DropIndex { table, index } => {
                format!("drop index {} on {table}", index.name)
            }
            Change::AddForeignKey { table, foreign_key } => {
                format!("add foreign key {} on {table}", foreign_key.name)
            }
            Change::DropForeignKey { table, foreign_key } => {
                format!("drop foreign key {} on {table}", foreign_key.name)
            }
        }
    }

    /// Applies the change to `schema` (as the database will look after it).
    ///
    /// ```
    /// use coherent_migrate::diff::Change;
    /// use coherent_migrate::model::{Schema, Table};
    /// let mut schema = Schema::default();
    /// Change::CreateTable(Table::new("authors")).apply(&mut schema);
    /// Change::RenameTable { from: "authors".into(), to: "writers".into() }.apply(&mut schema);
    /// assert!(schema.table("authors").is_none() && schema.table("writers").is_some());
    /// ```
    pub fn apply(&self, schema: &mut Schema) {
        if let Change::CreateTable(t) = self {
            schema.insert(t.clone());
            return;
        }
        if let Change::DropTable(t) = self {
            schema.remove(&t.name);
            return;
        }
        if let Change::RenameTable { from, to } = self {
            if let Some(mut t) = schema.remove(from) {
                t.name.clone_from(to);
                schema.insert(t);
            }
            // Every dialect points the foreign keys that reference the table at its new name
            // (PostgreSQL and InnoDB by identity, SQLite by rewriting their DDL).
            for fk in schema
                .tables
                .iter_mut()
                .flat_map(|t| t.foreign_keys.iter_mut())
                .filter(|f| f.referenced_table == *from)
            {
                fk.referenced_table.clone_from(to);
            }
            return;
        }
        let Some(i) = schema.tables.iter().position(|t| t.name == self.table()) else {
            return;
        };
        let t = &mut schema.tables[i];
        match self {
            Change::AddColumn { column, .. } => t.columns.push(column.clone()),
            Change::DropColumn { column, .. } => t.columns.retain(|c| c.name != column.name),
            Change::AlterColumn { to, .. } => {
                if let Some(c) = t.columns.iter_mut().find(|c| c.name == to.name) {
                    *c = to.clone();
                }
            }
            Change::RenameColumn { from, to, .. } => {
                for c in t.columns.iter_mut().filter(|c| c.name == *from) {
                    c.name.clone_from(to);
                }
                let rename = |names: &mut Vec<String>| {
                    names
                        .iter_mut()
                        .filter(|n| *n == from)
                        .for_each(|n| n.clone_from(to));
                };
                rename(&mut t.primary_key);
                t.indexes.iter_mut().for_each(|i| rename(&mut i.columns));
                t.foreign_keys
                    .iter_mut()
                    .for_each(|f| rename(&mut f.columns));
            }
            Change::AddIndex { index, .. } => t.indexes.push(index.clone()),
            Change::DropIndex { index, .. } => t.indexes.retain(|i| i.name != index.name),
            Change::AddForeignKey { foreign_key, .. } => {
                t.foreign_keys.push(foreign_key.clone());
            }
            Change::DropForeignKey { foreign_key, .. } => {
                t.foreign_keys.retain(|f| f.name != foreign_key.name);
            }
            Change::CreateTable(_) | Change::DropTable(_) | Change::RenameTable { .. } => {}
        }
        t.normalize();
    }
}

/// Whether every value of type `from` fits type `to` in `dialect` (the widening changes a
/// migration may make without `--allow-destructive`).
fn widens(dialect: Dialect, from: &str, to: &str) -> bool {
    let ladders: &[&[&str]] = match dialect {
        Dialect::Postgres => &[
            &["smallint", "integer", "bigint", "numeric"],
            &["real", "double precision"],
            &["varchar", "text"],
            &["timestamp", "timestamptz"],
        ],
        Dialect::MySql => &[
            &["tinyint", "smallint", "mediumint", "int", "bigint"],
            &["float", "double"],
            &["tinytext", "text", "mediumtext", "longtext"],
            &["tinyblob", "blob", "mediumblob", "longblob"],
        ],
        Dialect::Sqlite => &[],
    };
    let base = |t: &str| t.split('(').next().unwrap_or(t).to_owned();
    if let (Some(a), Some(b)) = (varchar_len(from), varchar_len(to)) {
        return b >= a;
    }
    let (from_base, to_base) = (base(from), base(to));
    if varchar_len(from).is_some() && (to_base == "text" || to_base.ends_with("text")) {
        return true;
    }
    ladders.iter().any(|ladder| {
        let at = |t: &str| ladder.iter().position(|l| *l == t);
        matches!((at(&from_base), at(&to_base)), (Some(a), Some(b)) if b >= a)
    })
}

/// The length of a `varchar(n)`.
fn varchar_len(t: &str) -> Option<u32> {
    t.strip_prefix("varchar(")?.strip_suffix(')')?.parse().ok()
}
