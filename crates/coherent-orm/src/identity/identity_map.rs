//! [`IdentityMap`]: one per EntityManager, keyed by entity type and primary key.
//!
//! Policy: the map is type-erased at the top (one [`TypeStore`] per entity type, found by
//! `TypeId`) and fully typed below, so a lookup by key is one small hash lookup plus one
//! typed hash lookup, with no boxing of keys. The flush sees every store through the
//! [`ErasedStore`] trait, in the order it asks for.

use crate::entity::managed::{Managed, Saved};
use crate::identity::type_store::TypeStore;
use coherent_core::{Entity, RelationHolder};
use std::any::{Any, TypeId};
use std::collections::{HashMap, HashSet};

/// What the flush needs from a store without knowing its type.
pub(crate) trait ErasedStore: Any + Send + Sync {
    fn as_any(&self) -> &dyn Any;
    fn as_any_mut(&mut self) -> &mut dyn Any;
    /// Whether a flush may have something to write (cheap, conservative).
    fn has_work(&self) -> bool;
    /// Whether a pending insert references an instance whose generated key is not assigned
    /// yet (a new parent in the same flush): its INSERT must wait for the parent's.
    fn references_unassigned(&self) -> bool;
    fn len(&self) -> usize;
    /// A copy sharing the same instances (for `fork_with(clear: false)`).
    fn clone_box(&self) -> Box<dyn ErasedStore>;
    /// Saves the state of every instance.
    fn save_entities(&self, out: &mut Vec<Box<dyn Restore>>);
    /// The addresses of every instance.
    fn addresses(&self, out: &mut HashSet<usize>);
    /// Marks every instance whose address is not in `keep` as no longer loaded.
    fn detach_except(&self, keep: &HashSet<usize>);
    /// Marks in doubt every instance whose address is not in `keep` (with `pending`, every
    /// pending insert instead).
    fn mark_in_doubt(&self, keep: &HashSet<usize>, pending: bool);
    /// Takes in what a successful transaction fork did: see [`IdentityMap::merge_from`]
    /// (`fork` is its store of the same type).
    /// Returns the instances here that took the state of another instance of their row, or
    /// came from the fork (their relation fields may name the fork's instances).
    fn merge_from(
        &mut self,
        fork: &dyn Any,
        origin: ForkOrigin,
    ) -> Vec<crate::entity::managed::Handle>;
    /// Starts recording deleted keys.
    fn track_deleted(&mut self);
    /// Every instance, if the type has relation fields (references or collections).
    fn relation_holders(&self) -> Vec<crate::entity::managed::Handle>;
    /// The instances with relation fields as the cycle collector sees them.
    fn relation_graph(&self, out: &mut crate::identity::cycles::Graph);
    /// Detaches the relation fields of the instances flagged in `garbage`, one flag per
    /// node `relation_graph` listed, in its order.
    fn detach_relations(&self, garbage: &mut dyn Iterator<Item = bool>);
}

/// Restores one saved instance (a scope's checkpoint keeps them).
pub(crate) trait Restore: Send + Sync {
    fn restore(self: Box<Self>);
}

struct SavedEntity<T: Entity> {
    entity: Managed<T>,
    state: Saved<T>,
}

impl<T: Entity> Restore for SavedEntity<T> {
    fn restore(self: Box<Self>) {
        let SavedEntity { entity, state } = *self;
        entity.restore(state);
    }
}

impl<T: Entity> TypeStore<T> {
    fn instances(&self) -> impl Iterator<Item = &Managed<T>> {
        self.by_key.values().chain(self.pending.iter())
    }
}

