//! Random schema shapes, as the entities could declare them, and random evolutions of them:
//! what the round-trip property test migrates between.

use coherent::Dialect;
use coherent::core::{ColumnMeta, ColumnType, OnDelete};
use coherent::migrate::model::{Column, ForeignKey, Index, Schema, Table, canonical};
use proptest::prelude::*;
use proptest::sample::select;

/// What a generated column holds (the dialect picks its SQL type).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Bool,
    SmallInt,
    Int,
    BigInt,
    Double,
    /// Unbounded text (never indexed: MySQL cannot).
    Text,
    /// Indexable text (`VARCHAR(255)` on MySQL).
    KeyText,
    Blob,
}

impl Kind {
    const ALL: [Kind; 8] = [
        Kind::Bool,
        Kind::SmallInt,
        Kind::Int,
        Kind::BigInt,
        Kind::Double,
        Kind::Text,
        Kind::KeyText,
        Kind::Blob,
    ];

    /// The kinds a column of this kind may change to without an impossible cast (on an
    /// empty table every such change is possible on every backend).
    fn family(self) -> &'static [Kind] {
        match self {
            Kind::SmallInt | Kind::Int | Kind::BigInt | Kind::Double => {
                &[Kind::SmallInt, Kind::Int, Kind::BigInt, Kind::Double]
            }
            Kind::Text | Kind::KeyText => &[Kind::Text, Kind::KeyText],
            Kind::Bool => &[Kind::Bool],
            Kind::Blob => &[Kind::Blob],
        }
    }

    fn indexable(self) -> bool {
        !matches!(self, Kind::Text | Kind::Blob)
    }

    /// The canonical SQL type in `dialect`, as the entities would render it.
    pub fn sql_type(self, dialect: Dialect) -> String {
        let ty = match self {
            Kind::Bool => ColumnType::Bool,
            Kind::SmallInt => ColumnType::SmallInt,
            Kind::Int => ColumnType::Int,
            Kind::BigInt => ColumnType::BigInt,
            Kind::Double => ColumnType::Double,
            Kind::Text | Kind::KeyText => ColumnType::Text,
            Kind::Blob => ColumnType::Blob,
        };
        let meta = ColumnMeta {
            index: self == Kind::KeyText,
            ..ColumnMeta::new("c", ty)
        };
        coherent::migrate::model::from_entities::column_type(dialect, &meta)
    }

    /// A default the column may have, as the entity would write it.
    fn defaults(self) -> &'static [&'static str] {
        match self {
            Kind::SmallInt | Kind::Int | Kind::BigInt => &["0", "42"],
            Kind::Double => &["1.5"],
            Kind::Text | Kind::KeyText => &["'x'", "'it''s'"],
            Kind::Bool | Kind::Blob => &[],
        }
    }
}

/// A generated column before it is given a dialect.
#[derive(Debug, Clone)]
pub struct ColumnShape {
    pub name: String,
    pub kind: Kind,
    pub nullable: bool,
    /// Index into the kind's defaults, if any.
    pub default: Option<usize>,
    pub renamed_from: Option<String>,
}

/// A generated table.
#[derive(Debug, Clone)]
pub struct TableShape {
    pub name: String,
    pub columns: Vec<ColumnShape>,
    /// Indexes: column positions and unique.
    pub indexes: Vec<(Vec<usize>, bool)>,
    /// Foreign keys: column position, referenced table name, rule.
    pub foreign_keys: Vec<(usize, String, OnDelete)>,
    pub renamed_from: Option<String>,
}

/// A generated schema.
#[derive(Debug, Clone, Default)]
pub struct Shape {
    pub tables: Vec<TableShape>,
}

fn column_shape(name: String) -> impl Strategy<Value = ColumnShape> {
    (
        select(Kind::ALL.to_vec()),
        any::<bool>(),
        proptest::option::of(0usize..2),
    )
        .prop_map(move |(kind, nullable, default)| ColumnShape {
            name: name.clone(),
            kind,
            nullable,
            default: default.filter(|d| *d < kind.defaults().len()),
            renamed_from: None,
        })
}

fn rule() -> impl Strategy<Value = OnDelete> {
    select(vec![
        OnDelete::NoAction,
        OnDelete::Cascade,
        OnDelete::Restrict,
        OnDelete::SetNull,
    ])
}

