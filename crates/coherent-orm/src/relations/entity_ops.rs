//! [`EntityOps`]: the typed operations of one registered entity type, reachable without its
//! type, so relation work (populate, cascades) can walk from an entity to the entities it
//! names through metadata alone.
//!
//! Policy: every method is the typed code of one type `T`, behind a vtable built when `T` is
//! registered. Instances travel as [`Handle`]s (a boxed `Managed<T>`); a relation field
//! travels as `&dyn Any` and is only ever downcast by the ops of its item type (a
//! `Ref<T>`, `Option<Ref<T>>` or `Collection<T>` by `T`'s ops). Entity fields are touched
//! through `Managed::tracked_mut` when nothing a flush compares changes (linking a loaded
//! instance into a reference, filling an unloaded collection), and through
//! `Managed::write` when it does (pointing a reference elsewhere).

use crate::entity::managed::{Handle, Managed};
use crate::identity::identity_map::IdentityMap;
use crate::relations::collection::Collection;
use crate::relations::reference::{Ref, Target};
use coherent_core::{ColumnSet, Entity, FieldType, PrimaryKey, Result, Value};
use std::any::Any;
use std::collections::{HashMap, HashSet};
use std::marker::PhantomData;

/// A collection as a flush compares it: the items now and at the baseline.
pub(crate) struct CollectionChange {
    pub current: Vec<Handle>,
    pub baseline: Vec<Handle>,
}

impl CollectionChange {
    /// The items added since the baseline and those removed, by instance (`ops` are the
    /// items').
    pub fn diff(&self, ops: &dyn EntityOps) -> (Vec<&Handle>, Vec<&Handle>) {
        let before: HashSet<usize> = self.baseline.iter().map(|h| ops.addr(h)).collect();
        let now: HashSet<usize> = self.current.iter().map(|h| ops.addr(h)).collect();
        let added = self
            .current
            .iter()
            .filter(|h| !before.contains(&ops.addr(h)))
            .collect();
        let removed = self
            .baseline
            .iter()
            .filter(|h| !now.contains(&ops.addr(h)))
            .collect();
        (added, removed)
    }
}

/// The operations of one entity type, without its type.
pub(crate) trait EntityOps: Send + Sync {
    /// The instance's address (identifies it across handles).
    fn addr(&self, h: &Handle) -> usize;
    /// The instance's key.
    fn key_value(&self, h: &Handle) -> Value;
    /// `Entity 3`, for messages.
    fn describe(&self, h: &Handle) -> String;
    /// The value of column `column` of each instance.
    fn column_values(&self, handles: &[Handle], column: usize) -> Vec<Value>;
    /// For each of `keys`, the index in `handles` of the instance with that key.
    fn positions(&self, handles: &[Handle], keys: &[Value]) -> Vec<Option<usize>>;
    /// The instances in the identity map with these keys, and the keys not there (each
    /// distinct key once).
    fn lookup(&self, map: &IdentityMap, keys: &[Value]) -> (Vec<Handle>, Vec<Value>);
    /// Decodes one entity from `cells` (its columns in column order) and merges it into the
    /// identity map; None if its row is scheduled for removal here.
    fn merge_cells(&self, cells: Vec<Value>, map: &mut IdentityMap) -> Result<Option<Handle>>;
    /// As the referenced type, on a `Ref<T>` / `Option<Ref<T>>` field: takes the instance from
    /// the identity map into an unloaded reference.
    fn link(&self, field: &mut dyn Any, map: &IdentityMap);
    /// Replaces a loaded reference's instance by the identity map's instance of its row,
    /// if that is another one.
    fn rebind(&self, field: &mut dyn Any, map: &IdentityMap);
    /// Replaces each item of a collection by the identity map's instance of its row, if
    /// that is another one.
    fn rebind_items(&self, collection: &mut dyn Any, map: &IdentityMap);
    /// Whether the reference names a row scheduled for removal.
    fn references_removed(&self, field: &dyn Any, map: &IdentityMap) -> bool;
    /// Points the reference at `target`.
    fn point(&self, field: &mut dyn Any, target: &Handle);
    /// Sets an optional reference to `None`; false for a non-optional one.
    fn unpoint(&self, field: &mut dyn Any) -> bool;
    /// Whether the reference points at `target`.
    fn points_to(&self, field: &dyn Any, target: &Handle) -> bool;
    /// The instance the reference holds, if loaded.
    fn referenced(&self, field: &dyn Any) -> Option<Handle>;

