//! The schema the entities ask for: what `SchemaManager::create` would create, as a
//! [`Schema`].
//!
//! Policy: the same rules as the DDL in `coherent-sql` (types from
//! `coherent_sql::column_type::sql_type`, index and constraint names `uq_`/`idx_`/`fk_`),
//! so a database created by `create` or by the generated migrations introspects to exactly
//! this. ON DELETE rules are canonical too ([`canonical::on_delete`]: `RESTRICT` is
//! `NO ACTION` on MySQL/MariaDB). Join tables of owning many-to-many relations are tables of their own.

use super::{Column, ForeignKey, Index, Schema, Table, canonical};
use coherent_core::{ColumnMeta, Dialect, EntityMeta, JoinTable, OnDelete};
use coherent_sql::column_type::{entity_sql_type, sql_type};
use coherent_sql::schema::{foreign_key_name, has_own_index, index_name};

/// The schema `metas` describe in `dialect`.
///
/// ```
/// use coherent_core::{ColumnMeta, ColumnType, Dialect, EntityMeta};
/// static COLS: [ColumnMeta; 2] = [
///     ColumnMeta { primary_key: true, generated: true, ..ColumnMeta::new("id", ColumnType::BigInt) },
///     ColumnMeta { unique: true, ..ColumnMeta::new("email", ColumnType::Text) },
/// ];
/// static META: EntityMeta = EntityMeta { name: "User", table: "users", columns: &COLS, primary_key: 0, relations: &[], indexes: &[], renamed_from: None };
/// let schema = coherent_migrate::model::from_entities::schema(&[&META], Dialect::Postgres);
/// let users = schema.table("users").unwrap();
/// assert_eq!(users.column("id").unwrap().sql_type, "bigint");
/// assert!(users.column("id").unwrap().auto_increment);
/// assert_eq!(users.index("uq_users_email").unwrap().columns, ["email"]);
/// ```
pub fn schema(metas: &[&'static EntityMeta], dialect: Dialect) -> Schema {
    let mut schema = Schema::default();
    for meta in metas {
        schema.insert(entity_table(meta, dialect));
        for relation in meta.relations {
            if let (Some(join), true) = (relation.join, relation.owns_links()) {
                schema.insert(join_table(&join, meta, relation.target_meta(), dialect));
            }
        }
    }
    schema
}

/// The canonical type of a column declared alone (no entity-level index), as
/// [`schema`] spells it.
///
/// ```
/// use coherent_core::{ColumnMeta, ColumnType, Dialect};
/// use coherent_migrate::model::from_entities::column_type;
/// assert_eq!(column_type(Dialect::Postgres, &ColumnMeta::new("n", ColumnType::Int)), "integer");
/// ```
pub fn column_type(dialect: Dialect, column: &ColumnMeta) -> String {
    canonical::column_type(dialect, sql_type(dialect, column))
}

fn entity_table(meta: &EntityMeta, dialect: Dialect) -> Table {
    let mut table = Table::new(meta.table);
    table.renamed_from = meta.renamed_from.map(str::to_owned);
    table.primary_key = vec![meta.pk().name.to_owned()];
    for c in meta.columns {
        table.columns.push(column(meta, c, dialect));
        if has_own_index(c) {
            table.indexes.push(Index {
                name: index_name(meta.table, c.name, c.unique),
                columns: vec![c.name.to_owned()],
                unique: c.unique,
            });
        }
        if let Some(reference) = c.references {
            let target = (reference.meta)();
            table.foreign_keys.push(ForeignKey {
                name: foreign_key_name(meta.table, c.name),
                columns: vec![c.name.to_owned()],
                referenced_table: target.table.to_owned(),
                referenced_columns: vec![target.pk().name.to_owned()],
                on_delete: canonical::on_delete(dialect, c.on_delete),
            });
        }
    }
    for declared in meta.indexes {
        table.indexes.push(Index {
            name: declared.name.to_owned(),
            columns: declared.columns.iter().map(|c| (*c).to_owned()).collect(),
            unique: declared.unique,
        });
    }
    table.normalize();
    table
}

fn column(meta: &EntityMeta, c: &ColumnMeta, dialect: Dialect) -> Column {
    let auto_increment = c.primary_key && c.generated;
    let ty = if auto_increment && dialect == Dialect::Sqlite {
        "INTEGER"
    } else {
        entity_sql_type(dialect, meta, c)
    };
    Column {
        name: c.name.to_owned(),
        sql_type: canonical::column_type(dialect, ty),
        nullable: c.nullable && !c.primary_key,
        default: c.default.and_then(|d| canonical::default(dialect, d)),
        auto_increment,
        renamed_from: c.renamed_from.map(str::to_owned),
    }
}

fn join_table(
    join: &JoinTable,
    owner: &EntityMeta,
    target: &EntityMeta,
    dialect: Dialect,
) -> Table {
    let mut table = Table::new(join.table);
    for (name, meta) in [(join.owner_column, owner), (join.target_column, target)] {
        table.columns.push(Column {
            name: name.to_owned(),
            sql_type: canonical::column_type(dialect, sql_type(dialect, meta.pk())),
            nullable: false,
            ..Column::default()
        });
        table.foreign_keys.push(ForeignKey {
            name: foreign_key_name(join.table, name),
            columns: vec![name.to_owned()],
            referenced_table: meta.table.to_owned(),
            referenced_columns: vec![meta.pk().name.to_owned()],
            on_delete: OnDelete::Cascade,
        });
    }
    table.primary_key = vec![join.owner_column.to_owned(), join.target_column.to_owned()];
    table.indexes.push(Index {
        name: index_name(join.table, join.target_column, false),
        columns: vec![join.target_column.to_owned()],
        unique: false,
    });
    table.normalize();
    table
}
