//! [`UnitOfWork`]: the identity map plus everything pending, and the two halves of a flush:
//! [`UnitOfWork::plan`] (read-only) and [`UnitOfWork::apply`] (after COMMIT).
//!
//! Policy: a flush is planned under the Unit of Work's lock and its statements are handed to
//! the driver in pieces as they are planned ([`Emitter`]), so the driver executes the first
//! ones while the rest are planned; the whole is one atomic job. The results are applied
//! under the lock again only if the job committed. Statement order: inserts in
//! [`crate::unit_of_work::commit_order::CommitOrder`], then updates, then deletes in reverse commit order.

use crate::identity::identity_map::IdentityMap;
use crate::unit_of_work::change_set::{ChangeSet, Phase};
use crate::unit_of_work::statement_cache::StatementCache;
use crate::unit_of_work::written_rows::WrittenRows;
use coherent_core::{BatchResult, Capabilities, Error, Outcome, Result, Statement};
use std::any::TypeId;
use std::ops::Range;

/// A piece is handed to the driver when it holds this many statements...
const PIECE: usize = 256;
/// ...or this many bound parameters (a few multi-row INSERTs or `IN`-list DELETEs are as much
/// work as hundreds of single-row UPDATEs).
const PIECE_PARAMS: usize = 2048;

/// What planning needs to know about the backend.
pub(crate) struct PlanContext<'a> {
    /// The registered entity types (each type's change set comes from its registration).
    pub model: &'a crate::unit_of_work::model::Model,
    pub cache: &'a StatementCache,
    pub capabilities: Capabilities,
    pub batch_size: usize,
    pub dialect: coherent_core::Dialect,
}

/// Collects planned statements and hands them on in pieces of [`PIECE`] statements or
/// [`PIECE_PARAMS`] parameters.
pub(crate) struct Emitter<'a> {
    buffer: Vec<Statement>,
    buffered_params: usize,
    sent: usize,
    sink: &'a mut dyn FnMut(Vec<Statement>),
}

impl<'a> Emitter<'a> {
    pub fn new(sink: &'a mut dyn FnMut(Vec<Statement>)) -> Self {
        Emitter {
            buffer: Vec::new(),
            buffered_params: 0,
            sent: 0,
            sink,
        }
    }

    /// Queues one statement.
    pub fn push(&mut self, statement: Statement) {
        self.buffered_params += statement.params.len();
        self.buffer.push(statement);
        if self.buffer.len() >= PIECE || self.buffered_params >= PIECE_PARAMS {
            self.hand_on();
        }
    }

    /// The batch index the next statement will have.
    fn position(&self) -> usize {
        self.sent + self.buffer.len()
    }

    fn hand_on(&mut self) {
        if !self.buffer.is_empty() {
            self.buffered_params = 0;
            self.sent += self.buffer.len();
            (self.sink)(std::mem::replace(
                &mut self.buffer,
                Vec::with_capacity(PIECE),
            ));
        }
    }
}

/// One type's change set and the statement ranges of its insert, update and delete phases.
type PlannedSet = (TypeId, Box<dyn ChangeSet>, [Range<usize>; 3]);

/// A planned flush: the change sets to apply once its statements committed.
pub(crate) struct FlushPlan {
    sets: Vec<PlannedSet>,
    /// The identity map's epoch when planned.
    epoch: u64,
    /// Statements planned.
    pub statements: usize,
    /// (inserted, updated, deleted) rows.
    pub counts: (usize, usize, usize),
}

impl FlushPlan {
    /// Marks every instance the plan inserts as in doubt (see [`ChangeSet::mark_in_doubt`]).
    pub fn mark_in_doubt(&self) {
        for (_, cs, _) in &self.sets {
            cs.mark_in_doubt();
        }
    }

    /// Records in `rows` the rows the executed statements of `result` (all of them after a
    /// success, the prefix that ran before a failure) inserted, updated or deleted.
    pub fn record_written(&self, result: &BatchResult, rows: &mut WrittenRows) {
        for (_, cs, ranges) in &self.sets {
            cs.record_written(outcomes_of(ranges, result), rows);
        }
    }

    /// The entity and key of the first row the plan would write that `rows` holds.
    pub fn first_written(&self, rows: &WrittenRows) -> Option<(&'static str, String)> {
        self.sets
            .iter()
            .find_map(|(_, cs, _)| cs.first_written(rows))
    }

