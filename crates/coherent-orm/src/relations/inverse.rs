//! [`Inverse<T>`]: the field type of the inverse side of a one-to-one.
//!
//! Policy: the owning side is a unique `#[one_to_one]` reference on the other entity, and
//! the database holds at most one row pointing here. The inverse side behaves as a
//! one-to-many collection of at most one item (see `crate::relations::collection`): it starts unloaded
//! when decoded, reading it unloaded is [`Error::CollectionNotLoaded`], and setting it points
//! the new item's reference here at the next flush while the replaced item is unlinked
//! (its reference set to NULL), deleted (`orphan_removal`) or refused (a non-nullable
//! reference).

use crate::entity::managed::Managed;
use crate::relations::collection::{Collection, RelationField};
use coherent_core::{Entity, Reference, Result};

/// The entity whose `#[one_to_one]` reference points here, once loaded.
///
/// ```
/// # use coherent_orm::doc_support::User;
/// use coherent_orm::Inverse;
/// let mut profile_of: Inverse<User> = Inverse::new();
/// assert!(profile_of.get().unwrap().is_none());
/// let jon = profile_of.set_new(User::new("Jon", "jon@example.com")).unwrap();
/// assert!(Managed::ptr_eq(profile_of.get().unwrap().unwrap(), &jon));
/// # use coherent_orm::Managed;
/// assert!(Inverse::<User>::unloaded().get().is_err()); // never a hidden query
/// ```
pub struct Inverse<T: Entity>(Collection<T>);

impl<T: Entity> Inverse<T> {
    /// A loaded, empty side: a new entity's.
    pub fn new() -> Self {
        Inverse(Collection::new())
    }

    /// A side whose item is not loaded.
    pub fn unloaded() -> Self {
        Inverse(Collection::unloaded())
    }

    /// Whether it is loaded.
    pub fn is_loaded(&self) -> bool {
        self.0.is_loaded()
    }

    /// The item, if any, or [`coherent_core::Error::CollectionNotLoaded`].
    pub fn get(&self) -> Result<Option<&Managed<T>>> {
        Ok(self.0.items()?.first())
    }

    /// Makes `item` (or nothing) the item.
    pub fn set(&mut self, item: Option<&Managed<T>>) -> Result<()> {
        self.0.clear()?;
        match item {
            Some(m) => self.0.add(m),
            None => Ok(()),
        }
    }

    /// Makes a new instance the item; the next flush persists it (cascade persist).
    pub fn set_new(&mut self, entity: T) -> Result<Managed<T>> {
        self.0.clear()?;
        self.0.add_new(entity)
    }
}

impl<T: Entity> Default for Inverse<T> {
    fn default() -> Self {
        Inverse::new()
    }
}

impl<T: Entity> Clone for Inverse<T> {
    fn clone(&self) -> Self {
        Inverse(self.0.clone())
    }

    fn clone_from(&mut self, source: &Self) {
        self.0.clone_from(&source.0);
    }
}

impl<T: Entity> std::fmt::Debug for Inverse<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.0.items() {
            Err(_) => write!(f, "Inverse<{}>(not loaded)", T::META.name),
            Ok(items) => write!(
                f,
                "Inverse<{}>({:?})",
                T::META.name,
                items.first().map(Managed::key)
            ),
        }
    }
}

impl<T: Entity> coherent_core::RelationSlot for Inverse<T> {
    fn targets(&self, out: &mut Vec<usize>) {
        self.0.targets(out);
    }

    fn detach(&mut self) {
        self.0.detach();
    }

    fn holders(&self, f: &mut dyn FnMut(&dyn coherent_core::RelationHolder)) {
        self.0.holders(f);
    }
}

impl<T: Entity> RelationField for Inverse<T> {
    type Item = T;
    const TARGET: Reference = <Collection<T> as RelationField>::TARGET;

    fn unloaded(relation: &'static str) -> Self {
        Inverse(<Collection<T> as RelationField>::unloaded(relation))
    }

    fn collection(&self) -> &dyn std::any::Any {
        &self.0
    }

    fn collection_mut(&mut self) -> &mut dyn std::any::Any {
        &mut self.0
    }

    fn slot(&mut self) -> &mut dyn coherent_core::RelationSlot {
        self
    }
}
