//! From two schemas to a migration: [`diff`] lists the [`Change`]s in a safe order, and
//! [`plan`] renders them as `up` and `down` SQL for one dialect.
//!
//! Policy:
//! - **Reviewable.** The SQL is plain text, one statement per `;`, each change introduced
//!   by a comment saying what it does.
//! - **Destructive changes are opt-in.** Dropping a table or a column, or changing a type to
//!   one that may not hold every value, is rendered only with
//!   [`PlanOptions::allow_destructive`]; otherwise it becomes a comment that says what was
//!   left out and why, and the plan's [`MigrationPlan::skipped`] lists it.
//! - **`down` undoes `up`**: it is the diff from the schema `up` produces (skipped changes
//!   not made) back to where it started, renames reversed. It may drop what `up` added.
//! - **SQLite** makes the changes it cannot `ALTER` by rebuilding the table
//!   ([`sqlite_rebuild`]); the [`Migrator`](crate::migrator) runs them with foreign keys
//!   checked at the end.
//! - Foreign keys come after every table, so tables may reference each other (on SQLite a
//!   new table carries its foreign keys in its `CREATE TABLE`).

mod change;
mod compare;
mod ddl;
mod render;
pub mod sqlite_rebuild;

pub use change::Change;
pub use compare::diff;

use crate::model::Schema;
use coherent_core::Dialect;
use std::collections::HashSet;

/// How [`plan`] renders.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PlanOptions {
    /// Render destructive changes (drop a table or column, narrow a type) instead of
    /// leaving them out as comments.
    pub allow_destructive: bool,
}

impl PlanOptions {
    /// Sets [`PlanOptions::allow_destructive`].
    pub fn allow_destructive(mut self, allow: bool) -> Self {
        self.allow_destructive = allow;
        self
    }
}

/// A rendered migration: the changes it makes, those it left out, and its SQL.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MigrationPlan {
    /// The changes `up` makes.
    pub changes: Vec<Change>,
    /// The destructive changes left out, with why.
    pub skipped: Vec<(Change, String)>,
    /// The SQL that makes the changes.
    pub up: String,
    /// The SQL that undoes them.
    pub down: String,
    /// The schema after `up`.
    pub after: Schema,
}

impl MigrationPlan {
    /// Whether there is nothing to do (no change, none left out).
    ///
    /// ```
    /// use coherent_core::Dialect;
    /// use coherent_migrate::diff::{PlanOptions, plan};
    /// use coherent_migrate::model::Schema;
    /// let same = Schema::default();
    /// assert!(plan(&same, &same, Dialect::Sqlite, PlanOptions::default()).is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.changes.is_empty() && self.skipped.is_empty()
    }
}

/// The migration from `from` to `to` in `dialect`.
///
/// ```
/// use coherent_core::Dialect;
/// use coherent_migrate::diff::{PlanOptions, plan};
/// use coherent_migrate::model::{Column, Schema, Table};
/// let users = Table { columns: vec![Column { name: "id".into(), sql_type: "bigint".into(), ..Column::default() }], primary_key: vec!["id".into()], ..Table::new("users") };
/// let mut to = Schema::default();
/// to.insert(users);
/// let plan = plan(&Schema::default(), &to, Dialect::Postgres, PlanOptions::default());
/// assert!(plan.up.contains("CREATE TABLE \"users\""), "{}", plan.up);
/// assert!(plan.down.contains("DROP TABLE \"users\""), "{}", plan.down);
/// ```
pub fn plan(from: &Schema, to: &Schema, dialect: Dialect, options: PlanOptions) -> MigrationPlan {
    let mut changes = Vec::new();
    let mut skipped = Vec::new();
    for change in diff(from, to) {
        match change.destructive(dialect) {
            Some(why) if !options.allow_destructive => skipped.push((change, why)),
            _ => changes.push(change),
        }
    }
    let changes = hold_dependents(changes, &mut skipped);
    let mut after = from.clone();
    for c in &changes {
        c.apply(&mut after);
    }
    let mut up = render(&changes, from, dialect);
    for (change, why) in &skipped {
        up.push_str(&format!(
            "-- Left out: {} ({why}). Generate with --allow-destructive to include it.\n",
            change.describe()
        ));
    }
    // Back to `from`, renames reversed.
    let mut back = from.clone();
    for c in &changes {
        match c {
            Change::RenameTable { from: old, to: new } => {
                if let Some(t) = back.tables.iter_mut().find(|t| t.name == *old) {
                    t.renamed_from = Some(new.clone());
                }
            }
            Change::RenameColumn {
                table,
                from: old,
                to: new,
            } => {
                let table = original_table_name(&changes, table);
                if let Some(col) = back
                    .tables
                    .iter_mut()
                    .find(|t| t.name == table)
                    .and_then(|t| t.columns.iter_mut().find(|c| c.name == *old))
                {
                    col.renamed_from = Some(new.clone());
                }
            }
            _ => {}
        }
    }
    let down = render(&diff(&after, &back), &after, dialect);
    MigrationPlan {
        changes,
        skipped,
        up,
        down,
        after,
    }
}

