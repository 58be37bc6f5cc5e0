//! [`Collection<T>`]: the field type of a one-to-many relation.
//!
//! Policy: a collection is loaded or not. A collection decoded from a row starts unloaded,
//! and reading or changing an unloaded collection is the typed error
//! [`Error::CollectionNotLoaded`], never a hidden query: populate it first
//! (`FindOptions::populate(["books"])` or `em.populate_collection`). A new entity's
//! collection (`Collection::new()`) is loaded and empty.
//!
//! The items' references are the truth in the database. The next flush turns the changes
//! since the owner was loaded or last flushed into changes of the items (see
//! `crate::unit_of_work::cascade`): an added item is persisted if it is new (cascade persist) and its
//! reference is pointed at the owner; a removed item is deleted with `orphan_removal`, else
//! its reference is set to NULL (refused for a non-nullable reference).

use crate::entity::managed::Managed;
use crate::identity::type_store::KeyHasher;
use coherent_core::{Entity, Error, Reference, Result};
use std::collections::HashSet;

/// The items of a one-to-many relation, once loaded.
///
/// ```
/// # use coherent_orm::doc_support::User;
/// use coherent_orm::Collection;
/// let mut friends: Collection<User> = Collection::new();
/// let jon = friends.add_new(User::new("Jon", "jon@example.com")).unwrap();
/// assert_eq!(friends.len().unwrap(), 1);
/// assert!(friends.contains(&jon));
/// assert!(Collection::<User>::unloaded().items().is_err()); // never a hidden query
/// ```
pub struct Collection<T: Entity> {
    items: Option<Vec<Managed<T>>>,
    /// The items' addresses, once the collection is large enough to need them: `add` and
    /// `contains` stay O(1), so adding n items costs O(n), not O(n²). Dropped (rebuilt on
    /// demand) whenever the items are replaced or handed out mutably.
    index: Option<HashSet<usize, KeyHasher>>,
    /// `Owner.field`, for messages (`?` when made by hand).
    relation: &'static str,
}

/// Below this many items a scan is cheaper than an index.
const INDEX_FROM: usize = 32;

impl<T: Entity> Collection<T> {
    /// A loaded, empty collection: the collection of a new entity.
    pub fn new() -> Self {
        Collection {
            items: Some(Vec::new()),
            index: None,
            relation: "?",
        }
    }

    /// A collection whose items are not loaded.
    pub fn unloaded() -> Self {
        Collection {
            items: None,
            index: None,
            relation: "?",
        }
    }

    fn not_loaded(&self) -> Error {
        Error::CollectionNotLoaded {
            entity: T::META.name,
            relation: self.relation,
        }
    }

    /// Whether the items are loaded.
    pub fn is_loaded(&self) -> bool {
        self.items.is_some()
    }

    /// The items, or [`Error::CollectionNotLoaded`].
    pub fn items(&self) -> Result<&[Managed<T>]> {
        self.items.as_deref().ok_or_else(|| self.not_loaded())
    }

    fn items_mut(&mut self) -> Result<&mut Vec<Managed<T>>> {
        let error = self.not_loaded();
        self.items.as_mut().ok_or(error)
    }

    /// Whether `item` is one of the loaded items; builds the index once the collection is
    /// large.
    fn holds(&mut self, item: &Managed<T>) -> Result<bool> {
        let items = self.items.as_ref().ok_or_else(|| self.not_loaded())?;
        if items.len() < INDEX_FROM {
            return Ok(items.iter().any(|m| Managed::ptr_eq(m, item)));
        }
        let index = self
            .index
            .get_or_insert_with(|| items.iter().map(Managed::addr).collect());
        Ok(index.contains(&item.addr()))
    }

    /// Appends `item` to the loaded items (and to the index, if there is one).
    fn push(&mut self, item: Managed<T>) -> Result<()> {
        if let Some(index) = &mut self.index {
            index.insert(item.addr());
        }
        self.items_mut()?.push(item);
        Ok(())
    }

    /// The number of items, or [`Error::CollectionNotLoaded`].
    pub fn len(&self) -> Result<usize> {
        self.items().map(<[_]>::len)
    }

    /// Whether there are no items, or [`Error::CollectionNotLoaded`].
    pub fn is_empty(&self) -> Result<bool> {
        self.items().map(<[_]>::is_empty)
    }

    /// Whether `item` is one of the items (false when not loaded).
    pub fn contains(&self, item: &Managed<T>) -> bool {
        match (&self.index, &self.items) {
            (Some(index), Some(_)) => index.contains(&item.addr()),
            (None, Some(items)) => items.iter().any(|m| Managed::ptr_eq(m, item)),
            (_, None) => false,
        }
    }

    /// Adds a managed instance (no-op if it is already an item).
    pub fn add(&mut self, item: &Managed<T>) -> Result<()> {
        if !self.holds(item)? {
            self.push(item.clone())?;
        }
        Ok(())
    }

    /// Adds a new instance; the next flush persists it with the owner (cascade persist).
    pub fn add_new(&mut self, entity: T) -> Result<Managed<T>> {
        let m = Managed::new(entity, false);
        self.push(m.clone())?;
        Ok(m)
    }

