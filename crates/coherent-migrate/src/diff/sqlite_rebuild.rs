//! SQLite's table rebuild: the changes SQLite cannot make with `ALTER TABLE` (changing a
//! column, adding or dropping a foreign key, adding a `NOT NULL` column without a default or
//! a column whose default is not a literal, dropping a key column) are made by creating the
//! table anew, copying its rows (and its `AUTOINCREMENT` counter), dropping the old one and
//! renaming the new one, then creating its indexes again, inside the migration's
//! transaction.
//!
//! Policy: a table is rebuilt once per migration, after the other changes to it (renames
//! run before, in place), from its state at that point to its final state; the columns both
//! have are copied by name. The Migrator runs SQLite migrations with foreign-key
//! enforcement off (dropping the old table must not cascade to the rows that reference it)
//! and checks every foreign key before it commits (`PRAGMA foreign_key_check`): a rebuild
//! that leaves a dangling reference fails the migration.

use super::change::Change;
use super::ddl::{create_index, create_table_named, is_literal, quote, quote_list};
use crate::model::{Schema, Table};
use coherent_core::Dialect;
use std::collections::HashSet;

/// The prefix of a rebuild's new table while its rows are copied.
pub(crate) const NEW_TABLE_PREFIX: &str = "_coherent_new_";

/// The tables SQLite must rebuild to make `changes` on `from`.
pub(crate) fn tables_to_rebuild(changes: &[Change], from: &Schema) -> HashSet<String> {
    let dropped = dropped_tables(changes);
    let mut working = from.clone();
    let mut created: HashSet<&str> = HashSet::new();
    let mut out = HashSet::new();
    for change in changes {
        let rebuild = match change {
            Change::CreateTable(t) => {
                created.insert(&t.name);
                false
            }
            Change::AlterColumn { .. } => true,
            Change::DropForeignKey { table, .. } => !dropped.contains(table),
            Change::AddForeignKey { table, .. } => !created.contains(table.as_str()),
            // SQLite adds a column in place only with a literal default (not
            // `CURRENT_TIMESTAMP`, not an expression), and a `NOT NULL` one only with one.
            Change::AddColumn { column, .. } => match &column.default {
                _ if column.auto_increment => true,
                None => !column.nullable,
                Some(d) => !is_literal(d),
            },
            Change::DropColumn { table, column } => working.table(table).is_some_and(|t| {
                t.primary_key.contains(&column.name)
                    || t.foreign_keys
                        .iter()
                        .any(|f| f.columns.contains(&column.name))
            }),
            _ => false,
        };
        if rebuild {
            out.insert(change.table().to_owned());
        }
        change.apply(&mut working);
    }
    out
}

/// The tables `changes` drop. (A foreign key of a table about to be dropped needs no
/// rebuild to go: it goes with the table.)
pub(crate) fn dropped_tables(changes: &[Change]) -> HashSet<String> {
    changes
        .iter()
        .filter_map(|c| match c {
            Change::DropTable(t) => Some(t.name.clone()),
            _ => None,
        })
        .collect()
}

/// Whether a change to a rebuilt table is made by the rebuild (renames are made in place,
/// before it).
pub(crate) fn absorbed(change: &Change) -> bool {
    !matches!(
        change,
        Change::CreateTable(_)
            | Change::DropTable(_)
            | Change::RenameTable { .. }
            | Change::RenameColumn { .. }
    )
}

/// The statements that rebuild `before` as `after`.
pub(crate) fn rebuild(before: &Table, after: &Table) -> Vec<String> {
    let d = Dialect::Sqlite;
    let new_name = format!("{NEW_TABLE_PREFIX}{}", after.name);
    let mut out = create_table_named(d, after, &new_name, &after.foreign_keys);
    let copied: Vec<String> = after
        .columns
        .iter()
        .filter(|c| before.column(&c.name).is_some())
        .map(|c| c.name.clone())
        .collect();
    if !copied.is_empty() {
        let list = quote_list(d, &copied);
        out.push(format!(
            "INSERT INTO {} ({list}) SELECT {list} FROM {}",
            quote(d, &new_name),
            quote(d, &before.name)
        ));
    }
    if after.columns.iter().any(|c| c.auto_increment) {
        // AUTOINCREMENT never reuses the key of a deleted row: the new table takes the old
        // one's counter (copying rows only carries their highest key). Creating the new
        // table made sure `sqlite_sequence` exists.
        let (old, new) = (text_literal(&before.name), text_literal(&new_name));
        out.push(format!("DELETE FROM sqlite_sequence WHERE name = {new}"));
        out.push(format!(
            "INSERT INTO sqlite_sequence (name, seq) SELECT {new}, seq FROM sqlite_sequence WHERE name = {old}"
        ));
    }
    out.push(format!("DROP TABLE {}", quote(d, &before.name)));
    out.push(format!(
        "ALTER TABLE {} RENAME TO {}",
        quote(d, &new_name),
        quote(d, &after.name)
    ));
    out.extend(
        after
            .indexes
            .iter()
            .map(|i| create_index(d, &after.name, i)),
    );
    out
}

/// `text` as an SQL string literal.
fn text_literal(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}
