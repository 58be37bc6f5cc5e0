//! [`Managed<T>`]: the shared handle to the one instance of an entity in an identity map.
//!
//! Policy:
//! - **One instance per row per EntityManager.** Every lookup of the same row in one
//!   EntityManager returns a handle to the same instance ([`Managed::ptr_eq`]).
//! - **All access goes through the handle**, [`Managed::read`] and [`Managed::write`] (or the
//!   closures [`Managed::with`] and [`Managed::update`]). The guards are not `Send`, so they
//!   cannot be held across an `.await` in a `Send` future.
//! - **Copy-on-write snapshots.** A loaded entity has no snapshot until the first
//!   [`Managed::write`]: that call copies the state as loaded, which is the baseline change
//!   detection compares against. Entities that are only read cost no copy and are skipped by
//!   `flush` without a comparison. After a flush the baseline is the current state again; the
//!   snapshot's buffer is kept and refreshed in place by the next write
//!   ([`coherent_core::Entity::copy_into`]), so a flush frees nothing and a later write
//!   allocates nothing.
//! - **Partial entities.** An instance loaded with `FindOptions::fields` is *partial*: the
//!   columns it did not read hold their type's placeholder
//!   ([`coherent_core::FieldType::placeholder`]: `0`, `""`, `None`, ..) in the state
//!   [`Managed::read`] shows, which is therefore not the row's data for those fields.
//!   [`Managed::field`] is the checked read ([`coherent_core::Error::FieldNotLoaded`]);
//!   [`Managed::is_partial`], [`Managed::loaded_fields`] and [`Managed::is_loaded`] tell what
//!   was read. A flush never writes an unloaded column, except one the application assigned
//!   (a value that differs from the placeholder: then it is written, and loaded from then
//!   on; assigning exactly the placeholder is indistinguishable from not assigning). A later
//!   read of every column (`find`, `find_one`, `refresh`) completes the same instance.

use coherent_core::{ColumnSet, Entity};
use std::ops::{Deref, DerefMut};
use std::sync::{Arc, PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};

/// A managed instance of some entity type: the instance's own shared allocation, erased
/// ([`Managed::handle`], [`Managed::from_handle`]).
pub(crate) type Handle = std::sync::Arc<dyn std::any::Any + Send + Sync>;

/// The tracked state of one instance.
#[derive(Debug)]
pub(crate) struct Tracked<T> {
    /// The state the application sees and changes.
    pub current: T,
    /// The state as last read from or written to the database, copied on the first write
    /// after a load or flush. Meaningful only while `baseline_is_current` is false; otherwise
    /// it is a buffer kept for the next copy.
    pub snapshot: Option<Box<T>>,
    /// The baseline is the current state (nothing written since the last load or flush).
    pub baseline_is_current: bool,
    /// Whether the row exists in the database as far as this instance knows (false for a
    /// pending insert and after the row was deleted).
    pub loaded: bool,
    /// Every column is to be written on the next flush (the baseline is unknown, e.g. the
    /// application changed the instance while a flush of it was running).
    pub force_dirty: bool,
    /// Bumped by every [`Managed::write`]; lets a flush tell whether the instance changed
    /// while its statements were running.
    pub generation: u64,
    /// A transaction whose COMMIT outcome is unknown inserted this instance: a flush refuses
    /// to insert it again ([`coherent_core::Error::InDoubt`]) until it is resolved.
    pub in_doubt: bool,
    /// The columns a partial load (`FindOptions::fields`) did not read: they hold their
    /// type's placeholder, in `current` and in the snapshot, so change detection never sees
    /// them (and a flush never writes them) unless the application assigns them. Empty for an
    /// entity loaded in full (or new).
    pub unloaded: ColumnSet,
}

impl<T: Entity> Tracked<T> {
    /// The columns to write on the next flush (empty if clean).
    pub fn changed_columns(&self) -> ColumnSet {
        if self.force_dirty {
            // Never a placeholder: a column assigned while unloaded was marked loaded when
            // the flush settled (`Tracked::note_written`).
            return T::META.all_columns().without(self.unloaded);
        }
        match (&self.snapshot, self.baseline_is_current) {
            (Some(s), false) => self.current.changed(s),
            _ => ColumnSet::EMPTY,
        }
    }

