//! Keyset pagination: the condition "comes after (or before) this row" for an ordered query.
//!
//! Policy:
//! - **A stable order.** The sort keys are the query's orders with the primary key appended
//!   (unless an order already sorts by it), so no two rows tie and no row is skipped or
//!   repeated between pages.
//! - **Own columns only.** A key is a column of the queried entity: a cursor holds the
//!   boundary row's values of its keys, which a path through a reference would not have.
//! - **NULLs where they sort.** Each key's NULLs go where the order asks, or where the
//!   dialect puts them (PostgreSQL: NULL is the largest value; SQLite and MySQL: the
//!   smallest), and "after" respects it: after a NULL in a NULLS LAST key come only other
//!   NULLs (tied, decided by the next keys); after a value come the larger values and then,
//!   NULLS LAST, the NULLs. Non-nullable columns get the plain comparison (index-friendly).

use crate::Dialect;
use crate::error::{Error, Result};
use crate::meta::EntityMeta;
use crate::query::condition::{CmpOp, Condition};
use crate::query::order::{Nulls, Order};
use crate::value::Value;

/// One sort key of a keyset query, with where its NULLs sort made explicit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Key {
    /// The column.
    pub column: &'static str,
    /// Its index among the entity's columns.
    pub index: usize,
    /// Descending.
    pub descending: bool,
    /// Where its NULLs sort.
    pub nulls: Nulls,
    /// Whether the column can hold NULL.
    pub nullable: bool,
}

impl Key {
    /// The same key in the opposite direction (its NULLs move to the other end too).
    pub fn reversed(self) -> Key {
        Key {
            descending: !self.descending,
            nulls: match self.nulls {
                Nulls::First => Nulls::Last,
                Nulls::Last => Nulls::First,
            },
            ..self
        }
    }

    /// The key as an order of `meta`, its NULL placement explicit only where it was not the
    /// dialect's own (so a plain order stays plain SQL).
    pub fn order(&self, meta: &EntityMeta, dialect: Dialect) -> Order {
        let o = Order::of(meta, self.index);
        let o = if self.descending { o.desc() } else { o };
        if !self.nullable || self.nulls == default_nulls(dialect, self.descending) {
            o
        } else if self.nulls == Nulls::First {
            o.nulls_first()
        } else {
            o.nulls_last()
        }
    }
}

/// Where `dialect` sorts NULLs by default.
///
/// ```
/// use coherent_core::{Dialect, Nulls};
/// use coherent_core::query::keyset::default_nulls;
/// assert_eq!(default_nulls(Dialect::Postgres, false), Nulls::Last);
/// assert_eq!(default_nulls(Dialect::Sqlite, false), Nulls::First);
/// ```
pub fn default_nulls(dialect: Dialect, descending: bool) -> Nulls {
    let null_is_largest = dialect == Dialect::Postgres;
    if null_is_largest != descending {
        Nulls::Last
    } else {
        Nulls::First
    }
}

/// The keys of a keyset query of `meta` ordered by `orders`: [`Error::InvalidQuery`] for an
/// order through a relation path or of another entity.
pub fn keys(meta: &'static EntityMeta, orders: &[Order], dialect: Dialect) -> Result<Vec<Key>> {
    let mut keys = Vec::with_capacity(orders.len() + 1);
    for o in orders {
        if !o.path().is_empty() {
            return Err(Error::InvalidQuery(format!(
                "a cursor pages by the entity's own columns; {}.{} is reached through a relation",
                meta.name,
                o.column()
            )));
        }
        o.check_meta(meta)
            .map_err(|e| Error::InvalidQuery(e.to_string()))?;
        let index = meta.column_index(o.column()).expect("checked");
        if keys.iter().any(|k: &Key| k.index == index) {
            continue; // a repeated key decides nothing
        }
        let nullable = meta.columns[index].nullable;
        keys.push(Key {
            column: o.column(),
            index,
            descending: o.is_descending(),
            nulls: o
                .nulls()
                .unwrap_or_else(|| default_nulls(dialect, o.is_descending())),
            nullable,
        });
    }
    if !keys.iter().any(|k| k.index == meta.primary_key) {
        keys.push(Key {
            column: meta.pk().name,
            index: meta.primary_key,
            descending: false,
            nulls: default_nulls(dialect, false),
            nullable: false,
        });
    }
    Ok(keys)
}

