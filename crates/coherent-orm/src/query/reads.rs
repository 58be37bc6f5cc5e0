//! Reading through an EntityManager: `find`, `find_with`, `find_one`, `find_one_or_fail`,
//! `count`, `refresh`.
//!
//! Policy: `find_one` by key answers from the identity map without a query when the entity is
//! loaded in full (a partial instance, [`FindOptions::fields`], is read again in full and
//! completed in place: the caller asked for the entity), and otherwise only with a row whose key is `==` to the one asked for (a loosely
//! comparing column may match another key's row); every other read queries, after the flush the flush mode asks for
//! ([`crate::FlushMode`]), and merges its rows into the identity map (a clean entity takes the
//! row; a dirty one keeps the fields the application changed and its snapshot as read).
//! Entity queries stream their rows in chunks of 1 024, merged while the driver decodes the
//! next ones; rows merged before a failure stay merged (they are committed rows, and no pending
//! change is touched).
//!
//! Partial loads ([`FindOptions::fields`]) select the asked columns (with the key, the
//! optimistic guards and the order's columns) and decode the others as placeholders
//! (`decode_partial`); the merge never takes a placeholder over what an instance holds: a
//! new instance is partial, a partial one read in full is completed (its pending changes
//! kept), one read in full stays full, and two partial reads union their columns.

use crate::context::entity_manager::EntityManager;
use crate::entity::decode::{decode, decode_partial};
use crate::entity::lookup::{IntoLookup, Lookup};
use crate::entity::managed::Managed;
use crate::query::find_options::FindOptions;
use coherent_core::{Clause, ColumnSet, Entity, Error, FieldType, Filter, Result, Rows, Statement};
use coherent_sql::select::{self, SelectSpec};

/// Rows per chunk of a streamed entity query.
const LOAD_CHUNK_ROWS: usize = 1024;

impl EntityManager {
    /// Flushes before a query of `T` as the flush mode says ([`crate::FlushMode`]).
    pub(crate) async fn flush_before_query<T: Entity>(
        &self,
        query: Option<crate::FlushMode>,
    ) -> Result<()> {
        let flush = match query.unwrap_or_else(|| self.flush_mode()) {
            crate::FlushMode::Commit => false,
            crate::FlushMode::Always => true,
            crate::FlushMode::Auto => self
                .uow()
                .map
                .store::<T>()
                .is_some_and(|s| !s.pending.is_empty() || !s.removed.is_empty()),
        };
        if flush {
            crate::transaction::flush::flush(self).await
        } else {
            Ok(())
        }
    }

    /// Every `T` matching `filter`. Always queries; rows merge into the identity map.
    pub async fn find<T: Entity>(&self, filter: Filter<T>) -> Result<Vec<Managed<T>>> {
        self.find_with(filter, FindOptions::default()).await
    }

    /// Every `T` matching `filter`, ordered and paged.
    pub async fn find_with<T: Entity>(
        &self,
        filter: Filter<T>,
        options: FindOptions,
    ) -> Result<Vec<Managed<T>>> {
        Ok(self.find_counting(filter, options, false).await?.0)
    }

    /// [`EntityManager::find_with`], and with `total` the number of rows the query matches
    /// without its limit and offset, when one statement could tell (`COUNT(*) OVER ()`): not
    /// with joined loading (it would count joined rows) or a pessimistic lock (PostgreSQL
    /// refuses window functions under `FOR UPDATE`), nor from an empty page past the first.
    pub(crate) async fn find_counting<T: Entity>(
        &self,
        filter: Filter<T>,
        options: FindOptions,
        total: bool,
    ) -> Result<(Vec<Managed<T>>, Option<u64>)> {
        let em = self.context()?;
        em.shared().model.ensure_registered::<T>()?;
        for order in &options.order_by {
            order.check::<T>()?;
        }
        filter.condition().check(T::META, Clause::Where)?;
        let unloaded = options.unloaded_columns::<T>()?;
        let plan = crate::query::joined::JoinPlan::for_find::<T>(&options)?;
        let mut aliases = match &plan {
            Some(p) => p.lock_aliases(&options.lock_table_aliases, em.shared().dialect)?,
            None => options.lock_table_aliases.clone(),
        };
        // Relation paths join other tables: on PostgreSQL the lock takes the root's rows
        // only (it cannot lock the nullable side of a left join).
        if aliases.is_empty()
            && em.shared().dialect == coherent_core::Dialect::Postgres
            && (filter.condition().needs_aliases()
                || options.order_by.iter().any(|o| !o.path().is_empty()))
        {
            aliases.push(coherent_sql::render::alias(T::META, 0));
        }
        let lock = em.lock_clause(options.lock_mode, &aliases).await?;
        if options.lock_mode == coherent_core::LockMode::Optimistic {
            T::META.version_column().ok_or(Error::NotVersioned {
                entity: T::META.name,
            })?;
        }
        em.flush_before_query::<T>(options.flush_mode).await?;
        let total = total && plan.is_none() && !options.lock_mode.is_pessimistic();
        let spec = SelectSpec {
            order_by: &options.order_by,
            limit: options.limit,
            offset: options.offset,
            total,
            columns: unloaded.map(|u| T::META.all_columns().without(u)),
        };
        let mut counted = None;
        let found = match &plan {
            Some(plan) => {
                em.find_planned::<T>(plan, filter.condition(), &spec, lock)
                    .await?
            }
            None => {
                let mut r = select::select(T::META, filter.condition(), &spec, em.shared().dialect);
                if let Some(clause) = lock {
                    r.sql.push_str(&clause);
                }
                let (found, n) = em
                    .load_rows::<T>(
                        Statement::query(r.sql, r.params).idempotent(),
                        total,
                        unloaded.unwrap_or(ColumnSet::EMPTY),
                    )
                    .await?;
                counted = n;
                found
            }
        };
        if options.lock_mode.is_pessimistic() {
            // A pessimistic read: its rows are locked until the transaction ends.
            em.note_locked::<T>(found.iter().map(Managed::key).collect())
                .await;
        }
        if let (coherent_core::LockMode::Optimistic, Some(expected)) =
            (options.lock_mode, &options.lock_version)
        {
            for m in &found {
                crate::query::locking::check_version(m, expected)?;
            }
        }
        if !options.populate.is_empty() && !plan.is_some_and(|p| p.loads_relations()) {
            let inherited = if options.lock_mode.is_pessimistic() {
                options.lock_mode
            } else {
                coherent_core::LockMode::None
            };
            em.populate_with_lock(&found, options.populate, inherited)
                .await?;
        }
        Ok((found, counted))
    }

