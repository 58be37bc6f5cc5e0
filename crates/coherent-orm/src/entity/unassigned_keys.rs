//! Which references of an entity name a key not assigned yet.
//!
//! Policy: a reference to a new instance whose key the database generates holds the
//! unassigned key until the flush inserts the instance; the flush orders inserts (and a
//! nullable reference's later UPDATE) by what this reports.

use coherent_core::{ColumnSet, Entity};

/// The columns of `among` (reference columns) whose value in `entity` is a key not assigned
/// yet: references to new instances the flush has not inserted.
pub(crate) fn unassigned_references<T: Entity>(entity: &T, among: ColumnSet) -> ColumnSet {
    let mut values = Vec::with_capacity(among.len());
    entity.push_values(among, &mut values);
    let mut unassigned = ColumnSet::EMPTY;
    for (column, value) in among.iter().zip(&values) {
        if value.is_unassigned_key() {
            unassigned.insert(column);
        }
    }
    unassigned
}