/// `changes` without the indexes and foreign keys over a column whose change `skipped`
/// left out, which join `skipped`: made on the column as it stays, they could fail (MySQL
/// cannot index the `LONGTEXT` a `VARCHAR(255)` stays, nor join columns of two types in a
/// foreign key). An index or foreign key held back is not dropped either, when it is one
/// being changed.
fn hold_dependents(changes: Vec<Change>, skipped: &mut Vec<(Change, String)>) -> Vec<Change> {
    let held: HashSet<(String, String)> = skipped
        .iter()
        .filter_map(|(c, _)| match c {
            Change::AlterColumn { table, to, .. } => Some((table.clone(), to.name.clone())),
            _ => None,
        })
        .collect();
    if held.is_empty() {
        return changes;
    }
    let held_column = |change: &Change| -> Option<String> {
        let find = |table: &str, columns: &[String]| {
            columns
                .iter()
                .find(|c| held.contains(&(table.to_owned(), (*c).clone())))
                .map(|c| format!("{table}.{c}"))
        };
        match change {
            Change::AddIndex { table, index } => find(table, &index.columns),
            Change::AddForeignKey { table, foreign_key } => find(table, &foreign_key.columns)
                .or_else(|| {
                    find(
                        &foreign_key.referenced_table,
                        &foreign_key.referenced_columns,
                    )
                }),
            _ => None,
        }
    };
    let mut waiting: Vec<(Change, String)> = Vec::new();
    let mut kept = Vec::with_capacity(changes.len());
    for change in changes {
        match held_column(&change) {
            Some(column) => waiting.push((change, column)),
            None => kept.push(change),
        }
    }
    // The drop half of a changed index or foreign key waits with its add half.
    let same = |a: &Change, b: &Change| match (a, b) {
        (Change::DropIndex { table, index }, Change::AddIndex { table: t, index: i }) => {
            table == t && index.name == i.name
        }
        (
            Change::DropForeignKey { table, foreign_key },
            Change::AddForeignKey {
                table: t,
                foreign_key: f,
            },
        ) => table == t && foreign_key.name == f.name,
        _ => false,
    };
    let (dropped_too, kept): (Vec<Change>, Vec<Change>) = kept
        .into_iter()
        .partition(|c| waiting.iter().any(|(w, _)| same(c, w)));
    for change in dropped_too {
        let column = waiting
            .iter()
            .find(|(w, _)| same(&change, w))
            .map(|(_, column)| column.clone())
            .unwrap_or_default();
        skipped.push((
            change,
            format!("it goes with the change to {column} left out"),
        ));
    }
    for (change, column) in waiting {
        skipped.push((change, format!("it needs the change to {column} left out")));
    }
    kept
}

/// The name `table` had before the renames in `changes`.
fn original_table_name(changes: &[Change], table: &str) -> String {
    changes
        .iter()
        .find_map(|c| match c {
            Change::RenameTable { from, to } if to == table => Some(from.clone()),
            _ => None,
        })
        .unwrap_or_else(|| table.to_owned())
}

/// `changes` (made on `from`) as SQL text: each change's comment, then its statements, each
/// ending in `;`.
pub fn render(changes: &[Change], from: &Schema, dialect: Dialect) -> String {
    let mut out = String::new();
    let rebuilt: HashSet<String> = if dialect == Dialect::Sqlite {
        sqlite_rebuild::tables_to_rebuild(changes, from)
    } else {
        HashSet::new()
    };
    let dropped = if dialect == Dialect::Sqlite {
        sqlite_rebuild::dropped_tables(changes)
    } else {
        HashSet::new()
    };
    let mut working = from.clone();
    let mut created: HashSet<String> = HashSet::new();
    for (i, change) in changes.iter().enumerate() {
        let table = change.table();
        if rebuilt.contains(table) && sqlite_rebuild::absorbed(change) {
            let last = !changes[i + 1..]
                .iter()
                .any(|c| c.table() == table && sqlite_rebuild::absorbed(c));
            if last {
                let before = working.table(table).cloned().unwrap_or_default();
                for c in changes
                    .iter()
                    .filter(|c| c.table() == table && sqlite_rebuild::absorbed(c))
                {
                    c.apply(&mut working);
                }
                let after = working.table(table).cloned().unwrap_or_default();
                let what: Vec<String> = changes
                    .iter()
                    .filter(|c| c.table() == table && sqlite_rebuild::absorbed(c))
                    .map(Change::describe)
                    .collect();
                section(
                    &mut out,
                    &format!(
                        "rebuild table {table} (SQLite cannot alter it in place): {}",
                        what.join("; ")
                    ),
                    &sqlite_rebuild::rebuild(&before, &after),
                );
            }
            continue;
        }
        let statements = match change {
            // A new SQLite table carries its foreign keys in its CREATE TABLE.
            Change::CreateTable(t) if dialect == Dialect::Sqlite => {
                created.insert(t.name.clone());
                let fks: Vec<_> = changes
                    .iter()
                    .filter_map(|c| match c {
                        Change::AddForeignKey { table, foreign_key } if *table == t.name => {
                            Some(foreign_key.clone())
                        }
                        _ => None,
                    })
                    .collect();
                ddl::create_table(dialect, t, &fks)
            }
            // A foreign key of a new SQLite table is in its CREATE TABLE; one of a table
            // about to be dropped goes with it.
            Change::AddForeignKey { table, .. } if created.contains(table) => {
                change.apply(&mut working);
                continue;
            }
            Change::DropForeignKey { table, .. } if dropped.contains(table) => {
                change.apply(&mut working);
                continue;
            }
            _ => render::statements(change, dialect),
        };
        section(&mut out, &change.describe(), &statements);
        change.apply(&mut working);
    }
    out
}

/// Appends `-- comment` and the statements.
fn section(out: &mut String, comment: &str, statements: &[String]) {
    out.push_str("-- ");
    out.push_str(comment);
    out.push('\n');
    for s in statements {
        out.push_str(s);
        out.push_str(";\n");
    }
}

#[cfg(test)]
mod tests;
