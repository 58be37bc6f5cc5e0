//! The first step of a flush with relations: collection changes become entity changes.
//!
//! Policy (MikroORM's and Doctrine's, made explicit):
//! - **Cascade persist.** A new instance reachable from a flushed instance, added to a
//!   collection or held by a reference, is persisted.
//! - **The owning side wins.** An item added to a one-to-many collection gets its `mapped_by`
//!   reference pointed at the owner (an UPDATE of its foreign key, or part of its INSERT).
//!   An item removed from it that still references the owner is deleted with
//!   `orphan_removal`, else its reference is set to NULL; a non-nullable reference without
//!   orphan removal is [`Error::RemovedItemNotNullable`], raised before anything changes.
//! - **Cycles on delete.** A row to delete whose nullable reference names a row deleted
//!   before it (a dependency cycle, broken at that reference) gets the reference set to
//!   NULL, and the flush writes that UPDATE before the deletes (Doctrine's extra update).
//! - **Cascade remove.** Removing an owner removes the items of its loaded `cascade_remove`
//!   (or `orphan_removal`) collections, and theirs in turn. Unloaded collections are left to
//!   the database: a row still referenced is a foreign-key violation, never a hidden load.
//! - **Taken over once.** The collection's baseline becomes its current items, so the change
//!   is not applied twice; from then on the items' own changes carry it, and a failed flush
//!   or a rolled-back transaction restores them like any other change.
//!
//! - **Many-to-many**: a change of the owning side's collection becomes link rows to insert
//!   and delete, written by the flush after its inserts (both keys known then); new items
//!   are persisted. The collection's baseline is settled only after they are written. A
//!   change of the inverse side is [`Error::InverseSideChanged`].
//!
//! The step plans every action first and applies them only if none was refused, and repeats
//! while it persisted new instances (they may hold collections of their own).

use crate::entity::managed::Handle;
use crate::relations::entity_ops::EntityOps;
use crate::unit_of_work::model::Model;
use crate::unit_of_work::plan::UnitOfWork;
use coherent_core::{Error, Result};
use std::collections::HashSet;

/// One change the step makes.
enum Action<'a> {
    /// Persist an instance that is not managed.
    Adopt(&'a dyn EntityOps, Handle),
    /// Point `item`'s reference `column` at `owner` (through `owner_ops`).
    Point {
        item_ops: &'a dyn EntityOps,
        item: Handle,
        column: usize,
        owner_ops: &'a dyn EntityOps,
        owner: Handle,
    },
    /// Set `item`'s optional reference `column` to NULL.
    Unpoint {
        item_ops: &'a dyn EntityOps,
        item: Handle,
        column: usize,
        owner_ops: &'a dyn EntityOps,
    },
    /// Remove an instance.
    Remove(&'a dyn EntityOps, Handle),
    /// Make relation `relation` of `owner` its own baseline.
    Settle {
        owner_ops: &'a dyn EntityOps,
        owner: Handle,
        relation: usize,
        item_ops: &'a dyn EntityOps,
    },
}

/// A link row of a many-to-many to insert or delete: written after the flush's inserts, when
/// both keys are known. The owner's collection is settled only once it is written.
pub(crate) struct LinkChange<'a> {
    pub link: coherent_core::LinkSide,
    pub owner_ops: &'a dyn EntityOps,
    pub owner: Handle,
    pub relation: usize,
    pub item_ops: &'a dyn EntityOps,
    pub item: Handle,
    /// Insert (true) or delete (false).
    pub add: bool,
}

/// What the step leaves for the flush to write besides entity changes.
#[derive(Default)]
pub(crate) struct Cascaded<'a> {
    /// Many-to-many link rows, written after every insert.
    pub links: Vec<LinkChange<'a>>,
    /// Types whose deletes run before any insert: the orphans of one-to-one relations,
    /// whose replacement would otherwise hit the unique foreign key while they still exist.
    pub delete_first: Vec<std::any::TypeId>,
}

impl Cascaded<'_> {
    /// Whether the flush must run in stages.
    pub fn needs_stages(&self) -> bool {
        !self.links.is_empty() || !self.delete_first.is_empty()
    }
}

