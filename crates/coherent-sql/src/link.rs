//! Join tables of many-to-many relations: their DDL, the link rows a flush inserts and
//! deletes, and the SELECT that loads the items of many owners at once.
//!
//! Policy: a join table has the two key columns and nothing else, its primary key is the
//! pair, and each column is a foreign key to its table with `ON DELETE CASCADE`: deleting
//! either side deletes its link rows in the database. It is created after the entity tables
//! and dropped before them.

use crate::column_type::sql_type;
use crate::params::{Rendered, Slots};
use coherent_core::{Dialect, EntityMeta, JoinTable, Value};
use sea_query::{
    Alias, ColumnDef, Expr, ExprTrait, ForeignKey, ForeignKeyAction, Index, Query, Table,
};

use crate::schema::{build, place_index};

/// `CREATE TABLE IF NOT EXISTS` of the join table between `owner` and `target`, and its
/// index on the target column.
///
/// ```
/// use coherent_core::{ColumnMeta, ColumnType, Dialect, EntityMeta, JoinTable};
/// static C: [ColumnMeta; 1] = [ColumnMeta::new("id", ColumnType::BigInt)];
/// static BOOK: EntityMeta = EntityMeta { name: "Book", table: "books", columns: &C, primary_key: 0, relations: &[], indexes: &[], renamed_from: None };
/// static TAG: EntityMeta = EntityMeta { name: "Tag", table: "tags", columns: &C, primary_key: 0, relations: &[], indexes: &[], renamed_from: None };
/// let join = JoinTable { table: "books_tags", owner_column: "book_id", target_column: "tag_id" };
/// let ddl = coherent_sql::link::create_join_table(&join, &BOOK, &TAG, Dialect::Sqlite);
/// assert!(ddl[0].starts_with(r#"CREATE TABLE IF NOT EXISTS "books_tags" ( "book_id" INTEGER NOT NULL, "tag_id" INTEGER NOT NULL"#), "{}", ddl[0]);
/// assert!(ddl[0].contains(r#"PRIMARY KEY ("book_id", "tag_id")"#));
/// assert!(ddl[0].contains("ON DELETE CASCADE"));
/// ```
pub fn create_join_table(
    join: &JoinTable,
    owner: &EntityMeta,
    target: &EntityMeta,
    dialect: Dialect,
) -> Vec<String> {
    let mut table = Table::create();
    table.table(join.table).if_not_exists();
    for (column, meta) in [(join.owner_column, owner), (join.target_column, target)] {
        table.col(
            ColumnDef::new(column)
                .custom(sql_type(dialect, meta.pk()))
                .not_null(),
        );
        table.foreign_key(
            ForeignKey::create()
                .name(crate::schema::foreign_key_name(join.table, column))
                .from(join.table, column)
                .to(meta.table, meta.pk().name)
                .on_delete(ForeignKeyAction::Cascade),
        );
    }
    table.primary_key(
        Index::create()
            .col(join.owner_column)
            .col(join.target_column),
    );
    let mut idx = Index::create();
    idx.name(crate::schema::index_name(
        join.table,
        join.target_column,
        false,
    ))
    .table(join.table)
    .col(join.target_column);
    let mut out = Vec::new();
    place_index(&mut table, idx, dialect, &mut out);
    out.insert(0, build(&table, dialect));
    out
}

/// `DROP TABLE IF EXISTS` of a join table.
pub fn drop_join_table(join: &JoinTable, dialect: Dialect) -> String {
    build(Table::drop().table(join.table).if_exists(), dialect)
}

/// `INSERT INTO j (owner, item) VALUES (?, ?), ..` for `pairs` (owner key, item key).
///
/// ```
/// use coherent_core::{Dialect, Value};
/// let r = coherent_sql::link::insert_links("books_tags", "book_id", "tag_id", &[(Value::I64(1), Value::I64(2))], Dialect::Postgres);
/// assert_eq!(r.sql, r#"INSERT INTO "books_tags" ("book_id", "tag_id") VALUES ($1, $2)"#);
/// ```
pub fn insert_links(
    table: &str,
    owner_column: &str,
    item_column: &str,
    pairs: &[(Value, Value)],
    dialect: Dialect,
) -> Rendered {
    let mut slots = Slots::new();
    let mut stmt = Query::insert();
    stmt.into_table(Alias::new(table))
        .columns([Alias::new(owner_column), Alias::new(item_column)]);
    for (o, i) in pairs {
        stmt.values_panic([slots.slot(o.clone()).into(), slots.slot(i.clone()).into()]);
    }
    slots.render(&stmt, dialect)
}

