//! Columnar statements for PostgreSQL: many rows in one statement whatever their number, each
//! column's values bound as one array (`UNNEST($1::BIGINT[], $2::TEXT[])`, `= ANY($1)`).
//!
//! Policy: the text depends only on the columns, never on the number of rows, so one
//! prepared statement serves every flush, and N rows cost one round trip and a handful of
//! parameters instead of N × columns (PostgreSQL allows 65 535). The ORM hands the values row
//! after row with [`coherent_core::Statement::columnar`] set to the row width; the driver
//! binds column `i` of every row as the array `$i+1`.

use crate::column_type::sql_type;
use coherent_core::{ColumnMeta, ColumnSet, Dialect, EntityMeta};

fn q(name: &str) -> String {
    crate::ident::quote(Dialect::Postgres, name)
}

fn array(n: usize, column: &ColumnMeta) -> String {
    format!("${n}::{}[]", sql_type(Dialect::Postgres, column))
}

/// `INSERT INTO t (cols) SELECT * FROM UNNEST($1::T1[], ..) [RETURNING key]`: parameters are
/// the values of `columns`, row after row.
///
/// ```
/// use coherent_core::{ColumnMeta, ColumnSet, ColumnType, EntityMeta};
/// use coherent_sql::columnar::insert;
/// static COLS: [ColumnMeta; 2] = [ColumnMeta::new("id", ColumnType::BigInt), ColumnMeta::new("name", ColumnType::Text)];
/// static META: EntityMeta = EntityMeta { name: "User", table: "users", columns: &COLS, primary_key: 0, relations: &[], indexes: &[], renamed_from: None };
/// assert_eq!(
///     insert(&META, ColumnSet::single(1), true),
///     r#"INSERT INTO "users" ("name") SELECT * FROM UNNEST($1::TEXT[]) RETURNING "id""#
/// );
/// ```
pub fn insert(meta: &EntityMeta, columns: ColumnSet, returning_key: bool) -> String {
    let names: Vec<String> = columns.iter().map(|i| q(meta.columns[i].name)).collect();
    let arrays: Vec<String> = columns
        .iter()
        .enumerate()
        .map(|(n, i)| array(n + 1, &meta.columns[i]))
        .collect();
    let mut sql = format!(
        "INSERT INTO {} ({}) SELECT * FROM UNNEST({})",
        q(meta.table),
        names.join(", "),
        arrays.join(", ")
    );
    if returning_key {
        sql.push_str(&format!(" RETURNING {}", q(meta.pk().name)));
    }
    sql
}

/// `UPDATE t SET c = u.s<c> .. FROM UNNEST(..) AS u(k, s.., g..) WHERE t.key = u.k AND t.g IS
/// NOT DISTINCT FROM u.g ..`: parameters, row after row, are the key, the values of `set` and
/// the expected values of `guard` (the layout of `update::update_rows`).
///
/// ```
/// use coherent_core::{ColumnMeta, ColumnSet, ColumnType, EntityMeta};
/// use coherent_sql::columnar::update;
/// static COLS: [ColumnMeta; 3] = [ColumnMeta::new("id", ColumnType::BigInt), ColumnMeta::new("title", ColumnType::Text), ColumnMeta::new("version", ColumnType::Int)];
/// static META: EntityMeta = EntityMeta { name: "Doc", table: "docs", columns: &COLS, primary_key: 0, relations: &[], indexes: &[], renamed_from: None };
/// let mut set = ColumnSet::single(1); set.insert(2);
/// assert_eq!(
///     update(&META, set, ColumnSet::single(2)),
///     r#"UPDATE "docs" AS "t" SET "title" = "u"."s1", "version" = "u"."s2" FROM UNNEST($1::BIGINT[], $2::TEXT[], $3::INTEGER[], $4::INTEGER[]) AS "u"("k", "s1", "s2", "g2") WHERE "t"."id" = "u"."k" AND "t"."version" IS NOT DISTINCT FROM "u"."g2""#
/// );
/// ```
pub fn update(meta: &EntityMeta, set: ColumnSet, guard: ColumnSet) -> String {
    let pk = meta.pk();
    let mut aliases = vec![("k".to_string(), pk)];
    aliases.extend(set.iter().map(|i| (format!("s{i}"), &meta.columns[i])));
    aliases.extend(guard.iter().map(|i| (format!("g{i}"), &meta.columns[i])));
    let arrays: Vec<String> = aliases
        .iter()
        .enumerate()
        .map(|(n, (_, c))| array(n + 1, c))
        .collect();
    let names: Vec<String> = aliases.iter().map(|(a, _)| q(a)).collect();
    let assignments: Vec<String> = set
        .iter()
        .map(|i| {
            format!(
                "{} = {}.{}",
                q(meta.columns[i].name),
                q("u"),
                q(&format!("s{i}"))
            )
        })
        .collect();
    let mut on = vec![format!("{}.{} = {}.{}", q("t"), q(pk.name), q("u"), q("k"))];
    on.extend(guard.iter().map(|i| {
        format!(
            "{}.{} IS NOT DISTINCT FROM {}.{}",
            q("t"),
            q(meta.columns[i].name),
            q("u"),
            q(&format!("g{i}"))
        )
    }));
    format!(
        "UPDATE {} AS {} SET {} FROM UNNEST({}) AS {}({}) WHERE {}",
        q(meta.table),
        q("t"),
        assignments.join(", "),
        arrays.join(", "),
        q("u"),
        names.join(", "),
        on.join(" AND ")
    )
}

/// `DELETE FROM t WHERE key = ANY($1::T[])`: the parameters are the keys.
///
/// ```
/// use coherent_core::{ColumnMeta, ColumnType, EntityMeta};
/// static COLS: [ColumnMeta; 1] = [ColumnMeta::new("id", ColumnType::BigInt)];
/// static META: EntityMeta = EntityMeta { name: "User", table: "users", columns: &COLS, primary_key: 0, relations: &[], indexes: &[], renamed_from: None };
/// assert_eq!(coherent_sql::columnar::delete(&META), r#"DELETE FROM "users" WHERE "id" = ANY($1::BIGINT[])"#);
/// ```
pub fn delete(meta: &EntityMeta) -> String {
    format!(
        "DELETE FROM {} WHERE {} = ANY({})",
        q(meta.table),
        q(meta.pk().name),
        array(1, meta.pk())
    )
}

/// `SELECT <all columns> FROM t WHERE key = ANY($1::T[])`: the parameters are the keys.
pub fn select(meta: &EntityMeta) -> String {
    let names: Vec<String> = meta.columns.iter().map(|c| q(c.name)).collect();
    format!(
        "SELECT {} FROM {} WHERE {} = ANY({})",
        names.join(", "),
        q(meta.table),
        q(meta.pk().name),
        array(1, meta.pk())
    )
}