    /// Removes `item`; returns whether it was an item.
    pub fn remove(&mut self, item: &Managed<T>) -> Result<bool> {
        if !self.holds(item)? {
            return Ok(false);
        }
        if let Some(index) = &mut self.index {
            index.remove(&item.addr());
        }
        let items = self.items_mut()?;
        let at = items
            .iter()
            .position(|m| Managed::ptr_eq(m, item))
            .expect("held items are in the list");
        items.remove(at);
        Ok(true)
    }

    /// Removes every item.
    pub fn clear(&mut self) -> Result<()> {
        self.items_mut()?.clear();
        self.index = None;
        Ok(())
    }

    /// The items if loaded.
    pub(crate) fn loaded(&self) -> Option<&Vec<Managed<T>>> {
        self.items.as_ref()
    }

    /// The items if loaded, mutably (the index is dropped: the caller may change them).
    pub(crate) fn loaded_mut(&mut self) -> Option<&mut Vec<Managed<T>>> {
        self.index = None;
        self.items.as_mut()
    }

    /// Replaces the items (a populate).
    pub(crate) fn set_loaded(&mut self, items: Vec<Managed<T>>) {
        self.index = None;
        self.items = Some(items);
    }
}

impl<T: Entity> Default for Collection<T> {
    fn default() -> Self {
        Collection::new()
    }
}

impl<T: Entity> Clone for Collection<T> {
    fn clone(&self) -> Self {
        Collection {
            items: self.items.clone(),
            index: None,
            relation: self.relation,
        }
    }

    fn clone_from(&mut self, source: &Self) {
        self.relation = source.relation;
        self.index = None;
        match (&mut self.items, &source.items) {
            (Some(mine), Some(theirs)) => mine.clone_from(theirs),
            (mine, theirs) => *mine = theirs.clone(),
        }
    }
}

impl<T: Entity> std::fmt::Debug for Collection<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.items {
            None => write!(f, "Collection<{}>(not loaded)", T::META.name),
            Some(items) => {
                let keys: Vec<T::Key> = items.iter().map(Managed::key).collect();
                write!(f, "Collection<{}>{keys:?}", T::META.name)
            }
        }
    }
}

impl<T: Entity> coherent_core::RelationSlot for Collection<T> {
    fn targets(&self, out: &mut Vec<usize>) {
        out.extend(self.items.iter().flatten().map(Managed::addr));
    }

    fn detach(&mut self) {
        self.items = None;
        self.index = None;
    }

    fn holders(&self, f: &mut dyn FnMut(&dyn coherent_core::RelationHolder)) {
        for m in self.items.iter().flatten() {
            f(m);
        }
    }
}

/// A field type `#[one_to_many]` accepts: what the derive needs from it.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be a #[one_to_many] field",
    note = "a #[one_to_many(mapped_by = \"..\")] or #[many_to_many] field is a Collection<T>; a #[one_to_one(mapped_by = \"..\")] field is an Inverse<T>"
)]
pub trait RelationField {
    /// The item entity.
    type Item: Entity;
    /// The item entity's metadata, for the relation's metadata.
    const TARGET: Reference;
    /// The value of field `relation` (`Owner.field`) decoded from a row: not loaded.
    fn unloaded(relation: &'static str) -> Self;
    /// The `Collection<T>` the field keeps its items in, as `Any`.
    fn collection(&self) -> &dyn std::any::Any;
    /// [`RelationField::collection`], mutably.
    fn collection_mut(&mut self) -> &mut dyn std::any::Any;
    /// The field as the identity map's cycle collector sees it.
    fn slot(&mut self) -> &mut dyn coherent_core::RelationSlot;
}

impl<T: Entity> RelationField for Collection<T> {
    type Item = T;
    const TARGET: Reference = Reference {
        meta: || T::META,
        type_id: std::any::TypeId::of::<T>,
    };

    fn unloaded(relation: &'static str) -> Self {
        Collection {
            items: None,
            index: None,
            relation,
        }
    }

    fn collection(&self) -> &dyn std::any::Any {
        self
    }

    fn collection_mut(&mut self) -> &mut dyn std::any::Any {
        self
    }

    fn slot(&mut self) -> &mut dyn coherent_core::RelationSlot {
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::doc_support::User;

    #[test]
    fn a_large_collection_adds_removes_and_finds_through_its_index() {
        let mut c = Collection::<User>::new();
        let users: Vec<_> = (0..100)
            .map(|i| Managed::new(User::new(&i.to_string(), "x@example.com"), false))
            .collect();
        for u in &users {
            c.add(u).unwrap();
            c.add(u).unwrap();
        }
        assert_eq!(c.len().unwrap(), 100);
        assert!(c.index.is_some(), "built past {INDEX_FROM} items");
        assert!(users.iter().all(|u| c.contains(u)));
        assert!(c.remove(&users[50]).unwrap());
        assert!(!c.remove(&users[50]).unwrap());
        assert!(!c.contains(&users[50]) && c.len().unwrap() == 99);
        c.loaded_mut().unwrap().push(users[50].clone());
        assert!(
            c.contains(&users[50]),
            "handed out mutably: the index is rebuilt"
        );
        c.add(&users[50]).unwrap();
        assert_eq!(c.len().unwrap(), 100);
    }
}