    /// As the item type, on a `Collection<T>`: its items, if loaded.
    fn items(&self, collection: &dyn Any) -> Option<Vec<Handle>>;
    /// Loads the collection with `items`.
    fn fill(&self, collection: &mut dyn Any, items: &[&Handle]);
    /// Makes `to` a copy of `from`.
    fn copy_collection(&self, from: &dyn Any, to: &mut dyn Any);

    /// As the owning type: links reference column `column` of each instance (see `link`).
    fn link_references(
        &self,
        handles: &[Handle],
        column: usize,
        target: &dyn EntityOps,
        map: &IdentityMap,
    );
    /// Rebinds every reference and collection of `h` to the identity map's instances.
    fn relink(
        &self,
        h: &Handle,
        targets: &mut dyn FnMut(std::any::TypeId) -> Option<std::sync::Arc<dyn EntityOps>>,
        map: &IdentityMap,
    );
    /// Runs `f` on reference column `column` of `h`, read-only.
    fn with_reference(&self, h: &Handle, column: usize, f: &mut dyn FnMut(&dyn Any));
    /// Runs `f` on reference column `column` of `h` through a write (change tracked).
    fn write_reference(&self, h: &Handle, column: usize, f: &mut dyn FnMut(&mut dyn Any));
    /// Loads relation `relation` of `owner` with `items` if it is not loaded (in the
    /// baseline too, so the flush sees no change).
    fn fill_relation(
        &self,
        owner: &Handle,
        relation: usize,
        items: &[&Handle],
        item: &dyn EntityOps,
    );
    /// The items of relation `relation` of `owner`, if loaded.
    fn relation_items(
        &self,
        owner: &Handle,
        relation: usize,
        item: &dyn EntityOps,
    ) -> Option<Vec<Handle>>;
    /// The relation now and at the baseline, if it may have changed.
    fn relation_change(
        &self,
        owner: &Handle,
        relation: usize,
        item: &dyn EntityOps,
    ) -> Option<CollectionChange>;
    /// Makes the baseline's relation the current one (its changes have been taken over).
    fn settle_relation(&self, owner: &Handle, relation: usize, item: &dyn EntityOps);

    /// Pending inserts and instances written to: what a flush may write.
    fn flush_candidates(&self, map: &IdentityMap) -> Vec<Handle>;
    /// Instances scheduled for removal.
    fn removal_candidates(&self, map: &IdentityMap) -> Vec<Handle>;
    /// Whether the instance is managed (pending or loaded, not scheduled for removal).
    fn is_managed(&self, map: &IdentityMap, h: &Handle) -> bool;
    /// Persists an instance that is not managed (cascade persist).
    fn adopt(&self, map: &mut IdentityMap, h: &Handle) -> Result<()>;
    /// Schedules a managed instance for removal (a pending one is dropped).
    fn schedule_removal(&self, map: &mut IdentityMap, h: &Handle);
}

/// The ops of `T`.
pub(crate) fn ops_of<T: Entity>() -> std::sync::Arc<dyn EntityOps> {
    std::sync::Arc::new(Ops::<T>::new())
}

/// The operations of `T` (as [`EntityOps`], and as [`crate::relations::loads::Loads`]).
pub(crate) struct Ops<T>(PhantomData<fn() -> T>);