/// Rows that come strictly after the row whose key values are `values`, in the order of
/// `keys`: `(k1 > v1) OR (k1 = v1 AND k2 > v2) OR ..`, with NULLs as the keys place them.
///
/// ```
/// use coherent_core::{Condition, Nulls, Value};
/// use coherent_core::query::keyset::{after, Key};
/// let id = Key { column: "id", index: 0, descending: false, nulls: Nulls::Last, nullable: false };
/// let c = after(&[id], &[Value::I64(7)]);
/// assert!(matches!(c, Condition::Compare { column: "id", .. }));
/// ```
pub fn after(keys: &[Key], values: &[Value]) -> Condition {
    let mut any = Vec::with_capacity(keys.len());
    for i in 0..keys.len() {
        let mut all: Vec<Condition> = keys[..i]
            .iter()
            .zip(values)
            .map(|(k, v)| equal(k, v))
            .collect();
        match beyond(&keys[i], &values[i]) {
            Some(c) => all.push(c),
            None => continue, // nothing sorts after this value in this key
        }
        any.push(if all.len() == 1 {
            all.pop().expect("one")
        } else {
            Condition::And(all)
        });
    }
    match any.len() {
        1 => any.pop().expect("one"),
        _ => Condition::Or(any),
    }
}

/// `key = value` (`IS NULL` for NULL).
fn equal(key: &Key, value: &Value) -> Condition {
    if value.is_null() {
        Condition::IsNull {
            column: key.column,
            negated: false,
        }
    } else {
        Condition::Compare {
            column: key.column,
            op: CmpOp::Eq,
            value: value.clone(),
        }
    }
}