    /// Runs an entity query, merging its rows chunk by chunk as the driver reads them, so
    /// decoding (driver) and merging (here) overlap. Rows merged before a failure (a decode
    /// error) stay merged: they are committed rows, and no pending change is touched.
    /// With `total`, each row ends with a `COUNT(*) OVER ()` cell, taken off before decoding
    /// and returned (None if there was no row). The rows lack the `unloaded` columns (a
    /// partial load; empty: every column).
    async fn load_rows<T: Entity>(
        &self,
        statement: Statement,
        total: bool,
        unloaded: ColumnSet,
    ) -> Result<(Vec<Managed<T>>, Option<u64>)> {
        let log = crate::query_log::Pending::of_statement(
            &statement,
            self.shared().capabilities.logs_statements,
        );
        let mut found = Vec::new();
        let mut counted = None;
        let mut sink = |rows: Rows| -> Result<()> {
            let rows = if total {
                let (rows, n) = split_total(rows)?;
                counted = counted.or(n);
                rows
            } else {
                rows
            };
            found.extend(self.merge_rows::<T>(rows, unloaded)?);
            Ok(())
        };
        let mut tx = if self.may_have_transaction() {
            Some(self.lock_tx().await?)
        } else {
            None
        };
        let result = match tx.as_mut().and_then(|t| t.as_mut()) {
            Some(open) => {
                open.settle(self).await?;
                let result = open
                    .conn
                    .query_chunked(statement, LOAD_CHUNK_ROWS, &mut sink)
                    .await;
                result.inspect_err(|e| open.note_failure(e))
            }
            None => {
                drop(tx);
                let mut conn = self.acquire_connection(None).await?;
                conn.query_chunked(statement, LOAD_CHUNK_ROWS, &mut sink)
                    .await
            }
        };
        log.emit_single(&result);
        result.map(|_| (found, counted))
    }

    /// The `T` with this key (answered from the identity map when loaded, without a query)
    /// or the first matching a filter.
    pub async fn find_one<T: Entity>(
        &self,
        lookup: impl IntoLookup<T>,
    ) -> Result<Option<Managed<T>>> {
        let em = self.context()?;
        em.shared().model.ensure_registered::<T>()?;
        match lookup.into_lookup() {
            Lookup::Key(key) => {
                {
                    let uow = em.uow();
                    if let Some(store) = uow.map.store::<T>() {
                        if store.removed.contains(&key) {
                            return Ok(None);
                        }
                        if let Some(m) = store.by_key.get(&key)
                            && (!store.may_hold_partial || !m.is_partial())
                        {
                            return Ok(Some(m.clone()));
                        }
                    }
                }
                em.flush_before_query::<T>(None).await?;
                if let Some(m) = em.uow().map.store::<T>().and_then(|s| s.by_key.get(&key))
                    && !m.is_partial()
                {
                    return Ok(Some(m.clone()));
                }
                // Not in the map, or partial: read the whole row (a partial instance is
                // completed in place by the merge).
                let Some(fresh) = em.row_by_key::<T>(&key).await? else {
                    return Ok(None);
                };
                if fresh.key() != key {
                    // A column that compares loosely (a hand-made schema's case-insensitive
                    // collation) matched another key's row: that row is not the one asked
                    // for, and the map answers by the key type's `==` only.
                    return Ok(None);
                }
                let mut uow = em.uow();
                Ok(uow.map.store_mut::<T>().merge_row(fresh))
            }
            Lookup::Filter(filter) => {
                let options = FindOptions {
                    limit: Some(1),
                    ..Default::default()
                };
                Ok(em.find_with(filter, options).await?.pop())
            }
            Lookup::Nothing(_) => Ok(None),
        }
    }

