//! [`Reading`]: a schema assembled from catalog rows as they come, each part with its
//! position, in any order.
//!
//! Policy: positions, not the order of the rows, put columns, key columns and index columns
//! in order (a catalog's `ORDER BY` sorts names in its own collation). Parts of a table the
//! column query did not report (a view's, or the history table's) are ignored. An index with
//! a column that is an expression is left out; a foreign key whose referenced columns the
//! catalog leaves implicit (SQLite's `REFERENCES t`) references the table's primary key.

use crate::model::{Column, ForeignKey, Index, Schema, Table};
use coherent_core::OnDelete;
use std::collections::BTreeMap;

/// A schema being read.
#[derive(Debug, Default)]
pub(super) struct Reading {
    tables: BTreeMap<String, TableReading>,
}

#[derive(Debug, Default)]
struct TableReading {
    columns: Vec<(i64, Column)>,
    primary_key: Vec<(i64, String)>,
    indexes: BTreeMap<String, IndexReading>,
    foreign_keys: BTreeMap<String, ForeignKeyReading>,
}

#[derive(Debug)]
struct IndexReading {
    unique: bool,
    /// (position, column; None for an expression).
    parts: Vec<(i64, Option<String>)>,
}

#[derive(Debug)]
struct ForeignKeyReading {
    referenced_table: String,
    on_delete: OnDelete,
    /// (position, column, referenced column; None where left implicit).
    parts: Vec<(i64, String, Option<String>)>,
}

impl Reading {
    /// Registers the table `name` (with no columns yet).
    pub(super) fn table(&mut self, name: &str) {
        self.tables.entry(name.to_owned()).or_default();
    }

    /// Adds a column of `table` at `position`.
    pub(super) fn column(&mut self, table: &str, position: i64, column: Column) {
        self.tables
            .entry(table.to_owned())
            .or_default()
            .columns
            .push((position, column));
    }

    /// Changes the column of `table` at `position`.
    pub(super) fn update_column(
        &mut self,
        table: &str,
        position: i64,
        change: impl FnOnce(&mut Column),
    ) {
        let column = self.tables.get_mut(table).and_then(|t| {
            t.columns
                .iter_mut()
                .find(|(at, _)| *at == position)
                .map(|(_, c)| c)
        });
        if let Some(column) = column {
            change(column);
        }
    }

    /// Adds `column` to `table`'s primary key at `position`.
    pub(super) fn primary_key(&mut self, table: &str, position: i64, column: &str) {
        if let Some(t) = self.tables.get_mut(table) {
            t.primary_key.push((position, column.to_owned()));
        }
    }

    /// Adds a column (None: an expression) at `position` to the index `name` of `table`.
    pub(super) fn index(
        &mut self,
        table: &str,
        name: &str,
        unique: bool,
        position: i64,
        column: Option<String>,
    ) {
        if let Some(t) = self.tables.get_mut(table) {
            t.indexes
                .entry(name.to_owned())
                .or_insert_with(|| IndexReading {
                    unique,
                    parts: Vec::new(),
                })
                .parts
                .push((position, column));
        }
    }

    /// Adds a column pair at `position` to the foreign key `name` of `table`.
    #[allow(clippy::too_many_arguments)] // one catalog row, as it comes
    pub(super) fn foreign_key(
        &mut self,
        table: &str,
        name: &str,
        referenced_table: &str,
        on_delete: OnDelete,
        position: i64,
        column: &str,
        referenced_column: Option<String>,
    ) {
        if let Some(t) = self.tables.get_mut(table) {
            t.foreign_keys
                .entry(name.to_owned())
                .or_insert_with(|| ForeignKeyReading {
                    referenced_table: referenced_table.to_owned(),
                    on_delete,
                    parts: Vec::new(),
                })
                .parts
                .push((position, column.to_owned(), referenced_column));
        }
    }

    /// The schema read (not yet normalized).
    pub(super) fn finish(self) -> Schema {
        let primary_keys: BTreeMap<String, Vec<String>> = self
            .tables
            .iter()
            .map(|(name, t)| (name.clone(), in_order(t.primary_key.clone())))
            .collect();
        let mut schema = Schema::default();
        for (name, t) in self.tables {
            let mut table = Table::new(name);
            table.columns = in_order(t.columns);
            table.primary_key = in_order(t.primary_key);
            for (name, index) in t.indexes {
                let columns: Option<Vec<String>> = in_order(index.parts).into_iter().collect();
                if let Some(columns) = columns {
                    table.indexes.push(Index {
                        name,
                        columns,
                        unique: index.unique,
                    });
                }
            }
            for (name, fk) in t.foreign_keys {
                let parts = in_order(
                    fk.parts
                        .into_iter()
                        .map(|(at, column, referenced)| (at, (column, referenced)))
                        .collect(),
                );
                let implicit = primary_keys.get(&fk.referenced_table);
                let (columns, referenced_columns) = parts
                    .into_iter()
                    .enumerate()
                    .map(|(i, (column, referenced))| {
                        let referenced = referenced
                            .or_else(|| implicit.and_then(|pk| pk.get(i).cloned()))
                            .unwrap_or_default();
                        (column, referenced)
                    })
                    .unzip();
                table.foreign_keys.push(ForeignKey {
                    name,
                    columns,
                    referenced_table: fk.referenced_table,
                    referenced_columns,
                    on_delete: fk.on_delete,
                });
            }
            schema.tables.push(table);
        }
        schema
    }
}

/// The items of `parts` sorted by their position.
fn in_order<T>(mut parts: Vec<(i64, T)>) -> Vec<T> {
    parts.sort_by_key(|(at, _)| *at);
    parts.into_iter().map(|(_, item)| item).collect()
}
