//! SELECT with LEFT JOINs, for joined loading of relations and for locks that name table
//! aliases.
//!
//! Policy: every table has an alias and every column is qualified. The columns are listed
//! table by table in the order given (the root, then each join), each table's in column
//! order, so a row is decoded positionally, table after table. The filter, ORDER BY and
//! paging apply to the root table; each joined table's key follows the root's sort keys, so
//! the rows of one root are adjacent and its items come in key order. A filter's or an
//! order's relation paths get joins of their own ([`crate::joins`]), aliased after these.

use crate::params::Rendered;
use crate::select::{Planned, SelectSpec};
use coherent_core::{Condition, Dialect, EntityMeta};
use sea_query::{Alias, Expr, ExprTrait, JoinType};

/// One LEFT JOIN: `LEFT JOIN meta.table AS alias ON alias.column = <parent>.parent_column`.
#[derive(Debug, Clone)]
pub struct Join<'a> {
    /// The joined entity.
    pub meta: &'a EntityMeta,
    /// Its alias.
    pub alias: String,
    /// The alias of the table it joins to (the root or an earlier join).
    pub parent_alias: String,
    /// The column of the parent table in the ON condition.
    pub parent_column: &'static str,
    /// The column of the joined table in the ON condition.
    pub column: &'static str,
}

/// `SELECT a.<all>, b.<all>, .. FROM root AS a LEFT JOIN .. WHERE <condition on a> ORDER BY ..`.
///
/// ```
/// use coherent_core::{ColumnMeta, ColumnType, Condition, CmpOp, Dialect, EntityMeta, Value};
/// use coherent_sql::joined::{select_joined, Join};
/// use coherent_sql::select::SelectSpec;
/// static U: [ColumnMeta; 2] = [ColumnMeta::new("id", ColumnType::BigInt), ColumnMeta::new("name", ColumnType::Text)];
/// static USER: EntityMeta = EntityMeta { name: "User", table: "user", columns: &U, primary_key: 0, relations: &[], indexes: &[], renamed_from: None };
/// static I: [ColumnMeta; 2] = [ColumnMeta::new("id", ColumnType::BigInt), ColumnMeta::new("user_id", ColumnType::BigInt)];
/// static IDENTITY: EntityMeta = EntityMeta { name: "Identity", table: "identity", columns: &I, primary_key: 0, relations: &[], indexes: &[], renamed_from: None };
/// let join = Join { meta: &IDENTITY, alias: "i1".into(), parent_alias: "u0".into(), parent_column: "id", column: "user_id" };
/// let cond = Condition::Compare { column: "name", op: CmpOp::Eq, value: Value::Text("Jon".into()) };
/// let r = select_joined(&USER, "u0", &[join], &cond, &SelectSpec::default(), Dialect::Postgres);
/// assert_eq!(r.sql, r#"SELECT "u0"."id", "u0"."name", "i1"."id", "i1"."user_id" FROM "user" AS "u0" LEFT JOIN "identity" AS "i1" ON "i1"."user_id" = "u0"."id" WHERE "u0"."name" = $1 ORDER BY "u0"."id" ASC, "i1"."id" ASC"#);
/// ```
pub fn select_joined(
    root: &'static EntityMeta,
    root_alias: &str,
    joins: &[Join<'_>],
    condition: &Condition,
    spec: &SelectSpec<'_>,
    dialect: Dialect,
) -> Rendered {
    // The root's key after its sort keys keeps each root's rows together.
    let mut order = spec.order_by.to_vec();
    if !order
        .iter()
        .any(|o| o.column() == root.pk().name && o.path().is_empty())
    {
        order.push(coherent_core::Order::of(root, root.primary_key));
    }
    let mut planned = Planned::new(
        root,
        condition,
        &order,
        &[],
        dialect,
        Some(root_alias.to_owned()),
        joins.len() + 1,
    );
    let tables =
        std::iter::once((root, root_alias)).chain(joins.iter().map(|j| (j.meta, j.alias.as_str())));
    for (meta, alias) in tables {
        for c in meta.columns {
            planned.stmt.column((Alias::new(alias), c.name));
        }
    }
    for j in joins {
        planned.stmt.join_as(
            JoinType::LeftJoin,
            j.meta.table,
            Alias::new(&j.alias),
            Expr::col((Alias::new(&j.alias), j.column))
                .equals((Alias::new(&j.parent_alias), j.parent_column)),
        );
    }
    planned.order_and_page(&SelectSpec {
        order_by: &order,
        ..spec.clone()
    });
    for j in joins {
        planned.stmt.order_by_expr(
            Expr::col((Alias::new(&j.alias), j.meta.pk().name)),
            sea_query::Order::Asc,
        );
    }
    planned.render()
}
