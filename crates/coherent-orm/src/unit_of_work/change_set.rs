//! [`ChangeSet`]: what one flush writes for one entity type, and how its results are applied.
//!
//! Policy:
//! - **Planning reads, never writes.** [`ChangeSet::plan`] only reads the Unit of Work; it
//!   records which instances (and which of their write generations) each statement covers,
//!   and hands each statement to the driver as soon as it is ready.
//! - **Applying happens only after COMMIT.** Generated keys, snapshots, evictions: nothing in
//!   memory changes until the whole batch has committed, so a failed flush leaves the Unit of
//!   Work exactly as it was (MikroORM keeps ids and snapshots of a rolled-back flush).
//! - Inserts are multi-row and chunked; updates write only changed columns and each must
//!   hit exactly its rows (a row deleted behind our back is an error, not a lost write): one
//!   row per statement on SQLite, chunks of rows that change the same columns in one
//!   statement on the servers (`Capabilities::batch_updates`); deletes are `IN` lists and are
//!   idempotent.
//! - Optimistic locks (`#[version]`, `#[concurrency_check]`) are checked by the UPDATE
//!   itself: the expected version and loaded checked values are in its WHERE, the next version
//!   in its SET, so there is no check-then-write window.
//! - Written instances take the stored form of their values after COMMIT
//!   ([`crate::unit_of_work::stored_form`]): memory holds exactly what the database holds.
//! - Generated keys are read back from `RETURNING` and matched to rows in ascending order:
//!   SQLite and PostgreSQL hand out keys of one multi-row INSERT in VALUES order, while the
//!   order of `RETURNING` rows is not guaranteed by either. MySQL has no `RETURNING`: its
//!   driver reports the keys from `LAST_INSERT_ID()` (consecutive for one INSERT).

use crate::entity::managed::Managed;
use crate::identity::type_store::TypeStore;
use crate::unit_of_work::plan::{Emitter, PlanContext};
use crate::unit_of_work::statement_cache::Shape;
use crate::unit_of_work::stored_form::StoredColumns;
use crate::unit_of_work::written_rows::WrittenRows;
use coherent_core::{
    ColumnSet, Entity, Error, FieldType, Outcome, PrimaryKey, Result, Statement, Value,
};
use std::any::Any;

/// The three phases of a flush, in execution order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Phase {
    Insert = 0,
    Update = 1,
    Delete = 2,
}

