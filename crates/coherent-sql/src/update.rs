//! UPDATE by primary key.
//!
//! Policy: only changed columns are written. The shape depends on the set of changed columns,
//! so the ORM caches one text per (entity, column set) and executes it once per row with the
//! statement cached by the driver: on an embedded database that is faster than one big
//! `CASE WHEN` statement, and on every database it is one job per flush. Optimistically
//! locked updates ([`update_guarded`]) carry the expected version and checked values in
//! their own WHERE, so the check and the write are one statement (no check-then-update race).

use crate::params::Slots;
use coherent_core::{ColumnSet, Dialect, EntityMeta, Value};
use sea_query::{Expr, ExprTrait, Query};

/// `UPDATE t SET c1 = ?, c2 = ? WHERE key = ?`: parameters are the values of `columns` in
/// column order, then the key.
///
/// ```
/// use coherent_core::{ColumnMeta, ColumnSet, ColumnType, Dialect, EntityMeta};
/// use coherent_sql::update::update_by_key;
/// static COLS: [ColumnMeta; 3] = [ColumnMeta::new("id", ColumnType::BigInt), ColumnMeta::new("name", ColumnType::Text), ColumnMeta::new("age", ColumnType::Int)];
/// static META: EntityMeta = EntityMeta { name: "User", table: "users", columns: &COLS, primary_key: 0, relations: &[], indexes: &[], renamed_from: None };
/// let mut set = ColumnSet::EMPTY; set.insert(1); set.insert(2);
/// assert_eq!(update_by_key(&META, set, Dialect::Postgres), r#"UPDATE "users" SET "name" = $1, "age" = $2 WHERE "id" = $3"#);
/// ```
pub fn update_by_key(meta: &EntityMeta, columns: ColumnSet, dialect: Dialect) -> String {
    let mut slots = Slots::new();
    let mut stmt = Query::update();
    stmt.table(meta.table);
    for i in columns.iter() {
        let v = slots.slot(Value::Null);
        stmt.value(meta.columns[i].name, v);
    }
    let key = slots.slot(Value::Null);
    stmt.and_where(Expr::col(meta.pk().name).eq(key));
    slots.render(&stmt, dialect).sql
}

/// `UPDATE t SET c = ?, .. WHERE key = ? AND g1 = ? AND g2 IS NULL ..`: an optimistically
/// locked update. Parameters: the values of `set` in column order, the key, then the
/// expected values of the `guard` columns in column order, leaving out those in
/// `null_guards` (compared with `IS NULL`).
///
/// ```
/// use coherent_core::{ColumnMeta, ColumnSet, ColumnType, Dialect, EntityMeta};
/// use coherent_sql::update::update_guarded;
/// static COLS: [ColumnMeta; 3] = [ColumnMeta::new("id", ColumnType::BigInt), ColumnMeta::new("title", ColumnType::Text), ColumnMeta::new("version", ColumnType::Int)];
/// static META: EntityMeta = EntityMeta { name: "Doc", table: "docs", columns: &COLS, primary_key: 0, relations: &[], indexes: &[], renamed_from: None };
/// let mut set = ColumnSet::EMPTY; set.insert(1); set.insert(2);
/// let sql = update_guarded(&META, set, ColumnSet::single(2), ColumnSet::EMPTY, Dialect::Postgres);
/// assert_eq!(sql, r#"UPDATE "docs" SET "title" = $1, "version" = $2 WHERE "id" = $3 AND "version" = $4"#);
/// let sql = update_guarded(&META, set, ColumnSet::single(1), ColumnSet::single(1), Dialect::MySql);
/// assert_eq!(sql, "UPDATE `docs` SET `title` = ?, `version` = ? WHERE `id` = ? AND `title` IS NULL");
/// ```
pub fn update_guarded(
    meta: &EntityMeta,
    set: ColumnSet,
    guard: ColumnSet,
    null_guards: ColumnSet,
    dialect: Dialect,
) -> String {
    let mut slots = Slots::new();
    let mut stmt = Query::update();
    stmt.table(meta.table);
    for i in set.iter() {
        let v = slots.slot(Value::Null);
        stmt.value(meta.columns[i].name, v);
    }
    let key = slots.slot(Value::Null);
    stmt.and_where(Expr::col(meta.pk().name).eq(key));
    for i in guard.iter() {
        let column = Expr::col(meta.columns[i].name);
        if null_guards.contains(i) {
            stmt.and_where(column.is_null());
        } else {
            let v = slots.slot(Value::Null);
            stmt.and_where(column.eq(v));
        }
    }
    slots.render(&stmt, dialect).sql
}