impl<T: Entity> ErasedStore for TypeStore<T> {
    fn as_any(&self) -> &dyn Any {
        self
    }
    fn as_any_mut(&mut self) -> &mut dyn Any {
        self
    }
    fn references_unassigned(&self) -> bool {
        let refs = T::META.reference_columns();
        !refs.is_empty()
            && self.pending.iter().any(|m| {
                !crate::entity::unassigned_keys::unassigned_references(&m.tracked().current, refs)
                    .is_empty()
            })
    }
    fn has_work(&self) -> bool {
        !self.pending.is_empty()
            || !self.removed.is_empty()
            || self.by_key.values().any(|m| m.tracked().maybe_dirty())
    }
    fn len(&self) -> usize {
        TypeStore::len(self)
    }
    fn save_entities(&self, out: &mut Vec<Box<dyn Restore>>) {
        let mut seen = HashSet::new();
        for m in self.instances() {
            if seen.insert(m.addr()) {
                out.push(Box::new(SavedEntity {
                    entity: m.clone(),
                    state: m.save(),
                }));
            }
        }
    }
    fn addresses(&self, out: &mut HashSet<usize>) {
        out.extend(self.instances().map(Managed::addr));
    }
    fn detach_except(&self, keep: &HashSet<usize>) {
        for m in self.instances().filter(|m| !keep.contains(&m.addr())) {
            m.tracked_mut().loaded = false;
        }
    }
    fn mark_in_doubt(&self, keep: &HashSet<usize>, pending: bool) {
        if pending {
            for m in &self.pending {
                m.tracked_mut().in_doubt = true;
            }
            return;
        }
        for m in self.instances().filter(|m| !keep.contains(&m.addr())) {
            m.tracked_mut().in_doubt = true;
        }
    }
    fn track_deleted(&mut self) {
        self.track_deleted = true;
    }
    fn relation_graph(&self, out: &mut crate::identity::cycles::Graph) {
        if !T::META.has_relations() {
            return;
        }
        let node = |m: &Managed<T>, out: &mut crate::identity::cycles::Graph, with_edges: bool| {
            let start = out.edges.len();
            if with_edges {
                m.slots(&mut |s| s.targets(&mut out.edges));
            }
            out.nodes
                .push((m.addr(), m.handles(), start..out.edges.len()));
        };
        for m in self.by_key.values() {
            node(m, out, true);
        }
        // A pending insert with a client-assigned key is kept twice: its edges once.
        for m in self.pending.iter() {
            let keyed = self
                .by_key
                .get(&m.key())
                .is_some_and(|x| Managed::ptr_eq(x, m));
            node(m, out, !keyed);
        }
    }
    fn detach_relations(&self, garbage: &mut dyn Iterator<Item = bool>) {
        if !T::META.has_relations() {
            return;
        }
        // The order of `relation_graph`: keyed instances, then pending ones.
        for m in self.by_key.values().chain(self.pending.iter()) {
            if garbage.next() == Some(true) {
                m.slots(&mut |s| s.detach());
            }
        }
    }
    fn relation_holders(&self) -> Vec<crate::entity::managed::Handle> {
        if !T::META.has_relations() {
            return Vec::new();
        }
        self.instances().map(Managed::handle).collect()
    }
    fn merge_from(
        &mut self,
        fork: &dyn Any,
        origin: ForkOrigin,
    ) -> Vec<crate::entity::managed::Handle> {
        let fork: &TypeStore<T> = fork
            .downcast_ref()
            .expect("stores of one type merge with each other");
        let mut restored: Vec<crate::entity::managed::Handle> = Vec::new();
        let relations = T::META.has_relations();
        self.may_hold_partial |= fork.may_hold_partial;
        for (key, m) in &fork.by_key {
            match self.by_key.get(key) {
                // A pending insert here that a sharing fork replaced with another instance
                // of the key (removed, then persisted anew): the fork's instance is the row.
                // (An empty fork never saw this pending insert: it stays, and its flush will
                // meet the row.)
                Some(mine)
                    if origin == ForkOrigin::Shared
                        && !Managed::ptr_eq(mine, m)
                        && !mine.tracked().loaded =>
                {
                    self.by_key.insert(key.clone(), m.clone());
                    if relations {
                        restored.push(m.handle());
                    }
                }
                Some(mine) if !Managed::ptr_eq(mine, m) => {
                    let theirs = m.tracked();
                    // Outside the parent's open transaction the fork read committed rows,
                    // which that transaction may have changed: only what the fork wrote is
                    // news to the parent.
                    if origin == ForkOrigin::Suspended && theirs.generation == 0 {
                        continue;
                    }
                    let fresh = theirs.current.clone();
                    let unloaded = theirs.unloaded;
                    drop(theirs);
                    // As a re-read: the parent's own changes and their guards stay.
                    mine.tracked_mut().merge_committed(fresh, unloaded);
                    if relations {
                        restored.push(mine.handle());
                    }
                }
                Some(_) => {}
                None => {
                    self.by_key.insert(key.clone(), m.clone());
                    if relations {
                        restored.push(m.handle());
                    }
                }
            }
        }
        // Deleted there: evict this map's instance of the row, whichever it is.
        for key in fork
            .deleted
            .iter()
            .filter(|k| !fork.by_key.contains_key(*k))
        {
            if let Some(mine) = self.by_key.swap_remove(key) {
                mine.tracked_mut().loaded = false;
            }
            self.removed.remove(key);
            self.deleted.insert(key.clone());
        }
        // Pending here and inserted there: now managed (added above). A fork that shared
        // this map's pending inserts and no longer has one dropped it (removed before it was
        // inserted, or inserted and deleted): gone here too.
        let dropped_there =
            |p: &Managed<T>| origin == ForkOrigin::Shared && !fork.pending.contains(p);
        self.pending
            .retain(|p| !p.tracked().loaded && !dropped_there(p));
        // Deleted there: gone here too (an unloaded instance that is not pending was deleted).
        let pending = &self.pending;
        self.by_key
            .retain(|_, m| m.tracked().loaded || pending.contains_addr(m.addr()));
        let fork_removed = &fork.removed;
        let managed = &self.by_key;
        self.removed
            .retain(|k| fork_removed.contains(k) || managed.contains_key(k));
        self.removed.extend(fork.removed.iter().cloned());
        restored
    }
    fn clone_box(&self) -> Box<dyn ErasedStore> {
        Box::new(TypeStore::<T> {
            by_key: self.by_key.clone(),
            pending: self.pending.clone(),
            removed: self.removed.clone(),
            deleted: self.deleted.clone(),
            track_deleted: self.track_deleted,
            removals: self.removals,
            may_hold_partial: self.may_hold_partial,
        })
    }
}