/// A change set being planned and applied, type-erased for the flush.
pub(crate) trait ChangeSet: Send {
    /// Plans `phase` for the type's `store`, handing each statement to `emit` as soon as it
    /// is ready (so the driver can run it while the rest is planned).
    fn plan(
        &mut self,
        phase: Phase,
        store: &dyn Any,
        ctx: &mut PlanContext<'_>,
        emit: &mut Emitter<'_>,
    ) -> Result<()>;
    /// Applies the outcomes of executed statements (per phase, aligned with the statements) to
    /// the store: all of them after a COMMIT; a prefix after a failed flush that ran without a
    /// transaction (only what ran is applied).
    fn apply(self: Box<Self>, store: &mut dyn Any, outcomes: [&[Outcome]; 3]) -> Result<()>;
    /// The key of the row a statement of `phase` concerns, for error messages.
    fn key_of(&self, phase: Phase, statement: usize) -> String;
    /// (inserted, updated, deleted) rows.
    fn counts(&self) -> (usize, usize, usize);
    /// Marks every instance this change set inserts as in doubt (its transaction's COMMIT
    /// outcome is unknown): a later flush refuses to insert it again.
    fn mark_in_doubt(&self);
    /// Whether the type's updates are optimistically locked.
    fn optimistic(&self) -> bool;
    /// Records the rows the executed statements (`outcomes`, per phase and aligned with the
    /// statements, as for [`ChangeSet::apply`]) inserted, updated or deleted.
    fn record_written(&self, outcomes: [&[Outcome]; 3], rows: &mut WrittenRows);
    /// The entity and key of the first row this change set would write (update, delete, or
    /// insert under a key it knows) that `rows` holds.
    fn first_written(&self, rows: &WrittenRows) -> Option<(&'static str, String)>;
    /// The key of the row an optimistically locked UPDATE statement missed: for a
    /// multi-row statement, the first of its rows that `probe` (its rows as read after the
    /// miss) shows gone or changed.
    fn conflict_key(&self, statement: usize, probe: Option<&coherent_core::Rows>) -> String;
}

struct Planned<T: Entity> {
    entity: Managed<T>,
    generation: u64,
    /// The version this write gives the row (versioned entities).
    version: Option<Value>,
    /// Nullable references to new instances without a key yet (a cycle broken here): the
    /// INSERT writes NULL, and a later UPDATE of the same flush writes the key.
    deferred: ColumnSet,
}

/// The change set of entity type `T`.
pub(crate) struct TypeChangeSet<T: Entity> {
    /// Inserts whose key the database generates, in statement order; `chunks[i]` rows each.
    generated: Vec<Planned<T>>,
    generated_chunks: Vec<usize>,
    /// Inserts with a known key, `assigned_chunks[i]` rows per statement.
    assigned: Vec<Planned<T>>,
    assigned_chunks: Vec<usize>,
    /// Updates in statement order, `update_chunks[i]` rows per statement (1 each where
    /// updates are not batched).
    updates: Vec<Planned<T>>,
    update_keys: Vec<T::Key>,
    update_chunks: Vec<usize>,
    /// Per update, the columns its statement writes or compares and their values once it
    /// wrote the row (optimistic entities, batched): what a probe read inside the same
    /// transaction finds for a row the statement did update.
    update_guards: Vec<(ColumnSet, Vec<Value>)>,
    /// Deleted keys, chunked.
    deletes: Vec<T::Key>,
    delete_chunks: Vec<usize>,
    /// The store's removal count when the deletes were planned.
    removals_planned: u64,
    /// The columns optimistic updates compare ([`guard_columns`]; empty if the type has no
    /// version or checks) and the version column: read once per flush, not per row.
    guard: ColumnSet,
    version_column: Option<usize>,
    /// The columns whose values the backend may store in another form (found when planning,
    /// which knows the dialect).
    stored: StoredColumns,
}

impl<T: Entity> Default for TypeChangeSet<T> {
    fn default() -> Self {
        TypeChangeSet {
            generated: Vec::new(),
            generated_chunks: Vec::new(),
            assigned: Vec::new(),
            assigned_chunks: Vec::new(),
            updates: Vec::new(),
            update_keys: Vec::new(),
            update_chunks: Vec::new(),
            update_guards: Vec::new(),
            deletes: Vec::new(),
            delete_chunks: Vec::new(),
            removals_planned: 0,
            guard: guard_columns(T::META),
            version_column: T::META.version_column(),
            stored: StoredColumns::NONE,
        }
    }
}

/// Rows per columnar statement (PostgreSQL arrays): enough for any flush to be one statement
/// per phase and type, bounded so one statement's arrays stay a reasonable message.
const COLUMNAR_ROWS: usize = 50_000;

/// How the keys of inserted rows come back.
#[derive(Clone, Copy, PartialEq, Eq)]
enum KeyReadBack {
    /// Client-assigned keys: nothing to read.
    None,
    /// `RETURNING <key>`.
    Returning,
    /// The driver reports the generated keys (MySQL's `LAST_INSERT_ID()`).
    Generated,
}

fn chunk_statements<T: Entity>(
    ctx: &mut PlanContext<'_>,
    rows: &[Planned<T>],
    columns: ColumnSet,
    keys: KeyReadBack,
    chunks: &mut Vec<usize>,
    emit: &mut Emitter<'_>,
) {
    let returning = keys == KeyReadBack::Returning;
    // Arrays need a column: a key-only entity takes the multi-row form.
    let columnar = ctx.capabilities.columnar && rows.len() > 1 && !columns.is_empty();
    let per = if columnar {
        COLUMNAR_ROWS
    } else {
        coherent_sql::insert::rows_per_statement(
            ctx.batch_size,
            ctx.capabilities.max_params,
            columns.len(),
        )
    };
    for chunk in rows.chunks(per) {
        let sql = if columnar {
            ctx.cache
                .get::<T>(Shape::InsertColumnar { columns, returning })
        } else {
            ctx.cache.get::<T>(Shape::Insert {
                columns,
                rows: chunk.len(),
                returning,
            })
        };
        let mut params = Vec::with_capacity(chunk.len() * columns.len());
        // The version's place in each row, if the entity is versioned.
        let version_at = T::META
            .version_column()
            .and_then(|v| columns.iter().position(|c| c == v));
        for p in chunk {
            let start = params.len();
            p.entity.tracked().current.push_values(columns, &mut params);
            if let (Some(at), Some(v)) = (version_at, &p.version) {
                params[start + at] = v.clone();
            }
            for c in p.deferred.iter() {
                if let Some(at) = columns.iter().position(|x| x == c) {
                    params[start + at] = Value::Null;
                }
            }
        }
        let st = match keys {
            KeyReadBack::Returning => Statement::query(sql, params),
            KeyReadBack::Generated => Statement::execute(sql, params)
                .expecting(chunk.len() as u64)
                .reading_generated_keys(),
            KeyReadBack::None => Statement::execute(sql, params).expecting(chunk.len() as u64),
        };
        let st = if columnar {
            st.columnar(columns.len())
        } else {
            st
        };
        emit.push(st.about(T::META.name));
        chunks.push(chunk.len());
    }
}

impl<T: Entity> TypeChangeSet<T> {
    /// Inserts, in persist order: generated keys with RETURNING, client keys without.
    fn plan_inserts(
        &mut self,
        store: &TypeStore<T>,
        ctx: &mut PlanContext<'_>,
        emit: &mut Emitter<'_>,
    ) -> Result<()> {
        let meta = T::META;
        // Found once per type, not per row: most types have no nullable reference.
        let nullable_refs = nullable_reference_columns(meta);
        for m in store.pending.iter() {
            let t = m.tracked();
            if t.in_doubt {
                let key = t.current.key();
                return Err(Error::InDoubt {
                    entity: meta.name,
                    key: if key.is_unassigned() {
                        String::new()
                    } else {
                        format!("{key:?}")
                    },
                });
            }
            let planned = Planned {
                entity: m.clone(),
                generation: t.generation,
                version: match self.version_column {
                    Some(v) => Some(coherent_core::version::initial(
                        meta.columns[v].column_type,
                    )?),
                    None => None,
                },
                deferred: if nullable_refs.is_empty() {
                    ColumnSet::EMPTY
                } else {
                    crate::entity::unassigned_keys::unassigned_references(&t.current, nullable_refs)
                },
            };
            if t.current.key().is_unassigned() {
                self.generated.push(planned);
            } else {
                self.assigned.push(planned);
            }
        }
        let keys = if ctx.capabilities.returning {
            KeyReadBack::Returning
        } else {
            KeyReadBack::Generated
        };
        chunk_statements(
            ctx,
            &self.generated,
            meta.insert_columns(false),
            keys,
            &mut self.generated_chunks,
            emit,
        );
        chunk_statements(
            ctx,
            &self.assigned,
            meta.insert_columns(true),
            KeyReadBack::None,
            &mut self.assigned_chunks,
            emit,
        );
        Ok(())
    }

