//! Turning result rows into entity values.
//!
//! Policy: an entity row has every column of the entity, in column order; a row set of
//! another width is [`coherent_core::Error::Decode`] naming the entity, before any cell is
//! read.

use coherent_core::{ColumnSet, Entity, Error, Result, RowReader, Rows};

/// Decodes entity rows (all columns, in column order).
pub(crate) fn decode<T: Entity>(rows: Rows) -> Result<Vec<T>> {
    decode_partial::<T>(rows, ColumnSet::EMPTY)
}

/// Decodes partial entity rows: every column but those in `unloaded`, in column order; the
/// unloaded fields hold their type's placeholder ([`coherent_core::FieldType::placeholder`]).
pub(crate) fn decode_partial<T: Entity>(rows: Rows, unloaded: ColumnSet) -> Result<Vec<T>> {
    match decode_rows::<T>(rows, unloaded) {
        (values, None) => Ok(values),
        (_, Some(error)) => Err(error),
    }
}

/// Decodes entity rows up to the first that does not decode: the values before it, and its
/// error (a streamed read hands the values over before the error).
pub(crate) fn decode_prefix<T: Entity>(rows: Rows) -> (Vec<T>, Option<Error>) {
    decode_rows::<T>(rows, ColumnSet::EMPTY)
}

/// The one decoding loop: rows of every column but `unloaded`, up to the first that does not
/// decode.
fn decode_rows<T: Entity>(rows: Rows, unloaded: ColumnSet) -> (Vec<T>, Option<Error>) {
    let width = T::META.columns.len() - unloaded.len();
    if let Err(error) = rows.expect_width(width, T::META.name) {
        return (Vec::new(), Some(error));
    }
    let n = rows.len();
    let mut cells = rows.values.into_iter();
    let mut out = Vec::with_capacity(n);
    for _ in 0..n {
        match T::from_row(&mut RowReader::partial(&mut cells, T::META.name, unloaded)) {
            Ok(value) => out.push(value),
            Err(error) => return (out, Some(error)),
        }
    }
    (out, None)
}