/// An UPDATE of `rows` rows in one statement, for servers (where each statement is a round
/// trip): the new values of `set` and the expected values of `guard` come in a derived table
/// joined on the key, and guard columns are compared NULL-safely (`IS NOT DISTINCT FROM`,
/// `<=>`), so one text serves every row whatever its values. Parameters, row after row: the
/// key, the values of `set` in column order, the expected values of `guard` in column order.
/// The statement affects exactly the rows whose key and guard values still match. On MySQL,
/// where no guard column is nullable, the same is written as `SET c = CASE key WHEN .. END ..
/// WHERE (key, guards..) IN (..)`, which MySQL runs faster; [`arrange_rows`] orders the
/// parameters for it.
///
/// ```
/// use coherent_core::{ColumnMeta, ColumnSet, ColumnType, Dialect, EntityMeta};
/// use coherent_sql::update::update_rows;
/// static COLS: [ColumnMeta; 3] = [ColumnMeta::new("id", ColumnType::BigInt), ColumnMeta::new("title", ColumnType::Text), ColumnMeta::new("version", ColumnType::Int)];
/// static META: EntityMeta = EntityMeta { name: "Doc", table: "docs", columns: &COLS, primary_key: 0, relations: &[], indexes: &[], renamed_from: None };
/// let mut set = ColumnSet::EMPTY; set.insert(1); set.insert(2);
/// assert_eq!(
///     update_rows(&META, set, ColumnSet::single(2), 2, Dialect::Postgres),
///     r#"UPDATE "docs" AS "t" SET "title" = "v"."s1", "version" = "v"."s2" FROM (VALUES ($1::BIGINT, $2::TEXT, $3::INTEGER, $4::INTEGER), ($5::BIGINT, $6::TEXT, $7::INTEGER, $8::INTEGER)) AS "v"("k", "s1", "s2", "g2") WHERE "t"."id" = "v"."k" AND "t"."version" IS NOT DISTINCT FROM "v"."g2""#
/// );
/// assert_eq!(
///     update_rows(&META, ColumnSet::single(1), ColumnSet::single(2), 2, Dialect::MySql),
///     "UPDATE `docs` SET `title` = CASE `id` WHEN ? THEN ? WHEN ? THEN ? END WHERE (`id`, `version`) IN ((?, ?), (?, ?))"
/// );
/// // A nullable guard column needs the NULL-safe join.
/// static NULLABLE: [ColumnMeta; 2] = [ColumnMeta::new("id", ColumnType::BigInt), ColumnMeta { nullable: true, ..ColumnMeta::new("owner", ColumnType::Text) }];
/// static ACCOUNT: EntityMeta = EntityMeta { name: "A", table: "a", columns: &NULLABLE, primary_key: 0, relations: &[], indexes: &[], renamed_from: None };
/// assert_eq!(
///     update_rows(&ACCOUNT, ColumnSet::single(1), ColumnSet::single(1), 2, Dialect::MySql),
///     "UPDATE `a` AS `t` JOIN (SELECT ? AS `k`, ? AS `s1`, ? AS `g1` UNION ALL SELECT ?, ?, ?) AS `v` ON `t`.`id` = `v`.`k` AND `t`.`owner` <=> `v`.`g1` SET `t`.`owner` = `v`.`s1`"
/// );
/// ```
pub fn update_rows(
    meta: &EntityMeta,
    set: ColumnSet,
    guard: ColumnSet,
    rows: usize,
    dialect: Dialect,
) -> String {
    let q = |name: &str| crate::ident::quote(dialect, name);
    let pk = meta.pk();
    // Derived-table columns: the key, then s<i> per set column, g<i> per guard column.
    let mut aliases = vec![("k".to_string(), pk)];
    aliases.extend(set.iter().map(|i| (format!("s{i}"), &meta.columns[i])));
    aliases.extend(guard.iter().map(|i| (format!("g{i}"), &meta.columns[i])));
    let width = aliases.len();
    let assignments = |qualify: bool| {
        set.iter()
            .map(|i| {
                let target = if qualify {
                    format!("{}.{}", q("t"), q(meta.columns[i].name))
                } else {
                    q(meta.columns[i].name)
                };
                format!("{target} = {}.{}", q("v"), q(&format!("s{i}")))
            })
            .collect::<Vec<_>>()
            .join(", ")
    };
    let mut on = vec![format!("{}.{} = {}.{}", q("t"), q(pk.name), q("v"), q("k"))];
    let null_safe = if dialect == Dialect::MySql {
        "<=>"
    } else {
        "IS NOT DISTINCT FROM"
    };
    on.extend(guard.iter().map(|i| {
        format!(
            "{}.{} {null_safe} {}.{}",
            q("t"),
            q(meta.columns[i].name),
            q("v"),
            q(&format!("g{i}"))
        )
    }));
    let on = on.join(" AND ");
    let table = q(meta.table);
    match dialect {
        Dialect::MySql if mysql_case_form(meta, guard) => {
            // `SET c = CASE key WHEN ? THEN ? .. END` per column, rows matched by a tuple
            // `IN`: cheaper for MySQL than joining a derived table, and exact where no guard
            // column can be NULL (a tuple IN is not NULL-safe).
            let when = vec!["WHEN ? THEN ?"; rows].join(" ");
            let assignments: Vec<String> = set
                .iter()
                .map(|i| {
                    format!(
                        "{} = CASE {} {when} END",
                        q(meta.columns[i].name),
                        q(pk.name)
                    )
                })
                .collect();
            let mut tuple = vec![q(pk.name)];
            tuple.extend(guard.iter().map(|i| q(meta.columns[i].name)));
            let row = format!("({})", vec!["?"; tuple.len()].join(", "));
            format!(
                "UPDATE {table} SET {} WHERE ({}) IN ({})",
                assignments.join(", "),
                tuple.join(", "),
                vec![row; rows].join(", ")
            )
        }
        Dialect::MySql => {
            let first: Vec<String> = aliases
                .iter()
                .map(|(a, _)| format!("? AS {}", q(a)))
                .collect();
            let mut selects = vec![format!("SELECT {}", first.join(", "))];
            let rest = format!("SELECT {}", vec!["?"; width].join(", "));
            selects.extend(std::iter::repeat_n(rest, rows.saturating_sub(1)));
            format!(
                "UPDATE {table} AS {} JOIN ({}) AS {} ON {on} SET {}",
                q("t"),
                selects.join(" UNION ALL "),
                q("v"),
                assignments(true)
            )
        }
        _ => {
            let mut n = 0;
            let values: Vec<String> = (0..rows)
                .map(|_| {
                    let cells: Vec<String> = aliases
                        .iter()
                        .map(|(_, c)| {
                            n += 1;
                            format!(
                                "${n}::{}",
                                crate::column_type::sql_type(Dialect::Postgres, c)
                            )
                        })
                        .collect();
                    format!("({})", cells.join(", "))
                })
                .collect();
            let names: Vec<String> = aliases.iter().map(|(a, _)| q(a)).collect();
            format!(
                "UPDATE {table} AS {} SET {} FROM (VALUES {}) AS {}({}) WHERE {on}",
                q("t"),
                assignments(false),
                values.join(", "),
                q("v"),
                names.join(", ")
            )
        }
    }
}