    /// Fills in the key of a row-count error from the statement that raised it.
    pub fn describe(
        &self,
        index: Option<usize>,
        error: Error,
        probe: Option<&coherent_core::Rows>,
    ) -> Error {
        let (
            Some(i),
            Error::RowCountMismatch {
                entity,
                expected,
                actual,
                ..
            },
        ) = (index, &error)
        else {
            return error;
        };
        for (_, cs, ranges) in &self.sets {
            for (phase, range) in [Phase::Insert, Phase::Update, Phase::Delete]
                .into_iter()
                .zip(ranges)
            {
                if range.contains(&i) {
                    if phase == Phase::Update && cs.optimistic() {
                        return Error::OptimisticLock {
                            entity,
                            key: cs.conflict_key(i - range.start, probe),
                        };
                    }
                    return Error::RowCountMismatch {
                        entity,
                        key: cs.key_of(phase, i - range.start),
                        expected: *expected,
                        actual: *actual,
                    };
                }
            }
        }
        error
    }
}

/// The outcomes of one change set's statements per phase, as far as `result` ran.
fn outcomes_of<'a>(ranges: &[Range<usize>; 3], result: &'a BatchResult) -> [&'a [Outcome]; 3] {
    let ran = result.outcomes.len();
    [0, 1, 2].map(|p| {
        let r = &ranges[p];
        let end = r.end.min(ran);
        &result.outcomes[r.start.min(end)..end]
    })
}

/// Every phase, in execution order.
pub(crate) const ALL_PHASES: &[Phase] = &[Phase::Insert, Phase::Update, Phase::Delete];

/// The identity map and the pending work of one EntityManager.
#[derive(Default)]
pub(crate) struct UnitOfWork {
    pub map: IdentityMap,
}

impl UnitOfWork {
    /// A Unit of Work sharing this one's instances and pending work.
    pub fn clone_shared(&self) -> UnitOfWork {
        UnitOfWork {
            map: self.map.clone_shared(),
        }
    }

    /// Whether a flush may have something to write (cheap and conservative: an entity that
    /// was written to counts, even if it was written back to its old value).
    pub fn has_work(&self, order: &[TypeId]) -> bool {
        order
            .iter()
            .filter_map(|id| self.map.erased(id))
            .any(|s| s.has_work())
    }

    /// Plans a flush over the types in `order` (insert order), handing each piece of
    /// statements to `sink` as it is ready.
    pub fn plan(
        &self,
        order: &[TypeId],
        ctx: &mut PlanContext<'_>,
        sink: &mut dyn FnMut(Vec<Statement>),
    ) -> Result<FlushPlan> {
        self.plan_phases(order, ALL_PHASES, ctx, sink)
    }

    /// Like [`UnitOfWork::plan`], for some phases only (a staged flush inserts type by
    /// type first).
    pub fn plan_phases(
        &self,
        order: &[TypeId],
        phases: &[Phase],
        ctx: &mut PlanContext<'_>,
        sink: &mut dyn FnMut(Vec<Statement>),
    ) -> Result<FlushPlan> {
        let mut emit = Emitter::new(sink);
        let mut sets: Vec<PlannedSet> = order
            .iter()
            .filter(|id| self.map.erased(id).is_some())
            .filter_map(|id| {
                let registered = ctx.model.entities.get(id)?;
                Some((*id, (registered.change_set)(), [0..0, 0..0, 0..0]))
            })
            .collect();
        for &phase in phases {
            let indexes: Vec<usize> = if phase == Phase::Delete {
                (0..sets.len()).rev().collect()
            } else {
                (0..sets.len()).collect()
            };
            for i in indexes {
                let (id, cs, ranges) = &mut sets[i];
                let store = self.map.erased(id).expect("listed above").as_any();
                let start = emit.position();
                cs.plan(phase, store, ctx, &mut emit)?;
                ranges[phase as usize] = start..emit.position();
            }
        }
        emit.hand_on();
        let mut counts = (0, 0, 0);
        for (_, cs, _) in &sets {
            let (a, b, c) = cs.counts();
            counts = (counts.0 + a, counts.1 + b, counts.2 + c);
        }
        sets.retain(|(_, _, r)| r.iter().any(|r| !r.is_empty()));
        Ok(FlushPlan {
            sets,
            epoch: self.map.epoch,
            statements: emit.sent,
            counts,
        })
    }

    /// Applies a flush's executed statements: all of them after a COMMIT, the prefix that ran
    /// after a failure without a transaction (nothing if the EntityManager was cleared
    /// meanwhile).
    pub fn apply(&mut self, plan: FlushPlan, result: &BatchResult) -> Result<()> {
        if plan.epoch != self.map.epoch {
            return Ok(());
        }
        for (id, cs, ranges) in plan.sets {
            let outcomes = outcomes_of(&ranges, result);
            let Some(store) = self.map.erased_mut(&id) else {
                continue;
            };
            cs.apply(store.as_any_mut(), outcomes)?;
        }
        Ok(())
    }
}
