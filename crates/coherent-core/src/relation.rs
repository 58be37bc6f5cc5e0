//! Metadata of relations that are not columns of their entity: collections.
//!
//! Policy: a many-to-one reference is a column (`ColumnMeta::references`); a collection is
//! not. A one-to-many collection is the inverse side of a many-to-one on its items
//! (`mapped_by` names that field): the items' foreign keys are the truth, and adding to or
//! removing from the collection changes them at the next flush. Relation fields are
//! numbered in declaration order among the relation fields (`EntityMeta::relations`).

use crate::meta::{EntityMeta, Reference};

/// A relation field (a reference or a collection) as the identity map's cycle collector sees
/// it: which instances it holds, and letting go of them. Instances that reference each other
/// hold each other (a collection its items, an item its owner), so an identity map breaks the
/// cycles among the instances nothing else holds when it is dropped.
pub trait RelationSlot {
    /// The addresses of the instances the field holds.
    fn targets(&self, out: &mut Vec<usize>);
    /// Lets go of the instances: a collection becomes unloaded, a reference keeps its key.
    fn detach(&mut self);
    /// Runs `f` on each instance the field holds.
    fn holders(&self, f: &mut dyn FnMut(&dyn RelationHolder));
}

/// A managed instance seen through the relation fields that hold it.
pub trait RelationHolder {
    /// Its address.
    fn addr(&self) -> usize;
    /// Runs `f` on each of its relation fields (under its write lock).
    fn slots(&self, f: &mut dyn FnMut(&mut dyn RelationSlot));
}

impl<S: RelationSlot> RelationSlot for Option<S> {
    fn targets(&self, out: &mut Vec<usize>) {
        if let Some(s) = self {
            s.targets(out);
        }
    }

    fn holders(&self, f: &mut dyn FnMut(&dyn RelationHolder)) {
        if let Some(s) = self {
            s.holders(f);
        }
    }

    fn detach(&mut self) {
        if let Some(s) = self {
            s.detach();
        }
    }
}

/// What kind of collection a relation field is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RelationKind {
    /// `#[one_to_many(mapped_by = "..")]`: the items reference the owner.
    OneToMany,
    /// `#[one_to_one(mapped_by = "..")]`: the inverse side of a one-to-one, whose owning side
    /// is a unique `#[one_to_one]` reference on the item. A one-to-many of at most one item.
    OneToOne,
    /// `#[many_to_many(..)]`: owner and items are linked by the rows of a join table. The
    /// owning side names the table; the inverse side (`mapped_by`) reads it.
    ManyToMany,
}

/// The join table of a many-to-many relation, as its owning side declares it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct JoinTable {
    /// The table.
    pub table: &'static str,
    /// Its column holding the owner's key.
    pub owner_column: &'static str,
    /// Its column holding the item's key.
    pub target_column: &'static str,
}

/// A join table seen from one side: which column is this side's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LinkSide {
    /// The table.
    pub table: &'static str,
    /// The column holding this side's (the owner's) key.
    pub owner_column: &'static str,
    /// The column holding the items' keys.
    pub item_column: &'static str,
}

/// Metadata of one relation (collection) field.
///
/// ```
/// use coherent_core::{EntityMeta, RelationKind, RelationMeta};
/// # static ITEM: EntityMeta = EntityMeta { name: "Book", table: "book", columns: &[], primary_key: 0, relations: &[], indexes: &[], renamed_from: None };
/// let r = RelationMeta {
///     field: "books",
///     kind: RelationKind::OneToMany,
///     target: coherent_core::Reference { meta: || &ITEM, type_id: std::any::TypeId::of::<()> },
///     mapped_by: "author",
///     orphan_removal: false,
///     cascade_remove: false,
///     join: None,
/// };
/// assert_eq!((r.target.meta)().name, "Book");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RelationMeta {
    /// The Rust field name.
    pub field: &'static str,
    /// The kind of collection.
    pub kind: RelationKind,
    /// The item entity.
    pub target: Reference,
    /// One-to-many: the items' many-to-one field that references the owner.
    pub mapped_by: &'static str,
    /// One-to-many: an item removed from the collection is deleted (else its reference is
    /// set to NULL, which a non-nullable reference refuses).
    pub orphan_removal: bool,
    /// One-to-many and one-to-one inverse side: removing the owner removes its loaded items
    /// (`orphan_removal` implies it).
    pub cascade_remove: bool,
    /// Many-to-many, owning side: the join table. None on the inverse side (`mapped_by`
    /// names the owning field of the items) and for one-to-many.
    pub join: Option<JoinTable>,
}

impl RelationMeta {
    /// The item entity's metadata.
    pub fn target_meta(&self) -> &'static EntityMeta {
        (self.target.meta)()
    }

    /// Whether this is the owning side of a many-to-many (its changes write link rows).
    pub fn owns_links(&self) -> bool {
        self.kind == RelationKind::ManyToMany && self.join.is_some()
    }

    /// The join table of a many-to-many from this side: its own, or (inverse side) the
    /// owning side's with the columns swapped. None for one-to-many or an inverse side
    /// whose `mapped_by` names no owning many-to-many.
    pub fn link_side(&self) -> Option<LinkSide> {
        if self.kind != RelationKind::ManyToMany {
            return None;
        }
        if let Some(j) = self.join {
            return Some(LinkSide {
                table: j.table,
                owner_column: j.owner_column,
                item_column: j.target_column,
            });
        }
        let target = self.target_meta();
        let owning = target
            .relations
            .iter()
            .find(|r| r.field == self.mapped_by)?;
        let j = owning.join?;
        Some(LinkSide {
            table: j.table,
            owner_column: j.target_column,
            item_column: j.owner_column,
        })
    }

    /// The index, among the item's columns, of the `mapped_by` reference column, if the item
    /// has such a field.
    pub fn mapped_by_column(&self) -> Option<usize> {
        self.target_meta()
            .columns
            .iter()
            .position(|c| c.field == self.mapped_by && c.references.is_some())
    }
}