fn table_shape(name: String, others: Vec<String>) -> impl Strategy<Value = TableShape> {
    let columns = (1usize..6).prop_flat_map({
        move |n| {
            (0..n)
                .map(|i| column_shape(format!("c{i}")))
                .collect::<Vec<_>>()
                .prop_map(|cols| cols)
        }
    });
    let name2 = name.clone();
    columns
        .prop_flat_map(move |columns| {
            let n = columns.len();
            let indexes = proptest::collection::vec(
                (proptest::collection::vec(0..n, 1..3), any::<bool>()),
                0..3,
            );
            let fk_targets = if others.is_empty() {
                vec![name2.clone()]
            } else {
                others.clone()
            };
            let fks = proptest::collection::vec((0..n, select(fk_targets), rule()), 0..2);
            (Just(columns), indexes, fks)
        })
        .prop_map(move |(columns, indexes, fks)| {
            let mut t = TableShape {
                name: name.clone(),
                columns,
                indexes,
                foreign_keys: fks,
                renamed_from: None,
            };
            t.fix();
            t
        })
}

impl TableShape {
    /// Makes the shape valid: index columns distinct and indexable, foreign-key columns
    /// `BigInt` (nullable for SET NULL), one foreign key per column.
    pub fn fix(&mut self) {
        let mut seen_fk = Vec::new();
        self.foreign_keys.retain(|(c, ..)| {
            let fresh = !seen_fk.contains(c);
            seen_fk.push(*c);
            fresh
        });
        for (c, _, rule) in &self.foreign_keys {
            let col = &mut self.columns[*c];
            col.kind = Kind::BigInt;
            col.default = None;
            if *rule == OnDelete::SetNull {
                col.nullable = true;
            }
        }
        let columns = &self.columns;
        for (cols, _) in &mut self.indexes {
            let mut distinct = Vec::new();
            for c in cols.iter() {
                if !distinct.contains(c) && columns[*c].kind.indexable() {
                    distinct.push(*c);
                }
            }
            *cols = distinct;
        }
        self.indexes.retain(|(cols, _)| !cols.is_empty());
        let mut names = Vec::new();
        self.indexes.retain(|(cols, _)| {
            let fresh = !names.contains(cols);
            names.push(cols.clone());
            fresh
        });
    }
}

/// A schema of one to three tables (each may reference any of them: cycles included).
pub fn shape() -> impl Strategy<Value = Shape> {
    (1usize..4).prop_flat_map(|n| {
        (0..n)
            .map(|i| {
                let others: Vec<String> = (0..n).map(|j| format!("t{j}")).collect();
                table_shape(format!("t{i}"), others).boxed()
            })
            .collect::<Vec<_>>()
            .prop_map(|tables| Shape { tables })
    })
}

/// One evolution step applied to a shape.
#[derive(Debug, Clone)]
pub enum Step {
    AddColumn {
        table: usize,
        kind: Kind,
        nullable: bool,
    },
    DropColumn {
        table: usize,
        column: usize,
    },
    ToggleNullable {
        table: usize,
        column: usize,
    },
    ChangeKind {
        table: usize,
        column: usize,
        pick: usize,
    },
    ChangeDefault {
        table: usize,
        column: usize,
        pick: Option<usize>,
    },
    RenameColumn {
        table: usize,
        column: usize,
    },
    RenameTable {
        table: usize,
    },
    AddIndex {
        table: usize,
        columns: Vec<usize>,
        unique: bool,
    },
    DropIndex {
        table: usize,
        index: usize,
    },
    ToggleUnique {
        table: usize,
        index: usize,
    },
    AddForeignKey {
        table: usize,
        column: usize,
        target: usize,
        rule: OnDelete,
    },
    DropForeignKey {
        table: usize,
        index: usize,
    },
    AddTable,
    DropTable {
        table: usize,
    },
}

pub fn steps() -> impl Strategy<Value = Vec<Step>> {
    let i = || 0usize..8;
    let step = prop_oneof![
        (i(), select(Kind::ALL.to_vec()), any::<bool>()).prop_map(|(table, kind, nullable)| {
            Step::AddColumn {
                table,
                kind,
                nullable,
            }
        }),
        (i(), i()).prop_map(|(table, column)| Step::DropColumn { table, column }),
        (i(), i()).prop_map(|(table, column)| Step::ToggleNullable { table, column }),
        (i(), i(), i()).prop_map(|(table, column, pick)| Step::ChangeKind {
            table,
            column,
            pick
        }),
        (i(), i(), proptest::option::of(0usize..2)).prop_map(|(table, column, pick)| {
            Step::ChangeDefault {
                table,
                column,
                pick,
            }
        }),
        (i(), i()).prop_map(|(table, column)| Step::RenameColumn { table, column }),
        i().prop_map(|table| Step::RenameTable { table }),
        (i(), proptest::collection::vec(i(), 1..3), any::<bool>()).prop_map(
            |(table, columns, unique)| Step::AddIndex {
                table,
                columns,
                unique
            }
        ),
        (i(), i()).prop_map(|(table, index)| Step::DropIndex { table, index }),
        (i(), i()).prop_map(|(table, index)| Step::ToggleUnique { table, index }),
        (i(), i(), i(), rule()).prop_map(|(table, column, target, rule)| Step::AddForeignKey {
            table,
            column,
            target,
            rule
        }),
        (i(), i()).prop_map(|(table, index)| Step::DropForeignKey { table, index }),
        Just(Step::AddTable),
        i().prop_map(|table| Step::DropTable { table }),
    ];
    proptest::collection::vec(step, 1..6)
}

