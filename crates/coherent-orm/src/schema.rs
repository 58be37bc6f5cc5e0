//! [`SchemaManager`]: create, drop and refresh the schema from entity metadata.
//!
//! Policy: DDL comes from `coherent-sql` per dialect; tables are created in commit order
//! (referenced tables first) and dropped in reverse, in one atomic batch where the backend
//! has transactional DDL. Tables may reference each other: PostgreSQL's foreign keys are
//! added after every table, MySQL's DDL runs with `FOREIGN_KEY_CHECKS = 0`, SQLite checks
//! references only when rows are written.

use crate::context::entity_manager::EntityManager;
use coherent_core::{Batch, EntityMeta, Result, Statement, TxMode};
use coherent_sql::schema;

/// On MySQL, wraps DDL in `FOREIGN_KEY_CHECKS = 0` .. `1`: tables that reference each other
/// can then be created (with their foreign keys) and dropped in any order. The statements run
/// as one batch, on one connection.
fn without_fk_checks(dialect: coherent_core::Dialect, sql: &mut Vec<String>) {
    if dialect == coherent_core::Dialect::MySql && !sql.is_empty() {
        sql.insert(0, "SET FOREIGN_KEY_CHECKS = 0".into());
        sql.push("SET FOREIGN_KEY_CHECKS = 1".into());
    }
}

/// Schema operations of an Orm (from `Orm::schema()`).
pub struct SchemaManager {
    em: EntityManager,
}

/// The join tables the owning sides of many-to-many relations declare, with their two
/// entities.
fn join_tables<'a>(
    metas: &'a [&'static EntityMeta],
) -> impl Iterator<
    Item = (
        &'static coherent_core::JoinTable,
        &'static EntityMeta,
        &'static EntityMeta,
    ),
> + 'a {
    metas.iter().flat_map(|m| {
        m.relations
            .iter()
            .filter_map(move |r| r.join.as_ref().map(|j| (j, *m, r.target_meta())))
    })
}

impl crate::Orm {
    /// Schema management from entity metadata.
    pub fn schema(&self) -> SchemaManager {
        SchemaManager {
            em: self.em().clone(),
        }
    }
}

impl SchemaManager {
    /// The DDL `create` runs: every table, then the foreign keys that come after the tables
    /// (PostgreSQL), so tables may reference each other.
    pub fn create_sql(&self) -> Vec<String> {
        let shared = self.em.shared();
        let metas = shared.model.metas_in_order();
        let mut sql: Vec<String> = metas
            .iter()
            .flat_map(|m| schema::create_table(m, shared.dialect))
            .chain(
                metas
                    .iter()
                    .flat_map(|m| schema::add_foreign_keys(m, shared.dialect)),
            )
            .chain(join_tables(&metas).flat_map(|(join, owner, target)| {
                coherent_sql::link::create_join_table(join, owner, target, shared.dialect)
            }))
            .collect();
        without_fk_checks(shared.dialect, &mut sql);
        sql
    }

    /// The DDL `drop` runs.
    pub fn drop_sql(&self) -> Vec<String> {
        let shared = self.em.shared();
        let metas = shared.model.metas_in_order();
        let mut sql: Vec<String> = join_tables(&metas)
            .map(|(join, ..)| coherent_sql::link::drop_join_table(join, shared.dialect))
            .chain(
                metas
                    .iter()
                    .rev()
                    .map(|m| schema::drop_table(m, shared.dialect)),
            )
            .collect();
        without_fk_checks(shared.dialect, &mut sql);
        sql
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
        if sql.is_empty() {
            return Ok(());
        }
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