    /// Whether something may have changed since the baseline (cheap: no comparison).
    pub fn maybe_dirty(&self) -> bool {
        self.loaded && (self.force_dirty || !self.baseline_is_current)
    }

    /// The baseline, if it is not the current state.
    pub fn baseline(&self) -> Option<&T> {
        match (&self.snapshot, self.baseline_is_current) {
            (Some(s), false) => Some(s),
            _ => None,
        }
    }

    /// Records that the database now holds the current state: clean, loaded.
    pub fn mark_clean(&mut self) {
        self.baseline_is_current = true;
        self.force_dirty = false;
        self.loaded = true;
    }

    /// Replaces the state with a fresh row of every column: clean, loaded in full.
    pub fn reset(&mut self, fresh: T) {
        self.current = fresh;
        self.unloaded = ColumnSet::EMPTY;
        self.mark_clean();
    }

    /// Before a flush marks the instance clean: the unloaded columns the application
    /// assigned (they differ from the placeholder the baseline holds) were written, so they
    /// are loaded now.
    pub fn note_written(&mut self) {
        if self.unloaded.is_empty() {
            return;
        }
        if let Some(baseline) = self.baseline() {
            let assigned = self.current.changed(baseline).intersection(self.unloaded);
            self.unloaded = self.unloaded.without(assigned);
        }
    }

    /// Fills the columns a fresh row did not read (`unloaded`) with what this instance holds
    /// for them: its baseline's values if it has one (so the merge leaves them as they are),
    /// else its current ones.
    fn fill_unread(&self, fresh: &mut T, unloaded: ColumnSet) {
        if !unloaded.is_empty() {
            copy_columns(self.baseline().unwrap_or(&self.current), fresh, unloaded);
        }
    }

    /// Merges a re-queried row. A clean instance takes the whole row. A dirty one takes the
    /// fields the application has not changed (in its state and its baseline, so the next
    /// flush writes only the application's changes) and keeps the version and checked
    /// columns it read, so the next flush is checked against what the application's changes
    /// were based on (MikroORM takes the new version: a lost update).
    ///
    /// `unloaded` are the columns the fresh row did not read (a partial load): this
    /// instance keeps what it holds for them, and is partial afterwards only in the columns
    /// neither read (a full read completes it; a partial read never downgrades it).
    pub fn merge(&mut self, mut fresh: T, unloaded: ColumnSet) {
        // A pending insert (not loaded): the row is someone else's, and the flush will tell.
        if !self.loaded || self.force_dirty {
            return;
        }
        self.fill_unread(&mut fresh, unloaded);
        // What was populated stays populated.
        fresh.adopt_relations(&mut self.current);
        self.merge_state(fresh, unloaded);
    }

    /// Merges the state of a transaction fork's instance of the same row, committed by the
    /// fork: as [`Tracked::merge`], but the fork's relations are the newer ones and win (a
    /// changed instance keeps its own).
    pub fn merge_committed(&mut self, mut fresh: T, unloaded: ColumnSet) {
        if !self.loaded || self.force_dirty {
            return;
        }
        self.fill_unread(&mut fresh, unloaded);
        self.merge_state(fresh, unloaded);
    }

    /// The columns of [`Tracked::merge`], for a loaded instance whose baseline is known;
    /// `fresh` holds this instance's values in the columns it did not read (`unloaded`).
    fn merge_state(&mut self, fresh: T, unloaded: ColumnSet) {
        let changed = self.baseline().map(|s| self.current.changed(s));
        // Columns this read completes (unloaded here, read now).
        let completed = self.unloaded.without(unloaded);
        match changed {
            None => self.current = fresh,
            Some(c) if c.is_empty() => {
                self.current = fresh;
                self.mark_clean();
            }
            Some(changed) => {
                let snapshot = self
                    .snapshot
                    .as_deref_mut()
                    .expect("a baseline is a snapshot");
                // A field the application assigned while it was unloaded keeps its value;
                // its baseline becomes what the row holds (it was a placeholder), so the
                // flush writes it only if it differs.
                copy_columns(&fresh, snapshot, completed.intersection(changed));
                self.current.merge_unchanged(snapshot, fresh);
            }
        }
        self.unloaded = self.unloaded.intersection(unloaded);
    }
}

