//! Result sets: [`Rows`] (flat, one allocation per result set) and [`RowReader`]
//! (positional decoding into an entity or a [`FromRow`] type), plus [`Row`] for raw queries.
//!
//! Policy: a driver returns all cells of a result in one flat `Vec<Value>`, so loading N rows
//! costs no per-row allocation beyond the cells themselves; entities and projections decode
//! by moving cells out, never by cloning them. A [`FromRow`] type states its width, so a
//! projection whose width differs is refused before any SQL.

use crate::error::{Error, Result};
use crate::field_type::FieldType;
use crate::value::Value;
use std::sync::Arc;

/// A result set: `width` cells per row, row after row.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Rows {
    /// Column names, in select order.
    pub columns: Arc<[String]>,
    /// All cells, row-major.
    pub values: Vec<Value>,
}

impl Rows {
    /// Checks that a non-empty result has `width` columns; otherwise [`crate::Error::Decode`]
    /// naming `what` (the rows could not be decoded positionally).
    ///
    /// ```
    /// use coherent_core::Rows;
    /// let rows = Rows { columns: vec!["id".to_string()].into(), values: vec![1i64.into()] };
    /// assert!(rows.expect_width(1, "User").is_ok());
    /// assert!(rows.expect_width(2, "User").is_err());
    /// ```
    pub fn expect_width(&self, width: usize, what: &str) -> crate::Result<()> {
        if !self.is_empty() && self.width() != width {
            return Err(crate::Error::Decode {
                column: what.to_string(),
                message: format!("expected {width} columns, got {}", self.width()),
            });
        }
        Ok(())
    }

    /// The number of columns.
    pub fn width(&self) -> usize {
        self.columns.len()
    }

    /// The number of rows.
    pub fn len(&self) -> usize {
        if self.columns.is_empty() {
            0
        } else {
            self.values.len() / self.columns.len()
        }
    }

    /// Whether there is no row.
    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    /// Splits into [`Row`]s with named access.
    ///
    /// ```
    /// use coherent_core::{Rows, Value};
    /// let rows = Rows { columns: vec!["n".to_string()].into(), values: vec![Value::I64(1), Value::I64(2)] };
    /// let v: Vec<i64> = rows.into_rows().iter().map(|r| r.get("n").unwrap()).collect();
    /// assert_eq!(v, vec![1, 2]);
    /// ```
    pub fn into_rows(self) -> Vec<Row> {
        let width = self.width().max(1);
        let columns = self.columns;
        let mut out = Vec::with_capacity(self.values.len() / width);
        let mut it = self.values.into_iter();
        loop {
            let cells: Vec<Value> = it.by_ref().take(width).collect();
            if cells.is_empty() {
                break;
            }
            out.push(Row {
                columns: columns.clone(),
                values: cells,
            });
        }
        out
    }
}

/// One row of a raw query, with access by column name or position.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    columns: Arc<[String]>,
    values: Vec<Value>,
}

impl Row {
    /// The column names.
    pub fn columns(&self) -> &[String] {
        &self.columns
    }

    /// The cells.
    pub fn values(&self) -> &[Value] {
        &self.values
    }

    /// Decodes the cell of column `name`.
    pub fn get<T: FieldType>(&self, name: &str) -> Result<T> {
        let idx = self
            .columns
            .iter()
            .position(|c| c == name)
            .ok_or_else(|| Error::Decode {
                column: name.to_string(),
                message: "no such column in the result".into(),
            })?;
        self.get_at(idx)
    }

    /// Decodes the cell at `index`.
    pub fn get_at<T: FieldType>(&self, index: usize) -> Result<T> {
        let cell = self
            .values
            .get(index)
            .cloned()
            .ok_or_else(|| Error::Decode {
                column: index.to_string(),
                message: "column index out of range".into(),
            })?;
        T::from_value(cell).map_err(|message| Error::Decode {
            column: self.columns.get(index).cloned().unwrap_or_default(),
            message,
        })
    }
}

/// Positional reader over one row's cells, used by [`crate::Entity::from_row`] and
/// [`FromRow::from_row`].
pub struct RowReader<'a> {
    cells: &'a mut std::vec::IntoIter<Value>,
    entity: &'static str,
    position: usize,
    /// Positions the row does not hold (a partial load): they read as the field type's
    /// [`FieldType::placeholder`] and take no cell.
    unloaded: crate::ColumnSet,
}

impl<'a> RowReader<'a> {
    /// A reader taking cells from `cells` for an entity (or a select) named `entity`.
    pub fn new(cells: &'a mut std::vec::IntoIter<Value>, entity: &'static str) -> Self {
        RowReader {
            cells,
            entity,
            position: 0,
            unloaded: crate::ColumnSet::EMPTY,
        }
    }