impl<T> Ops<T> {
    pub(crate) fn new() -> Ops<T> {
        Ops(PhantomData)
    }
}

fn managed<T: Entity>(h: &Handle) -> Managed<T> {
    Managed::from_handle(h).expect("a handle is passed to the ops of its own type")
}

fn key_of<T: Entity>(value: &Value) -> Option<T::Key> {
    <T::Key as FieldType>::from_value(value.clone()).ok()
}

/// The reference in a `Ref<T>` or `Option<Ref<T>>` field.
fn as_ref<T: Entity>(field: &dyn Any) -> Option<&Ref<T>> {
    field
        .downcast_ref::<Ref<T>>()
        .or_else(|| field.downcast_ref::<Option<Ref<T>>>()?.as_ref())
}

fn as_ref_mut<T: Entity>(field: &mut dyn Any) -> Option<&mut Ref<T>> {
    if field.is::<Ref<T>>() {
        return field.downcast_mut::<Ref<T>>();
    }
    field.downcast_mut::<Option<Ref<T>>>()?.as_mut()
}

fn collection<T: Entity>(c: &dyn Any) -> &Collection<T> {
    c.downcast_ref().expect("a collection of the item type")
}

fn collection_mut<T: Entity>(c: &mut dyn Any) -> &mut Collection<T> {
    c.downcast_mut().expect("a collection of the item type")
}

impl<T: Entity> EntityOps for Ops<T> {
    fn addr(&self, h: &Handle) -> usize {
        // The handle is the instance's own allocation (`Managed::addr`).
        std::sync::Arc::as_ptr(h) as *const () as usize
    }

    fn key_value(&self, h: &Handle) -> Value {
        managed::<T>(h).key().to_value()
    }

    fn describe(&self, h: &Handle) -> String {
        format!("{} {:?}", T::META.name, managed::<T>(h).key())
    }

    fn column_values(&self, handles: &[Handle], column: usize) -> Vec<Value> {
        let mut out = Vec::with_capacity(handles.len());
        for h in handles {
            managed::<T>(h)
                .read()
                .push_values(ColumnSet::single(column), &mut out);
        }
        out
    }

    fn positions(&self, handles: &[Handle], keys: &[Value]) -> Vec<Option<usize>> {
        let index: HashMap<T::Key, usize> = handles
            .iter()
            .enumerate()
            .map(|(i, h)| (managed::<T>(h).key(), i))
            .collect();
        keys.iter()
            .map(|v| key_of::<T>(v).and_then(|k| index.get(&k).copied()))
            .collect()
    }

    fn lookup(&self, map: &IdentityMap, keys: &[Value]) -> (Vec<Handle>, Vec<Value>) {
        let store = map.store::<T>();
        let (mut found, mut missing) = (Vec::new(), Vec::new());
        let mut seen = HashSet::new();
        for v in keys {
            let Some(k) = key_of::<T>(v) else { continue };
            if !seen.insert(k.clone()) {
                continue;
            }
            match store.and_then(|s| s.by_key.get(&k)) {
                Some(m) => found.push(m.handle()),
                None => missing.push(v.clone()),
            }
        }
        (found, missing)
    }

    fn merge_cells(&self, cells: Vec<Value>, map: &mut IdentityMap) -> Result<Option<Handle>> {
        let mut cells = cells.into_iter();
        let fresh = T::from_row(&mut coherent_core::RowReader::new(&mut cells, T::META.name))?;
        Ok(map
            .store_mut::<T>()
            .merge_row(fresh)
            .as_ref()
            .map(Managed::handle))
    }

    fn link(&self, field: &mut dyn Any, map: &IdentityMap) {
        let Some(r) = as_ref_mut::<T>(field) else {
            return;
        };
        if let Target::Key(key) = &r.target
            && let Some(m) = map.store::<T>().and_then(|s| s.by_key.get(key))
        {
            r.target = Target::Loaded(m.clone());
        }
    }

