//! [`StatementCache`]: SQL text of the flush and lookup shapes, rendered once per `Orm`.
//!
//! Policy: the statements a flush issues depend only on the entity type, the set of columns
//! and the number of rows, so their text is rendered once and shared (`Arc<str>`); the driver
//! keeps the prepared statement for the same text. The cache is bounded by the number of
//! distinct shapes (changed-column sets and chunk sizes), not by the data.

use coherent_core::{ColumnSet, Dialect, Entity};
use coherent_sql::{columnar, delete, insert, select, update};
use std::any::TypeId;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

/// A statement shape.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub(crate) enum Shape {
    /// SELECT all columns by key.
    ByKey,
    /// Multi-row INSERT.
    Insert {
        columns: ColumnSet,
        rows: usize,
        returning: bool,
    },
    /// UPDATE of some columns by key.
    Update(ColumnSet),
    /// Optimistically locked UPDATE (see `coherent_sql::update::update_guarded`).
    GuardedUpdate {
        set: ColumnSet,
        guard: ColumnSet,
        null_guards: ColumnSet,
    },
    /// Multi-row UPDATE (see `coherent_sql::update::update_rows`).
    BatchUpdate {
        set: ColumnSet,
        guard: ColumnSet,
        rows: usize,
    },
    /// Columnar INSERT (`coherent_sql::columnar::insert`): any number of rows.
    InsertColumnar { columns: ColumnSet, returning: bool },
    /// Columnar UPDATE (`coherent_sql::columnar::update`).
    UpdateColumnar { set: ColumnSet, guard: ColumnSet },
    /// Columnar DELETE (`= ANY`).
    DeleteColumnar,
    /// Columnar SELECT by keys (`= ANY`), the probe of a columnar UPDATE.
    SelectColumnar,
    /// DELETE of `n` keys.
    Delete(usize),
}

/// Rendered statement texts per (entity type, shape).
pub(crate) struct StatementCache {
    dialect: Dialect,
    texts: Mutex<HashMap<(TypeId, Shape), Arc<str>, foldhash::fast::RandomState>>,
}

impl StatementCache {
    pub fn new(dialect: Dialect) -> Self {
        StatementCache {
            dialect,
            texts: Mutex::new(HashMap::default()),
        }
    }

    /// The SQL of `shape` for entity `T`.
    pub fn get<T: Entity>(&self, shape: Shape) -> Arc<str> {
        let key = (TypeId::of::<T>(), shape);
        let mut texts = self.texts.lock().unwrap_or_else(PoisonError::into_inner);
        texts
            .entry(key)
            .or_insert_with(|| {
                let meta = T::META;
                let d = self.dialect;
                match shape {
                    Shape::ByKey => select::select_by_key(meta, d),
                    Shape::Insert {
                        columns,
                        rows,
                        returning,
                    } => insert::insert_rows(meta, columns, rows, returning, d),
                    Shape::Update(columns) => update::update_by_key(meta, columns, d),
                    Shape::GuardedUpdate {
                        set,
                        guard,
                        null_guards,
                    } => update::update_guarded(meta, set, guard, null_guards, d),
                    Shape::BatchUpdate { set, guard, rows } => {
                        update::update_rows(meta, set, guard, rows, d)
                    }
                    Shape::InsertColumnar { columns, returning } => {
                        columnar::insert(meta, columns, returning)
                    }
                    Shape::UpdateColumnar { set, guard } => columnar::update(meta, set, guard),
                    Shape::DeleteColumnar => columnar::delete(meta),
                    Shape::SelectColumnar => columnar::select(meta),
                    Shape::Delete(n) => delete::delete_by_keys(meta, n, d),
                }
                .into()
            })
            .clone()
    }
}