    /// Updates of changed columns. Where several connections can write at once they are
    /// emitted in key order (so concurrent flushes lock rows in the same order and cannot
    /// deadlock on each other); with a single writer (SQLite) each is emitted as soon as it is
    /// found, so the driver starts on them while the scan goes on. A changed primary key is
    /// refused.
    fn plan_updates(
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

    /// Deletes as `IN` lists.
    fn plan_deletes(
        &mut self,
        store: &TypeStore<T>,
        ctx: &mut PlanContext<'_>,
        emit: &mut Emitter<'_>,
    ) {
        let mut keys: Vec<&T::Key> = store.removed.iter().collect();
        keys.sort_unstable();
        let columnar = ctx.capabilities.columnar && keys.len() > 1;
        let per = if columnar {
            COLUMNAR_ROWS
        } else {
            ctx.batch_size.min(ctx.capabilities.max_params).max(1)
        };
        for chunk in keys.chunks(per) {
            let params: Vec<Value> = chunk.iter().map(|k| k.to_value()).collect();
            let statement = if columnar {
                Statement::execute(ctx.cache.get::<T>(Shape::DeleteColumnar), params).columnar(1)
            } else {
                Statement::execute(ctx.cache.get::<T>(Shape::Delete(chunk.len())), params)
            };
            emit.push(statement.about(T::META.name));
            self.delete_chunks.push(chunk.len());
            self.deletes.extend(chunk.iter().map(|k| (*k).clone()));
        }
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
fn guard_columns(meta: &coherent_core::EntityMeta) -> ColumnSet {
    let mut guard = meta.check_columns();
    if let Some(v) = meta.version_column() {
        guard.insert(v);
    }
    guard
}

/// Marks an instance as written: clean, holding the stored form of its values, if it did not
/// change while the flush ran, otherwise dirty in every column (its baseline is no longer
/// known).
fn settle<T: Entity>(p: &Planned<T>, key: Option<T::Key>, stored: &StoredColumns) {
    let mut t = p.entity.tracked_mut();
    if let Some(k) = key {
        t.current.set_key(k);
    }
    if let Some(v) = &p.version {
        let col = T::META.version_column().expect("a version was planned");
        // The value was produced from this column's own type: it always fits.
        let _ = t.current.set_column(col, v.clone());
    }
    let changed_meanwhile = t.generation != p.generation;
    if !changed_meanwhile {
        stored.apply(&mut t.current);
    }
    t.mark_clean();
    // A deferred reference was written as NULL: the row is not what memory says yet.
    t.force_dirty = changed_meanwhile || !p.deferred.is_empty();
}

/// The nullable reference columns: where a row pointing at an instance whose generated key
/// is not assigned yet is inserted with NULL (a dependency cycle is broken there).
fn nullable_reference_columns(meta: &coherent_core::EntityMeta) -> ColumnSet {
    let mut nullable = meta.reference_columns();
    for (i, c) in meta.columns.iter().enumerate() {
        if !c.nullable {
            nullable.remove(i);
        }
    }
    nullable
}

/// Takes the planned instances out of the pending inserts; returns those no longer pending
/// (removed by the application while the flush ran).
fn unqueue<T: Entity>(store: &mut TypeStore<T>, planned: &[&Planned<T>]) -> Vec<usize> {
    store
        .pending
        .remove_planned(planned.iter().map(|p| &p.entity))
}

impl<T: Entity> ChangeSet for TypeChangeSet<T> {
    fn plan(
        &mut self,
        phase: Phase,
        store: &dyn Any,
        ctx: &mut PlanContext<'_>,
        emit: &mut Emitter<'_>,
    ) -> Result<()> {
        let store: &TypeStore<T> = store
            .downcast_ref()
            .expect("a change set is planned from its own type's store");
        self.stored = StoredColumns::of(T::META, ctx.dialect);
        match phase {
            Phase::Insert => self.plan_inserts(store, ctx, emit)?,
            Phase::Update => self.plan_updates(store, ctx, emit)?,
            Phase::Delete => self.plan_deletes(store, ctx, emit),
        }
        Ok(())
    }

    fn apply(self: Box<Self>, store: &mut dyn Any, outcomes: [&[Outcome]; 3]) -> Result<()> {
        let store: &mut TypeStore<T> = store
            .downcast_mut()
            .expect("a change set is applied to its own type's store");
        let meta = T::META;

        // Generated keys: one RETURNING result per chunk.
        let mut keys: Vec<T::Key> = Vec::with_capacity(self.generated.len());
        for (chunk, outcome) in self.generated_chunks.iter().zip(outcomes[0]) {
            let rows = outcome
                .rows
                .as_ref()
                .map(|r| r.values.as_slice())
                .unwrap_or(&[]);
            if rows.len() != *chunk {
                return Err(Error::RowCountMismatch {
                    entity: meta.name,
                    key: String::new(),
                    expected: *chunk as u64,
                    actual: rows.len() as u64,
                });
            }
            let mut chunk_keys = rows
                .iter()
                .map(|v| {
                    T::Key::from_value(v.clone()).map_err(|message| Error::Decode {
                        column: format!("{}.{}", meta.name, meta.pk().name),
                        message,
                    })
                })
                .collect::<Result<Vec<_>>>()?;
            chunk_keys.sort_unstable();
            keys.extend(chunk_keys);
        }
        // What ran: the whole plan after a COMMIT, a prefix after a non-atomic failure.
        let ran =
            |chunks: &[usize], statements: usize| chunks.iter().take(statements).sum::<usize>();
        let generated_ran = self.generated_chunks.len().min(outcomes[0].len());
        let generated = &self.generated[..ran(&self.generated_chunks, generated_ran)];
        let assigned_ran = outcomes[0].len() - generated_ran;
        let assigned = &self.assigned[..ran(&self.assigned_chunks, assigned_ran)];
        let updates = &self.updates[..ran(&self.update_chunks, outcomes[1].len())];
        let deletes = &self.deletes[..ran(&self.delete_chunks, outcomes[2].len())];

        let all_inserted: Vec<&Planned<T>> = generated.iter().chain(assigned).collect();
        let gone = unqueue(store, &all_inserted);
        for (p, key) in generated.iter().zip(keys) {
            settle(p, Some(key.clone()), &self.stored);
            store.deleted.remove(&key);
            store.by_key.insert(key, p.entity.clone());
        }
        for p in assigned {
            settle(p, None, &self.stored);
            store.deleted.remove(&p.entity.key());
        }
        // Removed by the application while its INSERT ran: delete it on the next flush.
        for i in gone {
            let entity = all_inserted[i].entity.clone();
            let key = entity.key();
            store.by_key.insert(key.clone(), entity);
            store.schedule_removal(key);
        }

        for p in updates {
            settle(p, None, &self.stored);
        }

        // Nothing scheduled since planning and every delete ran: every key left in `removed`
        // was deleted now.
        if store.removals == self.removals_planned && deletes.len() == self.deletes.len() {
            store.removed.clear();
        }
        for key in deletes {
            if store.track_deleted {
                store.deleted.insert(key.clone());
            }
            store.removed.remove(key);
            if let Some(m) = store.by_key.swap_remove(key) {
                m.tracked_mut().loaded = false;
            }
        }
        Ok(())
    }

    fn key_of(&self, phase: Phase, statement: usize) -> String {
        match phase {
            Phase::Insert => String::from("(new)"),
            Phase::Update => {
                let start: usize = self.update_chunks.iter().take(statement).sum();
                self.update_keys
                    .get(start)
                    .map(|k| format!("{k:?}"))
                    .unwrap_or_default()
            }
            Phase::Delete => {
                let start: usize = self.delete_chunks.iter().take(statement).sum();
                let len = self.delete_chunks.get(statement).copied().unwrap_or(0);
                format!("{:?}", &self.deletes[start..start + len])
            }
        }
    }

    fn optimistic(&self) -> bool {
        !self.guard.is_empty()
    }

    fn record_written(&self, outcomes: [&[Outcome]; 3], rows: &mut WrittenRows) {
        let ran =
            |chunks: &[usize], statements: usize| chunks.iter().take(statements).sum::<usize>();
        let generated_ran = self.generated_chunks.len().min(outcomes[0].len());
        let assigned_ran = outcomes[0].len() - generated_ran;
        // Generated keys: one RETURNING (or driver-reported) column per inserted row.
        let generated = outcomes[0][..generated_ran]
            .iter()
            .filter_map(|o| o.rows.as_ref())
            .flat_map(|r| r.values.iter())
            .filter_map(|v| T::Key::from_value(v.clone()).ok());
        rows.extend::<T>(generated);
        let assigned = &self.assigned[..ran(&self.assigned_chunks, assigned_ran)];
        rows.extend::<T>(assigned.iter().map(|p| p.entity.key()));
        let updated = ran(&self.update_chunks, outcomes[1].len());
        rows.extend::<T>(self.update_keys[..updated].iter().cloned());
        let deleted = ran(&self.delete_chunks, outcomes[2].len());
        rows.extend::<T>(self.deletes[..deleted].iter().cloned());
    }

    fn first_written(&self, rows: &WrittenRows) -> Option<(&'static str, String)> {
        let found = |key: &T::Key| rows.contains::<T>(key).then(|| format!("{key:?}"));
        self.update_keys
            .iter()
            .chain(&self.deletes)
            .find_map(found)
            .or_else(|| self.assigned.iter().find_map(|p| found(&p.entity.key())))
            .map(|key| (T::META.name, key))
    }

    fn conflict_key(&self, statement: usize, probe: Option<&coherent_core::Rows>) -> String {
        let start: usize = self.update_chunks.iter().take(statement).sum();
        let len = self.update_chunks.get(statement).copied().unwrap_or(0);
        let (Some(rows), true) = (probe, len > 1) else {
            return self.key_of(Phase::Update, statement);
        };
        let Ok(found) = crate::entity::decode::decode::<T>(rows.clone()) else {
            return self.key_of(Phase::Update, statement);
        };
        for i in start..start + len {
            let key = &self.update_keys[i];
            let now = found.iter().find(|t| t.key() == *key);
            let matches = now.is_some_and(|t| {
                self.update_guards.get(i).is_some_and(|(columns, after)| {
                    let mut values = Vec::with_capacity(after.len());
                    t.push_values(*columns, &mut values);
                    *after == values
                })
            });
            if !matches {
                return format!("{key:?}");
            }
        }
        self.key_of(Phase::Update, statement)
    }

    fn counts(&self) -> (usize, usize, usize) {
        (
            self.generated.len() + self.assigned.len(),
            self.updates.len(),
            self.deletes.len(),
        )
    }

    fn mark_in_doubt(&self) {
        for p in self.generated.iter().chain(&self.assigned) {
            p.entity.tracked_mut().in_doubt = true;
        }
    }
}
