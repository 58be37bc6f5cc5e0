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
//! - Inserts are planned in [`crate::unit_of_work::insert_plan`], updates in
//!   [`crate::unit_of_work::update_plan`], deletes here.
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
use coherent_core::{ColumnSet, Entity, Error, FieldType, Outcome, Result, Statement, Value};
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

pub(super) struct Planned<T: Entity> {
    pub(super) entity: Managed<T>,
    pub(super) generation: u64,
    /// The version this write gives the row (versioned entities).
    pub(super) version: Option<Value>,
    /// Nullable references to new instances without a key yet (a cycle broken here): the
    /// INSERT writes NULL, and a later UPDATE of the same flush writes the key.
    pub(super) deferred: ColumnSet,
}

/// The change set of entity type `T`.
pub(crate) struct TypeChangeSet<T: Entity> {
    /// Inserts whose key the database generates, in statement order; `chunks[i]` rows each.
    pub(super) generated: Vec<Planned<T>>,
    pub(super) generated_chunks: Vec<usize>,
    /// Inserts with a known key, `assigned_chunks[i]` rows per statement.
    pub(super) assigned: Vec<Planned<T>>,
    pub(super) assigned_chunks: Vec<usize>,
    /// Updates in statement order, `update_chunks[i]` rows per statement (1 each where
    /// updates are not batched).
    pub(super) updates: Vec<Planned<T>>,
    pub(super) update_keys: Vec<T::Key>,
    pub(super) update_chunks: Vec<usize>,
    /// Per update, the columns its statement writes or compares and their values once it
    /// wrote the row (optimistic entities, batched): what a probe read inside the same
    /// transaction finds for a row the statement did update.
    pub(super) update_guards: Vec<(ColumnSet, Vec<Value>)>,
    /// Deleted keys, chunked.
    pub(super) deletes: Vec<T::Key>,
    pub(super) delete_chunks: Vec<usize>,
    /// The store's removal count when the deletes were planned.
    pub(super) removals_planned: u64,
    /// The columns optimistic updates compare ([`guard_columns`]; empty if the type has no
    /// version or checks) and the version column: read once per flush, not per row.
    pub(super) guard: ColumnSet,
    pub(super) version_column: Option<usize>,
    /// The columns whose values the backend may store in another form (found when planning,
    /// which knows the dialect).
    pub(super) stored: StoredColumns,
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
            guard: crate::unit_of_work::update_plan::guard_columns(T::META),
            version_column: T::META.version_column(),
            stored: StoredColumns::NONE,
        }
    }
}

/// Rows per columnar statement (PostgreSQL arrays): enough for any flush to be one statement
/// per phase and type, bounded so one statement's arrays stay a reasonable message.
pub(super) const COLUMNAR_ROWS: usize = 50_000;

impl<T: Entity> TypeChangeSet<T> {
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
    t.note_written();
    t.mark_clean();
    // A deferred reference was written as NULL: the row is not what memory says yet.
    t.force_dirty = changed_meanwhile || !p.deferred.is_empty();
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
