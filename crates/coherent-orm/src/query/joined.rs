//! Joined loading and table aliases: `FindOptions::populate([..])` with
//! [`LoadStrategy::Joined`](crate::LoadStrategy), and `lock_table_aliases`.
//!
//! Policy:
//! - **Aliases as MikroORM names them**: the first letter of the table and the table's
//!   position in the query, the root first (`"user" AS "u0" LEFT JOIN "identity" AS "i1"`),
//!   so `lock_table_aliases(["u0"])` means what it means there. A query with lock table
//!   aliases is rendered with aliases even without joins; an alias the query does not have
//!   is [`Error::InvalidArgument`] before any SQL.
//! - **One query** with a LEFT JOIN per populated relation. Each row is decoded table by
//!   table; a joined table whose key is NULL had no row. Every entity is merged into the
//!   identity map once per row set (the rows of one root are adjacent, so a repeated root is
//!   not decoded again); collections are filled in key order, references linked.
//! - **Locks with joins**: without aliases, PostgreSQL locks only the root table (`FOR UPDATE
//!   OF "u0"`: it cannot lock the nullable side of a left join, and every join here is a
//!   left join); MySQL has no `OF` and locks the rows of every joined table.
//! - With a limit or offset and a collection among the joins, the relations are loaded
//!   select-in instead (a limit would count joined rows); so are many-to-many relations
//!   (joined loading through a join table is not built yet).

use crate::entity::managed::Handle;
use crate::query::populate::{Step, step};
use crate::{EntityManager, FindOptions, LoadStrategy, Managed};
use coherent_core::{Condition, Dialect, Entity, EntityMeta, Error, Result, Statement, Value};
use coherent_sql::joined::{Join, select_joined};
use coherent_sql::select::SelectSpec;
use std::any::TypeId;
use std::collections::{HashMap, HashSet};

/// One table of a joined query.
struct Node {
    ty: TypeId,
    meta: &'static EntityMeta,
    alias: String,
    /// The node this one joins to, and how (None for the root).
    parent: Option<(usize, Step, String)>,
}

/// The tables of a query with aliases, the root first.
pub(crate) struct JoinPlan {
    nodes: Vec<Node>,
}

use coherent_sql::render::alias;

impl JoinPlan {
    /// The plan of a `find_with` of `T`, if it needs aliases: a joined populate, or lock
    /// table aliases.
    pub fn for_find<T: Entity>(options: &FindOptions) -> Result<Option<JoinPlan>> {
        let joined = options.strategy == LoadStrategy::Joined && !options.populate.is_empty();
        if !joined && options.lock_table_aliases.is_empty() {
            return Ok(None);
        }
        let mut nodes = vec![Node {
            ty: TypeId::of::<T>(),
            meta: T::META,
            alias: alias(T::META, 0),
            parent: None,
        }];
        if joined {
            for path in &options.populate {
                let mut at = 0;
                for segment in path.split('.') {
                    let existing = nodes.iter().position(|n| {
                        matches!(&n.parent, Some((p, _, s)) if *p == at && s.as_str() == segment)
                    });
                    at = match existing {
                        Some(i) => i,
                        None => {
                            let (how, ty, meta) = step(nodes[at].meta, segment)?;
                            let index = nodes.len();
                            nodes.push(Node {
                                ty,
                                meta,
                                alias: alias(meta, index),
                                parent: Some((at, how, segment.to_owned())),
                            });
                            index
                        }
                    };
                }
            }
            let pages = options.limit.is_some() || options.offset.is_some();
            let collection = nodes
                .iter()
                .any(|n| matches!(n.parent, Some((_, Step::Collection(_), _))));
            let links = nodes.iter().any(|n| match n.parent {
                Some((p, Step::Collection(r), _)) => {
                    nodes[p].meta.relations[r].kind == coherent_core::RelationKind::ManyToMany
                }
                _ => false,
            });
            if (pages && collection) || links {
                nodes.truncate(1);
            }
        }
        Ok(Some(JoinPlan { nodes }))
    }

    /// Whether the plan loads the populated relations itself.
    pub fn loads_relations(&self) -> bool {
        self.nodes.len() > 1
    }

    /// The aliases a lock takes: the ones asked for (each must be in the query), else the
    /// root's on PostgreSQL when there are joins.
    pub fn lock_aliases(&self, asked: &[String], dialect: Dialect) -> Result<Vec<String>> {
        for a in asked {
            if !self.nodes.iter().any(|n| &n.alias == a) {
                let known: Vec<&str> = self.nodes.iter().map(|n| n.alias.as_str()).collect();
                return Err(Error::InvalidArgument(format!(
                    "lock table alias `{a}` is not in the query (its tables are {})",
                    known.join(", ")
                )));
            }
        }
        Ok(
            if asked.is_empty() && self.loads_relations() && dialect == Dialect::Postgres {
                vec![self.nodes[0].alias.clone()]
            } else {
                asked.to_vec()
            },
        )
    }

