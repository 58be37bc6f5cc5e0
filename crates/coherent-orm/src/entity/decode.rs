//! Turning result rows into entity values.
//!
//! Policy: an entity row has every column of the entity, in column order; a row set of
//! another width is [`coherent_core::Error::Decode`] naming the entity, before any cell is
//! read.

use coherent_core::{Entity, Error, Result, RowReader, Rows};

/// Decodes entity rows (all columns, in column order).
pub(crate) fn decode<T: Entity>(rows: Rows) -> Result<Vec<T>> {
    match decode_prefix::<T>(rows) {
        (values, None) => Ok(values),
        (_, Some(error)) => Err(error),
    }
}

/// Decodes partial entity rows: every column but those in `unloaded`, in column order; the
/// unloaded fields hold their type's placeholder ([`coherent_core::FieldType::placeholder`]).
pub(crate) fn decode_partial<T: Entity>(
    rows: Rows,
    unloaded: coherent_core::ColumnSet,
) -> Result<Vec<T>> {
    if unloaded.is_empty() {
        return decode::<T>(rows);
    }
    rows.expect_width(T::META.columns.len() - unloaded.len(), T::META.name)?;
    let n = rows.len();
    let mut cells = rows.values.into_iter();
    let mut out = Vec::with_capacity(n);
    for _ in 0..n {
        out.push(T::from_row(&mut RowReader::partial(
            &mut cells,
            T::META.name,
            unloaded,
        ))?);
    }
    Ok(out)
}

/// Decodes entity rows up to the first that does not decode: the values before it, and its
/// error (a streamed read hands the values over before the error).
pub(crate) fn decode_prefix<T: Entity>(rows: Rows) -> (Vec<T>, Option<Error>) {
    if let Err(error) = rows.expect_width(T::META.columns.len(), T::META.name) {
        return (Vec::new(), Some(error));
    }
    let n = rows.len();
    let mut cells = rows.values.into_iter();
    let mut out = Vec::with_capacity(n);
    for _ in 0..n {
        match T::from_row(&mut RowReader::new(&mut cells, T::META.name)) {
            Ok(value) => out.push(value),
            Err(error) => return (out, Some(error)),
        }
    }
    (out, None)
}
