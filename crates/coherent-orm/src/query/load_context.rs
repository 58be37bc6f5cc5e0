//! The EntityManager as the [`LoadContext`] of relation loads.
//!
//! Policy: a relation load is an ordinary `find` (flush mode, lock mode, merge rules), or, for
//! the join table of a many-to-many, an idempotent query on the EntityManager's connection.

use crate::context::entity_manager::EntityManager;
use crate::entity::managed::Managed;
use crate::identity::identity_map::IdentityMap;
use crate::query::find_options::FindOptions;
use crate::relations::loads::LoadContext;
use coherent_core::{Dialect, Entity, Filter, LockMode, Result, Rows, Statement};

impl LoadContext for EntityManager {
    fn keys_per_query(&self) -> usize {
        self.shared().keys_per_query()
    }

    fn dialect(&self) -> Dialect {
        self.shared().dialect
    }

    async fn find_locked<T: Entity>(
        &self,
        filter: Filter<T>,
        lock: LockMode,
    ) -> Result<Vec<Managed<T>>> {
        self.find_with(filter, FindOptions::default().lock_mode(lock))
            .await
    }

    async fn query_rows(&self, statement: Statement) -> Result<Rows> {
        EntityManager::query_rows(self, statement).await
    }

    fn with_map<R>(&self, f: impl FnOnce(&mut IdentityMap) -> R) -> R {
        f(&mut self.uow().map)
    }
}
