//! Selects of typed values instead of entities: [`EntityManager::select`] (columns, to-one
//! path columns and aggregates, grouped and filtered by groups) and
//! [`EntityManager::exists`].
//!
//! Policy:
//! - **Values, not entities.** A select's rows are tuples of the projection's types (or a
//!   `#[derive(FromRow)]` struct, [`Select::rows_as`]); nothing is merged into the identity
//!   map, no instance is created, and a `Ref<T>` it returns is unloaded (its key).
//! - **Checked before SQL.** An aggregate in `filter`, a `having` without `group_by`, a plain
//!   column selected or sorted by beside aggregates without being grouped, and a row type
//!   whose width is not the projection's are each [`Error::InvalidQuery`] before any
//!   statement runs ([`coherent_core::SelectQuery::check`]).
//! - **Reads flush first**, as `find` and `count` do ([`crate::FlushMode`]: under `Auto` when
//!   the selected entity has pending inserts or removals), so a select sees the unit of
//!   work's own changes.
//! - **One statement**, on the open transaction's connection if there is one; the row
//!   values decode strictly ([`coherent_core::FieldType::from_value`]): a cell that does not
//!   fit its type is [`Error::Decode`] naming the item (`Book[2]`) or the struct's field.

use crate::context::entity_manager::EntityManager;
use coherent_core::{
    Clause, Condition, Entity, Error, Filter, FromRow, GroupBy, Order, Projection, Result,
    RowReader, Rows, SelectExpr, SelectQuery, Statement,
};
use std::marker::PhantomData;

/// A select of values from rows of `E`, decoded as `R` per row; made by
/// [`EntityManager::select`], run by [`Select::all`], [`Select::one`] or
/// [`Select::optional`].
///
/// ```
/// # use coherent_orm::doc_support::User;
/// # async fn demo(em: coherent_orm::EntityManager) -> coherent_core::Result<()> {
/// use coherent_core::count_all;
/// // Names shared by more than one user, most common first, with how many use each.
/// let shared: Vec<(String, i64)> = em
///     .select((User::NAME, count_all::<User>()))
///     .group_by(User::NAME)
///     .having(count_all::<User>().gt(1))
///     .order_by([count_all::<User>().desc()])
///     .all()
///     .await?;
/// # Ok(()) }
/// ```
#[must_use = "a select runs when `all`, `one` or `optional` is awaited"]
pub struct Select<'em, E, R> {
    em: &'em EntityManager,
    items: Vec<SelectExpr>,
    filter: Filter<E>,
    group_by: Vec<SelectExpr>,
    having: Option<Filter<E>>,
    order_by: Vec<Order>,
    limit: Option<u64>,
    offset: Option<u64>,
    flush_mode: Option<crate::FlushMode>,
    _row: PhantomData<fn() -> R>,
}

impl<E, R> std::fmt::Debug for Select<'_, E, R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Select")
            .field("items", &self.items)
            .field("filter", &self.filter)
            .field("group_by", &self.group_by)
            .field("having", &self.having)
            .field("order_by", &self.order_by)
            .field("limit", &self.limit)
            .field("offset", &self.offset)
            .finish()
    }
}

impl EntityManager {
    /// A select of `projection` (a column, a to-one path column, an aggregate, or a tuple of
    /// up to 12 of them) from rows of `E`: each row decodes as the projection's `Row`, the
    /// tuple of the items' types.
    ///
    /// ```
    /// # use coherent_orm::doc_support::User;
    /// # async fn demo(em: coherent_orm::EntityManager) -> coherent_core::Result<()> {
    /// use coherent_core::count_all;
    /// let (users, distinct_names): (i64, i64) = em
    ///     .select((count_all::<User>(), User::NAME.count_distinct()))
    ///     .one()
    ///     .await?;
    /// let longest: Option<String> = em.select(User::NAME.max()).one().await?;
    /// # Ok(()) }
    /// ```
    pub fn select<E: Entity, P: Projection<E>>(&self, projection: P) -> Select<'_, E, P::Row> {
        Select {
            em: self,
            items: projection.select_exprs(),
            filter: Filter::all(),
            group_by: Vec::new(),
            having: None,
            order_by: Vec::new(),
            limit: None,
            offset: None,
            flush_mode: None,
            _row: PhantomData,
        }
    }

    /// Whether a `T` matches `filter`: `SELECT 1 .. WHERE .. LIMIT 1`, after the flush the
    /// flush mode asks for.
    ///
    /// ```
    /// # use coherent_orm::doc_support::User;
    /// # async fn demo(em: coherent_orm::EntityManager) -> coherent_core::Result<()> {
    /// if !em.exists(User::NAME.eq("Ann")).await? {
    ///     em.persist(User::new("Ann", "ann@example.com"))?;
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn exists<T: Entity>(&self, filter: Filter<T>) -> Result<bool> {
        let em = self.context()?;
        em.shared().model.ensure_registered::<T>()?;
        filter.condition().check(T::META, Clause::Where)?;
        em.flush_before_query::<T>(None).await?;
        em.any_row::<T>(filter.condition()).await
    }

    /// Whether a row of `T` matches `condition` (checked): the query of
    /// [`EntityManager::exists`], without its checks and flush.
    pub(crate) async fn any_row<T: Entity>(&self, condition: &Condition) -> Result<bool> {
        let r = coherent_sql::aggregate::exists(T::META, condition, self.shared().dialect);
        let rows = self
            .query_rows(Statement::query(r.sql, r.params).idempotent())
            .await?;
        Ok(!rows.is_empty())
    }
}