    /// Like [`EntityManager::find_one`], but a missing row is [`Error::NotFound`] naming the
    /// entity and key.
    pub async fn find_one_or_fail<T: Entity>(
        &self,
        lookup: impl IntoLookup<T>,
    ) -> Result<Managed<T>> {
        let lookup = lookup.into_lookup();
        let described = lookup.describe();
        self.find_one(lookup).await?.ok_or(Error::NotFound {
            entity: T::META.name,
            key: described,
        })
    }

    /// [`Error::NotManaged`] unless `entity` belongs to this EntityManager's identity map.
    pub(crate) fn ensure_managed<T: Entity>(&self, entity: &Managed<T>) -> Result<()> {
        let uow = self.uow();
        if uow.map.store::<T>().is_some_and(|s| s.contains(entity)) {
            Ok(())
        } else {
            Err(Error::NotManaged {
                entity: T::META.name,
            })
        }
    }

    /// Number of `T` rows matching `filter`.
    pub async fn count<T: Entity>(&self, filter: Filter<T>) -> Result<u64> {
        let em = self.context()?;
        em.shared().model.ensure_registered::<T>()?;
        filter.condition().check(T::META, Clause::Where)?;
        em.flush_before_query::<T>(None).await?;
        let r = select::count(T::META, filter.condition(), em.shared().dialect);
        let rows = em
            .query_rows(Statement::query(r.sql, r.params).idempotent())
            .await?;
        let n = rows
            .values
            .into_iter()
            .next()
            .map(i64::from_value)
            .transpose()
            .map_err(|message| Error::Decode {
                column: "COUNT(*)".into(),
                message,
            })?
            .unwrap_or(0);
        Ok(n as u64)
    }

    /// Reloads `entity` from its row, overwriting local changes. If the row is gone, the
    /// entity is detached and `false` returned.
    pub async fn refresh<T: Entity>(&self, entity: &Managed<T>) -> Result<bool> {
        let em = self.context()?;
        em.ensure_managed(entity)?;
        if !entity.tracked().loaded {
            return Err(Error::InvalidArgument(format!(
                "{} has not been inserted yet: flush it before refreshing it",
                T::META.name
            )));
        }
        let key = entity.key();
        let fresh = em.row_by_key::<T>(&key).await?;
        let mut uow = em.uow();
        let store = uow.map.store_mut::<T>();
        match fresh {
            Some(row) => {
                entity.tracked_mut().reset(row);
                Ok(true)
            }
            None => {
                store.detach(entity);
                Ok(false)
            }
        }
    }

    /// Reads the row with `key` (not merged anywhere).
    async fn row_by_key<T: Entity>(&self, key: &T::Key) -> Result<Option<T>> {
        let sql = self
            .shared()
            .statements
            .get::<T>(crate::unit_of_work::statement_cache::Shape::ByKey);
        let rows = self
            .query_rows(Statement::query(sql, vec![key.to_value()]).idempotent())
            .await?;
        Ok(decode::<T>(rows)?.pop())
    }

    pub(crate) fn merge_rows<T: Entity>(
        &self,
        rows: Rows,
        unloaded: ColumnSet,
    ) -> Result<Vec<Managed<T>>> {
        let fresh = decode_partial::<T>(rows, unloaded)?;
        let mut uow = self.uow();
        let store = uow.map.store_mut::<T>();
        Ok(fresh
            .into_iter()
            .filter_map(|row| store.merge_partial(row, unloaded))
            .collect())
    }
}

/// Takes the last column (a `COUNT(*) OVER ()`) off every row: the rows without it, and the
/// count (None without rows).
fn split_total(rows: Rows) -> Result<(Rows, Option<u64>)> {
    let width = rows.width();
    if width == 0 || rows.is_empty() {
        return Ok((rows, None));
    }
    let count_at = width - 1;
    let n = rows.values[count_at].clone();
    let n = i64::from_value(n).map_err(|message| Error::Decode {
        column: "COUNT(*) OVER ()".into(),
        message,
    })?;
    let columns: std::sync::Arc<[String]> = rows.columns[..count_at].into();
    let len = rows.len();
    let mut values = Vec::with_capacity(len * count_at);
    let mut cells = rows.values.into_iter();
    for _ in 0..len {
        values.extend(cells.by_ref().take(count_at));
        cells.next();
    }
    Ok((Rows { columns, values }, Some(n as u64)))
}
