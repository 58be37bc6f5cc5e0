//! Parameter slots: how our [`Value`]s stay out of sea-query.
//!
//! A statement is built with sea-query using *slot numbers* as its values
//! (`BigInt(Some(slot))`). After sea-query renders the text with placeholders and returns its
//! values in placeholder order, each slot number is replaced by our own [`Value`]. sea-query
//! therefore never needs to know our value types (no feature-matrix conversions), and values
//! are bound, never inlined.

use coherent_core::{Dialect, Value};
use sea_query::{
    MysqlQueryBuilder, PostgresQueryBuilder, QueryStatementWriter, SqliteQueryBuilder,
};

/// Rendered SQL with its parameters in placeholder order.
#[derive(Debug, Clone, PartialEq)]
pub struct Rendered {
    /// SQL text with the dialect's placeholders.
    pub sql: String,
    /// Parameters, in placeholder order.
    pub params: Vec<Value>,
}

/// Collects the values of one statement and hands sea-query slot numbers instead.
#[derive(Default, Debug)]
pub struct Slots {
    values: Vec<Option<Value>>,
}

impl Slots {
    /// A new, empty slot table.
    pub fn new() -> Slots {
        Slots::default()
    }

    /// Stores `value` and returns the placeholder value to give sea-query.
    pub fn slot(&mut self, value: Value) -> sea_query::Value {
        self.values.push(Some(value));
        sea_query::Value::BigInt(Some((self.values.len() - 1) as i64))
    }

    /// Renders `statement` for `dialect` and puts our values back in placeholder order.
    ///
    /// ```
    /// use coherent_sql::params::Slots;
    /// use coherent_core::{Dialect, Value};
    /// use sea_query::{Expr, ExprTrait, Query};
    /// let mut slots = Slots::new();
    /// let v = slots.slot(Value::Text("O'Brien".into()));
    /// let stmt = Query::select().column("id").from("users").and_where(Expr::col("name").eq(v)).to_owned();
    /// let r = slots.render(&stmt, Dialect::Sqlite);
    /// assert_eq!(r.sql, r#"SELECT "id" FROM "users" WHERE "name" = ?"#);
    /// assert_eq!(r.params, vec![Value::Text("O'Brien".into())]);
    /// ```
    pub fn render(mut self, statement: &impl QueryStatementWriter, dialect: Dialect) -> Rendered {
        let (sql, values) = match dialect {
            Dialect::Sqlite => statement.build(SqliteQueryBuilder),
            Dialect::Postgres => statement.build(PostgresQueryBuilder),
            Dialect::MySql => statement.build(MysqlQueryBuilder),
        };
        let params = values
            .into_iter()
            .map(|v| match v {
                sea_query::Value::BigInt(Some(slot)) => self.values[slot as usize]
                    .take()
                    .expect("each slot is rendered once"),
                // LIMIT / OFFSET are the only values sea-query adds itself.
                sea_query::Value::BigUnsigned(Some(n)) => Value::I64(n as i64),
                sea_query::Value::Unsigned(Some(n)) => Value::I64(i64::from(n)),
                other => unreachable!("sea-query produced a value we did not give it: {other:?}"),
            })
            .collect();
        Rendered { sql, params }
    }
}
