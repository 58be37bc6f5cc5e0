//! Test metadata shared by the query vocabulary's unit tests: an author, and a book that
//! references it.

use crate::{ColumnMeta, ColumnType, EntityMeta, Reference};

static A_COLS: [ColumnMeta; 2] = [
    ColumnMeta::new("id", ColumnType::BigInt),
    ColumnMeta::new("name", ColumnType::Text),
];
pub(crate) static AUTHOR: EntityMeta = EntityMeta {
    name: "Author",
    table: "author",
    columns: &A_COLS,
    primary_key: 0,
    relations: &[],
    indexes: &[],
    renamed_from: None,
};
static B_COLS: [ColumnMeta; 3] = [
    ColumnMeta::new("id", ColumnType::BigInt),
    ColumnMeta {
        references: Some(Reference {
            meta: || &AUTHOR,
            type_id: std::any::TypeId::of::<()>,
        }),
        ..ColumnMeta::new("author_id", ColumnType::BigInt)
    },
    ColumnMeta::new("pages", ColumnType::Int),
];
pub(crate) static BOOK: EntityMeta = EntityMeta {
    name: "Book",
    table: "book",
    columns: &B_COLS,
    primary_key: 0,
    relations: &[],
    indexes: &[],
    renamed_from: None,
};