/// Copies the values of `columns` from `from` into `to` (through their `Value`s: partial
/// loads only).
fn copy_columns<T: Entity>(from: &T, to: &mut T, columns: ColumnSet) {
    if columns.is_empty() {
        return;
    }
    let mut values = Vec::with_capacity(columns.len());
    from.push_values(columns, &mut values);
    for (index, value) in columns.iter().zip(values) {
        // The value came from this column's own type: it always fits.
        let _ = to.set_column(index, value);
    }
}

/// A handle to a managed entity instance. Cloning it is cheap (a reference count).
///
/// ```
/// # use coherent_orm::doc_support::*;
/// # async fn demo(em: coherent_orm::EntityManager) -> coherent_core::Result<()> {
/// let user = em.persist(User::new("Jon", "jon@example.com"))?;
/// user.write().name = "Jonathan".into();
/// assert_eq!(user.read().name, "Jonathan");
/// let name_len = user.with(|u| u.name.len());
/// # assert_eq!(name_len, 8);
/// # Ok(()) }
/// ```
pub struct Managed<T: Entity> {
    slot: Arc<RwLock<Tracked<T>>>,
}

impl<T: Entity> Clone for Managed<T> {
    fn clone(&self) -> Self {
        Managed {
            slot: Arc::clone(&self.slot),
        }
    }
}

impl<T: Entity> std::fmt::Debug for Managed<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.read().fmt(f)
    }
}

impl<T: Entity> Managed<T> {
    pub(crate) fn new(current: T, loaded: bool) -> Self {
        Self::new_partial(current, loaded, ColumnSet::EMPTY)
    }

    /// A loaded instance whose `unloaded` columns a partial load did not read.
    pub(crate) fn new_partial(current: T, loaded: bool, unloaded: ColumnSet) -> Self {
        Managed {
            slot: Arc::new(RwLock::new(Tracked {
                current,
                snapshot: None,
                baseline_is_current: true,
                loaded,
                force_dirty: false,
                generation: 0,
                in_doubt: false,
                unloaded,
            })),
        }
    }

