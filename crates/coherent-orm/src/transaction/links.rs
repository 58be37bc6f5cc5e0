//! Writing the link rows of many-to-many relations, the last step of a flush.
//!
//! Policy: link rows are written after the flush's inserts, updates and deletes, inside the
//! same transaction, when every key they need is assigned: one multi-row INSERT and one
//! DELETE per join table (per batch of pairs). Only once they are written is each owner's
//! collection settled (its baseline becomes its current items); if they fail, the flush
//! fails and the scope's rollback restores memory, so the next flush plans them again.

use crate::context::entity_manager::EntityManager;
use crate::unit_of_work::cascade::LinkChange;
use coherent_core::{Batch, Result, Statement, TxMode, Value};

/// Link rows written by one statement shape: (table, owner column, item column, insert).
type Group<'a> = (&'a str, &'a str, &'a str, bool);

impl EntityManager {
    /// Writes `links` on this EntityManager's connection (its open transaction, if any) and
    /// settles the collections they came from.
    pub(crate) async fn write_links(&self, links: &[LinkChange<'_>]) -> Result<()> {
        if links.is_empty() {
            return Ok(());
        }
        let shared = self.shared();
        let dialect = shared.dialect;
        let per = (shared.capabilities.max_params / 2)
            .min(shared.batch_size())
            .max(1);
        // One group per (join table, side, insert or delete), in first-seen order.
        let mut groups: Vec<(Group<'_>, Vec<(Value, Value)>)> = Vec::new();
        for l in links {
            let pair = (
                l.owner_ops.key_value(&l.owner),
                l.item_ops.key_value(&l.item),
            );
            let id = (l.link.table, l.link.owner_column, l.link.item_column, l.add);
            match groups.iter_mut().find(|(g, _)| *g == id) {
                Some((_, pairs)) => pairs.push(pair),
                None => groups.push((id, vec![pair])),
            }
        }
        let mut statements = Vec::new();
        // Deletes first: a link removed and added again in one flush ends up present.
        groups.sort_by_key(|((.., add), _)| *add);
        for ((table, owner_column, item_column, add), pairs) in &groups {
            for chunk in pairs.chunks(per) {
                let r = if *add {
                    coherent_sql::link::insert_links(
                        table,
                        owner_column,
                        item_column,
                        chunk,
                        dialect,
                    )
                } else {
                    coherent_sql::link::delete_links(
                        table,
                        owner_column,
                        item_column,
                        chunk,
                        dialect,
                    )
                };
                statements.push(Statement::execute(r.sql, r.params));
            }
        }
        self.run_batch(Batch {
            statements,
            mode: TxMode::Atomic,
        })
        .await?;
        for l in links {
            l.owner_ops
                .settle_relation(&l.owner, l.relation, l.item_ops);
        }
        Ok(())
    }
}
