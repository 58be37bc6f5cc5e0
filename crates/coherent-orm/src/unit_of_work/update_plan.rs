//! Planning a type's updates: only changed columns, each statement hitting exactly its rows.
//!
//! Policy: an UPDATE writes the changed columns (and the next version); an optimistically
//! locked one carries the expected version and checked values in its WHERE, so there is no
//! check-then-write window. One row per statement where the backend does not batch updates
//! (SQLite); elsewhere rows that change the same columns share a statement, in key order so
//! concurrent flushes lock rows in the same order.

use crate::entity::managed::Managed;
use crate::identity::type_store::TypeStore;
use crate::unit_of_work::change_set::{COLUMNAR_ROWS, Planned, TypeChangeSet};
use crate::unit_of_work::plan::{Emitter, PlanContext};
use crate::unit_of_work::statement_cache::Shape;
use coherent_core::{ColumnSet, Entity, Error, FieldType, Result, Statement, Value};

impl<T: Entity> TypeChangeSet<T> {
    /// Updates of changed columns. Where several connections can write at once they are
    /// emitted in key order (so concurrent flushes lock rows in the same order and cannot
    /// deadlock on each other); with a single writer (SQLite) each is emitted as soon as it is
    /// found, so the driver starts on them while the scan goes on. A changed primary key is
    /// refused.
    pub(super) fn plan_updates(
        &mut self,
        store: &TypeStore<T>,
        ctx: &mut PlanContext<'_>,
        emit: &mut Emitter<'_>,
    ) -> Result<()> {
        let meta = T::META;
        let batched = ctx.capabilities.batch_updates;
        let in_key_order = ctx.capabilities.concurrent_writers || batched;
        let mut later: Vec<(&T::Key, &Managed<T>, u64, ColumnSet)> = Vec::new();
        let mut last: Option<(ColumnSet, std::sync::Arc<str>)> = None;
        for (key, m) in &store.by_key {
            let t = m.tracked();
            if !t.maybe_dirty() {
                continue;
            }
            let mut columns = t.changed_columns();
            if store.removed.contains(key) {
                // A row to delete is written only to unlink it first: a nullable reference
                // the cascade step set to NULL because its target is deleted before it (a
                // dependency cycle).
                columns = columns.intersection(meta.nullable_reference_columns());
            }
            if columns.contains(meta.primary_key) {
                if !t.force_dirty && t.current.key() != *key {
                    return Err(Error::InvalidArgument(format!(
                        "the primary key of a managed {} changed from {key:?} to {:?}; keys are identities and cannot change",
                        meta.name,
                        t.current.key()
                    )));
                }
                columns.remove(meta.primary_key);
            }
            if columns.is_empty() {
                continue;
            }
            if in_key_order {
                later.push((key, m, t.generation, columns));
            } else {
                let generation = t.generation;
                self.emit_update(
                    key, m, &t.current, generation, columns, ctx, emit, &mut last,
                )?;
            }
        }
        later.sort_unstable_by(|a, b| a.0.cmp(b.0));
        // One row: the plain per-row statement (a derived table buys nothing there and
        // costs the server a join).
        if batched && later.len() > 1 {
            return self.emit_batched_updates(later, ctx, emit);
        }
        for (key, m, generation, columns) in later {
            let t = m.tracked();
            self.emit_update(
                key, m, &t.current, generation, columns, ctx, emit, &mut last,
            )?;
        }
        Ok(())
    }

    /// Emits one `UPDATE .. SET <columns> WHERE key = ?`, required to hit one row. Most
    /// updates of a flush change the same columns: `last` keeps the text of the last shape.
    #[allow(clippy::too_many_arguments)]
    fn emit_update(
        &mut self,
        key: &T::Key,
        m: &Managed<T>,
        current: &T,
        generation: u64,
        columns: ColumnSet,
        ctx: &mut PlanContext<'_>,
        emit: &mut Emitter<'_>,
        last: &mut Option<(ColumnSet, std::sync::Arc<str>)>,
    ) -> Result<()> {
        if !self.guard.is_empty() {
            return self.emit_guarded_update(key, m, generation, columns, ctx, emit);
        }
        let sql = match last {
            Some((c, sql)) if *c == columns => sql.clone(),
            _ => {
                let sql = ctx.cache.get::<T>(Shape::Update(columns));
                *last = Some((columns, sql.clone()));
                sql
            }
        };
        let mut params = Vec::with_capacity(columns.len() + 1);
        current.push_values(columns, &mut params);
        params.push(key.to_value());
        emit.push(
            Statement::execute(sql, params)
                .expecting(1)
                .about(T::META.name),
        );
        self.record_single_update(m, generation, None, key);
        Ok(())
    }