    pub(crate) fn tracked(&self) -> RwLockReadGuard<'_, Tracked<T>> {
        self.slot.read().unwrap_or_else(PoisonError::into_inner)
    }

    pub(crate) fn tracked_mut(&self) -> RwLockWriteGuard<'_, Tracked<T>> {
        self.slot.write().unwrap_or_else(PoisonError::into_inner)
    }

    /// Read access to the instance. For a partial instance ([`Managed::is_partial`]) the
    /// fields a partial load did not read hold placeholders, not the row's values: read
    /// those with [`Managed::field`], which says so.
    pub fn read(&self) -> EntityRef<'_, T> {
        EntityRef(self.tracked())
    }

    /// Write access to the instance. The first write after a load or flush records the
    /// baseline the next flush compares against.
    pub fn write(&self) -> EntityMut<'_, T> {
        let mut guard = self.tracked_mut();
        let t = &mut *guard;
        if t.loaded && t.baseline_is_current && !t.force_dirty {
            match &mut t.snapshot {
                Some(buffer) => t.current.copy_into(buffer),
                None => t.snapshot = Some(Box::new(t.current.clone())),
            }
            t.baseline_is_current = false;
        }
        t.generation += 1;
        EntityMut(guard)
    }

    /// Runs `f` with read access.
    pub fn with<R>(&self, f: impl FnOnce(&T) -> R) -> R {
        f(&self.read())
    }

    /// Runs `f` with write access.
    pub fn update<R>(&self, f: impl FnOnce(&mut T) -> R) -> R {
        f(&mut self.write())
    }

    /// A copy of the current state.
    pub fn get(&self) -> T {
        self.read().clone()
    }

    /// The primary key.
    pub fn key(&self) -> T::Key {
        self.read().key()
    }

    /// Whether the instance has changes a flush would write. A pending insert is not "dirty":
    /// it is new.
    pub fn is_dirty(&self) -> bool {
        let t = self.tracked();
        t.loaded && !t.changed_columns().is_empty()
    }

    /// The names of the columns a flush would write for this instance.
    pub fn changed_columns(&self) -> Vec<&'static str> {
        let t = self.tracked();
        t.changed_columns()
            .iter()
            .map(|i| T::META.columns[i].name)
            .collect()
    }

    /// The baseline the next flush compares against: the state as read from the database
    /// (or last flushed), or `None` for a pending insert.
    pub fn original(&self) -> Option<T> {
        let t = self.tracked();
        if !t.loaded {
            return None;
        }
        Some(t.baseline().unwrap_or(&t.current).clone())
    }

    /// The key, unless the instance is locked for writing (a reference to itself while it
    /// is being written).
    pub(crate) fn try_key(&self) -> Option<T::Key> {
        match self.slot.try_read() {
            Ok(t) => Some(t.current.key()),
            Err(std::sync::TryLockError::Poisoned(p)) => Some(p.into_inner().current.key()),
            Err(std::sync::TryLockError::WouldBlock) => None,
        }
    }

    /// The instance as an erased [`Handle`] (the same allocation: no copy).
    pub(crate) fn handle(&self) -> Handle {
        self.slot.clone()
    }

    /// The instance a handle is, if it is a `T`.
    pub(crate) fn from_handle(h: &Handle) -> Option<Managed<T>> {
        Arc::downcast::<RwLock<Tracked<T>>>(Arc::clone(h))
            .ok()
            .map(|slot| Managed { slot })
    }

    /// How many handles to the instance exist (identity maps, relation fields, the
    /// application's).
    pub(crate) fn handles(&self) -> usize {
        Arc::strong_count(&self.slot)
    }

    /// The instance's address: identifies it across handles.
    pub(crate) fn addr(&self) -> usize {
        Arc::as_ptr(&self.slot) as *const () as usize
    }

    /// A copy of the tracked state (for a transaction checkpoint).
    pub(crate) fn save(&self) -> Saved<T> {
        let t = self.tracked();
        Saved {
            current: t.current.clone(),
            snapshot: t.snapshot.clone(),
            baseline_is_current: t.baseline_is_current,
            loaded: t.loaded,
            force_dirty: t.force_dirty,
            unloaded: t.unloaded,
        }
    }

    /// Puts a saved state back (a rolled-back transaction or savepoint).
    pub(crate) fn restore(&self, saved: Saved<T>) {
        let mut t = self.tracked_mut();
        t.current = saved.current;
        t.snapshot = saved.snapshot;
        t.baseline_is_current = saved.baseline_is_current;
        t.loaded = saved.loaded;
        t.force_dirty = saved.force_dirty;
        t.unloaded = saved.unloaded;
        // Any flush plan made before is stale.
        t.generation += 1;
    }

    /// Whether a partial load (`FindOptions::fields`) left some field of this instance
    /// unread. Its unread fields hold placeholders in [`Managed::read`]; a read of every
    /// column (`find`, `find_one`, `refresh`) completes it.
    ///
    /// ```
    /// # use coherent_orm::doc_support::User;
    /// # async fn demo(em: coherent_orm::EntityManager) -> coherent_core::Result<()> {
    /// use coherent_orm::FindOptions;
    /// use coherent_core::Filter;
    /// let users = em.find_with(Filter::<User>::all(), FindOptions::default().fields(["name"])).await?;
    /// for u in &users {
    ///     assert!(u.is_partial());
    ///     assert_eq!(u.loaded_fields(), ["id", "name"]); // the key is always loaded
    /// }
    /// # Ok(()) }
    /// ```
    pub fn is_partial(&self) -> bool {
        !self.tracked().unloaded.is_empty()
    }

    /// The names of the fields this instance holds the row's values for, in column order:
    /// every field, unless a partial load left some unread.
    pub fn loaded_fields(&self) -> Vec<&'static str> {
        let unloaded = self.tracked().unloaded;
        T::META
            .columns
            .iter()
            .enumerate()
            .filter(|(i, _)| unloaded.is_empty() || !unloaded.contains(*i))
            .map(|(_, c)| c.field)
            .collect()
    }

    /// Whether the field of `column` holds the row's value (it was read, or assigned by the
    /// application and written), i.e. is not a partial load's placeholder.
    pub fn is_loaded<V>(&self, column: coherent_core::Column<T, V>) -> bool {
        !self.tracked().unloaded.contains(column.index)
    }

    /// The value of the field of `column`, checked: [`Error::FieldNotLoaded`] if a partial
    /// load did not read it (where [`Managed::read`] would show a placeholder).
    ///
    /// The value goes through the column's `Value` (`FieldType::to_value`/`from_value`): a
    /// `Ref<T>` comes back as a reference by key, without a loaded instance.
    ///
    /// ```
    /// # use coherent_orm::doc_support::User;
    /// # async fn demo(em: coherent_orm::EntityManager) -> coherent_core::Result<()> {
    /// use coherent_orm::FindOptions;
    /// use coherent_core::{Error, Filter};
    /// let found = em.find_with(Filter::<User>::all(), FindOptions::default().fields([User::NAME])).await?;
    /// if let Some(u) = found.first() {
    ///     let name: String = u.field(User::NAME)?;
    ///     assert_eq!(name, u.read().name);
    ///     assert!(matches!(u.field(User::EMAIL), Err(Error::FieldNotLoaded { field: "email", .. })));
    /// }
    /// # Ok(()) }
    /// ```
    ///
    /// [`Error::FieldNotLoaded`]: coherent_core::Error::FieldNotLoaded
    pub fn field<V: coherent_core::FieldType>(
        &self,
        column: coherent_core::Column<T, V>,
    ) -> coherent_core::Result<V> {
        let t = self.tracked();
        let meta = &T::META.columns[column.index];
        if t.unloaded.contains(column.index) {
            return Err(coherent_core::Error::FieldNotLoaded {
                entity: T::META.name,
                field: meta.field,
            });
        }
        let mut values = Vec::with_capacity(1);
        t.current
            .push_values(ColumnSet::single(column.index), &mut values);
        let value = values.pop().unwrap_or(coherent_core::Value::Null);
        V::from_value(value).map_err(|message| coherent_core::Error::Decode {
            column: format!("{}.{}", T::META.name, meta.name),
            message,
        })
    }

    /// Whether a transaction whose COMMIT outcome is unknown
    /// ([`coherent_core::Error::CommitOutcomeUnknown`]) inserted this instance: the row may or
    /// may not exist, so a flush refuses to insert it again until the application resolves
    /// it (`EntityManager::resolve_in_doubt`, `remove`, or `clear`).
    pub fn is_in_doubt(&self) -> bool {
        self.tracked().in_doubt
    }

    /// Whether two handles point to the same instance.
    pub fn ptr_eq(a: &Managed<T>, b: &Managed<T>) -> bool {
        Arc::ptr_eq(&a.slot, &b.slot)
    }
}