    /// A reader for a partial entity row: the positions in `unloaded` are not among the
    /// cells and read as their field type's [`FieldType::placeholder`] (a type without one is
    /// [`Error::InvalidArgument`] naming the field).
    ///
    /// ```
    /// use coherent_core::{ColumnSet, RowReader, Value};
    /// let mut cells = vec![Value::I64(7)].into_iter();
    /// let mut row = RowReader::partial(&mut cells, "User", ColumnSet::single(1));
    /// assert_eq!(row.read::<i64>("id").unwrap(), 7);
    /// assert_eq!(row.read::<String>("email").unwrap(), "");
    /// ```
    pub fn partial(
        cells: &'a mut std::vec::IntoIter<Value>,
        entity: &'static str,
        unloaded: crate::ColumnSet,
    ) -> Self {
        RowReader {
            unloaded,
            ..RowReader::new(cells, entity)
        }
    }

    /// Decodes the next cell as column `column` (named for the error message).
    pub fn read<T: FieldType>(&mut self, column: &'static str) -> Result<T> {
        self.read_as(self.entity, column)
    }

    /// Decodes the next cell as field `field` of `owner` (named for the error message:
    /// `owner.field`), for a [`FromRow`] struct.
    pub fn read_as<T: FieldType>(&mut self, owner: &str, field: &str) -> Result<T> {
        self.decode(|| format!("{owner}.{field}"))
    }

    /// Decodes the next cell, named by its position for the error message
    /// (`<entity>[<position>]`).
    pub fn read_next<T: FieldType>(&mut self) -> Result<T> {
        let (entity, position) = (self.entity, self.position);
        self.decode(|| format!("{entity}[{position}]"))
    }

    fn decode<T: FieldType>(&mut self, name: impl Fn() -> String) -> Result<T> {
        if !self.unloaded.is_empty() && self.unloaded.contains(self.position) {
            self.position += 1;
            return T::placeholder().ok_or_else(|| {
                Error::InvalidArgument(format!(
                    "{} cannot be left out of a partial load: its field type has no placeholder \
                     (FieldType::placeholder); name it in `fields`",
                    name()
                ))
            });
        }
        let cell = self.cells.next().ok_or_else(|| Error::Decode {
            column: name(),
            message: "row ended early".into(),
        })?;
        self.position += 1;
        T::from_value(cell).map_err(|message| Error::Decode {
            column: name(),
            message,
        })
    }
}

/// A type one row of a select decodes into, cell by cell in order: every [`FieldType`]
/// (one cell), tuples of up to 12 `FromRow` types, and structs with
/// `#[derive(FromRow)]` (one cell per field, in field order).
///
/// `WIDTH` is the number of cells; a select whose projection has another width is refused
/// before any SQL ([`crate::Error::InvalidQuery`]).
///
/// ```
/// use coherent_core::{RowReader, Value};
/// use coherent_core::row::FromRow;
/// assert_eq!(<(i64, Option<String>, (bool, f64))>::WIDTH, 4);
/// let mut cells = vec![Value::I64(3), Value::Null].into_iter();
/// let row = <(i64, Option<String>)>::from_row(&mut RowReader::new(&mut cells, "Book")).unwrap();
/// assert_eq!(row, (3, None));
/// let mut cells = vec![Value::Text("x".into())].into_iter();
/// let err = i64::from_row(&mut RowReader::new(&mut cells, "Book")).unwrap_err();
/// assert!(err.to_string().contains("Book[0]"));
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be decoded from a row",
    label = "not a column type, a tuple of up to 12, or a `#[derive(FromRow)]` struct",
    note = "derive `FromRow` on a struct with named fields to decode a select into it"
)]
pub trait FromRow: Sized {
    /// The number of cells one value takes.
    const WIDTH: usize;
    /// Decodes one value from the reader's next `WIDTH` cells.
    fn from_row(row: &mut RowReader<'_>) -> Result<Self>;
}

impl<T: FieldType> FromRow for T {
    const WIDTH: usize = 1;
    fn from_row(row: &mut RowReader<'_>) -> Result<Self> {
        row.read_next()
    }
}

macro_rules! from_row_tuples {
    ($($t:ident),+) => {
        impl<$($t: FromRow),+> FromRow for ($($t,)+) {
            const WIDTH: usize = 0 $(+ $t::WIDTH)+;
            fn from_row(row: &mut RowReader<'_>) -> Result<Self> {
                Ok(($($t::from_row(row)?,)+))
            }
        }
    };
}
from_row_tuples!(A);
from_row_tuples!(A, B);
from_row_tuples!(A, B, C);
from_row_tuples!(A, B, C, D);
from_row_tuples!(A, B, C, D, F);
from_row_tuples!(A, B, C, D, F, G);
from_row_tuples!(A, B, C, D, F, G, H);
from_row_tuples!(A, B, C, D, F, G, H, I);
from_row_tuples!(A, B, C, D, F, G, H, I, J);
from_row_tuples!(A, B, C, D, F, G, H, I, J, K);
from_row_tuples!(A, B, C, D, F, G, H, I, J, K, L);
from_row_tuples!(A, B, C, D, F, G, H, I, J, K, L, M);
