//! [`JoinTree`]: the to-one joins a filter or an order needs, planned before rendering.
//!
//! Policy:
//! - **One join per path.** Every use of the same to-one path from the same table (`is(..)`
//!   twice, an `is(..)` and an order) shares one join and its alias.
//! - **Inner where it cannot change the answer.** A path used by a condition that must hold
//!   for the row to match (reached from the WHERE through `AND`s only) is an INNER JOIN: a
//!   row without the referenced row could not match anyway. Any other use (under `OR` or
//!   `NOT`, or only to order by) is a LEFT JOIN, and its conditions are guarded with
//!   `<alias>.<key> IS NOT NULL`, so a row without the reference never matches `is(..)`,
//!   also under `NOT` (where SQL's NULL logic would otherwise drop it) and for `is(x IS
//!   NULL)` (which a missing row would otherwise satisfy).
//! - A to-many path ([`Condition::Collection`]) is a subquery with its own tree
//!   ([`crate::subquery`]), never a join of the outer query: a join would repeat rows.

use crate::render::RenderState;
use coherent_core::{Condition, EntityMeta, Order, Path};
use sea_query::{Alias, Expr, ExprTrait, JoinType, SelectStatement};

/// One joined table.
#[derive(Debug, Clone)]
pub struct JoinNode {
    /// The node it joins to (None: the query's root table).
    pub parent: Option<usize>,
    /// The reference column of the parent.
    pub column: &'static str,
    /// The joined entity.
    pub meta: &'static EntityMeta,
    /// Its alias.
    pub alias: String,
    /// An INNER JOIN (else LEFT).
    pub inner: bool,
}

/// The to-one joins of one (sub)query, from its root table.
#[derive(Debug, Clone, Default)]
pub struct JoinTree {
    nodes: Vec<JoinNode>,
}

impl JoinTree {
    /// Plans the joins of `condition` (a WHERE on `root`), of `orders` and of `paths` (a
    /// projection's), taking aliases from `state`.
    pub fn plan(
        root: &'static EntityMeta,
        condition: &Condition,
        orders: &[Order],
        paths: &[Path],
        state: &mut RenderState,
    ) -> JoinTree {
        JoinTree::plan_where(root, condition, orders, paths, true, state)
    }

    /// [`JoinTree::plan`], where `required` says whether the condition must hold for a row
    /// to count (a WHERE, an `EXISTS`); `false` for a condition whose failure counts too (the
    /// `IS NOT TRUE` of `all`): then every join is a guarded left join.
    pub fn plan_where(
        root: &'static EntityMeta,
        condition: &Condition,
        orders: &[Order],
        paths: &[Path],
        required: bool,
        state: &mut RenderState,
    ) -> JoinTree {
        let mut tree = JoinTree::default();
        tree.visit(root, None, condition, required, state);
        for path in orders.iter().map(Order::path).chain(paths.iter().copied()) {
            let mut at = None;
            let mut meta = root;
            for step in path.steps() {
                let (node, target) = tree.node(meta, at, step, false, state);
                at = Some(node);
                meta = target;
            }
        }
        tree
    }

    fn visit(
        &mut self,
        meta: &'static EntityMeta,
        at: Option<usize>,
        condition: &Condition,
        required: bool,
        state: &mut RenderState,
    ) {
        match condition {
            Condition::Related { column, condition } => {
                let (node, target) = self.node(meta, at, column, required, state);
                self.visit(target, Some(node), condition, required, state);
            }
            Condition::And(parts) => {
                for p in parts {
                    self.visit(meta, at, p, required, state);
                }
            }
            Condition::Or(parts) => {
                for p in parts {
                    self.visit(meta, at, p, false, state);
                }
            }
            Condition::Not(inner) => self.visit(meta, at, inner, false, state),
            _ => {}
        }
    }

    /// The node for reference column `column` of the table at `at` (of entity `meta`),
    /// added if new; `required` makes it inner.
    fn node(
        &mut self,
        meta: &'static EntityMeta,
        at: Option<usize>,
        column: &'static str,
        required: bool,
        state: &mut RenderState,
    ) -> (usize, &'static EntityMeta) {
        if let Some(i) = self.child(at, column) {
            self.nodes[i].inner |= required;
            return (i, self.nodes[i].meta);
        }
        let target = meta
            .column_index(column)
            .and_then(|i| meta.columns[i].references)
            .map(|r| (r.meta)())
            .expect("checked before rendering: a reference column");
        self.nodes.push(JoinNode {
            parent: at,
            column,
            meta: target,
            alias: state.next_alias(target),
            inner: required,
        });
        (self.nodes.len() - 1, target)
    }

    /// The node joined through reference column `column` of the table at `at`.
    pub fn child(&self, at: Option<usize>, column: &str) -> Option<usize> {
        self.nodes
            .iter()
            .position(|n| n.parent == at && n.column == column)
    }

    /// The node `path` leads to from the root (None for an empty path).
    pub fn follow(&self, path: Path) -> Option<usize> {
        let mut at = None;
        for step in path.steps() {
            at = Some(
                self.child(at, step)
                    .expect("planned: every path has its join"),
            );
        }
        at
    }

    /// A joined node.
    pub fn get(&self, node: usize) -> &JoinNode {
        &self.nodes[node]
    }

    /// Whether there is no join.
    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }

    /// Adds the joins to `stmt`, whose root table is aliased `root_alias`.
    pub fn apply(&self, stmt: &mut SelectStatement, root_alias: &str) {
        for n in &self.nodes {
            let parent_alias = match n.parent {
                Some(p) => self.nodes[p].alias.as_str(),
                None => root_alias,
            };
            stmt.join_as(
                if n.inner {
                    JoinType::InnerJoin
                } else {
                    JoinType::LeftJoin
                },
                n.meta.table,
                Alias::new(&n.alias),
                Expr::col((Alias::new(&n.alias), n.meta.pk().name))
                    .equals((Alias::new(parent_alias), n.column)),
            );
        }
    }
}
