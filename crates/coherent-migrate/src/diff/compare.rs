//! Comparing two schemas into the ordered list of [`Change`]s that turns one into the other.
//!
//! Policy: renames are never guessed: only a `renamed_from` on the target side (from
//! `#[entity(renamed_from)]` / `#[column(renamed_from)]`) makes a rename, and only while the
//! old name still exists and the new one does not (so a rename already applied is no
//! change). The order is safe on every dialect: renames first, then what depends on other
//! things goes (foreign keys, then indexes), tables are created, columns added, altered and
//! dropped, tables dropped (referencing ones first), and last indexes and
//! foreign keys are added (so tables may reference each other). A changed index or foreign
//! key is dropped and added again, and so is a foreign key over a column whose type changes
//! (MySQL/MariaDB cannot change it under the key). Primary keys are compared by their
//! columns' definitions only: changing which columns form the key is not supported (it is
//! reported as neither).

use super::change::Change;
use crate::model::{Column, ForeignKey, Schema, Table};

/// The changes that turn `from` into `to`, in the order they must run.
///
/// ```
/// use coherent_migrate::diff::{Change, diff};
/// use coherent_migrate::model::{Column, Schema, Table};
/// let mut from = Schema::default();
/// from.insert(Table { columns: vec![Column { name: "id".into(), sql_type: "bigint".into(), ..Column::default() }], ..Table::new("users") });
/// let mut to = from.clone();
/// to.tables[0].columns.push(Column { name: "age".into(), sql_type: "integer".into(), nullable: true, ..Column::default() });
/// let changes = diff(&from, &to);
/// assert!(matches!(&changes[..], [Change::AddColumn { table, column }] if table == "users" && column.name == "age"));
/// assert!(diff(&to, &to).is_empty());
/// ```
pub fn diff(from: &Schema, to: &Schema) -> Vec<Change> {
    let mut out = Vec::new();
    let mut current = from.clone();

    // Renames first, on a copy: everything after compares by the new names.
    let mut renames = Vec::new();
    for t in &to.tables {
        if let Some(old) = &t.renamed_from
            && current.table(old).is_some()
            && current.table(&t.name).is_none()
        {
            let change = Change::RenameTable {
                from: old.clone(),
                to: t.name.clone(),
            };
            change.apply(&mut current);
            renames.push(change);
        }
    }
    for t in &to.tables {
        let Some(live) = current.table(&t.name) else {
            continue;
        };
        for c in &t.columns {
            if let Some(old) = &c.renamed_from
                && live.column(old).is_some()
                && live.column(&c.name).is_none()
            {
                renames.push(Change::RenameColumn {
                    table: t.name.clone(),
                    from: old.clone(),
                    to: c.name.clone(),
                });
            }
        }
    }
    for r in renames
        .iter()
        .filter(|r| matches!(r, Change::RenameColumn { .. }))
    {
        r.apply(&mut current);
    }

    let kept: Vec<(&Table, &Table)> = to
        .tables
        .iter()
        .filter_map(|t| current.table(&t.name).map(|live| (live, t)))
        .collect();
    let created: Vec<&Table> = to
        .tables
        .iter()
        .filter(|t| current.table(&t.name).is_none())
        .collect();
    let dropped: Vec<&Table> = current
        .tables
        .iter()
        .filter(|t| to.table(&t.name).is_none())
        .collect();

    // Renames first, so every later statement names the table and columns as they are then.
    out.extend(renames);

    // A foreign key over a column whose type changes, on either side, is dropped before
    // and added again after: MySQL/MariaDB refuse to change the type of a column in a
    // foreign key, whose two sides must keep one type.
    let retyped: Vec<(&str, &str)> = kept
        .iter()
        .flat_map(|&(live, wanted)| {
            wanted
                .columns
                .iter()
                .filter(move |c| {
                    live.column(&c.name)
                        .is_some_and(|old| old.sql_type != c.sql_type)
                })
                .map(move |c| (wanted.name.as_str(), c.name.as_str()))
        })
        .collect();
    let is_retyped =
        |table: &str, column: &str| retyped.iter().any(|&(t, c)| t == table && c == column);
    let over_retyped = |table: &str, fk: &ForeignKey| {
        fk.columns.iter().any(|c| is_retyped(table, c))
            || fk
                .referenced_columns
                .iter()
                .any(|c| is_retyped(&fk.referenced_table, c))
    };

    // What depends on other things goes next: foreign keys, then indexes.
    for (live, wanted) in &kept {
        for fk in &live.foreign_keys {
            if wanted.foreign_key(&fk.name) != Some(fk) || over_retyped(&live.name, fk) {
                out.push(Change::DropForeignKey {
                    table: live.name.clone(),
                    foreign_key: fk.clone(),
                });
            }
        }
    }
    for (live, wanted) in &kept {
        for index in &live.indexes {
            if wanted.index(&index.name) != Some(index) {
                out.push(Change::DropIndex {
                    table: live.name.clone(),
                    index: index.clone(),
                });
            }
        }
    }

    for t in &created {
        out.push(Change::CreateTable(Table {
            foreign_keys: Vec::new(),
            renamed_from: None,
            columns: t.columns.iter().map(without_hint).collect(),
            ..(*t).clone()
        }));
    }

    for (live, wanted) in &kept {
        for c in &wanted.columns {
            match live.column(&c.name) {
                None => out.push(Change::AddColumn {
                    table: live.name.clone(),
                    column: without_hint(c),
                }),
                Some(old) if *old != without_hint(c) => out.push(Change::AlterColumn {
                    table: live.name.clone(),
                    from: old.clone(),
                    to: without_hint(c),
                }),
                Some(_) => {}
            }
        }
        for c in &live.columns {
            if wanted.column(&c.name).is_none() {
                out.push(Change::DropColumn {
                    table: live.name.clone(),
                    column: c.clone(),
                });
            }
        }
    }

    for (t, referencing) in drop_order(&dropped) {
        for (table, fk) in referencing {
            out.push(Change::DropForeignKey {
                table: table.to_owned(),
                foreign_key: fk.clone(),
            });
        }
        out.push(Change::DropTable(t.clone()));
    }

    for (live, wanted) in &kept {
        for index in &wanted.indexes {
            if live.index(&index.name) != Some(index) {
                out.push(Change::AddIndex {
                    table: wanted.name.clone(),
                    index: index.clone(),
                });
            }
        }
    }
    let wanted_fks = kept
        .iter()
        .map(|(live, wanted)| (Some(*live), *wanted))
        .chain(created.iter().map(|t| (None, *t)));
    for (live, wanted) in wanted_fks {
        for fk in &wanted.foreign_keys {
            if live.and_then(|l| l.foreign_key(&fk.name)) != Some(fk)
                || over_retyped(&wanted.name, fk)
            {
                out.push(Change::AddForeignKey {
                    table: wanted.name.clone(),
                    foreign_key: fk.clone(),
                });
            }
        }
    }
    out
}

