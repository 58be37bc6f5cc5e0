//! To-many paths as correlated `EXISTS` subqueries: `Author::BOOKS.any(..)`, `.none(..)`,
//! `.all(..)`.
//!
//! Policy: a to-many path never joins the outer query (a join would repeat its rows, and
//! DISTINCT would cost a sort). `any(c)` is `EXISTS (SELECT 1 FROM item WHERE item.fk =
//! outer.key AND c)`, `none(c)` its `NOT EXISTS`, and `all(c)` is `NOT EXISTS (.. AND (c) IS
//! NOT TRUE)`: an item for which `c` is unknown (NULL) counts against `all`, as it would not
//! match `c` on its own. A many-to-many reads its join table, joined to the items. The
//! subquery plans its own to-one joins and continues the statement's alias numbering.

use crate::condition::{Scope, to_expr};
use crate::joins::JoinTree;
use crate::render::{RenderState, template};
use coherent_core::{Condition, Quantifier, RelationKind};
use sea_query::{Alias, Expr, ExprTrait, JoinType, Query};

/// The `EXISTS` expression of a to-many path from `scope` (None: every row).
pub fn collection(
    scope: Scope<'_>,
    relation: &str,
    quantifier: Quantifier,
    condition: &Condition,
    state: &mut RenderState,
) -> Option<Expr> {
    let r = &scope.meta.relations[scope
        .meta
        .relation_index(relation)
        .expect("checked before rendering: a relation field")];
    let item = r.target_meta();
    let item_alias = state.next_alias(item);
    let outer_key = scope.col(scope.meta.pk().name);
    let mut sub = Query::select();
    sub.expr(Expr::cust("1"));
    match r.kind {
        RelationKind::OneToMany | RelationKind::OneToOne => {
            let fk = item.columns[r
                .mapped_by_column()
                .expect("checked when the Orm was built: mapped_by is a reference")]
            .name;
            sub.from_as(item.table, Alias::new(&item_alias))
                .and_where(Expr::col((Alias::new(&item_alias), fk)).eq(outer_key));
        }
        RelationKind::ManyToMany => {
            let side = r
                .link_side()
                .expect("checked when the Orm was built: a many-to-many has a join table");
            let link_alias = state.next_table_alias(side.table);
            sub.from_as(side.table, Alias::new(&link_alias))
                .join_as(
                    JoinType::InnerJoin,
                    item.table,
                    Alias::new(&item_alias),
                    Expr::col((Alias::new(&item_alias), item.pk().name))
                        .equals((Alias::new(&link_alias), side.item_column)),
                )
                .and_where(Expr::col((Alias::new(&link_alias), side.owner_column)).eq(outer_key));
        }
    }
    // Under `all` an item that fails the condition counts, also for want of a referenced
    // row: its joins are guarded left joins, never inner ones that would drop the item.
    let required = quantifier != Quantifier::All;
    let joins = JoinTree::plan_where(item, condition, &[], &[], required, state);
    joins.apply(&mut sub, &item_alias);
    let inner = to_expr(
        condition,
        Scope {
            meta: item,
            dialect: scope.dialect,
            alias: Some(&item_alias),
            joins: Some(&joins),
            node: None,
        },
        state,
    );
    match quantifier {
        Quantifier::Any | Quantifier::None => {
            if let Some(c) = inner {
                sub.and_where(c);
            }
            let exists = Expr::exists(sub.take());
            Some(if quantifier == Quantifier::Any {
                exists
            } else {
                exists.not()
            })
        }
        Quantifier::All => {
            let c = inner?; // every item matches "every row"
            sub.and_where(template(scope.dialect, "(?) IS NOT TRUE", vec![c]));
            Some(Expr::exists(sub.take()).not())
        }
    }
}
