//! SELECT statements: by filter (with order, limit, offset), by key, and COUNT, on
//! [`Planned`] (FROM, joins and WHERE of a query rooted at one entity).
//!
//! Policy: entity SELECTs list every column explicitly, in column order, because rows are
//! decoded positionally. A query that stays on its table is rendered without aliases (its
//! text is the same as ever); one that reaches related tables aliases every table.

use crate::condition::{Scope, to_expr};
use crate::joins::JoinTree;
use crate::params::{Rendered, Slots};
use crate::render::RenderState;
use coherent_core::{Condition, Dialect, EntityMeta, Order, Path, Value};
use sea_query::{Alias, Expr, ExprTrait, Query, SelectStatement};

/// What a SELECT asks for besides its filter.
#[derive(Debug, Clone, Default)]
pub struct SelectSpec<'a> {
    /// Sort keys.
    pub order_by: &'a [Order],
    /// Row limit.
    pub limit: Option<u64>,
    /// Rows skipped.
    pub offset: Option<u64>,
    /// Adds `COUNT(*) OVER ()` as a last column: every row carries the number of rows the
    /// query matches without its limit and offset (`find_and_count` in one statement).
    pub total: bool,
    /// The root's columns to select (a partial load), in column order; `None`: every column.
    pub columns: Option<coherent_core::ColumnSet>,
}

fn base(meta: &EntityMeta) -> SelectStatement {
    Query::select()
        .columns(meta.columns.iter().map(|c| c.name))
        .from(meta.table)
        .to_owned()
}

/// A query's FROM and WHERE, planned: its statement so far, its rendering state, the root's
/// alias (when the query needs aliases) and its to-one joins.
pub struct Planned {
    /// The statement: FROM, joins and WHERE; no columns yet.
    pub stmt: SelectStatement,
    /// Parameters and alias numbering.
    pub state: RenderState,
    /// The root table's alias, if the query has several tables.
    pub alias: Option<String>,
    /// The to-one joins of the filter, the orders and `paths`.
    pub joins: JoinTree,
    /// The root entity.
    pub meta: &'static EntityMeta,
    /// The dialect.
    pub dialect: Dialect,
}

impl Planned {
    /// Plans `FROM root [joins] WHERE condition` for `orders` and `paths` too. The root is
    /// aliased `root_alias` if given, else (as MikroORM does) `<t>0` when the query reaches
    /// other tables; `first_alias` is the next alias number free for joins.
    pub fn new(
        meta: &'static EntityMeta,
        condition: &Condition,
        orders: &[Order],
        paths: &[Path],
        dialect: Dialect,
        root_alias: Option<String>,
        first_alias: usize,
    ) -> Planned {
        let needs_aliases = root_alias.is_some()
            || condition.needs_aliases()
            || orders.iter().any(|o| !o.path().is_empty())
            || paths.iter().any(|p| !p.is_empty());
        let alias = if needs_aliases {
            Some(root_alias.unwrap_or_else(|| crate::render::alias(meta, 0)))
        } else {
            None
        };
        let mut state = RenderState::new(first_alias.max(1));
        let joins = JoinTree::plan(meta, condition, orders, paths, &mut state);
        let mut stmt = Query::select();
        match &alias {
            Some(a) => {
                stmt.from_as(meta.table, Alias::new(a));
                joins.apply(&mut stmt, a);
            }
            None => {
                stmt.from(meta.table);
            }
        }
        let mut planned = Planned {
            stmt,
            state,
            alias,
            joins,
            meta,
            dialect,
        };
        let scope = Scope {
            meta,
            dialect,
            alias: planned.alias.as_deref(),
            joins: Some(&planned.joins),
            node: None,
        };
        if let Some(e) = to_expr(condition, scope, &mut planned.state) {
            planned.stmt.and_where(e);
        }
        planned
    }

    /// The root's scope.
    pub fn scope(&self) -> Scope<'_> {
        Scope {
            meta: self.meta,
            dialect: self.dialect,
            alias: self.alias.as_deref(),
            joins: Some(&self.joins),
            node: None,
        }
    }

    /// Selects every column of the root entity, in column order.
    pub fn select_entity(&mut self) {
        self.select_columns(None);
    }

    /// Selects the root entity's `columns` (every column with `None`), in column order: a
    /// partial load's row holds its loaded columns only.
    pub fn select_columns(&mut self, columns: Option<coherent_core::ColumnSet>) {
        for (i, c) in self.meta.columns.iter().enumerate() {
            if columns.is_some_and(|set| !set.contains(i)) {
                continue;
            }
            match &self.alias {
                Some(a) => self.stmt.column((Alias::new(a), c.name)),
                None => self.stmt.column(c.name),
            };
        }
    }

    /// Adds ORDER BY, LIMIT and OFFSET.
    pub fn order_and_page(&mut self, spec: &SelectSpec<'_>) {
        let scope = Scope {
            meta: self.meta,
            dialect: self.dialect,
            alias: self.alias.as_deref(),
            joins: Some(&self.joins),
            node: None,
        };
        crate::order::order_and_page(&mut self.stmt, scope, spec);
    }

    /// Renders the statement.
    pub fn render(self) -> Rendered {
        self.state.slots.render(&self.stmt, self.dialect)
    }
}

