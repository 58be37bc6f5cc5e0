//! Static entity metadata: what `#[derive(Entity)]` knows about a struct, in a form the SQL
//! renderer and the Unit of Work read without generics.
//!
//! Policy: metadata is `'static` and built at compile time; the column order is the field
//! order, and every positional API ([`crate::ColumnSet`], [`crate::RowReader`],
//! [`crate::Entity::push_values`]) uses it.

use crate::value::ColumnType;

/// The entity a foreign-key column references. Functions rather than values, so two entities
/// may reference each other (their metadata statics would otherwise depend on each other).
#[derive(Debug, Clone, Copy)]
pub struct Reference {
    /// The referenced entity's metadata.
    pub meta: fn() -> &'static EntityMeta,
    /// The referenced entity's type, for the commit order.
    pub type_id: fn() -> std::any::TypeId,
}

impl PartialEq for Reference {
    fn eq(&self, other: &Self) -> bool {
        (self.type_id)() == (other.type_id)()
    }
}

impl Eq for Reference {}

/// Metadata of one column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ColumnMeta {
    /// The Rust field name.
    pub field: &'static str,
    /// The column name in the database.
    pub name: &'static str,
    /// The storage type.
    pub column_type: ColumnType,
    /// Whether the column accepts NULL.
    pub nullable: bool,
    /// Whether this is the primary key column.
    pub primary_key: bool,
    /// Whether the database generates the value (auto-increment integer keys).
    pub generated: bool,
    /// Whether the column carries a UNIQUE constraint.
    pub unique: bool,
    /// Whether the column carries a (non-unique) index.
    pub index: bool,
    /// A default, as an SQL literal used in DDL (`#[column(default = "0")]`).
    pub default: Option<&'static str>,
    /// The optimistic-lock version (`#[version]`): set on insert, advanced by every update,
    /// compared in every update's WHERE.
    pub version: bool,
    /// Compared with its value as loaded in every update's WHERE (`#[concurrency_check]`).
    pub concurrency_check: bool,
    /// The entity this column references (a many-to-one `Ref<T>` field): a foreign key.
    pub references: Option<Reference>,
    /// What deleting the referenced row does to this row (a reference column's foreign key).
    pub on_delete: crate::OnDelete,
    /// The column's previous name (`#[column(renamed_from = "old")]`): a migration renames
    /// it instead of dropping one column and adding another.
    pub renamed_from: Option<&'static str>,
}

impl ColumnMeta {
    /// A plain non-null column of type `column_type`; the other flags off.
    ///
    /// ```
    /// use coherent_core::{ColumnMeta, ColumnType};
    /// let c = ColumnMeta::new("name", ColumnType::Text);
    /// assert_eq!(c.name, "name");
    /// assert!(!c.nullable && !c.primary_key);
    /// ```
    pub const fn new(name: &'static str, column_type: ColumnType) -> ColumnMeta {
        ColumnMeta {
            field: name,
            name,
            column_type,
            nullable: false,
            primary_key: false,
            generated: false,
            unique: false,
            index: false,
            default: None,
            version: false,
            concurrency_check: false,
            references: None,
            on_delete: crate::OnDelete::NoAction,
            renamed_from: None,
        }
    }
}

/// Metadata of one entity type.
#[derive(Debug, Clone, Copy)]
pub struct EntityMeta {
    /// The Rust type name, used in messages (`User not found (1)`).
    pub name: &'static str,
    /// The table name.
    pub table: &'static str,
    /// The columns, in field order.
    pub columns: &'static [ColumnMeta],
    /// The index of the primary key column in `columns`.
    pub primary_key: usize,
    /// The relation fields that are not columns (collections), in field order.
    pub relations: &'static [crate::relation::RelationMeta],
    /// Composite (or named) indexes and unique constraints declared on the entity, beside
    /// the single-column ones its columns declare.
    pub indexes: &'static [crate::IndexMeta],
    /// The table's previous name (`#[entity(renamed_from = "old")]`): a migration renames it
    /// instead of dropping one table and creating another.
    pub renamed_from: Option<&'static str>,
}

impl EntityMeta {
    /// The primary key column.
    pub fn pk(&self) -> &'static ColumnMeta {
        &self.columns[self.primary_key]
    }

    /// Whether the database generates the primary key.
    pub fn key_generated(&self) -> bool {
        self.pk().generated
    }

    /// The index of the column named `name`.
    pub fn column_index(&self, name: &str) -> Option<usize> {
        self.columns.iter().position(|c| c.name == name)
    }

    /// All columns.
    pub fn all_columns(&self) -> crate::ColumnSet {
        crate::ColumnSet::first(self.columns.len())
    }

    /// The index of the relation (collection) field named `field`.
    pub fn relation_index(&self, field: &str) -> Option<usize> {
        self.relations.iter().position(|r| r.field == field)
    }

    /// The index of the column of the field named `field`.
    pub fn field_column(&self, field: &str) -> Option<usize> {
        self.columns.iter().position(|c| c.field == field)
    }

    /// The index of the version column, if the entity is versioned.
    ///
    /// ```
    /// use coherent_core::{ColumnMeta, ColumnType, EntityMeta};
    /// static COLS: [ColumnMeta; 2] = [
    ///     ColumnMeta::new("id", ColumnType::BigInt),
    ///     ColumnMeta { version: true, ..ColumnMeta::new("version", ColumnType::Int) },
    /// ];
    /// static META: EntityMeta = EntityMeta { name: "Doc", table: "docs", columns: &COLS, primary_key: 0, relations: &[], indexes: &[], renamed_from: None };
    /// assert_eq!(META.version_column(), Some(1));
    /// assert!(META.check_columns().is_empty());
    /// ```
    pub fn version_column(&self) -> Option<usize> {
        self.columns.iter().position(|c| c.version)
    }

    /// The `#[concurrency_check]` columns.
    pub fn check_columns(&self) -> crate::ColumnSet {
        self.columns_where(|c| c.concurrency_check)
    }

    /// The reference (foreign-key) columns.
    pub fn reference_columns(&self) -> crate::ColumnSet {
        self.columns_where(|c| c.references.is_some())
    }

    /// Whether the entity has relation fields: a reference column or a collection.
    pub fn has_relations(&self) -> bool {
        !self.relations.is_empty() || self.columns.iter().any(|c| c.references.is_some())
    }

    /// The nullable reference columns (those a dependency cycle can be broken at).
    pub fn nullable_reference_columns(&self) -> crate::ColumnSet {
        self.columns_where(|c| c.references.is_some() && c.nullable)
    }

    /// The columns matching `keep`.
    fn columns_where(&self, keep: impl Fn(&ColumnMeta) -> bool) -> crate::ColumnSet {
        let mut set = crate::ColumnSet::EMPTY;
        for (i, c) in self.columns.iter().enumerate() {
            if keep(c) {
                set.insert(i);
            }
        }
        set
    }

    /// Whether updates of this entity are guarded (a version or concurrency checks).
    pub fn optimistic(&self) -> bool {
        self.columns
            .iter()
            .any(|c| c.version || c.concurrency_check)
    }

    /// The columns an INSERT writes: all of them, less a generated key.
    pub fn insert_columns(&self, with_key: bool) -> crate::ColumnSet {
        let mut set = self.all_columns();
        if !with_key {
            set.remove(self.primary_key);
        }
        set
    }
}
