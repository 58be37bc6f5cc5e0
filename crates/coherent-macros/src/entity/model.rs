//! The entity as [`parse`](super::parse) hands it to [`generate`](super::generate): a struct
//! that passed every check, with its defaults resolved (table name, column names, crate path).

use proc_macro2::TokenStream;
use syn::{Ident, Type};

/// A valid entity.
pub(super) struct Entity<'a> {
    /// The struct.
    pub(super) ident: &'a Ident,
    /// The struct name, without `r#`.
    pub(super) entity_name: String,
    /// The table name.
    pub(super) table: String,
    /// One per column field, in declaration order.
    pub(super) columns: Vec<Column<'a>>,
    /// The relation (collection) fields, in declaration order.
    pub(super) relations: Vec<Relation<'a>>,
    /// The index of the primary key in `columns`.
    pub(super) pk: usize,
    /// The table's previous name.
    pub(super) renamed_from: Option<String>,
    /// Composite indexes and unique constraints: (name, column names, unique).
    pub(super) indexes: Vec<(String, Vec<String>, bool)>,
    /// `<crate>::__private`, the path every coherent item is named through.
    pub(super) private: TokenStream,
}

/// One field, parsed.
pub(super) struct Column<'a> {
    pub(super) ident: &'a Ident,
    pub(super) ty: &'a Type,
    /// The column name.
    pub(super) name: String,
    /// The Rust field name, without `r#`.
    pub(super) field: String,
    pub(super) unique: bool,
    pub(super) index: bool,
    pub(super) default: Option<String>,
    /// `#[version]`.
    pub(super) version: bool,
    /// `#[concurrency_check]`.
    pub(super) concurrency_check: bool,
    /// `#[many_to_one]`: a reference to another entity.
    pub(super) many_to_one: bool,
    /// The reference's ON DELETE rule, as the `OnDelete` variant's name.
    pub(super) on_delete: &'static str,
    /// The column's previous name.
    pub(super) renamed_from: Option<String>,
}

/// One relation (collection) field, parsed: not a column.
pub(super) struct Relation<'a> {
    pub(super) ident: &'a Ident,
    pub(super) ty: &'a Type,
    /// The Rust field name, without `r#`.
    pub(super) field: String,
    /// The items' field that references this entity (one-to-many), or the items' owning
    /// field (the inverse side of a many-to-many); empty on an owning many-to-many.
    pub(super) mapped_by: String,
    /// `orphan_removal`.
    pub(super) orphan_removal: bool,
    /// `cascade_remove`.
    pub(super) cascade_remove: bool,
    /// `#[one_to_one(mapped_by = "..")]`: the inverse side of a one-to-one.
    pub(super) one_to_one: bool,
    /// Many-to-many: the join table, owner column and target column of the owning side;
    /// None on its inverse side.
    pub(super) many_to_many: Option<Option<(String, String, String)>>,
}