/// Whether MySQL's multi-row UPDATE of `meta` with `guard` takes the `CASE` form (no guard
/// column is nullable) rather than the derived-table join.
fn mysql_case_form(meta: &EntityMeta, guard: ColumnSet) -> bool {
    guard.iter().all(|i| !meta.columns[i].nullable)
}

/// Puts the parameters of [`update_rows`] in the order its text binds them. The caller hands
/// them row after row (`key, set values.., guard values..`); MySQL's `CASE` form takes, per
/// set column, `key, value` for every row, then `key, guard values..` for every row.
///
/// ```
/// use coherent_core::{ColumnMeta, ColumnSet, ColumnType, Dialect, EntityMeta, Value};
/// use coherent_sql::update::arrange_rows;
/// static COLS: [ColumnMeta; 2] = [ColumnMeta::new("id", ColumnType::BigInt), ColumnMeta::new("n", ColumnType::Int)];
/// static META: EntityMeta = EntityMeta { name: "T", table: "t", columns: &COLS, primary_key: 0, relations: &[], indexes: &[], renamed_from: None };
/// let rows = vec![Value::I64(1), Value::I32(10), Value::I64(2), Value::I32(20)];
/// let mysql = arrange_rows(&META, ColumnSet::single(1), ColumnSet::EMPTY, rows.clone(), Dialect::MySql);
/// assert_eq!(mysql, vec![Value::I64(1), Value::I32(10), Value::I64(2), Value::I32(20), Value::I64(1), Value::I64(2)]);
/// assert_eq!(arrange_rows(&META, ColumnSet::single(1), ColumnSet::EMPTY, rows.clone(), Dialect::Postgres), rows);
/// ```
pub fn arrange_rows(
    meta: &EntityMeta,
    set: ColumnSet,
    guard: ColumnSet,
    params: Vec<Value>,
    dialect: Dialect,
) -> Vec<Value> {
    if dialect != Dialect::MySql || !mysql_case_form(meta, guard) {
        return params;
    }
    let width = 1 + set.len() + guard.len();
    let rows: Vec<&[Value]> = params.chunks(width).collect();
    let mut out = Vec::with_capacity(params.len() + rows.len() * set.len());
    for column in 0..set.len() {
        for row in &rows {
            out.push(row[0].clone());
            out.push(row[1 + column].clone());
        }
    }
    for row in &rows {
        out.push(row[0].clone());
        out.extend(row[1 + set.len()..].iter().cloned());
    }
    out
}

