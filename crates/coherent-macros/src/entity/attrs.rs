//! The helper attributes of `#[derive(Entity)]` as darling reads them: what `#[entity(..)]`,
//! `#[column(..)]` and `#[primary_key]` accept. Unknown or malformed options are darling
//! errors, reported at the option; the meaning of the options is checked in
//! [`parse`](super::parse).

use darling::util::Flag;
use darling::{FromAttributes, FromMeta};

/// `#[entity(...)]` on the struct.
#[derive(Default, FromAttributes)]
#[darling(attributes(entity))]
pub(super) struct EntityAttrs {
    /// The table name; default: the struct name in snake_case.
    pub(super) table: Option<String>,
    /// The path of the `coherent` crate; default `::coherent`.
    #[darling(rename = "crate")]
    pub(super) krate: Option<syn::Path>,
    /// The table's previous name, for a migration's `RENAME`.
    pub(super) renamed_from: Option<String>,
    /// `index(columns = [..], name = "..")`, any number of times: a composite index.
    #[darling(multiple)]
    pub(super) index: Vec<IndexAttrs>,
    /// `unique(columns = [..], name = "..")`, any number of times: a composite unique
    /// constraint.
    #[darling(multiple)]
    pub(super) unique: Vec<IndexAttrs>,
}

/// `index(..)` / `unique(..)` inside `#[entity(..)]`.
#[derive(FromMeta)]
pub(super) struct IndexAttrs {
    /// The fields (or column names) indexed, in order.
    pub(super) columns: Vec<syn::LitStr>,
    /// The index name; default `idx_<table>_<columns>` / `uq_<table>_<columns>`.
    pub(super) name: Option<String>,
}

/// `#[column(...)]` on a field.
#[derive(Default, FromAttributes)]
#[darling(attributes(column))]
pub(super) struct ColumnAttrs {
    /// The column name; default: the field name (without `r#`).
    pub(super) name: Option<String>,
    /// A UNIQUE constraint.
    pub(super) unique: Flag,
    /// A (non-unique) index.
    pub(super) index: Flag,
    /// Redundant with `Option<T>`; rejected on other fields.
    pub(super) nullable: Flag,
    /// A DDL default, as an SQL literal.
    pub(super) default: Option<String>,
    /// The column's previous name, for a migration's `RENAME`.
    pub(super) renamed_from: Option<String>,
}

/// `#[primary_key]` on a field: takes no options.
#[derive(Default, FromAttributes)]
#[darling(attributes(primary_key))]
pub(super) struct PrimaryKeyAttrs {}

/// `#[many_to_one]` or `#[many_to_one(on_delete = "cascade")]` on a `Ref<T>` /
/// `Option<Ref<T>>` field.
#[derive(Default, FromAttributes)]
#[darling(attributes(many_to_one))]
pub(super) struct ManyToOneAttrs {
    /// The foreign key's ON DELETE rule: `cascade`, `set null`, `restrict` or `no action`.
    pub(super) on_delete: Option<syn::LitStr>,
}

/// `#[one_to_many(mapped_by = "..", orphan_removal)]` on a `Collection<T>` field.
#[derive(Default, FromAttributes)]
#[darling(attributes(one_to_many))]
pub(super) struct OneToManyAttrs {
    /// The items' `#[many_to_one]` field that references this entity.
    pub(super) mapped_by: Option<String>,
    /// Delete an item removed from the collection (and the items of a removed owner).
    pub(super) orphan_removal: Flag,
    /// Remove the (loaded) items when the owner is removed.
    pub(super) cascade_remove: Flag,
}

/// `#[many_to_many(join_table = "..", owner_column = "..", target_column = "..")]` (the
/// owning side) or `#[many_to_many(mapped_by = "..")]` (the inverse side) on a
/// `Collection<T>` field.
#[derive(Default, FromAttributes)]
#[darling(attributes(many_to_many))]
pub(super) struct ManyToManyAttrs {
    /// Inverse side: the items' owning `#[many_to_many]` field.
    pub(super) mapped_by: Option<String>,
    /// Owning side: the join table (default `<table>_<field>`).
    pub(super) join_table: Option<String>,
    /// Owning side: the join table's column for this entity's key (default
    /// `<entity>_id`).
    pub(super) owner_column: Option<String>,
    /// Owning side: the join table's column for the item's key (default `<field, singular>_id`).
    pub(super) target_column: Option<String>,
}

/// `#[one_to_one]` on a `Ref<T>` / `Option<Ref<T>>` field (the owning side: a unique
/// foreign key), or `#[one_to_one(mapped_by = "..", orphan_removal)]` on an `Inverse<T>`
/// field (the inverse side).
#[derive(Default, FromAttributes)]
#[darling(attributes(one_to_one))]
pub(super) struct OneToOneAttrs {
    /// Inverse side: the item's `#[one_to_one]` field that references this entity.
    pub(super) mapped_by: Option<String>,
    /// Inverse side: delete the item that is replaced or unset.
    pub(super) orphan_removal: Flag,
    /// Inverse side: remove the (loaded) item when the owner is removed.
    pub(super) cascade_remove: Flag,
    /// Owning side: the foreign key's ON DELETE rule.
    pub(super) on_delete: Option<syn::LitStr>,
}

/// `#[version]` on a field: takes no options.
#[derive(Default, FromAttributes)]
#[darling(attributes(version))]
pub(super) struct VersionAttrs {}

/// `#[concurrency_check]` on a field: takes no options.
#[derive(Default, FromAttributes)]
#[darling(attributes(concurrency_check))]
pub(super) struct ConcurrencyCheckAttrs {}