    fn joins(&self) -> Vec<Join<'static>> {
        self.nodes[1..]
            .iter()
            .map(|n| {
                let (p, how, _) = n.parent.as_ref().expect("a joined node");
                let parent = &self.nodes[*p];
                let (parent_column, column) = match how {
                    Step::Collection(r) => {
                        let c = parent.meta.relations[*r]
                            .mapped_by_column()
                            .expect("checked when the Orm was built");
                        (parent.meta.pk().name, n.meta.columns[c].name)
                    }
                    Step::Reference(c) => (parent.meta.columns[*c].name, n.meta.pk().name),
                };
                Join {
                    meta: n.meta,
                    alias: n.alias.clone(),
                    parent_alias: parent.alias.clone(),
                    parent_column,
                    column,
                }
            })
            .collect()
    }
}

/// What the rows say about one joined node: its parents (in order, once each) and each
/// parent's items (a collection) or nothing (a reference, linked afterwards).
#[derive(Default)]
struct Links {
    parents: Vec<Handle>,
    index: HashMap<usize, usize>,
    items: Vec<Vec<Handle>>,
    seen: HashSet<(usize, usize)>,
}

impl EntityManager {
    /// Runs a find with aliases (and joins): the roots found, in row order.
    pub(crate) async fn find_planned<T: Entity>(
        &self,
        plan: &JoinPlan,
        condition: &Condition,
        spec: &SelectSpec<'_>,
        lock: Option<String>,
    ) -> Result<Vec<Managed<T>>> {
        let shared = self.shared();
        let joins = plan.joins();
        let mut r = select_joined(
            T::META,
            &plan.nodes[0].alias,
            &joins,
            condition,
            spec,
            shared.dialect,
        );
        if let Some(clause) = lock {
            r.sql.push_str(&clause);
        }
        let rows = self
            .query_rows(Statement::query(r.sql, r.params).idempotent())
            .await?;
        let ops: Vec<_> = plan
            .nodes
            .iter()
            .map(|n| shared.model.registered(n.ty, T::META.name).map(|r| &*r.ops))
            .collect::<Result<_>>()?;
        let widths: Vec<usize> = plan.nodes.iter().map(|n| n.meta.columns.len()).collect();
        rows.expect_width(widths.iter().sum(), T::META.name)?;
        let n = rows.len();
        let mut cells = rows.values.into_iter();
        let mut roots: Vec<Managed<T>> = Vec::new();
        let mut links: Vec<Links> = plan.nodes.iter().map(|_| Links::default()).collect();
        // The last decoded key and instance of each node: a repeated row is not decoded again.
        let mut last: Vec<Option<(Value, Option<Handle>)>> = vec![None; plan.nodes.len()];
        let mut uow = self.uow();
        for _ in 0..n {
            let mut row: Vec<Option<Handle>> = Vec::with_capacity(plan.nodes.len());
            for (i, node) in plan.nodes.iter().enumerate() {
                let mut values: Vec<Value> = cells.by_ref().take(widths[i]).collect();
                let key = std::mem::replace(&mut values[node.meta.primary_key], Value::Null);
                let h = if matches!(key, Value::Null) {
                    None
                } else if let Some((k, h)) = &last[i]
                    && *k == key
                {
                    h.clone()
                } else {
                    values[node.meta.primary_key] = key.clone();
                    let h = ops[i].merge_cells(values, &mut uow.map)?;
                    last[i] = Some((key, h.clone()));
                    h
                };
                row.push(h);
            }
            if let Some(Some(root)) = row.first()
                && last_root_differs(&roots, root)
            {
                roots.push(Managed::from_handle(root).expect("the root node is a T"));
            }
            for (i, node) in plan.nodes.iter().enumerate().skip(1) {
                let (p, how, _) = node.parent.as_ref().expect("a joined node");
                let Some(parent) = &row[*p] else { continue };
                let l = &mut links[i];
                let parent_addr = ops[*p].addr(parent);
                let at = *l.index.entry(parent_addr).or_insert_with(|| {
                    l.parents.push(parent.clone());
                    l.items.push(Vec::new());
                    l.parents.len() - 1
                });
                if let (Step::Collection(_), Some(item)) = (how, &row[i])
                    && l.seen.insert((parent_addr, ops[i].addr(item)))
                {
                    l.items[at].push(item.clone());
                }
            }
        }
        for (i, node) in plan.nodes.iter().enumerate().skip(1) {
            let (p, how, _) = node.parent.as_ref().expect("a joined node");
            let l = &links[i];
            match how {
                Step::Collection(r) => {
                    for (parent, items) in l.parents.iter().zip(&l.items) {
                        let items: Vec<&Handle> = items.iter().collect();
                        ops[*p].fill_relation(parent, *r, &items, ops[i]);
                    }
                    // Each item's reference back to its owner holds the owner.
                    if let Some(back) = plan.nodes[*p].meta.relations[*r].mapped_by_column() {
                        let items: Vec<Handle> = l.items.iter().flatten().cloned().collect();
                        ops[i].link_references(&items, back, ops[*p], &uow.map);
                    }
                }
                Step::Reference(c) => ops[*p].link_references(&l.parents, *c, ops[i], &uow.map),
            }
        }
        Ok(roots)
    }
}

/// Whether `root` is not the last root collected (the rows of one root are adjacent).
fn last_root_differs<T: Entity>(roots: &[Managed<T>], root: &Handle) -> bool {
    roots
        .last()
        .is_none_or(|l| l.addr() != std::sync::Arc::as_ptr(root) as *const () as usize)
}