impl<'em, E: Entity, R: FromRow> Select<'em, E, R> {
    /// Only rows matching `filter` (a WHERE; with an earlier `filter`, both). An aggregate
    /// here is refused before any SQL: compare it in [`Select::having`].
    pub fn filter(mut self, filter: Filter<E>) -> Self {
        self.filter = std::mem::replace(&mut self.filter, Filter::all()).and(filter);
        self
    }

    /// Groups the rows by `keys` (a column, a to-one path column, or a tuple of them; after
    /// an earlier `group_by`, those keys first). Every plain column selected or sorted by
    /// must then be a key (or a column of an entity whose key is one).
    ///
    /// ```
    /// # use coherent_orm::doc_support::User;
    /// # async fn demo(em: coherent_orm::EntityManager) -> coherent_core::Result<()> {
    /// use coherent_core::count_all;
    /// let per_name: Vec<(String, String, i64)> = em
    ///     .select((User::NAME, User::EMAIL, count_all::<User>()))
    ///     .group_by((User::NAME, User::EMAIL))
    ///     .all()
    ///     .await?;
    /// # Ok(()) }
    /// ```
    pub fn group_by(mut self, keys: impl GroupBy<E>) -> Self {
        keys.group_exprs(&mut self.group_by);
        self
    }

    /// Only groups matching `filter` (a HAVING: aggregates, and conditions on grouping
    /// keys; with an earlier `having`, both). Without a `group_by` the select is refused
    /// before any SQL.
    pub fn having(mut self, filter: Filter<E>) -> Self {
        self.having = Some(match self.having.take() {
            Some(h) => h.and(filter),
            None => filter,
        });
        self
    }

    /// Sorts by these keys, after any earlier ones: columns, path columns, and (in a
    /// grouped select) aggregates (`count_all::<Book>().desc()`).
    pub fn order_by(mut self, orders: impl IntoIterator<Item = Order>) -> Self {
        self.order_by.extend(orders);
        self
    }

    /// At most `limit` rows. With a limit or offset the rows are also sorted by the grouping
    /// keys (or by the key of `E` without grouping) after `order_by`, so pages are stable.
    pub fn limit(mut self, limit: u64) -> Self {
        self.limit = Some(limit);
        self
    }

    /// Skips `offset` rows.
    pub fn offset(mut self, offset: u64) -> Self {
        self.offset = Some(offset);
        self
    }

    /// This select's flush mode (default: the EntityManager's).
    pub fn flush_mode(mut self, mode: crate::FlushMode) -> Self {
        self.flush_mode = Some(mode);
        self
    }

