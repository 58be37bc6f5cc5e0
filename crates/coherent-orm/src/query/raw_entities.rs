//! Entities from raw SQL: `find_by_sql` and [`RawQuery`].
//!
//! Policy:
//! - **One placeholder style**: `?` on every backend (`??` is a literal `?`; a `?` in quotes
//!   is text), rewritten to the dialect's (`$1`.. on PostgreSQL); a count that does not match
//!   the parameters is [`Error::InvalidQuery`] before any SQL.
//! - **Columns by name**: each field of the entity is read from the result column of its
//!   column name, or of the name [`RawQuery::column`] maps it to; the result's column order
//!   and extra columns do not matter. A result without a column the entity needs is
//!   [`Error::MissingColumn`] naming it (and nothing is merged); a mapping for a field the
//!   entity does not have is [`Error::UnknownField`] before any SQL.
//! - **`find`'s merge rules**: the flush mode's flush first, then every row is merged into the
//!   identity map as `find` merges (a clean entity takes the row, a dirty one keeps the
//!   application's changes), and the managed instances come back in the result's order.
//! - The statement may do anything the application wrote: it is not retried on another
//!   connection as the ORM's own reads are.

use crate::{EntityManager, Managed};
use coherent_core::{Entity, Error, Result, Rows, Statement, Value};
use std::sync::Arc;

/// A raw entity query: SQL with `?` placeholders, its parameters, and the result columns
/// fields are read from when they are not named as the fields' columns.
///
/// ```
/// use coherent_orm::RawQuery;
/// let q = RawQuery::new("SELECT id, name, mail AS contact FROM users WHERE lower(name) = ?")
///     .bind("ann")
///     .column("email", "contact");
/// # let _ = q;
/// ```
#[derive(Debug, Clone, Default)]
pub struct RawQuery {
    sql: String,
    params: Vec<Value>,
    columns: Vec<(String, String)>,
}

impl RawQuery {
    /// A query with no parameters yet.
    pub fn new(sql: impl Into<String>) -> RawQuery {
        RawQuery {
            sql: sql.into(),
            ..RawQuery::default()
        }
    }

    /// Binds the next `?`.
    pub fn bind(mut self, value: impl Into<Value>) -> RawQuery {
        self.params.push(value.into());
        self
    }

    /// Reads field `field` (its Rust name or its column name) from result column `column`.
    pub fn column(mut self, field: impl Into<String>, column: impl Into<String>) -> RawQuery {
        self.columns.push((field.into(), column.into()));
        self
    }
}

impl EntityManager {
    /// Entities of `T` from raw SQL with `?` placeholders, merged into the identity map as
    /// `find` merges them. Each field is read from the result column named as its column.
    ///
    /// ```
    /// # use coherent_orm::doc_support::User;
    /// # async fn demo(em: coherent_orm::EntityManager) -> coherent_core::Result<()> {
    /// let users = em
    ///     .find_by_sql::<User>("SELECT * FROM users WHERE lower(email) = ?", ["ann@example.com"])
    ///     .await?;
    /// # Ok(()) }
    /// ```
    pub async fn find_by_sql<T: Entity>(
        &self,
        sql: &str,
        params: impl IntoIterator<Item = impl Into<Value>>,
    ) -> Result<Vec<Managed<T>>> {
        let mut query = RawQuery::new(sql);
        query.params = params.into_iter().map(Into::into).collect();
        self.find_by_sql_with(query).await
    }

    /// [`EntityManager::find_by_sql`] with result columns mapped to fields.
    pub async fn find_by_sql_with<T: Entity>(&self, query: RawQuery) -> Result<Vec<Managed<T>>> {
        let em = self.context()?;
        em.shared().model.ensure_registered::<T>()?;
        let meta = T::META;
        // The result column each field is read from.
        let mut wanted: Vec<String> = meta.columns.iter().map(|c| c.name.to_owned()).collect();
        for (field, column) in &query.columns {
            let i = meta
                .columns
                .iter()
                .position(|c| c.field == field || c.name == field)
                .ok_or_else(|| Error::UnknownField {
                    entity: meta.name,
                    field: field.clone(),
                    known: meta
                        .columns
                        .iter()
                        .map(|c| c.field)
                        .collect::<Vec<_>>()
                        .join(", "),
                })?;
            wanted[i] = column.clone();
        }
        let (sql, placeholders) = coherent_sql::raw::statement(em.shared().dialect, &query.sql);
        if placeholders != query.params.len() {
            return Err(Error::InvalidQuery(format!(
                "the raw SQL has {placeholders} `?` placeholders but {} parameters",
                query.params.len()
            )));
        }
        em.flush_before_query::<T>(None).await?;
        let rows = em
            .query_rows(Statement::query(sql, query.params).about(meta.name))
            .await?;
        let rows = in_column_order::<T>(rows, &wanted)?;
        em.merge_rows::<T>(rows, coherent_core::ColumnSet::EMPTY)
    }
}

/// The cells of `rows` rearranged into `T`'s column order, each column `i` taken from the
/// result column named `wanted[i]`.
fn in_column_order<T: Entity>(rows: Rows, wanted: &[String]) -> Result<Rows> {
    let meta = T::META;
    if rows.is_empty() {
        // Some drivers name no column without a row (MySQL's take names from the first).
        return Ok(Rows::default());
    }
    let mut at = Vec::with_capacity(wanted.len());
    for (i, name) in wanted.iter().enumerate() {
        let found = rows
            .columns
            .iter()
            .position(|c| c == name)
            // Servers may fold the case of an unquoted alias (PostgreSQL: lower case).
            .or_else(|| {
                rows.columns
                    .iter()
                    .position(|c| c.eq_ignore_ascii_case(name))
            });
        match found {
            Some(p) => at.push(p),
            None => {
                return Err(Error::MissingColumn {
                    entity: meta.name,
                    field: meta.columns[i].field,
                    column: name.clone(),
                });
            }
        }
    }
    let width = rows.width();
    let mut values = Vec::with_capacity(rows.len() * at.len());
    for row in rows.values.chunks(width.max(1)) {
        values.extend(at.iter().map(|&p| row[p].clone()));
    }
    let columns: Arc<[String]> = meta.columns.iter().map(|c| c.name.to_owned()).collect();
    Ok(Rows { columns, values })
}