/// `DELETE FROM j WHERE (owner = ? AND item = ?) OR ..` for `pairs`.
///
/// ```
/// use coherent_core::{Dialect, Value};
/// let r = coherent_sql::link::delete_links("books_tags", "book_id", "tag_id", &[(Value::I64(1), Value::I64(2))], Dialect::Sqlite);
/// assert_eq!(r.sql, r#"DELETE FROM "books_tags" WHERE "book_id" = ? AND "tag_id" = ?"#);
/// ```
pub fn delete_links(
    table: &str,
    owner_column: &str,
    item_column: &str,
    pairs: &[(Value, Value)],
    dialect: Dialect,
) -> Rendered {
    let mut slots = Slots::new();
    let mut stmt = Query::delete();
    stmt.from_table(Alias::new(table));
    let mut any = sea_query::Condition::any();
    for (o, i) in pairs {
        any = any.add(
            Expr::col(Alias::new(owner_column))
                .eq(slots.slot(o.clone()))
                .and(Expr::col(Alias::new(item_column)).eq(slots.slot(i.clone()))),
        );
    }
    stmt.cond_where(any);
    slots.render(&stmt, dialect)
}

/// `SELECT j.owner, t.<all> FROM j JOIN target AS t ON t.key = j.item WHERE j.owner IN (..)
/// ORDER BY j.owner, t.key`: the items of many owners, each row led by its owner's key.
///
/// ```
/// use coherent_core::{ColumnMeta, ColumnType, Dialect, EntityMeta, Value};
/// static C: [ColumnMeta; 2] = [ColumnMeta::new("id", ColumnType::BigInt), ColumnMeta::new("name", ColumnType::Text)];
/// static TAG: EntityMeta = EntityMeta { name: "Tag", table: "tags", columns: &C, primary_key: 0, relations: &[], indexes: &[], renamed_from: None };
/// let r = coherent_sql::link::select_linked("books_tags", "book_id", "tag_id", &TAG, &[Value::I64(1)], Dialect::Sqlite);
/// assert_eq!(r.sql, r#"SELECT "j"."book_id", "t"."id", "t"."name" FROM "books_tags" AS "j" INNER JOIN "tags" AS "t" ON "t"."id" = "j"."tag_id" WHERE "j"."book_id" IN (?) ORDER BY "j"."book_id" ASC, "t"."id" ASC"#);
/// ```
pub fn select_linked(
    table: &str,
    owner_column: &str,
    item_column: &str,
    target: &EntityMeta,
    owners: &[Value],
    dialect: Dialect,
) -> Rendered {
    let mut slots = Slots::new();
    let (j, t) = (Alias::new("j"), Alias::new("t"));
    let mut stmt = Query::select();
    stmt.column((j.clone(), Alias::new(owner_column)));
    for c in target.columns {
        stmt.column((t.clone(), c.name));
    }
    let keys: Vec<Expr> = owners
        .iter()
        .map(|v| slots.slot(v.clone()).into())
        .collect();
    stmt.from_as(Alias::new(table), j.clone())
        .join_as(
            sea_query::JoinType::InnerJoin,
            target.table,
            t.clone(),
            Expr::col((t.clone(), target.pk().name)).equals((j.clone(), Alias::new(item_column))),
        )
        .and_where(Expr::col((j.clone(), Alias::new(owner_column))).is_in(keys))
        .order_by((j, Alias::new(owner_column)), sea_query::Order::Asc)
        .order_by((t, target.pk().name), sea_query::Order::Asc);
    slots.render(&stmt, dialect)
}