impl Shape {
    /// The shape after `steps` (steps that do not apply are skipped), with rename hints.
    pub fn evolve(&self, steps: &[Step], counter: &mut usize) -> Shape {
        let mut next = self.clone();
        for t in &mut next.tables {
            t.renamed_from = None;
            for c in &mut t.columns {
                c.renamed_from = None;
            }
        }
        let mut fresh = |prefix: &str| {
            *counter += 1;
            format!("{prefix}{counter}")
        };
        for step in steps {
            let n = next.tables.len();
            if n == 0 && !matches!(step, Step::AddTable) {
                continue;
            }
            match step.clone() {
                Step::AddColumn {
                    table,
                    kind,
                    nullable,
                } => {
                    let name = fresh("a");
                    next.tables[table % n].columns.push(ColumnShape {
                        name,
                        kind,
                        nullable,
                        default: None,
                        renamed_from: None,
                    });
                }
                Step::DropColumn { table, column } => {
                    let t = &mut next.tables[table % n];
                    if t.columns.len() > 1 {
                        let c = column % t.columns.len();
                        t.columns.remove(c);
                        t.indexes.retain(|(cols, _)| !cols.contains(&c));
                        for (cols, _) in &mut t.indexes {
                            cols.iter_mut().filter(|x| **x > c).for_each(|x| *x -= 1);
                        }
                        t.foreign_keys.retain(|(fc, ..)| *fc != c);
                        t.foreign_keys
                            .iter_mut()
                            .filter(|f| f.0 > c)
                            .for_each(|f| f.0 -= 1);
                    }
                }
                Step::ToggleNullable { table, column } => {
                    let t = &mut next.tables[table % n];
                    let c = column % t.columns.len();
                    let set_null = t
                        .foreign_keys
                        .iter()
                        .any(|f| f.0 == c && f.2 == OnDelete::SetNull);
                    if !set_null {
                        t.columns[c].nullable = !t.columns[c].nullable;
                    }
                }
                Step::ChangeKind {
                    table,
                    column,
                    pick,
                } => {
                    let t = &mut next.tables[table % n];
                    let c = column % t.columns.len();
                    let in_fk = t.foreign_keys.iter().any(|f| f.0 == c);
                    let in_index = t.indexes.iter().any(|(cols, _)| cols.contains(&c));
                    let col = &mut t.columns[c];
                    let family = col.kind.family();
                    let kind = family[pick % family.len()];
                    if !in_fk && (kind.indexable() || !in_index) {
                        col.kind = kind;
                        col.default = col.default.filter(|d| *d < kind.defaults().len());
                    }
                }
                Step::ChangeDefault {
                    table,
                    column,
                    pick,
                } => {
                    let t = &mut next.tables[table % n];
                    let c = column % t.columns.len();
                    let col = &mut t.columns[c];
                    if !t.foreign_keys.iter().any(|f| f.0 == c) {
                        col.default = pick.filter(|d| *d < col.kind.defaults().len());
                    }
                }
                Step::RenameColumn { table, column } => {
                    let name = fresh("r");
                    let t = &mut next.tables[table % n];
                    let c = column % t.columns.len();
                    let col = &mut t.columns[c];
                    if col.renamed_from.is_none() {
                        col.renamed_from = Some(std::mem::replace(&mut col.name, name));
                    }
                }
                Step::RenameTable { table } => {
                    let name = fresh("rt");
                    let t = table % n;
                    if next.tables[t].renamed_from.is_none() {
                        let old = std::mem::replace(&mut next.tables[t].name, name.clone());
                        next.tables[t].renamed_from = Some(old.clone());
                        for other in &mut next.tables {
                            for fk in &mut other.foreign_keys {
                                if fk.1 == old {
                                    fk.1.clone_from(&name);
                                }
                            }
                        }
                    }
                }
                Step::AddIndex {
                    table,
                    columns,
                    unique,
                } => {
                    let t = &mut next.tables[table % n];
                    let k = t.columns.len();
                    t.indexes
                        .push((columns.iter().map(|c| c % k).collect(), unique));
                    t.fix();
                }
                Step::DropIndex { table, index } => {
                    let t = &mut next.tables[table % n];
                    if !t.indexes.is_empty() {
                        let i = index % t.indexes.len();
                        t.indexes.remove(i);
                    }
                }
                Step::ToggleUnique { table, index } => {
                    let t = &mut next.tables[table % n];
                    if !t.indexes.is_empty() {
                        let i = index % t.indexes.len();
                        t.indexes[i].1 = !t.indexes[i].1;
                    }
                }
                Step::AddForeignKey {
                    table,
                    column,
                    target,
                    rule,
                } => {
                    let target = next.tables[target % n].name.clone();
                    let t = &mut next.tables[table % n];
                    let c = column % t.columns.len();
                    let in_index = t.indexes.iter().any(|(cols, _)| cols.contains(&c));
                    // The column becomes a BigInt: only from a type that casts to it.
                    let castable = t.columns[c].kind.family().contains(&Kind::BigInt);
                    if !t.foreign_keys.iter().any(|f| f.0 == c) && !in_index && castable {
                        t.foreign_keys.push((c, target, rule));
                        t.fix();
                    }
                }
                Step::DropForeignKey { table, index } => {
                    let t = &mut next.tables[table % n];
                    if !t.foreign_keys.is_empty() {
                        let i = index % t.foreign_keys.len();
                        t.foreign_keys.remove(i);
                    }
                }
                Step::AddTable => {
                    let name = fresh("nt");
                    next.tables.push(TableShape {
                        name,
                        columns: vec![ColumnShape {
                            name: "c0".into(),
                            kind: Kind::KeyText,
                            nullable: true,
                            default: None,
                            renamed_from: None,
                        }],
                        indexes: vec![(vec![0], true)],
                        foreign_keys: Vec::new(),
                        renamed_from: None,
                    });
                }
                Step::DropTable { table } => {
                    let t = table % n;
                    let name = next.tables.remove(t).name;
                    for other in &mut next.tables {
                        other.foreign_keys.retain(|f| f.1 != name);
                    }
                }
            }
        }
        next
    }