/// Rows per multi-row UPDATE ([`update_rows`]): the batch size within the parameter limit,
/// and at most 128 rows in MySQL's `CASE` form, whose cost grows with the square of its rows
/// (each row walks the `WHEN` list); measured on MariaDB, 100–150 rows ran fastest.
///
/// ```
/// use coherent_core::{ColumnMeta, ColumnSet, ColumnType, Dialect, EntityMeta};
/// use coherent_sql::update::rows_per_update;
/// static COLS: [ColumnMeta; 2] = [ColumnMeta::new("id", ColumnType::BigInt), ColumnMeta::new("n", ColumnType::Int)];
/// static META: EntityMeta = EntityMeta { name: "T", table: "t", columns: &COLS, primary_key: 0, relations: &[], indexes: &[], renamed_from: None };
/// assert_eq!(rows_per_update(&META, ColumnSet::EMPTY, 300, 65_535, 2, Dialect::MySql), 128);
/// assert_eq!(rows_per_update(&META, ColumnSet::EMPTY, 300, 65_535, 2, Dialect::Postgres), 300);
/// ```
pub fn rows_per_update(
    meta: &EntityMeta,
    guard: ColumnSet,
    batch_size: usize,
    max_params: usize,
    width: usize,
    dialect: Dialect,
) -> usize {
    let rows = crate::insert::rows_per_statement(batch_size, max_params, width);
    if dialect == Dialect::MySql && mysql_case_form(meta, guard) {
        rows.min(128)
    } else {
        rows
    }
}