    fn rebind(&self, field: &mut dyn Any, map: &IdentityMap) {
        if let Some(r) = as_ref_mut::<T>(field)
            && let Target::Loaded(m) = &r.target
            && let Some(mine) = map.store::<T>().and_then(|s| s.by_key.get(&m.key()))
            && !Managed::ptr_eq(mine, m)
        {
            r.target = Target::Loaded(mine.clone());
        }
    }

    fn rebind_items(&self, c: &mut dyn Any, map: &IdentityMap) {
        let Some(store) = map.store::<T>() else {
            return;
        };
        let items = collection_mut::<T>(c).loaded_mut();
        for item in items.into_iter().flatten() {
            if let Some(mine) = store.by_key.get(&item.key())
                && !Managed::ptr_eq(mine, item)
            {
                *item = mine.clone();
            }
        }
    }

    fn references_removed(&self, field: &dyn Any, map: &IdentityMap) -> bool {
        let Some(r) = as_ref::<T>(field) else {
            return false;
        };
        let key = match &r.target {
            Target::Key(k) => k.clone(),
            Target::Loaded(m) => m.key(),
        };
        map.store::<T>().is_some_and(|s| s.removed.contains(&key))
    }

    fn point(&self, field: &mut dyn Any, target: &Handle) {
        let target = Ref::to(&managed::<T>(target));
        if let Some(r) = field.downcast_mut::<Ref<T>>() {
            *r = target;
        } else if let Some(r) = field.downcast_mut::<Option<Ref<T>>>() {
            *r = Some(target);
        }
    }

    fn unpoint(&self, field: &mut dyn Any) -> bool {
        match field.downcast_mut::<Option<Ref<T>>>() {
            Some(r) => {
                *r = None;
                true
            }
            None => false,
        }
    }

    fn points_to(&self, field: &dyn Any, target: &Handle) -> bool {
        let target = &managed::<T>(target);
        as_ref::<T>(field).is_some_and(|r| match &r.target {
            Target::Loaded(m) => Managed::ptr_eq(m, target),
            Target::Key(key) => {
                let target = target.key();
                !target.is_unassigned() && *key == target
            }
        })
    }

    fn referenced(&self, field: &dyn Any) -> Option<Handle> {
        match &as_ref::<T>(field)?.target {
            Target::Loaded(m) => Some(m.handle()),
            Target::Key(_) => None,
        }
    }

    fn items(&self, c: &dyn Any) -> Option<Vec<Handle>> {
        collection::<T>(c)
            .loaded()
            .map(|items| items.iter().map(Managed::handle).collect())
    }

    fn fill(&self, c: &mut dyn Any, items: &[&Handle]) {
        collection_mut::<T>(c).set_loaded(items.iter().map(|h| managed::<T>(h)).collect());
    }

    fn copy_collection(&self, from: &dyn Any, to: &mut dyn Any) {
        collection_mut::<T>(to).clone_from(collection::<T>(from));
    }

    fn link_references(
        &self,
        handles: &[Handle],
        column: usize,
        target: &dyn EntityOps,
        map: &IdentityMap,
    ) {
        for h in handles {
            let m = managed::<T>(h);
            let mut t = m.tracked_mut();
            if let Some(field) = t.current.reference_mut(column) {
                target.link(field, map);
            }
        }
    }

    fn relink(
        &self,
        h: &Handle,
        targets: &mut dyn FnMut(std::any::TypeId) -> Option<std::sync::Arc<dyn EntityOps>>,
        map: &IdentityMap,
    ) {
        let m = managed::<T>(h);
        let mut t = m.tracked_mut();
        let t = &mut *t;
        for entity in std::iter::once(&mut t.current).chain(t.snapshot.as_deref_mut()) {
            for c in T::META.reference_columns().iter() {
                let target = T::META.columns[c].references.expect("a reference column");
                if let (Some(ops), Some(field)) =
                    (targets((target.type_id)()), entity.reference_mut(c))
                {
                    ops.rebind(field, map);
                }
            }
            for (r, rel) in T::META.relations.iter().enumerate() {
                if let (Some(ops), Some(c)) =
                    (targets((rel.target.type_id)()), entity.relation_mut(r))
                {
                    ops.rebind_items(c, map);
                }
            }
        }
    }