/// A column without its rename hint (what the database will hold).
fn without_hint(c: &Column) -> Column {
    Column {
        renamed_from: None,
        ..c.clone()
    }
}

/// Dropped tables, those that reference others first (so no foreign key is left pointing at
/// a dropped table). Where dropped tables reference each other in a cycle, the next one by
/// name goes after the foreign keys of the others that reference it, which are returned with
/// it to be dropped first.
fn drop_order<'a>(dropped: &[&'a Table]) -> Vec<(&'a Table, Vec<(&'a str, &'a ForeignKey)>)> {
    let mut left: Vec<&Table> = dropped.to_vec();
    let mut out = Vec::with_capacity(left.len());
    while !left.is_empty() {
        let referencing = |t: &Table, left: &[&'a Table]| -> Vec<(&'a str, &'a ForeignKey)> {
            left.iter()
                .filter(|other| other.name != t.name)
                .flat_map(|other| {
                    other
                        .foreign_keys
                        .iter()
                        .filter(|fk| fk.referenced_table == t.name)
                        .map(|fk| (other.name.as_str(), fk))
                })
                .collect()
        };
        // A table no other remaining table references can go now.
        let free = left.iter().position(|t| referencing(t, &left).is_empty());
        let t = left.remove(free.unwrap_or(0));
        let blocking = if free.is_some() {
            Vec::new()
        } else {
            referencing(t, &left)
        };
        out.push((t, blocking));
    }
    out
}
