//! [`SchemaManager`]: create, drop and refresh the schema from entity metadata.
//!
//! Policy: DDL comes from `coherent-sql` per dialect; tables are created in commit order
//! (referenced tables first) and dropped in reverse, in one atomic batch where the backend
//! has transactional DDL.

use crate::entity_manager::EntityManager;
use coherent_core::{Batch, Result, Statement, TxMode};
use coherent_sql::schema;

/// Schema operations of an Orm (from `Orm::schema()`).
pub struct SchemaManager {
    em: EntityManager,
}

impl SchemaManager {
    pub(crate) fn new(em: EntityManager) -> Self {
        SchemaManager { em }
    }

    /// The DDL `create` runs.
    pub fn create_sql(&self) -> Vec<String> {
        let shared = self.em.shared();
        shared
            .metas_in_order()
            .into_iter()
            .flat_map(|m| schema::create_table(m, shared.dialect))
            .collect()
    }

    /// The DDL `drop` runs.
    pub fn drop_sql(&self) -> Vec<String> {
        let shared = self.em.shared();
        shared
            .metas_in_order()
            .into_iter()
            .rev()
            .map(|m| schema::drop_table(m, shared.dialect))
            .collect()
    }

    /// Creates every registered table (and its indexes) that does not exist yet.
    pub async fn create(&self) -> Result<()> {
        self.run(self.create_sql()).await
    }

    /// Drops every registered table.
    pub async fn drop(&self) -> Result<()> {
        self.run(self.drop_sql()).await
    }

    /// Drops and re-creates every registered table.
    pub async fn refresh(&self) -> Result<()> {
        let mut all = self.drop_sql();
        all.extend(self.create_sql());
        self.run(all).await
    }

    async fn run(&self, sql: Vec<String>) -> Result<()> {
        let batch = Batch {
            statements: sql
                .into_iter()
                .map(|s| Statement::execute(s, Vec::new()))
                .collect(),
            mode: TxMode::Atomic,
        };
        self.em.run_batch(batch).await.map(|_| ())
    }
}