/// `SELECT <all columns> FROM t WHERE <condition> [ORDER BY ..] [LIMIT ..] [OFFSET ..]`; with
/// relation paths in the condition or the order, every table is aliased and the to-one
/// paths joined.
///
/// ```
/// use coherent_core::{ColumnMeta, ColumnType, Condition, CmpOp, Dialect, EntityMeta, Value};
/// use coherent_sql::select::{select, SelectSpec};
/// static COLS: [ColumnMeta; 2] = [ColumnMeta::new("id", ColumnType::BigInt), ColumnMeta::new("name", ColumnType::Text)];
/// static META: EntityMeta = EntityMeta { name: "User", table: "users", columns: &COLS, primary_key: 0, relations: &[], indexes: &[], renamed_from: None };
/// let cond = Condition::Compare { column: "name", op: CmpOp::Eq, value: Value::Text("x' OR 1=1 --".into()) };
/// let r = select(&META, &cond, &SelectSpec { limit: Some(5), ..Default::default() }, Dialect::Sqlite);
/// assert_eq!(r.sql, r#"SELECT "id", "name" FROM "users" WHERE "name" = ? ORDER BY "id" ASC LIMIT ?"#);
/// assert_eq!(r.params, vec![Value::Text("x' OR 1=1 --".into()), Value::I64(5)]);
/// ```
pub fn select(
    meta: &'static EntityMeta,
    condition: &Condition,
    spec: &SelectSpec<'_>,
    dialect: Dialect,
) -> Rendered {
    let mut planned = Planned::new(meta, condition, spec.order_by, &[], dialect, None, 1);
    planned.select_columns(spec.columns);
    if spec.total {
        planned.stmt.expr(Expr::cust("COUNT(*) OVER ()"));
    }
    planned.order_and_page(spec);
    planned.render()
}

/// `SELECT <all columns> FROM t WHERE pk = ?`: a cacheable shape, rendered without values.
pub fn select_by_key(meta: &EntityMeta, dialect: Dialect) -> String {
    let mut slots = Slots::new();
    let v = slots.slot(Value::Null);
    let stmt = base(meta)
        .and_where(Expr::col(meta.pk().name).eq(v))
        .to_owned();
    slots.render(&stmt, dialect).sql
}

/// `SELECT 1 FROM t AS <alias> WHERE <alias>.pk = ?`: the probe that takes a row lock on
/// one row (the lock clause is appended), as MikroORM's `em.lock` renders it.
///
/// ```
/// use coherent_core::{ColumnMeta, ColumnType, Dialect, EntityMeta};
/// use coherent_sql::select::lock_row;
/// static COLS: [ColumnMeta; 1] = [ColumnMeta::new("id", ColumnType::BigInt)];
/// static META: EntityMeta = EntityMeta { name: "User", table: "users", columns: &COLS, primary_key: 0, relations: &[], indexes: &[], renamed_from: None };
/// assert_eq!(lock_row(&META, "u0", Dialect::Postgres), r#"SELECT 1 FROM "users" AS "u0" WHERE "u0"."id" = $1"#);
/// ```
pub fn lock_row(meta: &EntityMeta, alias: &str, dialect: Dialect) -> String {
    let mut slots = Slots::new();
    let v = slots.slot(Value::Null);
    let stmt = Query::select()
        .expr(Expr::cust("1"))
        .from_as(meta.table, Alias::new(alias))
        .and_where(Expr::col((Alias::new(alias), meta.pk().name)).eq(v))
        .to_owned();
    slots.render(&stmt, dialect).sql
}

/// `SELECT COUNT(*) FROM t WHERE <condition>`.
pub fn count(meta: &'static EntityMeta, condition: &Condition, dialect: Dialect) -> Rendered {
    let mut planned = Planned::new(meta, condition, &[], &[], dialect, None, 1);
    planned.stmt.expr(Expr::cust("COUNT(*)"));
    planned.render()
}