    fn with_reference(&self, h: &Handle, column: usize, f: &mut dyn FnMut(&dyn Any)) {
        if let Some(field) = managed::<T>(h).read().reference(column) {
            f(field);
        }
    }

    fn write_reference(&self, h: &Handle, column: usize, f: &mut dyn FnMut(&mut dyn Any)) {
        if let Some(field) = managed::<T>(h).write().reference_mut(column) {
            f(field);
        }
    }

    fn fill_relation(
        &self,
        owner: &Handle,
        relation: usize,
        items: &[&Handle],
        item: &dyn EntityOps,
    ) {
        let m = managed::<T>(owner);
        let mut t = m.tracked_mut();
        let t = &mut *t;
        let Some(current) = t.current.relation_mut(relation) else {
            return;
        };
        if item.items(current).is_some() {
            return; // loaded already: the application's view wins
        }
        item.fill(current, items);
        if let Some(snapshot) = t.snapshot.as_mut()
            && let Some(baseline) = snapshot.relation_mut(relation)
            && item.items(baseline).is_none()
        {
            item.fill(baseline, items);
        }
    }

    fn relation_items(
        &self,
        owner: &Handle,
        relation: usize,
        item: &dyn EntityOps,
    ) -> Option<Vec<Handle>> {
        item.items(managed::<T>(owner).read().relation(relation)?)
    }

    fn relation_change(
        &self,
        owner: &Handle,
        relation: usize,
        item: &dyn EntityOps,
    ) -> Option<CollectionChange> {
        let m = managed::<T>(owner);
        let t = m.tracked();
        let current = item.items(t.current.relation(relation)?)?;
        let baseline = if !t.loaded {
            Vec::new() // a new owner: every item is added
        } else {
            item.items(t.baseline()?.relation(relation)?)?
        };
        Some(CollectionChange { current, baseline })
    }

    fn settle_relation(&self, owner: &Handle, relation: usize, item: &dyn EntityOps) {
        let m = managed::<T>(owner);
        let mut t = m.tracked_mut();
        let t = &mut *t;
        if let (Some(from), Some(snapshot)) = (t.current.relation(relation), t.snapshot.as_mut())
            && let Some(to) = snapshot.relation_mut(relation)
        {
            item.copy_collection(from, to);
        }
    }

    fn flush_candidates(&self, map: &IdentityMap) -> Vec<Handle> {
        let Some(store) = map.store::<T>() else {
            return Vec::new();
        };
        let mut out: Vec<Handle> = store.pending.iter().map(Managed::handle).collect();
        out.extend(
            store
                .by_key
                .values()
                .filter(|m| m.tracked().maybe_dirty())
                .map(Managed::handle),
        );
        out
    }

    fn removal_candidates(&self, map: &IdentityMap) -> Vec<Handle> {
        map.store::<T>().map_or_else(Vec::new, |s| {
            s.removed
                .iter()
                .filter_map(|k| s.by_key.get(k))
                .map(Managed::handle)
                .collect()
        })
    }

    fn is_managed(&self, map: &IdentityMap, h: &Handle) -> bool {
        map.store::<T>()
            .is_some_and(|s| s.contains(&managed::<T>(h)))
    }

    fn adopt(&self, map: &mut IdentityMap, h: &Handle) -> Result<()> {
        map.store_mut::<T>().adopt(&managed::<T>(h))
    }

    fn schedule_removal(&self, map: &mut IdentityMap, h: &Handle) {
        map.store_mut::<T>().remove_instance(&managed::<T>(h));
    }
}