    /// Records a one-row UPDATE statement just emitted.
    fn record_single_update(
        &mut self,
        m: &Managed<T>,
        generation: u64,
        version: Option<Value>,
        key: &T::Key,
    ) {
        self.updates.push(Planned {
            entity: m.clone(),
            generation,
            version,
            deferred: ColumnSet::EMPTY,
        });
        self.update_keys.push(key.clone());
        self.update_chunks.push(1);
    }

    /// Emits an optimistically locked UPDATE: the version (if any) is advanced in SET and
    /// compared with the in-memory version in WHERE, and every `#[concurrency_check]` column
    /// is compared with its loaded value; the row must still be found (else
    /// [`Error::OptimisticLock`]). The row's values come from [`update_row`], as a
    /// multi-row update's do.
    fn emit_guarded_update(
        &mut self,
        key: &T::Key,
        m: &Managed<T>,
        generation: u64,
        columns: ColumnSet,
        ctx: &mut PlanContext<'_>,
        emit: &mut Emitter<'_>,
    ) -> Result<()> {
        let meta = T::META;
        let guard = self.guard;
        let row = update_row(key, &m.tracked(), columns, guard, self.version_column)?;
        let mut null_guards = ColumnSet::EMPTY;
        for (c, v) in guard.iter().zip(&row.expected) {
            if v.is_null() {
                null_guards.insert(c);
            }
        }
        let sql = ctx.cache.get::<T>(Shape::GuardedUpdate {
            set: row.columns,
            guard,
            null_guards,
        });
        let mut params = row.values;
        params.push(key.to_value());
        // Guard values in column order, NULLs rendered as IS NULL (no parameter).
        params.extend(row.expected.into_iter().filter(|v| !v.is_null()));
        let next_version = row.next_version;
        emit.push(
            Statement::execute(sql, params)
                .expecting(1)
                .about(meta.name),
        );
        self.record_single_update(m, generation, next_version, key);
        Ok(())
    }

    /// Emits updates (already in key order) as multi-row statements, one per chunk of rows
    /// that write the same columns (`coherent_sql::update::update_rows`). Optimistically
    /// locked entities advance their version and carry the expected version and checked
    /// values per row; each statement must hit all its rows, and carries a probe that reads
    /// them back if it does not, so the error can name the row that moved.
    fn emit_batched_updates(
        &mut self,
        rows: Vec<(&T::Key, &Managed<T>, u64, ColumnSet)>,
        ctx: &mut PlanContext<'_>,
        emit: &mut Emitter<'_>,
    ) -> Result<()> {
        let meta = T::META;
        let guard = self.guard;
        let optimistic = !guard.is_empty();
        // Groups of rows writing the same columns, in first-seen (key) order.
        #[allow(clippy::type_complexity)]
        let mut groups: Vec<(
            ColumnSet,
            Vec<(
                Planned<T>,
                T::Key,
                Vec<Value>,
                (Vec<Value>, (ColumnSet, Vec<Value>)),
            )>,
        )> = Vec::new();
        for (key, m, generation, columns) in rows {
            let UpdateRow {
                columns,
                values,
                expected,
                next_version,
            } = update_row(key, &m.tracked(), columns, guard, self.version_column)?;
            let planned = Planned {
                entity: m.clone(),
                generation,
                version: next_version,
                deferred: ColumnSet::EMPTY,
            };
            // The written and compared columns once written: the new values, the new
            // version, the expected checked values the update leaves alone.
            let touched = columns.union(guard);
            let after: Vec<Value> = touched
                .iter()
                .map(|c| match columns.iter().position(|s| s == c) {
                    // As a probe reads it back.
                    Some(at) => self.stored.value(c, values[at].clone()),
                    None => {
                        let g = guard.iter().position(|g| g == c).expect("a guard column");
                        expected[g].clone()
                    }
                })
                .collect();
            let after = (touched, after);
            let entry = (planned, key.clone(), values, (expected, after));
            match groups.iter_mut().find(|(set, _)| *set == columns) {
                Some((_, group)) => group.push(entry),
                None => groups.push((columns, vec![entry])),
            }
        }
        for (set, group) in groups {
            let width = 1 + set.len() + guard.len();
            let columnar = ctx.capabilities.columnar;
            let per = if columnar {
                COLUMNAR_ROWS
            } else {
                coherent_sql::update::rows_per_update(
                    meta,
                    guard,
                    ctx.batch_size,
                    ctx.capabilities.max_params,
                    width,
                    ctx.dialect,
                )
            };
            let mut group = group.into_iter().peekable();
            while group.peek().is_some() {
                let chunk: Vec<_> = group.by_ref().take(per).collect();
                let sql = if columnar {
                    ctx.cache.get::<T>(Shape::UpdateColumnar { set, guard })
                } else {
                    ctx.cache.get::<T>(Shape::BatchUpdate {
                        set,
                        guard,
                        rows: chunk.len(),
                    })
                };
                let mut params = Vec::with_capacity(chunk.len() * width);
                let mut keys = Vec::with_capacity(chunk.len());
                for (_, key, values, (expected, _)) in &chunk {
                    params.push(key.to_value());
                    params.extend(values.iter().cloned());
                    params.extend(expected.iter().cloned());
                    keys.push(key.to_value());
                }
                let params = if columnar {
                    params
                } else {
                    coherent_sql::update::arrange_rows(meta, set, guard, params, ctx.dialect)
                };
                let mut statement = Statement::execute(sql, params)
                    .expecting(chunk.len() as u64)
                    .about(meta.name);
                if columnar {
                    statement = statement.columnar(width);
                }
                if optimistic && columnar {
                    let probe = ctx.cache.get::<T>(Shape::SelectColumnar);
                    statement.probe = Some(Box::new(Statement::query(probe, keys).columnar(1)));
                } else if optimistic {
                    let filter = coherent_core::Condition::In {
                        column: meta.pk().name,
                        values: keys,
                        negated: false,
                    };
                    let probe = coherent_sql::select::select(
                        meta,
                        &filter,
                        &Default::default(),
                        ctx.dialect,
                    );
                    statement.probe = Some(Box::new(Statement::query(probe.sql, probe.params)));
                }
                emit.push(statement);
                self.update_chunks.push(chunk.len());
                for (planned, key, _, (_, after)) in chunk {
                    self.updates.push(planned);
                    self.update_keys.push(key);
                    if optimistic {
                        self.update_guards.push(after);
                    }
                }
            }
        }
        Ok(())
    }
}

