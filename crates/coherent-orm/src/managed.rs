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
//!   `flush` without a comparison.

use coherent_core::{ColumnSet, Entity};
use std::ops::{Deref, DerefMut};
use std::sync::{Arc, PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};

/// The tracked state of one instance.
#[derive(Debug)]
pub(crate) struct Tracked<T> {
    /// The state the application sees and changes.
    pub current: T,
    /// The state as last read from or written to the database, taken on the first write.
    /// `None` with `loaded` means "unchanged since loaded".
    pub snapshot: Option<Box<T>>,
    /// Whether the row exists in the database as far as this instance knows (false for a
    /// pending insert and after the row was deleted).
    pub loaded: bool,
    /// Every column is to be written on the next flush (the baseline is unknown, e.g. the
    /// application changed the instance while a flush of it was running).
    pub force_dirty: bool,
    /// Bumped by every [`Managed::write`]; lets a flush tell whether the instance changed
    /// while its statements were running.
    pub generation: u64,
}

impl<T: Entity> Tracked<T> {
    /// The columns to write on the next flush (empty if clean).
    pub fn changed_columns(&self) -> ColumnSet {
        if self.force_dirty {
            return T::META.all_columns();
        }
        match &self.snapshot {
            Some(s) => self.current.changed(s),
            None => ColumnSet::EMPTY,
        }
    }

    /// Replaces the state with a fresh row: clean, loaded.
    pub fn reset(&mut self, fresh: T) {
        self.current = fresh;
        self.snapshot = None;
        self.force_dirty = false;
        self.loaded = true;
    }

    /// Merges a re-queried row. A clean instance takes the whole row. A dirty one takes the
    /// fields the application has not changed and keeps its snapshot as read, so the next
    /// flush is still checked against what the application saw (unlike MikroORM, which
    /// rebases it).
    pub fn merge(&mut self, fresh: T) {
        if !self.loaded {
            return; // a pending insert: the row is someone else's; the flush will tell
        }
        if self.force_dirty {
            return;
        }
        match &self.snapshot {
            None => self.current = fresh,
            Some(s) if self.current.changed(s).is_empty() => self.reset(fresh),
            Some(s) => self.current.merge_unchanged(s, fresh),
        }
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
        Managed {
            slot: Arc::new(RwLock::new(Tracked {
                current,
                snapshot: None,
                loaded,
                force_dirty: false,
                generation: 0,
            })),
        }
    }

    pub(crate) fn tracked(&self) -> RwLockReadGuard<'_, Tracked<T>> {
        self.slot.read().unwrap_or_else(PoisonError::into_inner)
    }

    pub(crate) fn tracked_mut(&self) -> RwLockWriteGuard<'_, Tracked<T>> {
        self.slot.write().unwrap_or_else(PoisonError::into_inner)
    }

    /// Read access to the instance.
    pub fn read(&self) -> EntityRef<'_, T> {
        EntityRef(self.tracked())
    }

    /// Write access to the instance. The first write after a load or flush records the
    /// baseline the next flush compares against.
    pub fn write(&self) -> EntityMut<'_, T> {
        let mut guard = self.tracked_mut();
        let t = &mut *guard;
        if t.loaded && t.snapshot.is_none() && !t.force_dirty {
            t.snapshot = Some(Box::new(t.current.clone()));
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
        Some(match &t.snapshot {
            Some(s) => (**s).clone(),
            None => t.current.clone(),
        })
    }

    /// Whether two handles point to the same instance.
    pub fn ptr_eq(a: &Managed<T>, b: &Managed<T>) -> bool {
        Arc::ptr_eq(&a.slot, &b.slot)
    }
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