    /// The schema in `dialect`, named as the entities name things.
    pub fn schema(&self, dialect: Dialect) -> Schema {
        let mut schema = Schema::default();
        for t in &self.tables {
            let mut table = Table::new(t.name.clone());
            table.renamed_from.clone_from(&t.renamed_from);
            table.primary_key = vec!["id".into()];
            table.columns.push(Column {
                name: "id".into(),
                sql_type: Kind::BigInt.sql_type(dialect),
                auto_increment: true,
                ..Column::default()
            });
            for c in &t.columns {
                table.columns.push(Column {
                    name: c.name.clone(),
                    sql_type: c.kind.sql_type(dialect),
                    nullable: c.nullable,
                    default: c
                        .default
                        .and_then(|d| canonical::default(dialect, c.kind.defaults()[d])),
                    auto_increment: false,
                    renamed_from: c.renamed_from.clone(),
                });
            }
            for (cols, unique) in &t.indexes {
                let names: Vec<String> = cols.iter().map(|c| t.columns[*c].name.clone()).collect();
                let prefix = if *unique { "uq" } else { "idx" };
                table.indexes.push(Index {
                    name: format!("{prefix}_{}_{}", t.name, names.join("_")),
                    columns: names,
                    unique: *unique,
                });
            }
            for (c, target, rule) in &t.foreign_keys {
                let column = t.columns[*c].name.clone();
                table.foreign_keys.push(ForeignKey {
                    name: format!("fk_{}_{column}", t.name),
                    columns: vec![column],
                    referenced_table: target.clone(),
                    referenced_columns: vec!["id".into()],
                    on_delete: canonical::on_delete(dialect, *rule),
                });
                // Coherent indexes every reference column.
                let name = format!("idx_{}_{}", t.name, t.columns[*c].name);
                if !table.indexes.iter().any(|i| i.name == name) {
                    table.indexes.push(Index {
                        name,
                        columns: vec![t.columns[*c].name.clone()],
                        unique: false,
                    });
                }
            }
            table.normalize();
            schema.insert(table);
        }
        schema
    }
}