/// One row's part of an UPDATE.
struct UpdateRow {
    /// The columns written: the changed ones, and the version of a versioned entity.
    columns: ColumnSet,
    /// Their values, in column order, the version advanced.
    values: Vec<Value>,
    /// The expected values of the guard columns ([`guard_columns`]), in column order: the
    /// in-memory version and the loaded checked values. Empty for an unguarded entity.
    expected: Vec<Value>,
    /// The version the row gets.
    next_version: Option<Value>,
}

/// The UPDATE of a managed row whose `columns` changed. An entity with concurrency checks
/// and no version must change at least one checked column (MikroORM's rule): otherwise
/// nothing would be compared that could have moved, and the error is raised before any SQL.
fn update_row<T: Entity>(
    key: &T::Key,
    t: &crate::entity::managed::Tracked<T>,
    mut columns: ColumnSet,
    guard: ColumnSet,
    version: Option<usize>,
) -> Result<UpdateRow> {
    let meta = T::META;
    let mut expected = Vec::new();
    let mut next_version = None;
    if !guard.is_empty() {
        if version.is_none() && columns.intersection(guard).is_empty() {
            return Err(Error::OptimisticLock {
                entity: meta.name,
                key: format!("{key:?}"),
            });
        }
        let baseline: &T = match (&t.snapshot, t.baseline_is_current) {
            (Some(s), false) => s,
            _ => &t.current,
        };
        // What the application's changes were based on: the version and checked values as
        // read, whatever a re-read merged since.
        baseline.push_values(guard, &mut expected);
        if let Some(v) = version {
            let at = guard
                .iter()
                .position(|c| c == v)
                .expect("the version guards");
            next_version = Some(coherent_core::version::next(&expected[at])?);
            columns.insert(v);
        }
    }
    let mut values = Vec::with_capacity(columns.len());
    t.current.push_values(columns, &mut values);
    if let (Some(v), Some(next)) = (version, &next_version) {
        let at = columns
            .iter()
            .position(|c| c == v)
            .expect("the version is set");
        values[at] = next.clone();
    }
    Ok(UpdateRow {
        columns,
        values,
        expected,
        next_version,
    })
}

/// The columns an optimistic UPDATE compares: the version, then the checked columns.
pub(super) fn guard_columns(meta: &coherent_core::EntityMeta) -> ColumnSet {
    let mut guard = meta.check_columns();
    if let Some(v) = meta.version_column() {
        guard.insert(v);
    }
    guard
}
