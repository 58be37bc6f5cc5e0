//! Turning result rows into entity values.
//!
//! Policy: an entity row has every column of the entity, in column order; a row set of
//! another width is [`coherent_core::Error::Decode`] naming the entity, before any cell is
//! read.

use coherent_core::{Entity, Result, RowReader, Rows};

/// Decodes entity rows (all columns, in column order).
pub(crate) fn decode<T: Entity>(rows: Rows) -> Result<Vec<T>> {
    rows.expect_width(T::META.columns.len(), T::META.name)?;
    let n = rows.len();
    let mut cells = rows.values.into_iter();
    let mut out = Vec::with_capacity(n);
    for _ in 0..n {
        out.push(T::from_row(&mut RowReader::new(&mut cells, T::META.name))?);
    }
    Ok(out)
}
