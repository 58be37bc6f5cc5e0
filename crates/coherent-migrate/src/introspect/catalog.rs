//! Running catalog queries and reading their cells.
//!
//! Policy: a dialect's catalog queries go as one plain [`Batch`] of idempotent reads (one
//! round trip, no transaction); cells are read by column name and leniently as to their
//! representation (a driver may hand catalog text over as bytes, a flag as an integer, a
//! number as text), strictly as to their meaning: a cell that is not what the query
//! promises is a [`Error::Decode`] naming the column (the ORM's error: the cell readers
//! return it as it is, a caller's `?` makes it a [`crate::Error::Database`]).

use crate::model::canonical;
use coherent_core::{
    Batch, Connection, Dialect, Error, OnDelete, Result, Row, Statement, TxMode, Value,
};

/// Runs `queries` as one batch; the rows of each, in order.
pub(super) async fn query(
    connection: &mut dyn Connection,
    queries: &[&str],
) -> crate::Result<Vec<Vec<Row>>> {
    let batch = Batch {
        statements: queries
            .iter()
            .map(|sql| Statement::query(*sql, Vec::new()).idempotent())
            .collect(),
        mode: TxMode::Plain,
    };
    let result = connection.run(batch).await.map_err(|f| f.error)?;
    Ok(result
        .outcomes
        .into_iter()
        .map(|o| o.rows.map(|rows| rows.into_rows()).unwrap_or_default())
        .collect())
}

/// The cell of column `name`.
fn cell<'r>(row: &'r Row, name: &str) -> Result<&'r Value> {
    let at = row
        .columns()
        .iter()
        .position(|c| c.eq_ignore_ascii_case(name))
        .ok_or_else(|| decode(name, "no such column in the catalog query"))?;
    Ok(&row.values()[at])
}

fn decode(column: &str, message: impl Into<String>) -> Error {
    Error::Decode {
        column: column.to_owned(),
        message: message.into(),
    }
}

/// The text in column `name`, None for NULL.
pub(super) fn opt_text(row: &Row, name: &str) -> Result<Option<String>> {
    Ok(match cell(row, name)? {
        Value::Null => None,
        Value::Text(s) => Some(s.clone()),
        Value::Bytes(b) => Some(
            String::from_utf8(b.clone()).map_err(|_| decode(name, "catalog text is not UTF-8"))?,
        ),
        Value::I16(n) => Some(n.to_string()),
        Value::I32(n) => Some(n.to_string()),
        Value::I64(n) => Some(n.to_string()),
        other => return Err(decode(name, format!("expected text, got {other:?}"))),
    })
}

/// The text in column `name`.
pub(super) fn text(row: &Row, name: &str) -> Result<String> {
    opt_text(row, name)?.ok_or_else(|| decode(name, "unexpected NULL"))
}

/// The integer in column `name`.
pub(super) fn int(row: &Row, name: &str) -> Result<i64> {
    match cell(row, name)? {
        Value::I16(n) => Ok(i64::from(*n)),
        Value::I32(n) => Ok(i64::from(*n)),
        Value::I64(n) => Ok(*n),
        Value::Bool(b) => Ok(i64::from(*b)),
        Value::Text(_) | Value::Bytes(_) => text(row, name)?
            .trim()
            .parse()
            .map_err(|_| decode(name, "expected an integer")),
        other => Err(decode(name, format!("expected an integer, got {other:?}"))),
    }
}

/// The flag in column `name`: a boolean, a non-zero integer, or `YES`/`t`/`true` as text.
pub(super) fn flag(row: &Row, name: &str) -> Result<bool> {
    match cell(row, name)? {
        Value::Bool(b) => Ok(*b),
        Value::Text(_) | Value::Bytes(_) => {
            let t = text(row, name)?.trim().to_ascii_lowercase();
            match t.as_str() {
                "yes" | "t" | "true" | "1" => Ok(true),
                "no" | "f" | "false" | "0" => Ok(false),
                _ => Err(decode(name, format!("expected a flag, got `{t}`"))),
            }
        }
        _ => Ok(int(row, name)? != 0),
    }
}

/// The ON DELETE rule the catalog spells `rule` (`CASCADE`, `SET NULL`, ..), canonical in
/// `dialect`; `SET DEFAULT` (and anything unknown) is `NO ACTION`.
pub(super) fn on_delete(dialect: Dialect, rule: &str) -> OnDelete {
    canonical::on_delete(dialect, OnDelete::parse(rule).unwrap_or(OnDelete::NoAction))
}
