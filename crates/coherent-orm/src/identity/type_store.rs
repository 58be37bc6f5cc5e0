//! [`TypeStore<T>`]: the identity map's part for one entity type, with that type's pending
//! inserts and removals.
//!
//! Policy: an entity enters `by_key` when its key is known (loaded, or persisted with a
//! client-assigned key); an entity whose key the database generates waits in `pending` only
//! until its INSERT has succeeded. Removal is scheduled by key and takes effect, in memory,
//! only once the DELETE has succeeded.

use crate::entity::managed::Managed;
use crate::identity::pending::PendingInserts;
use coherent_core::{ColumnSet, Entity, Error, PrimaryKey, Result};
use indexmap::IndexMap;
use indexmap::map::Entry;
use std::collections::HashSet;

/// The hasher of the identity map: fast, and randomly seeded per map, since keys may come
/// from requests (client-assigned String keys).
pub(crate) type KeyHasher = foldhash::fast::RandomState;

/// The managed instances of one entity type in one Unit of Work.
pub(crate) struct TypeStore<T: Entity> {
    /// Instances with a known key, in the order they became known. Ordered so that walking
    /// and dropping a large map goes through memory in the order it was allocated (row
    /// order): a hash table's order frees a million instances at random addresses, a cache
    /// miss each.
    pub by_key: IndexMap<T::Key, Managed<T>, KeyHasher>,
    /// Instances persisted but not inserted yet, in persist order.
    pub pending: PendingInserts<T>,
    /// Keys scheduled for deletion.
    pub removed: HashSet<T::Key, KeyHasher>,
    /// Keys whose rows this Unit of Work deleted (so a merge into a parent evicts them there);
    /// recorded only when `track_deleted` (transaction forks).
    pub deleted: HashSet<T::Key, KeyHasher>,
    /// Whether to record `deleted`.
    pub track_deleted: bool,
    /// Counts the keys ever scheduled for deletion (see [`TypeStore::schedule_removal`]): a
    /// flush that finds it unchanged after COMMIT knows `removed` holds only keys it deleted.
    pub removals: u64,
    /// Whether a partially loaded instance may be in `by_key` (set when one enters, never
    /// cleared): while false, `find_one` by key answers from the map without looking into
    /// the instance.
    pub may_hold_partial: bool,
}

impl<T: Entity> Default for TypeStore<T> {
    fn default() -> Self {
        TypeStore {
            by_key: IndexMap::default(),
            pending: PendingInserts::default(),
            removed: HashSet::default(),
            deleted: HashSet::default(),
            track_deleted: false,
            removals: 0,
            may_hold_partial: false,
        }
    }
}

impl<T: Entity> TypeStore<T> {
    /// Whether `m` is one of this store's instances.
    pub fn contains(&self, m: &Managed<T>) -> bool {
        // Only a pending insert (not loaded) can be in `pending`: skip the lookup otherwise.
        if !m.tracked().loaded && self.pending.contains(m) {
            return true;
        }
        let key = m.key();
        self.by_key
            .get(&key)
            .is_some_and(|x| Managed::ptr_eq(x, m) && !self.removed.contains(&key))
    }

    /// Makes `m` one of this store's instances, if it is not already: a new instance becomes a
    /// pending insert (known by key when its key is assigned); an instance scheduled for
    /// removal is kept instead. Another instance with the same key is
    /// [`Error::DuplicateIdentity`].
    pub fn adopt(&mut self, m: &Managed<T>) -> Result<()> {
        if self.contains(m) {
            return Ok(());
        }
        {
            let t = m.tracked();
            if !t.loaded && !t.unloaded.is_empty() {
                // A partial instance whose row is gone: inserting it would write placeholders.
                return Err(Error::InvalidArgument(format!(
                    "this {} was loaded partially (FindOptions::fields) and its row was deleted: \
                     it cannot be inserted again (its unloaded fields hold placeholders); persist \
                     a complete value instead",
                    T::META.name
                )));
            }
        }
        let key = m.key();
        if !key.is_unassigned() {
            match self.by_key.get(&key) {
                Some(other) if !Managed::ptr_eq(other, m) => {
                    return Err(Error::DuplicateIdentity {
                        entity: T::META.name,
                        key: format!("{key:?}"),
                    });
                }
                Some(_) => {
                    // Scheduled for removal and added again: keep it.
                    self.removed.remove(&key);
                    return Ok(());
                }
                None => {
                    self.may_hold_partial |= m.is_partial();
                    self.by_key.insert(key, m.clone());
                }
            }
        }
        if !m.tracked().loaded {
            self.pending.push(m.clone());
        }
        Ok(())
    }

    /// Drops a pending insert, or schedules a managed instance's row for deletion; false if
    /// `m` is not one of this store's instances.
    pub fn remove_instance(&mut self, m: &Managed<T>) -> bool {
        if self.pending.remove(m) {
            let key = m.key();
            if self.by_key.get(&key).is_some_and(|x| Managed::ptr_eq(x, m)) {
                self.by_key.swap_remove(&key);
            }
            return true;
        }
        if !self.contains(m) {
            return false;
        }
        self.schedule_removal(m.key());
        true
    }

    /// Schedules `key` for deletion by the next flush.
    pub fn schedule_removal(&mut self, key: T::Key) {
        self.removals += 1;
        self.removed.insert(key);
    }

    /// Merges a freshly loaded row and returns the one instance for it, or `None` if the row
    /// is scheduled for removal here.
    pub fn merge_row(&mut self, fresh: T) -> Option<Managed<T>> {
        self.merge_partial(fresh, ColumnSet::EMPTY)
    }

    /// [`TypeStore::merge_row`] for a row that did not read the `unloaded` columns (a
    /// partial load): a new instance is partial; a known one keeps what it holds for them
    /// ([`crate::entity::managed::Tracked::merge`]).
    pub fn merge_partial(&mut self, fresh: T, unloaded: ColumnSet) -> Option<Managed<T>> {
        let key = fresh.key();
        if !self.removed.is_empty() && self.removed.contains(&key) {
            return None;
        }
        self.may_hold_partial |= !unloaded.is_empty();
        // One probe of the map, whether the key is known or new.
        match self.by_key.entry(key) {
            Entry::Occupied(known) => {
                let m = known.get();
                m.tracked_mut().merge(fresh, unloaded);
                Some(m.clone())
            }
            Entry::Vacant(slot) => Some(
                slot.insert(Managed::new_partial(fresh, true, unloaded))
                    .clone(),
            ),
        }
    }

    /// Forgets `m` (the row vanished); returns whether it was known.
    pub fn detach(&mut self, m: &Managed<T>) -> bool {
        let key = m.key();
        let known = self.by_key.get(&key).is_some_and(|x| Managed::ptr_eq(x, m));
        if known {
            self.by_key.swap_remove(&key);
            self.removed.remove(&key);
        }
        self.pending.remove(m);
        m.tracked_mut().loaded = false;
        known
    }

    /// Number of instances (managed and pending; a pending insert with a client-assigned
    /// key is in both lists and counts once).
    pub fn len(&self) -> usize {
        let unkeyed = self
            .pending
            .iter()
            .filter(|p| p.tracked().current.key().is_unassigned())
            .count();
        self.by_key.len() + unkeyed
    }
}
