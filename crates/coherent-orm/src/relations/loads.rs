//! [`Loads`]: the loading half of an entity type's operations, on anything that can run a
//! find ([`LoadContext`]).
//!
//! Policy: relation work walks from an instance to its related instances through metadata
//! alone ([`crate::relations::entity_ops`]); loading the related rows needs a typed find
//! and a query on the caller's unit of work. This folder only names that need
//! ([`LoadContext`]); `query/` provides it for the EntityManager, and `OrmBuilder::entity`
//! keeps each type's [`Loads`] beside its other operations. Loads run in batches of
//! [`LoadContext::keys_per_query`] keys and merge every row into the identity map with
//! `find`'s rules.

use crate::entity::managed::{Handle, Managed};
use crate::identity::identity_map::IdentityMap;
use crate::relations::entity_ops::{EntityOps, Ops};
use coherent_core::{
    BoxFuture, Condition, Dialect, Entity, Filter, LinkSide, LockMode, Result, Rows, Statement,
    Value,
};
use std::future::Future;
use std::sync::Arc;

/// What loading related instances needs of the unit of work it loads into.
pub(crate) trait LoadContext: Sync {
    /// Keys per `IN (..)` query.
    fn keys_per_query(&self) -> usize;
    /// The backend's dialect.
    fn dialect(&self) -> Dialect;
    /// `find` with `filter` and `lock`: the rows merged into the identity map.
    fn find_locked<T: Entity>(
        &self,
        filter: Filter<T>,
        lock: LockMode,
    ) -> impl Future<Output = Result<Vec<Managed<T>>>> + Send;
    /// Runs a query on the unit of work's connection (its open transaction, if any).
    fn query_rows(&self, statement: Statement) -> impl Future<Output = Result<Rows>> + Send;
    /// Runs `f` on the identity map.
    fn with_map<R>(&self, f: impl FnOnce(&mut IdentityMap) -> R) -> R;
}

/// The loads of one entity type, without its type.
pub(crate) trait Loads<Cx>: Send + Sync {
    /// Loads the rows whose `column` is one of `values`, in batches, into the identity map.
    fn load_in<'a>(
        &'a self,
        cx: &'a Cx,
        column: usize,
        values: Vec<Value>,
        lock: LockMode,
    ) -> BoxFuture<'a, Result<Vec<Handle>>>;

    /// As the item type of a many-to-many: loads the items linked to `owners` (key values)
    /// through the join table, in batches; each with its owner's key.
    fn load_linked<'a>(
        &'a self,
        cx: &'a Cx,
        link: LinkSide,
        owners: Vec<Value>,
    ) -> BoxFuture<'a, Result<Vec<(Value, Handle)>>>;
}

/// The loads of `T` on `Cx`.
pub(crate) fn loads_of<T: Entity, Cx: LoadContext>() -> Arc<dyn Loads<Cx>> {
    Arc::new(Ops::<T>::new())
}

impl<T: Entity, Cx: LoadContext> Loads<Cx> for Ops<T> {
    fn load_in<'a>(
        &'a self,
        cx: &'a Cx,
        column: usize,
        values: Vec<Value>,
        lock: LockMode,
    ) -> BoxFuture<'a, Result<Vec<Handle>>> {
        Box::pin(async move {
            let mut out = Vec::new();
            for chunk in values.chunks(cx.keys_per_query()) {
                let filter = Filter::<T>::from_condition(Condition::In {
                    column: T::META.columns[column].name,
                    values: chunk.to_vec(),
                    negated: false,
                });
                out.extend(
                    cx.find_locked(filter, lock)
                        .await?
                        .iter()
                        .map(Managed::handle),
                );
            }
            Ok(out)
        })
    }

    fn load_linked<'a>(
        &'a self,
        cx: &'a Cx,
        link: LinkSide,
        owners: Vec<Value>,
    ) -> BoxFuture<'a, Result<Vec<(Value, Handle)>>> {
        Box::pin(async move {
            let width = T::META.columns.len() + 1;
            let mut out = Vec::new();
            for chunk in owners.chunks(cx.keys_per_query()) {
                let r = coherent_sql::link::select_linked(
                    link.table,
                    link.owner_column,
                    link.item_column,
                    T::META,
                    chunk,
                    cx.dialect(),
                );
                let rows = cx
                    .query_rows(Statement::query(r.sql, r.params).idempotent())
                    .await?;
                rows.expect_width(width, link.table)?;
                let n = rows.len();
                let mut cells = rows.values.into_iter();
                cx.with_map(|map| -> Result<()> {
                    for _ in 0..n {
                        let owner = cells.next().unwrap_or(Value::Null);
                        let values: Vec<Value> = cells.by_ref().take(width - 1).collect();
                        if let Some(h) = self.merge_cells(values, map)? {
                            out.push((owner, h));
                        }
                    }
                    Ok(())
                })?;
            }
            Ok(out)
        })
    }
}