/// How a transaction fork's identity map began, for [`IdentityMap::merge_from`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ForkOrigin {
    /// A copy of the parent's map, sharing its instances and pending work.
    Shared,
    /// Empty, with no transaction open in the parent (`TxOptions::clear`).
    Empty,
    /// Empty, while the parent's transaction was suspended (`RequiresNew` and `NotSupported`
    /// inside a transaction): it read committed rows, not the transaction's.
    Suspended,
}

/// All managed instances of one EntityManager.
#[derive(Default)]
pub(crate) struct IdentityMap {
    stores: HashMap<TypeId, Box<dyn ErasedStore>>,
    /// Bumped by [`IdentityMap::clear`]: a flush planned before a clear applies nothing after
    /// it (its instances were detached by the clear; the stores now hold other work).
    pub epoch: u64,
    /// Record deleted keys in every store (a transaction fork, merged into its parent later).
    track_deleted: bool,
}

impl IdentityMap {
    /// The store of `T`, if any instance of `T` was ever managed here.
    pub fn store<T: Entity>(&self) -> Option<&TypeStore<T>> {
        self.stores
            .get(&TypeId::of::<T>())
            .and_then(|s| s.as_any().downcast_ref())
    }

    /// The store of `T`, created on first use.
    pub fn store_mut<T: Entity>(&mut self) -> &mut TypeStore<T> {
        let track_deleted = self.track_deleted;
        self.stores
            .entry(TypeId::of::<T>())
            .or_insert_with(|| {
                Box::new(TypeStore::<T> {
                    track_deleted,
                    ..TypeStore::default()
                })
            })
            .as_any_mut()
            .downcast_mut()
            .expect("a TypeStore is stored under its own TypeId")
    }

    /// The store of the type with `id`.
    pub fn erased(&self, id: &TypeId) -> Option<&dyn ErasedStore> {
        self.stores.get(id).map(|b| &**b)
    }

    /// The store of the type with `id`, mutably.
    pub fn erased_mut(&mut self, id: &TypeId) -> Option<&mut Box<dyn ErasedStore>> {
        self.stores.get_mut(id)
    }

