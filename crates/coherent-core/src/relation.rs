//! Metadata of relations that are not columns of their entity: collections.
//!
//! Policy: a many-to-one reference is a column (`ColumnMeta::references`); a collection is
//! not. A one-to-many collection is the inverse side of a many-to-one on its items
//! (`mapped_by` names that field): the items' foreign keys are the truth, and adding to or
//! removing from the collection changes them at the next flush. Relation fields are
//! numbered in declaration order among the relation fields (`EntityMeta::relations`).

use crate::meta::{EntityMeta, Reference};

/// What kind of collection a relation field is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RelationKind {
    /// `#[one_to_many(mapped_by = "..")]`: the items reference the owner.
    OneToMany,
}

/// Metadata of one relation (collection) field.
///
/// ```
/// use coherent_core::{EntityMeta, RelationKind, RelationMeta};
/// # static ITEM: EntityMeta = EntityMeta { name: "Book", table: "book", columns: &[], primary_key: 0, relations: &[] };
/// let r = RelationMeta {
///     field: "books",
///     kind: RelationKind::OneToMany,
///     target: coherent_core::Reference { meta: || &ITEM, type_id: std::any::TypeId::of::<()> },
///     mapped_by: "author",
///     orphan_removal: false,
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
}

impl RelationMeta {
    /// The item entity's metadata.
    pub fn target_meta(&self) -> &'static EntityMeta {
        (self.target.meta)()
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
