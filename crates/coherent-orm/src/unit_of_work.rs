//! [`UnitOfWork`]: the identity map plus everything pending, and the two halves of a flush:
//! [`UnitOfWork::plan`] (read-only) and [`UnitOfWork::apply`] (after COMMIT).
//!
//! Policy: a flush is planned under the Unit of Work's lock, executed without it (as one
//! atomic batch, in [`crate::flush`]), and applied under the lock again only if the batch
//! committed. Statement order: inserts in [`crate::commit_order::CommitOrder`], then updates,
//! then deletes in reverse commit order.

use crate::change_set::{ChangeSet, Phase};
use crate::identity_map::IdentityMap;
use crate::statement_cache::StatementCache;
use coherent_core::{Batch, BatchResult, Capabilities, Error, Result, TxMode};
use std::any::TypeId;
use std::ops::Range;

/// What planning needs to know about the backend.
pub(crate) struct PlanContext<'a> {
    pub cache: &'a StatementCache,
    pub capabilities: Capabilities,
    pub batch_size: usize,
}

/// One type's change set and the statement ranges of its insert, update and delete phases.
type PlannedSet = (TypeId, Box<dyn ChangeSet>, [Range<usize>; 3]);

/// A planned flush: the batch to run and the change sets to apply once it committed.
pub(crate) struct FlushPlan {
    pub batch: Batch,
    sets: Vec<PlannedSet>,
    /// (inserted, updated, deleted) rows.
    pub counts: (usize, usize, usize),
}

impl FlushPlan {
    /// Whether there is nothing to write.
    pub fn is_empty(&self) -> bool {
        self.batch.statements.is_empty()
    }

    /// Fills in the key of a row-count error from the statement that raised it.
    pub fn describe(&self, index: Option<usize>, error: Error) -> Error {
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

    /// Plans a flush over the types in `order` (insert order).
    pub fn plan(&self, order: &[TypeId], ctx: &mut PlanContext<'_>) -> Result<FlushPlan> {
        let mut sets = Vec::new();
        for id in order {
            let Some(store) = self.map.erased(id) else {
                continue;
            };
            if let Some(cs) = store.plan(ctx)? {
                sets.push((*id, cs));
            }
        }
        let mut statements = Vec::new();
        let mut ranges: Vec<[Range<usize>; 3]> = vec![[0..0, 0..0, 0..0]; sets.len()];
        for phase in [Phase::Insert, Phase::Update] {
            for (i, (_, cs)) in sets.iter_mut().enumerate() {
                let start = statements.len();
                statements.extend(cs.take(phase));
                ranges[i][phase as usize] = start..statements.len();
            }
        }
        for (i, (_, cs)) in sets.iter_mut().enumerate().rev() {
            let start = statements.len();
            statements.extend(cs.take(Phase::Delete));
            ranges[i][Phase::Delete as usize] = start..statements.len();
        }
        let mut counts = (0, 0, 0);
        for (_, cs) in &sets {
            let (a, b, c) = cs.counts();
            counts = (counts.0 + a, counts.1 + b, counts.2 + c);
        }
        Ok(FlushPlan {
            batch: Batch {
                statements,
                mode: TxMode::Atomic,
            },
            sets: sets
                .into_iter()
                .zip(ranges)
                .map(|((id, cs), r)| (id, cs, r))
                .collect(),
            counts,
        })
    }

    /// Applies a committed flush.
    pub fn apply(&mut self, plan: FlushPlan, result: &BatchResult) -> Result<()> {
        for (id, cs, ranges) in plan.sets {
            let outcomes = [0, 1, 2].map(|p| &result.outcomes[ranges[p].clone()]);
            // The application may have cleared the EntityManager while the flush ran.
            let Some(store) = self.map.erased_mut(&id) else {
                continue;
            };
            cs.apply(store.as_any_mut(), outcomes)?;
        }
        Ok(())
    }
}