/// Runs the step over every registered type with relations or references.
pub(crate) fn cascade<'a>(model: &'a Model, uow: &mut UnitOfWork) -> Result<Cascaded<'a>> {
    if !model.has_relations {
        return Ok(Cascaded::default());
    }
    // New instances may bring their own relations: repeat while instances were persisted
    // (bounded by the instances reachable, each persisted once).
    let mut out = Cascaded::default();
    loop {
        // Link rows are planned from unsettled collections, so each pass finds all of them
        // again; what other passes found (settled once taken over) accumulates.
        out.links.clear();
        let actions = plan(model, uow, &mut out)?;
        // Persisted or removed instances may cascade further.
        let cascading = actions
            .iter()
            .filter(|a| matches!(a, Action::Adopt(..) | Action::Remove(..)))
            .count();
        apply(uow, actions)?;
        if cascading == 0 {
            return Ok(out);
        }
    }
}

fn plan<'a>(model: &'a Model, uow: &UnitOfWork, out: &mut Cascaded<'a>) -> Result<Vec<Action<'a>>> {
    let links = &mut out.links;
    let map = &uow.map;
    let mut actions = Vec::new();
    // Items removed from one collection and added to another in the same pass moved: the
    // owner they were added to wins, whatever order the owners are visited in.
    let mut added: HashSet<usize> = HashSet::new();
    let mut removals = Vec::new();
    for id in model.commit_order.types() {
        let owner_reg = &model.entities[id];
        let (meta, owner_ops) = (owner_reg.meta, &*owner_reg.ops);
        let references = meta.reference_columns();
        if !meta.has_relations() {
            continue;
        }
        for owner in owner_ops.flush_candidates(map) {
            for column in references.iter() {
                let target = meta.columns[column].references.expect("a reference column");
                let target_ops = &*model.registered((target.type_id)(), meta.name)?.ops;
                owner_ops.with_reference(&owner, column, &mut |field| {
                    if let Some(h) = target_ops.referenced(field)
                        && !target_ops.is_managed(map, &h)
                    {
                        actions.push(Action::Adopt(target_ops, h));
                    }
                });
            }
            for (relation, rel) in meta.relations.iter().enumerate() {
                let item_ops = &*model.registered((rel.target.type_id)(), meta.name)?.ops;
                let Some(change) = owner_ops.relation_change(&owner, relation, item_ops) else {
                    continue;
                };
                if rel.kind == coherent_core::RelationKind::ManyToMany {
                    plan_links(
                        rel,
                        change,
                        (owner_ops, &owner, relation),
                        item_ops,
                        map,
                        &mut actions,
                        links,
                    )?;
                    continue;
                }
                let column = rel
                    .mapped_by_column()
                    .expect("checked when the Orm was built");
                let (added_items, removed_items) = change.diff(item_ops);
                for item in added_items {
                    added.insert(item_ops.addr(item));
                    if !item_ops.is_managed(map, item) {
                        actions.push(Action::Adopt(item_ops, item.clone()));
                    }
                    actions.push(Action::Point {
                        item_ops,
                        item: item.clone(),
                        column,
                        owner_ops,
                        owner: owner.clone(),
                    });
                }
                for item in removed_items {
                    let mut still_owned = false;
                    item_ops.with_reference(item, column, &mut |field| {
                        still_owned = owner_ops.points_to(field, &owner);
                    });
                    if !still_owned {
                        continue; // moved to another owner meanwhile
                    }
                    let addr = item_ops.addr(item);
                    if rel.orphan_removal && rel.kind == coherent_core::RelationKind::OneToOne {
                        let ty = (rel.target.type_id)();
                        if !out.delete_first.contains(&ty) {
                            out.delete_first.push(ty);
                        }
                    }
                    if rel.orphan_removal {
                        removals.push((addr, Ok(Action::Remove(item_ops, item.clone()))));
                    } else if rel.target_meta().columns[column].nullable {
                        let unpoint = Action::Unpoint {
                            item_ops,
                            item: item.clone(),
                            column,
                            owner_ops,
                        };
                        removals.push((addr, Ok(unpoint)));
                    } else {
                        let stranded = Error::RemovedItemNotNullable {
                            item: item_ops.describe(item),
                            owner_entity: meta.name,
                            field: rel.field,
                            owner: owner_ops.describe(&owner),
                            item_entity: rel.target_meta().name,
                            reference: rel.mapped_by,
                        };
                        removals.push((addr, Err(stranded)));
                    }
                }
                actions.push(Action::Settle {
                    owner_ops,
                    owner: owner.clone(),
                    relation,
                    item_ops,
                });
            }
        }
        // A row to delete whose nullable reference names a row deleted before it (its type
        // comes later in the commit order: a dependency cycle) is unlinked first.
        let order = model.commit_order.types();
        let position = |id: &std::any::TypeId| order.iter().position(|t| t == id);
        for column in references.iter().filter(|c| meta.columns[*c].nullable) {
            let target = meta.columns[column].references.expect("a reference column");
            if position(&(target.type_id)()) <= position(id) {
                continue;
            }
            let target_ops = &*model.registered((target.type_id)(), meta.name)?.ops;
            for owner in owner_ops.removal_candidates(map) {
                let mut unlink = false;
                owner_ops.with_reference(&owner, column, &mut |field| {
                    unlink = target_ops.references_removed(field, map);
                });
                if unlink {
                    actions.push(Action::Unpoint {
                        item_ops: owner_ops,
                        item: owner,
                        column,
                        owner_ops: target_ops,
                    });
                }
            }
        }
        for (relation, rel) in meta.relations.iter().enumerate() {
            if !rel.orphan_removal && !rel.cascade_remove {
                continue;
            }
            let item_ops = &*model.registered((rel.target.type_id)(), meta.name)?.ops;
            for owner in owner_ops.removal_candidates(map) {
                for item in owner_ops
                    .relation_items(&owner, relation, item_ops)
                    .unwrap_or_default()
                {
                    if item_ops.is_managed(map, &item) {
                        actions.push(Action::Remove(item_ops, item));
                    }
                }
            }
        }
    }
    for (addr, removal) in removals {
        if !added.contains(&addr) {
            actions.push(removal?);
        }
    }
    Ok(actions)
}

