//! The schema model: tables, columns, indexes and foreign keys as one dialect stores them.
//!
//! Policy: one model for all three sources of a schema, so they compare field by field:
//! the entities ([`from_entities`](crate::model::from_entities)), the live database
//! ([`introspect`](crate::introspect)) and a snapshot file ([`Snapshot`](crate::Snapshot)).
//! Types and defaults are held in the dialect's canonical spelling
//! ([`canonical`](crate::model::canonical)): `bigint` whether the catalog says `int8` or the
//! DDL said `BIGINT`. Unique constraints are unique indexes (that is how Coherent creates
//! them on every dialect); the primary key's own index is not listed. Tables, indexes and
//! foreign keys are kept sorted by name, columns in table order.

pub mod canonical;
pub mod from_entities;

use coherent_core::OnDelete;
use serde::{Deserialize, Serialize};

/// A database schema: its tables, sorted by name.
///
/// ```
/// use coherent_migrate::model::{Schema, Table};
/// let mut schema = Schema::default();
/// schema.insert(Table::new("users"));
/// assert!(schema.table("users").is_some());
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Schema {
    /// The tables, sorted by name.
    pub tables: Vec<Table>,
}

impl Schema {
    /// The table named `name`.
    pub fn table(&self, name: &str) -> Option<&Table> {
        self.tables.iter().find(|t| t.name == name)
    }

    /// Adds (or replaces) a table, keeping the order.
    pub fn insert(&mut self, table: Table) {
        match self.tables.binary_search_by(|t| t.name.cmp(&table.name)) {
            Ok(i) => self.tables[i] = table,
            Err(i) => self.tables.insert(i, table),
        }
    }

    /// Removes the table named `name`.
    pub fn remove(&mut self, name: &str) -> Option<Table> {
        let i = self.tables.iter().position(|t| t.name == name)?;
        Some(self.tables.remove(i))
    }

    /// Sorts tables, indexes and foreign keys by name (columns keep their order).
    pub fn normalize(&mut self) {
        self.tables.sort_by(|a, b| a.name.cmp(&b.name));
        for t in &mut self.tables {
            t.normalize();
        }
    }
}

/// One table.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Table {
    /// The table name.
    pub name: String,
    /// Its columns, in table order.
    pub columns: Vec<Column>,
    /// The primary key's columns, in key order.
    pub primary_key: Vec<String>,
    /// Its indexes and unique constraints (not the primary key's), sorted by name.
    #[serde(default)]
    pub indexes: Vec<Index>,
    /// Its foreign keys, sorted by name.
    #[serde(default)]
    pub foreign_keys: Vec<ForeignKey>,
    /// The previous name, from `#[entity(renamed_from = "..")]` (entities only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub renamed_from: Option<String>,
}

impl Table {
    /// An empty table named `name`.
    pub fn new(name: impl Into<String>) -> Table {
        Table {
            name: name.into(),
            ..Table::default()
        }
    }

    /// The column named `name`.
    pub fn column(&self, name: &str) -> Option<&Column> {
        self.columns.iter().find(|c| c.name == name)
    }

    /// The index named `name`.
    pub fn index(&self, name: &str) -> Option<&Index> {
        self.indexes.iter().find(|i| i.name == name)
    }

    /// The foreign key named `name`.
    pub fn foreign_key(&self, name: &str) -> Option<&ForeignKey> {
        self.foreign_keys.iter().find(|f| f.name == name)
    }

    /// Sorts indexes and foreign keys by name.
    pub fn normalize(&mut self) {
        self.indexes.sort_by(|a, b| a.name.cmp(&b.name));
        self.foreign_keys.sort_by(|a, b| a.name.cmp(&b.name));
    }
}

/// One column.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Column {
    /// The column name.
    pub name: String,
    /// The type, in the dialect's canonical spelling ([`canonical::column_type`]).
    pub sql_type: String,
    /// Whether it accepts NULL.
    pub nullable: bool,
    /// The default, as an SQL expression in canonical form ([`canonical::default`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default: Option<String>,
    /// The database generates its values (an identity, `AUTO_INCREMENT` or SQLite
    /// `AUTOINCREMENT` key).
    #[serde(default)]
    pub auto_increment: bool,
    /// The previous name, from `#[column(renamed_from = "..")]` (entities only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub renamed_from: Option<String>,
}

/// An index or unique constraint.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Index {
    /// The index name.
    pub name: String,
    /// Its columns, in index order.
    pub columns: Vec<String>,
    /// Whether it is unique.
    pub unique: bool,
}

/// A foreign key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ForeignKey {
    /// The constraint name.
    pub name: String,
    /// Its columns.
    pub columns: Vec<String>,
    /// The referenced table.
    pub referenced_table: String,
    /// The referenced columns.
    pub referenced_columns: Vec<String>,
    /// The ON DELETE rule.
    #[serde(with = "on_delete_text")]
    pub on_delete: OnDelete,
}

/// An [`OnDelete`] as its SQL text in a snapshot (`"CASCADE"`).
mod on_delete_text {
    use coherent_core::OnDelete;
    use serde::{Deserialize, Deserializer, Serializer};

    pub(super) fn serialize<S: Serializer>(rule: &OnDelete, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(rule.sql())
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<OnDelete, D::Error> {
        let text = String::deserialize(d)?;
        OnDelete::parse(&text)
            .ok_or_else(|| serde::de::Error::custom(format!("unknown ON DELETE rule `{text}`")))
    }
}