    /// Decodes each row as `R2` instead: a `#[derive(FromRow)]` struct (one field per item,
    /// in order) or another tuple. A width other than the projection's is
    /// [`Error::InvalidQuery`] before any SQL; a field whose type does not fit its item's
    /// value is [`Error::Decode`] naming the field.
    ///
    /// ```
    /// # use coherent_orm::doc_support::User;
    /// # async fn demo(em: coherent_orm::EntityManager) -> coherent_core::Result<()> {
    /// use coherent_core::{FromRow, RowReader, count_all};
    /// struct PerName { name: String, users: i64 } // in an application: #[derive(FromRow)]
    /// # impl FromRow for PerName {
    /// #     const WIDTH: usize = 2;
    /// #     fn from_row(row: &mut RowReader<'_>) -> coherent_core::Result<Self> {
    /// #         Ok(PerName { name: row.read_as("PerName", "name")?, users: row.read_as("PerName", "users")? })
    /// #     }
    /// # }
    /// let per_name: Vec<PerName> = em
    ///     .select((User::NAME, count_all::<User>()))
    ///     .group_by(User::NAME)
    ///     .rows_as::<PerName>()
    ///     .all()
    ///     .await?;
    /// # Ok(()) }
    /// ```
    pub fn rows_as<R2: FromRow>(self) -> Select<'em, E, R2> {
        Select {
            em: self.em,
            items: self.items,
            filter: self.filter,
            group_by: self.group_by,
            having: self.having,
            order_by: self.order_by,
            limit: self.limit,
            offset: self.offset,
            flush_mode: self.flush_mode,
            _row: PhantomData,
        }
    }

    /// The select as the SQL renderer reads it.
    pub fn query(&self) -> SelectQuery {
        SelectQuery {
            items: self.items.clone(),
            filter: self.filter.condition().clone(),
            group_by: self.group_by.clone(),
            having: self.having.as_ref().map(|h| h.condition().clone()),
            order_by: self.order_by.clone(),
            limit: self.limit,
            offset: self.offset,
        }
    }

    /// Every row.
    pub async fn all(self) -> Result<Vec<R>> {
        let query = self.query();
        self.run(query).await
    }

    /// The first row; no row is [`Error::NotFound`]. A select of aggregates only always has
    /// exactly one row.
    pub async fn one(self) -> Result<R> {
        self.optional().await?.ok_or(Error::NotFound {
            entity: E::META.name,
            key: "no row for the select".into(),
        })
    }

    /// The first row, if any (the select is limited to one row).
    pub async fn optional(self) -> Result<Option<R>> {
        let mut query = self.query();
        query.limit = Some(query.limit.map_or(1, |l| l.min(1)));
        Ok(self.run(query).await?.into_iter().next())
    }

    async fn run(self, query: SelectQuery) -> Result<Vec<R>> {
        let em = self.em.context()?;
        em.shared().model.ensure_registered::<E>()?;
        query.check(E::META)?;
        if R::WIDTH != query.items.len() {
            return Err(Error::InvalidQuery(format!(
                "the select of {} returns {} values per row, but {} decodes {}",
                E::META.name,
                query.items.len(),
                std::any::type_name::<R>(),
                R::WIDTH
            )));
        }
        em.flush_before_query::<E>(self.flush_mode).await?;
        let r = coherent_sql::aggregate::select(E::META, &query, em.shared().dialect);
        let rows = em
            .query_rows(Statement::query(r.sql, r.params).idempotent())
            .await?;
        decode_rows::<R>(rows, E::META.name)
    }
}

/// Decodes every row of `rows` as an `R` (`what` names the select in errors).
fn decode_rows<R: FromRow>(rows: Rows, what: &'static str) -> Result<Vec<R>> {
    rows.expect_width(R::WIDTH, what)?;
    let n = rows.len();
    let mut cells = rows.values.into_iter();
    let mut out = Vec::with_capacity(n);
    for _ in 0..n {
        out.push(R::from_row(&mut RowReader::new(&mut cells, what))?);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::doc_support::User;
    use coherent_core::count_all;

    /// A select's builder and its futures can cross threads (an axum handler's future must).
    #[allow(dead_code)]
    fn selects_are_send(em: &EntityManager) {
        fn send<T: Send>(_: &T) {}
        let select = em
            .select((User::NAME, count_all::<User>()))
            .group_by(User::NAME);
        send(&select);
        send(&select.all());
        send(&em.select(User::EMAIL.max()).one());
        send(&em.exists(User::NAME.eq("Ann")));
    }

    #[test]
    fn rows_decode_positionally_and_check_their_width() {
        let rows = Rows {
            columns: vec!["name".to_string(), "n".to_string()].into(),
            values: vec![
                coherent_core::Value::Text("Ann".into()),
                coherent_core::Value::I64(2),
                coherent_core::Value::Text("Bob".into()),
                coherent_core::Value::I64(1),
            ],
        };
        let decoded: Vec<(String, i64)> = decode_rows(rows.clone(), "User").unwrap();
        assert_eq!(decoded, [("Ann".to_string(), 2), ("Bob".to_string(), 1)]);
        assert!(matches!(
            decode_rows::<(String, i64, i64)>(rows, "User"),
            Err(Error::Decode { column, .. }) if column == "User"
        ));
    }
}