/// The link rows a change of a many-to-many collection means (owning side); an inverse
/// side's change is [`Error::InverseSideChanged`].
fn plan_links<'a>(
    rel: &coherent_core::RelationMeta,
    change: crate::relations::entity_ops::CollectionChange,
    (owner_ops, owner, relation): (&'a dyn EntityOps, &Handle, usize),
    item_ops: &'a dyn EntityOps,
    map: &crate::identity::identity_map::IdentityMap,
    actions: &mut Vec<Action<'a>>,
    links: &mut Vec<LinkChange<'a>>,
) -> Result<()> {
    let (added, removed) = change.diff(item_ops);
    if added.is_empty() && removed.is_empty() {
        return Ok(());
    }
    let link = rel.link_side().expect("checked when the Orm was built");
    if !rel.owns_links() {
        return Err(Error::InverseSideChanged {
            field: rel.field,
            owner: owner_ops.describe(owner),
            owning_entity: rel.target_meta().name,
            owning_field: rel.mapped_by,
        });
    }
    for (items, add) in [(added, true), (removed, false)] {
        for item in items {
            if add && !item_ops.is_managed(map, item) {
                actions.push(Action::Adopt(item_ops, item.clone()));
            }
            links.push(LinkChange {
                link,
                owner_ops,
                owner: owner.clone(),
                relation,
                item_ops,
                item: item.clone(),
                add,
            });
        }
    }
    Ok(())
}

fn apply(uow: &mut UnitOfWork, actions: Vec<Action<'_>>) -> Result<()> {
    for action in actions {
        match action {
            Action::Adopt(ops, h) => ops.adopt(&mut uow.map, &h)?,
            Action::Point {
                item_ops,
                item,
                column,
                owner_ops,
                owner,
            } => item_ops.write_reference(&item, column, &mut |field| {
                if !owner_ops.points_to(field, &owner) {
                    owner_ops.point(field, &owner);
                }
            }),
            Action::Unpoint {
                item_ops,
                item,
                column,
                owner_ops,
            } => item_ops.write_reference(&item, column, &mut |field| {
                owner_ops.unpoint(field);
            }),
            Action::Remove(ops, h) => ops.schedule_removal(&mut uow.map, &h),
            Action::Settle {
                owner_ops,
                owner,
                relation,
                item_ops,
            } => owner_ops.settle_relation(&owner, relation, item_ops),
        }
    }
    Ok(())
}

/// After a transaction fork merged back: the instances that took a fork instance's state hold
/// references and collections naming the fork's instances; each is rebound to this
/// identity map's instance of the same row, so one row stays one instance here.
pub(crate) fn relink(
    model: &Model,
    map: &crate::identity::identity_map::IdentityMap,
    restored: &[(std::any::TypeId, Handle)],
) {
    let mut targets = |id: std::any::TypeId| model.entities.get(&id).map(|r| r.ops.clone());
    for (id, h) in restored {
        if let Some(r) = model.entities.get(id) {
            r.ops.relink(h, &mut targets, map);
        }
    }
}
