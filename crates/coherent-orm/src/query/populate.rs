//! Populate by path: `FindOptions::populate(["books", "books.reviews", "author"])` and
//! [`EntityManager::populate_paths`].
//!
//! Policy: select-in loading, one query per relation level (per `batch_size` keys), never
//! one per parent. A path is a dot-separated list of relation fields: a `#[many_to_one]`
//! field (the referenced rows not already in the identity map are loaded by key, and every
//! reference is linked to its instance) or a `#[one_to_many]` collection (the items of every
//! owner whose collection is not loaded are loaded by the owners' keys and grouped into the
//! collections; a loaded collection is kept as the application sees it). Every path is
//! checked against the metadata before the first query: an unknown field is
//! [`Error::InvalidArgument`].

use crate::entity::managed::Handle;
use crate::relations::entity_ops::EntityOps;
use crate::{EntityManager, Managed};
use coherent_core::{BoxFuture, Entity, EntityMeta, Error, LockMode, RelationKind, Result, Value};
use std::any::TypeId;
use std::collections::HashSet;

/// Where one path segment leads from an entity type.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Step {
    /// A collection: relation index.
    Collection(usize),
    /// A reference: column index.
    Reference(usize),
}

pub(crate) fn step(
    meta: &EntityMeta,
    segment: &str,
) -> Result<(Step, TypeId, &'static EntityMeta)> {
    if let Some(r) = meta.relation_index(segment) {
        let rel = &meta.relations[r];
        return Ok((
            Step::Collection(r),
            (rel.target.type_id)(),
            rel.target_meta(),
        ));
    }
    if let Some(c) = meta.field_column(segment)
        && let Some(target) = meta.columns[c].references
    {
        return Ok((Step::Reference(c), (target.type_id)(), (target.meta)()));
    }
    Err(Error::InvalidArgument(format!(
        "{} has no relation `{segment}` to populate (a #[many_to_one] or #[one_to_many] field)",
        meta.name
    )))
}

/// Checks every path against the metadata.
fn check(meta: &'static EntityMeta, paths: &[String]) -> Result<()> {
    for path in paths {
        let mut at = meta;
        for segment in path.split('.') {
            at = step(at, segment)?.2;
        }
    }
    Ok(())
}

/// The paths grouped by their first segment: `[("books", ["reviews"]), ("author", [])]`.
fn group(paths: &[String]) -> Vec<(String, Vec<String>)> {
    let mut out: Vec<(String, Vec<String>)> = Vec::new();
    for path in paths {
        let (head, rest) = match path.split_once('.') {
            Some((h, r)) => (h, Some(r)),
            None => (path.as_str(), None),
        };
        let i = match out.iter().position(|(h, _)| h == head) {
            Some(i) => i,
            None => {
                out.push((head.to_owned(), Vec::new()));
                out.len() - 1
            }
        };
        out[i].1.extend(rest.map(str::to_owned));
    }
    out
}

impl EntityManager {
    /// Loads the relations `paths` name for `roots`, one query per relation level (see the
    /// module policy). Afterwards the collections read and the references `get` without a
    /// query.
    ///
    /// ```
    /// # use coherent_orm::doc_support::User;
    /// # async fn demo(em: coherent_orm::EntityManager, users: Vec<coherent_orm::Managed<User>>) -> coherent_core::Result<()> {
    /// // `User` has no relations: any path is refused before a query is made.
    /// assert!(em.populate_paths(&users, ["friends"]).await.is_err());
    /// # Ok(()) }
    /// ```
    pub async fn populate_paths<T: Entity, S: Into<String>>(
        &self,
        roots: &[Managed<T>],
        paths: impl IntoIterator<Item = S>,
    ) -> Result<()> {
        self.populate_with_lock(roots, paths, LockMode::None).await
    }

    /// [`EntityManager::populate_paths`] whose queries take `lock` (a `find_with`'s populate
    /// inherits its lock mode, as in MikroORM).
    pub(crate) async fn populate_with_lock<T: Entity, S: Into<String>>(
        &self,
        roots: &[Managed<T>],
        paths: impl IntoIterator<Item = S>,
        lock: LockMode,
    ) -> Result<()> {
        let em = self.context()?;
        em.shared().model.ensure_registered::<T>()?;
        let paths: Vec<String> = paths.into_iter().map(Into::into).collect();
        check(T::META, &paths)?;
        let handles: Vec<Handle> = roots.iter().map(Managed::handle).collect();
        em.populate_level(TypeId::of::<T>(), handles, paths, lock)
            .await
    }