impl<T: Entity> coherent_core::RelationHolder for Managed<T> {
    fn addr(&self) -> usize {
        Managed::addr(self)
    }

    fn slots(&self, f: &mut dyn FnMut(&mut dyn coherent_core::RelationSlot)) {
        let mut t = self.tracked_mut();
        let t = &mut *t;
        t.current.relation_slots(f);
        if let Some(snapshot) = t.snapshot.as_deref_mut() {
            snapshot.relation_slots(f);
        }
    }
}

impl<T: Entity> Managed<T> {
    /// Detaches the relation fields of `entity` and of every instance reachable through
    /// them (collections become unloaded, references keep their keys). Populated instances
    /// hold each other; their EntityManager frees the ones nothing else holds when it is
    /// dropped or cleared (see `cycles`), but a populated graph the application keeps beyond
    /// its EntityManager is a cycle of its own: release it before letting go of it.
    ///
    /// ```
    /// # use coherent_orm::doc_support::User;
    /// # async fn demo(em: coherent_orm::EntityManager) -> coherent_core::Result<()> {
    /// let user = em.find_one_or_fail::<User>(1).await?;
    /// drop(em);
    /// coherent_orm::Managed::release_relations(&user); // nothing populated: a no-op
    /// # Ok(()) }
    /// ```
    pub fn release_relations(entity: &Managed<T>) {
        fn visit(
            h: &dyn coherent_core::RelationHolder,
            seen: &mut std::collections::HashSet<usize>,
        ) {
            if !seen.insert(h.addr()) {
                return;
            }
            h.slots(&mut |slot| {
                slot.holders(&mut |next| visit(next, seen));
                slot.detach();
            });
        }
        visit(entity, &mut std::collections::HashSet::new());
    }
}

