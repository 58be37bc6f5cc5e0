//! [`StoredColumns`]: giving the instances a flush wrote the stored form of their values
//! ([`coherent_core::stored_form`]), so memory holds exactly what the database holds.
//!
//! Policy: the driver binds a value's stored form (a date-time truncated to the microsecond,
//! a `-0.0` as `0.0` where the backend loses the sign); after COMMIT, every instance written
//! and not changed since takes the stored form of its values in the columns that may have one
//! (a flushed instance then equals its row read back and is clean). An instance the
//! application changed while the flush ran keeps its values: it stays dirty and its next
//! flush writes them. The columns are found once per entity type and flush, from their types;
//! a type without such a column (integers, text) pays one emptiness check per written row.

use coherent_core::stored_form::{alters, stored_form};
use coherent_core::{ColumnSet, Dialect, Entity, EntityMeta, Value};

/// The columns of one entity type whose values `dialect` may store in another form.
#[derive(Clone, Copy, Debug)]
pub(crate) struct StoredColumns {
    columns: ColumnSet,
    dialect: Dialect,
}

impl StoredColumns {
    /// No column: before the dialect is known.
    pub const NONE: StoredColumns = StoredColumns {
        columns: ColumnSet::EMPTY,
        dialect: Dialect::Sqlite,
    };

    /// The columns of `meta` whose values `dialect` may store in another form.
    pub fn of(meta: &EntityMeta, dialect: Dialect) -> StoredColumns {
        let mut columns = ColumnSet::EMPTY;
        for (i, c) in meta.columns.iter().enumerate() {
            if alters(dialect, c.column_type) {
                columns.insert(i);
            }
        }
        StoredColumns { columns, dialect }
    }

    /// Replaces `entity`'s value of each of these columns by its stored form.
    pub fn apply<T: Entity>(&self, entity: &mut T) {
        if self.columns.is_empty() {
            return;
        }
        let mut cell = Vec::with_capacity(1);
        for c in self.columns.iter() {
            cell.clear();
            entity.push_values(ColumnSet::single(c), &mut cell);
            if let Some(stored) = cell.pop().and_then(|v| stored_form(self.dialect, &v)) {
                // The stored form is a value of the column's own type: it always fits.
                let _ = entity.set_column(c, stored);
            }
        }
    }

    /// `value` of column `column` as the database stores it.
    pub fn value(&self, column: usize, value: Value) -> Value {
        if !self.columns.contains(column) {
            return value;
        }
        stored_form(self.dialect, &value).unwrap_or(value)
    }
}