    fn populate_level(
        &self,
        ty: TypeId,
        handles: Vec<Handle>,
        paths: Vec<String>,
        lock: LockMode,
    ) -> BoxFuture<'_, Result<()>> {
        Box::pin(async move {
            for (segment, rest) in group(&paths) {
                let deeper = !rest.is_empty();
                let (next_ty, next) = self
                    .populate_step(ty, &handles, &segment, lock, deeper)
                    .await?;
                if !rest.is_empty() && !next.is_empty() {
                    self.populate_level(next_ty, next, rest, lock).await?;
                }
            }
            Ok(())
        })
    }

    /// Loads one relation of `handles` (instances of `ty`); returns the type it leads to and,
    /// if `deeper` paths go on from there, its instances.
    async fn populate_step(
        &self,
        ty: TypeId,
        handles: &[Handle],
        segment: &str,
        lock: LockMode,
        deeper: bool,
    ) -> Result<(TypeId, Vec<Handle>)> {
        let shared = self.shared();
        let owner = shared.model.registered(ty, "populate")?;
        let (owner_meta, owner_ops) = (owner.meta, &*owner.ops);
        let (step, target_ty, _) = step(owner_meta, segment)?;
        let target_ops = &*shared.model.registered(target_ty, owner_meta.name)?.ops;
        let target_loads = shared.loads(target_ty, owner_meta.name)?;
        match step {
            Step::Collection(r) => {
                let rel = &owner_meta.relations[r];
                let needing = unloaded(
                    handles,
                    |h| owner_ops.relation_items(h, r, target_ops).is_none(),
                    owner_ops,
                );
                if !needing.is_empty() {
                    let keys = assigned_keys(owner_ops, &needing, owner_meta.primary_key);
                    // The items, each with its owner's key: through the join table, or by
                    // the items' reference back to the owner.
                    let back = rel
                        .mapped_by_column()
                        .filter(|_| rel.kind != RelationKind::ManyToMany);
                    let (owner_keys, items): (Vec<Value>, Vec<Handle>) = match back {
                        None => {
                            let link = rel.link_side().expect("checked when the Orm was built");
                            target_loads
                                .load_linked(self, link, keys)
                                .await?
                                .into_iter()
                                .unzip()
                        }
                        Some(column) => {
                            let items = target_loads.load_in(self, column, keys, lock).await?;
                            (target_ops.column_values(&items, column), items)
                        }
                    };
                    let owners = owner_ops.positions(&needing, &owner_keys);
                    let mut groups: Vec<Vec<&Handle>> = vec![Vec::new(); needing.len()];
                    for (item, at) in items.iter().zip(owners) {
                        if let Some(at) = at {
                            groups[at].push(item);
                        }
                    }
                    for (owner, group) in needing.iter().zip(&groups) {
                        owner_ops.fill_relation(owner, r, group, target_ops);
                    }
                    if let Some(column) = back {
                        let uow = self.uow();
                        target_ops.link_references(&items, column, owner_ops, &uow.map);
                    }
                }
                let next = if deeper {
                    next_items(handles, r, owner_ops, target_ops)
                } else {
                    Vec::new()
                };
                Ok((target_ty, next))
            }
            Step::Reference(column) => {
                let keys: Vec<Value> = owner_ops
                    .column_values(handles, column)
                    .into_iter()
                    .filter(|v| !matches!(v, Value::Null) && !v.is_unassigned_key())
                    .collect();
                let (_, missing) = target_ops.lookup(&self.uow().map, &keys);
                if !missing.is_empty() {
                    let pk = shared
                        .model
                        .registered(target_ty, owner_meta.name)?
                        .meta
                        .primary_key;
                    target_loads.load_in(self, pk, missing, lock).await?;
                }
                let uow = self.uow();
                owner_ops.link_references(handles, column, target_ops, &uow.map);
                let next = if deeper {
                    target_ops.lookup(&uow.map, &keys).0
                } else {
                    Vec::new()
                };
                Ok((target_ty, next))
            }
        }
    }
}

/// The distinct `handles` for which `needs` holds.
fn unloaded(
    handles: &[Handle],
    needs: impl Fn(&Handle) -> bool,
    ops: &dyn EntityOps,
) -> Vec<Handle> {
    let mut seen = HashSet::new();
    handles
        .iter()
        .filter(|h| seen.insert(ops.addr(h)) && needs(h))
        .cloned()
        .collect()
}

/// The keys of `handles` that are assigned (a new owner has no rows to load).
fn assigned_keys(ops: &dyn EntityOps, handles: &[Handle], pk: usize) -> Vec<Value> {
    ops.column_values(handles, pk)
        .into_iter()
        .filter(|v| !v.is_unassigned_key())
        .collect()
}

/// The distinct items of relation `r` of every loaded owner: the next level's instances.
fn next_items(
    handles: &[Handle],
    r: usize,
    owner_ops: &dyn EntityOps,
    item_ops: &dyn EntityOps,
) -> Vec<Handle> {
    let mut seen = HashSet::new();
    handles
        .iter()
        .filter_map(|h| owner_ops.relation_items(h, r, item_ops))
        .flatten()
        .filter(|h| seen.insert(item_ops.addr(h)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::group;

    #[test]
    fn paths_group_by_their_first_segment() {
        let paths: Vec<String> = ["books", "books.reviews", "author", "books.publisher.city"]
            .map(String::from)
            .into();
        let g = group(&paths);
        assert_eq!(g.len(), 2);
        assert_eq!(g[0].0, "books");
        assert_eq!(g[0].1, vec!["reviews", "publisher.city"]);
        assert_eq!(g[1], ("author".to_string(), vec![]));
    }
}