/// The tracked state of an instance, saved by a transaction checkpoint.
pub(crate) struct Saved<T> {
    current: T,
    snapshot: Option<Box<T>>,
    baseline_is_current: bool,
    loaded: bool,
    force_dirty: bool,
    unloaded: ColumnSet,
}

/// Read guard returned by [`Managed::read`].
pub struct EntityRef<'a, T>(RwLockReadGuard<'a, Tracked<T>>);

impl<T> Deref for EntityRef<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.0.current
    }
}

/// Write guard returned by [`Managed::write`].
pub struct EntityMut<'a, T>(RwLockWriteGuard<'a, Tracked<T>>);

impl<T> Deref for EntityMut<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.0.current
    }
}

impl<T> DerefMut for EntityMut<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        &mut self.0.current
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::doc_support::User;

    fn user(id: i64, name: &str, email: &str) -> User {
        let mut u = User::new(name, email);
        u.id = id;
        u
    }

    const EMAIL: ColumnSet = ColumnSet::single(2);

    #[test]
    fn a_partial_read_never_downgrades_a_full_instance() {
        let m = Managed::new(user(1, "Jon", "jon@x.io"), true);
        // A row of id and name only: email holds the placeholder.
        m.tracked_mut().merge(user(1, "Jonathan", ""), EMAIL);
        assert!(!m.is_partial());
        assert_eq!(
            (m.read().name.as_str(), m.read().email.as_str()),
            ("Jonathan", "jon@x.io")
        );
        // Dirty: the unread column keeps both its value and its baseline.
        m.write().email = "new@x.io".into();
        m.tracked_mut().merge(user(1, "Jo", ""), EMAIL);
        assert_eq!(m.changed_columns(), ["email"]);
        assert_eq!(m.original().unwrap().email, "jon@x.io");
        assert_eq!(m.read().name, "Jo");
    }

    #[test]
    fn a_full_read_completes_a_partial_instance_and_keeps_assignments() {
        let m = Managed::new_partial(user(1, "Jon", ""), true, EMAIL);
        assert!(m.field(User::EMAIL).is_err());
        // Nothing unread is ever a change.
        m.write().name = "Jonathan".into();
        assert_eq!(m.changed_columns(), ["name"]);
        // Assigned while unloaded, then completed: the baseline becomes the row's value.
        m.write().email = "mine@x.io".into();
        m.tracked_mut()
            .merge(user(1, "Jon", "db@x.io"), ColumnSet::EMPTY);
        assert!(!m.is_partial());
        assert_eq!(m.read().email, "mine@x.io");
        assert_eq!(m.original().unwrap().email, "db@x.io");
        assert_eq!(m.changed_columns(), ["name", "email"]);
        // The same value as the row's: no change left in that column.
        m.write().email = "db@x.io".into();
        assert_eq!(m.changed_columns(), ["name"]);
    }

    #[test]
    fn forced_writes_leave_unread_columns_out() {
        let m = Managed::new_partial(user(1, "Jon", ""), true, EMAIL);
        m.tracked_mut().force_dirty = true;
        assert_eq!(m.changed_columns(), ["id", "name"]);
    }
}