    /// Number of instances across all types.
    pub fn len(&self) -> usize {
        self.stores.values().map(|s| s.len()).sum()
    }

    /// A copy sharing the same instances.
    pub fn clone_shared(&self) -> IdentityMap {
        IdentityMap {
            stores: self
                .stores
                .iter()
                .map(|(k, v)| (*k, v.clone_box()))
                .collect(),
            epoch: 0,
            track_deleted: self.track_deleted,
        }
    }

    /// Records the keys every store deletes from now on (for merging into a parent).
    pub fn track_deleted(&mut self) {
        self.track_deleted = true;
        for s in self.stores.values_mut() {
            s.track_deleted();
        }
    }

    /// Saves the state of every instance.
    pub fn save_entities(&self, out: &mut Vec<Box<dyn Restore>>) {
        for s in self.stores.values() {
            s.save_entities(out);
        }
    }

    /// The addresses of every instance.
    pub fn addresses(&self, out: &mut HashSet<usize>) {
        for s in self.stores.values() {
            s.addresses(out);
        }
    }

    /// Marks every instance not in `keep` as no longer loaded.
    pub fn detach_except(&self, keep: &HashSet<usize>) {
        for s in self.stores.values() {
            s.detach_except(keep);
        }
    }

    /// Marks in doubt every instance not in `keep` (with `pending`, every pending insert
    /// instead).
    pub fn mark_in_doubt(&self, keep: &HashSet<usize>, pending: bool) {
        for s in self.stores.values() {
            s.mark_in_doubt(keep, pending);
        }
    }

    /// Takes in what a successful transaction fork did (the fork may have started as a copy of
    /// this map, sharing its instances, or empty: `origin`): instances it manages become
    /// managed here; a different instance of the same row here merges the fork's state as a
    /// re-read does (its own changes and their version and checked columns stay), except that
    /// a fork that ran outside this map's open transaction passes on only the rows it wrote
    /// (what it merely read is the committed state, older than the transaction's); pending
    /// inserts it wrote are managed, those a sharing fork dropped are dropped; rows it deleted
    /// are gone; removals it still has pending stay pending.
    /// Returns the instances that took another instance's state, by type (see
    /// [`crate::unit_of_work::cascade::relink`]).
    pub fn merge_from(
        &mut self,
        fork: &IdentityMap,
        origin: ForkOrigin,
    ) -> Vec<(TypeId, crate::entity::managed::Handle)> {
        let mut restored = Vec::new();
        for (id, theirs) in &fork.stores {
            match self.stores.get_mut(id) {
                Some(mine) => restored.extend(
                    mine.merge_from(theirs.as_any(), origin)
                        .into_iter()
                        .map(|h| (*id, h)),
                ),
                None => {
                    restored.extend(theirs.relation_holders().into_iter().map(|h| (*id, h)));
                    self.stores.insert(*id, theirs.clone_box());
                }
            }
        }
        restored
    }

    /// Takes `other`'s stores (a checkpoint's), keeping this map's epoch.
    pub fn replace_stores(&mut self, mut other: IdentityMap) {
        // `other` leaves with this map's stores; its drop breaks their unheld cycles.
        std::mem::swap(&mut self.stores, &mut other.stores);
    }

    /// Forgets everything.
    pub fn clear(&mut self) {
        self.epoch += 1;
        crate::identity::cycles::collect(self);
        self.stores.clear();
    }

    /// The graph of every store (see [`crate::identity::cycles`]).
    pub fn relation_graph(&self, out: &mut crate::identity::cycles::Graph) {
        for s in self.stores.values() {
            s.relation_graph(out);
        }
    }

    /// Detaches the relation fields of the instances flagged in `garbage`, one flag per
    /// node [`IdentityMap::relation_graph`] listed, in its order (the stores are unchanged
    /// in between).
    pub fn detach_relations(&self, garbage: &mut dyn Iterator<Item = bool>) {
        for s in self.stores.values() {
            s.detach_relations(garbage);
        }
    }
}

impl Drop for IdentityMap {
    fn drop(&mut self) {
        crate::identity::cycles::collect(self);
    }
}