/// The rows whose `key` sorts strictly after `value`; None if none can.
fn beyond(key: &Key, value: &Value) -> Option<Condition> {
    let not_null = Condition::IsNull {
        column: key.column,
        negated: true,
    };
    let null = Condition::IsNull {
        column: key.column,
        negated: false,
    };
    if value.is_null() {
        // After NULL: every value if NULLs come first, nothing if they come last.
        return (key.nulls == Nulls::First).then_some(not_null);
    }
    let past = Condition::Compare {
        column: key.column,
        op: if key.descending { CmpOp::Lt } else { CmpOp::Gt },
        value: value.clone(),
    };
    Some(if key.nullable && key.nulls == Nulls::Last {
        Condition::Or(vec![past, null])
    } else {
        past
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{ColumnMeta, ColumnType};

    static COLS: [ColumnMeta; 3] = [
        ColumnMeta::new("id", ColumnType::BigInt),
        ColumnMeta {
            nullable: true,
            ..ColumnMeta::new("born", ColumnType::Int)
        },
        ColumnMeta::new("name", ColumnType::Text),
    ];
    static META: EntityMeta = EntityMeta {
        name: "Author",
        table: "authors",
        columns: &COLS,
        primary_key: 0,
        relations: &[],
        indexes: &[],
        renamed_from: None,
    };

    /// Sorts rows `(id, born)` by the keys, the way the database does.
    fn sorted(keys: &[Key], mut rows: Vec<(i64, Option<i32>)>) -> Vec<(i64, Option<i32>)> {
        rows.sort_by(|a, b| {
            for k in keys {
                let ord = match k.column {
                    "id" => a.0.cmp(&b.0),
                    _ => match (a.1, b.1) {
                        (None, None) => std::cmp::Ordering::Equal,
                        (None, Some(_)) if k.nulls == Nulls::First => std::cmp::Ordering::Less,
                        (None, Some(_)) => std::cmp::Ordering::Greater,
                        (Some(_), None) if k.nulls == Nulls::First => std::cmp::Ordering::Greater,
                        (Some(_), None) => std::cmp::Ordering::Less,
                        (Some(x), Some(y)) if k.descending => y.cmp(&x),
                        (Some(x), Some(y)) => x.cmp(&y),
                    },
                };
                let ord = if k.column == "id" && k.descending {
                    ord.reverse()
                } else {
                    ord
                };
                if ord != std::cmp::Ordering::Equal {
                    return ord;
                }
            }
            std::cmp::Ordering::Equal
        });
        rows
    }

    /// Evaluates a keyset condition on a row, with SQL's NULL logic (unknown is not a match).
    fn matches(c: &Condition, row: (i64, Option<i32>)) -> Option<bool> {
        let get = |col: &str| match col {
            "id" => Some(row.0),
            _ => row.1.map(i64::from),
        };
        match c {
            Condition::IsNull { column, negated } => Some(get(column).is_none() != *negated),
            Condition::Compare { column, op, value } => {
                let v = match value {
                    Value::I64(v) => *v,
                    Value::I32(v) => i64::from(*v),
                    _ => unreachable!(),
                };
                let x = get(column)?;
                Some(match op {
                    CmpOp::Eq => x == v,
                    CmpOp::Lt => x < v,
                    CmpOp::Gt => x > v,
                    _ => unreachable!(),
                })
            }
            Condition::And(parts) => parts.iter().try_fold(true, |acc, p| {
                let r = matches(p, row);
                match (acc, r) {
                    (false, _) | (_, Some(false)) => Some(false),
                    (true, r) => r,
                }
            }),
            Condition::Or(parts) => {
                let mut unknown = false;
                for p in parts {
                    match matches(p, row) {
                        Some(true) => return Some(true),
                        None => unknown = true,
                        Some(false) => {}
                    }
                }
                if unknown { None } else { Some(false) }
            }
            other => unreachable!("{other:?}"),
        }
    }

    #[test]
    fn after_is_exactly_the_rows_that_sort_later_in_every_placement() {
        let rows: Vec<(i64, Option<i32>)> = vec![
            (1, Some(1950)),
            (2, None),
            (3, Some(1970)),
            (4, Some(1950)),
            (5, None),
            (6, Some(1960)),
        ];
        for dialect in [Dialect::Postgres, Dialect::Sqlite] {
            for order in [
                Order::of(&META, 1),
                Order::of(&META, 1).desc(),
                Order::of(&META, 1).nulls_first(),
                Order::of(&META, 1).desc().nulls_last(),
                Order::of(&META, 1).nulls_last(),
            ] {
                let forward = keys(&META, &[order], dialect).unwrap();
                for keys in [
                    forward.clone(),
                    forward.iter().map(|k| k.reversed()).collect(),
                ] {
                    let all = sorted(&keys, rows.clone());
                    for (i, boundary) in all.iter().enumerate() {
                        let values = [
                            boundary.1.map_or(Value::Null, Value::I32),
                            Value::I64(boundary.0),
                        ];
                        // Keys are (born, id): values in key order.
                        let c = after(&keys, &values);
                        let got: Vec<_> = all
                            .iter()
                            .filter(|r| matches(&c, **r) == Some(true))
                            .copied()
                            .collect();
                        assert_eq!(got, all[i + 1..], "{dialect:?} {keys:?} after {boundary:?}");
                    }
                }
            }
        }
    }

    #[test]
    fn keys_refuse_paths_and_append_the_primary_key_once() {
        let ks = keys(&META, &[Order::of(&META, 2)], Dialect::Sqlite).unwrap();
        assert_eq!(
            ks.iter().map(|k| k.column).collect::<Vec<_>>(),
            ["name", "id"]
        );
        let ks = keys(&META, &[Order::of(&META, 0).desc()], Dialect::Sqlite).unwrap();
        assert_eq!(ks.len(), 1);
        let through = Order::through("Author", crate::Path::EMPTY.push("x"), "name");
        assert!(matches!(
            keys(&META, &[through], Dialect::Sqlite),
            Err(Error::InvalidQuery(_))
        ));
    }
}
