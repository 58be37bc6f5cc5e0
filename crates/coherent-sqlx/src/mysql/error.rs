//! Classifying MySQL/MariaDB errors by error number.
//!
//! Policy: every error the server sent becomes a variant carrying a [`DatabaseError`] with the
//! error number as code (`1062`), the server's message, and the `sqlx::Error` as source.
//! 1062 (duplicate entry) is a unique violation; 1451/1452 and 1216/1217 foreign key
//! violations; 1048 and 1364 not-null violations; 3819 (MySQL) and 4025 (MariaDB) check
//! violations. 1205 is [`Error::LockTimeout`], except for a statement that asked for
//! `NOWAIT`, where MariaDB uses it for "lock not available" ([`Error::LockNotAvailable`],
//! which MySQL reports as 3572). 1213 is [`Error::Deadlock`] (the server has rolled the whole
//! transaction back). 1969 (MariaDB's `max_statement_time`) and 3024 (MySQL's
//! `max_execution_time`) are [`Error::StatementTimeout`]. Refused values (1264 out of range,
//! 1265/1292/1366 incorrect value, 1406 too long, 1690 out of range) are
//! [`Error::InvalidData`]. Lost connections and pool failures are [`Error::Connection`]; the
//! rest is [`Error::Database`].
//!
//! The server sends no constraint, table or column fields: the details are read from the
//! message where it states them in a fixed form ([`names`]), and are `None` otherwise (a
//! server whose `lc_messages` is not English gives none).

use coherent_core::{ConstraintKind, DatabaseError, Error};
use sqlx::mysql::MySqlDatabaseError;

/// Classifies an sqlx error from a MySQL connection running `sql`.
pub fn classify(error: sqlx::Error, sql: &str) -> Error {
    let sqlx::Error::Database(db) = error else {
        return crate::error::classify_other(error);
    };
    let number = db
        .try_downcast_ref::<MySqlDatabaseError>()
        .map(MySqlDatabaseError::number);
    // 2006 server gone away, 2013 lost during query, 1927 connection killed.
    if matches!(number, Some(2006 | 2013 | 1927)) {
        return crate::error::lost(db.message().to_owned(), sqlx::Error::Database(db));
    }
    let Some(number) = number else {
        return Error::Database {
            source: DatabaseError::new(db.message()).with_source(sqlx::Error::Database(db)),
        };
    };
    let names = names(number, db.message());
    let source = DatabaseError::new(db.message())
        .with_code(number.to_string())
        .with_table(names.table)
        .with_column(names.column)
        .with_constraint(names.constraint)
        .with_source(sqlx::Error::Database(db));
    let kind = match number {
        1062 => Some(ConstraintKind::Unique),
        1451 | 1452 | 1216 | 1217 => Some(ConstraintKind::ForeignKey),
        1048 | 1364 => Some(ConstraintKind::NotNull),
        3819 | 4025 => Some(ConstraintKind::Check),
        _ => None,
    };
    if let Some(kind) = kind {
        return Error::Constraint { kind, source };
    }
    match number {
        1205 if asks_nowait(sql) => Error::LockNotAvailable { source },
        1205 => Error::LockTimeout { source },
        3572 => Error::LockNotAvailable { source },
        1213 => Error::Deadlock { source },
        1969 | 3024 => Error::StatementTimeout { source },
        1264 | 1265 | 1292 | 1366 | 1406 | 1690 => Error::InvalidData { source },
        _ => Error::Database { source },
    }
}

fn asks_nowait(sql: &str) -> bool {
    sql.trim_end().to_ascii_uppercase().ends_with("NOWAIT")
}

/// What a MySQL/MariaDB message names.
#[derive(Debug, Default, PartialEq)]
pub struct Names {
    /// The table.
    pub table: Option<String>,
    /// The column.
    pub column: Option<String>,
    /// The constraint or key.
    pub constraint: Option<String>,
}

/// The table, column and constraint the message of error `number` names, where it has a
/// fixed form:
///
/// - 1062 `Duplicate entry '..' for key 'name'`: the key (MySQL 8 writes `table.key`: both);
/// - 1451/1452 `.. a foreign key constraint fails (`db`.`table`, CONSTRAINT `name` ..`: the
///   table and the constraint;
/// - 1048 `Column 'c' cannot be null`, 1364 `Field 'c' doesn't have a default value`: the
///   column;
/// - 4025 (MariaDB) `CONSTRAINT `name` failed for `db`.`table``: constraint and table;
///   3819 (MySQL) `Check constraint 'name' is violated.`: the constraint;
/// - 1264, 1265, 1292, 1366, 1406 `.. for column 'c' at row n` (MySQL) or
///   `.. for column `db`.`table`.`c` at row n` (MariaDB): the column (and the table).
///
/// ```
/// use coherent_sqlx::mysql::error::names;
/// let n = names(1452, "Cannot add or update a child row: a foreign key constraint fails \
///     (`app`.`posts`, CONSTRAINT `posts_user_fk` FOREIGN KEY (`user_id`) REFERENCES `users` (`id`))");
/// assert_eq!(n.table.as_deref(), Some("posts"));
/// assert_eq!(n.constraint.as_deref(), Some("posts_user_fk"));
/// assert_eq!(names(1048, "Column 'age' cannot be null").column.as_deref(), Some("age"));
/// ```
pub fn names(number: u16, message: &str) -> Names {
    let own = |s: &str| Some(s.to_owned());
    match number {
        1062 => {
            let Some(key) = message
                .rsplit_once(" for key '")
                .and_then(|(_, k)| k.strip_suffix('\''))
            else {
                return Names::default();
            };
            match key.split_once('.') {
                Some((table, key)) => Names {
                    table: own(table),
                    constraint: own(key),
                    column: None,
                },
                None => Names {
                    constraint: own(key),
                    ..Names::default()
                },
            }
        }
        1451 | 1452 => {
            let Some((_, rest)) = message.split_once("constraint fails (") else {
                return Names::default();
            };
            let (path, rest) = backticked(rest);
            Names {
                table: path.last().map(|t| (*t).to_owned()),
                constraint: rest
                    .strip_prefix(", CONSTRAINT ")
                    .and_then(|r| backticked(r).0.first().map(|c| (*c).to_owned())),
                column: None,
            }
        }
        1048 | 1364 => Names {
            column: message
                .strip_prefix("Column '")
                .or_else(|| message.strip_prefix("Field '"))
                .and_then(|r| r.split_once('\''))
                .map(|(c, _)| c.to_owned()),
            ..Names::default()
        },
        4025 => {
            let Some(rest) = message.strip_prefix("CONSTRAINT ") else {
                return Names::default();
            };
            let (name, rest) = backticked(rest);
            let table = rest
                .strip_prefix(" failed for ")
                .map(|r| backticked(r).0)
                .and_then(|path| path.last().map(|t| (*t).to_owned()));
            Names {
                constraint: name.first().map(|c| (*c).to_owned()),
                table,
                column: None,
            }
        }
        3819 => Names {
            constraint: message
                .strip_prefix("Check constraint '")
                .and_then(|r| r.rsplit_once("' is violated"))
                .map(|(c, _)| c.to_owned()),
            ..Names::default()
        },
        1264 | 1265 | 1292 | 1366 | 1406 => {
            let Some((_, rest)) = message.rsplit_once(" for column ") else {
                return Names::default();
            };
            if let Some(quoted) = rest.strip_prefix('\'') {
                return Names {
                    column: quoted.split_once('\'').map(|(c, _)| c.to_owned()),
                    ..Names::default()
                };
            }
            let (path, _) = backticked(rest);
            match path.as_slice() {
                [.., table, column] => Names {
                    table: own(table),
                    column: own(column),
                    constraint: None,
                },
                [column] => Names {
                    column: own(column),
                    ..Names::default()
                },
                [] => Names::default(),
            }
        }
        _ => Names::default(),
    }
}

/// A dotted path of backticked identifiers at the start of `s` (`` `db`.`t` ``), and the
/// rest of `s` after it.
fn backticked(s: &str) -> (Vec<&str>, &str) {
    let mut parts = Vec::new();
    let mut rest = s;
    while let Some(r) = rest.strip_prefix('`') {
        let Some((ident, after)) = r.split_once('`') else {
            break;
        };
        parts.push(ident);
        rest = after;
        match after.strip_prefix('.') {
            Some(next) if next.starts_with('`') => rest = next,
            _ => break,
        }
    }
    (parts, rest)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn n(table: Option<&str>, column: Option<&str>, constraint: Option<&str>) -> Names {
        Names {
            table: table.map(str::to_owned),
            column: column.map(str::to_owned),
            constraint: constraint.map(str::to_owned),
        }
    }

    #[test]
    fn unique_names_the_key() {
        assert_eq!(
            names(1062, "Duplicate entry 'a@x.io' for key 'users_email_key'"),
            n(None, None, Some("users_email_key"))
        );
        // The entry itself may look like the pattern: the key is the last one.
        assert_eq!(
            names(1062, "Duplicate entry 'x' for key 'y' for key 'email'"),
            n(None, None, Some("email"))
        );
        assert_eq!(
            names(1062, "Duplicate entry '1' for key 'PRIMARY'"),
            n(None, None, Some("PRIMARY"))
        );
        // MySQL 8 qualifies the key with its table.
        assert_eq!(
            names(1062, "Duplicate entry 'a' for key 'users.users_email_key'"),
            n(Some("users"), None, Some("users_email_key"))
        );
    }

    #[test]
    fn foreign_keys_name_the_table_and_constraint() {
        assert_eq!(
            names(
                1452,
                "Cannot add or update a child row: a foreign key constraint fails (`db`.`posts`, CONSTRAINT `fk_t` FOREIGN KEY (`user_id`) REFERENCES `users` (`id`))"
            ),
            n(Some("posts"), None, Some("fk_t"))
        );
        assert_eq!(
            names(
                1451,
                "Cannot delete or update a parent row: a foreign key constraint fails (`db`.`posts`, CONSTRAINT `fk_t` FOREIGN KEY (`user_id`) REFERENCES `users` (`id`))"
            ),
            n(Some("posts"), None, Some("fk_t"))
        );
        assert_eq!(
            names(
                1452,
                "Cannot add or update a child row: a foreign key constraint fails"
            ),
            n(None, None, None)
        );
    }

    #[test]
    fn not_null_names_the_column() {
        assert_eq!(
            names(1048, "Column 'age' cannot be null"),
            n(None, Some("age"), None)
        );
        assert_eq!(
            names(1364, "Field 'age' doesn't have a default value"),
            n(None, Some("age"), None)
        );
    }

    #[test]
    fn checks_name_the_constraint() {
        assert_eq!(
            names(4025, "CONSTRAINT `score_positive` failed for `db`.`posts`"),
            n(Some("posts"), None, Some("score_positive"))
        );
        assert_eq!(
            names(3819, "Check constraint 'score_positive' is violated."),
            n(None, None, Some("score_positive"))
        );
    }

    #[test]
    fn refused_values_name_the_column() {
        assert_eq!(
            names(1264, "Out of range value for column 'age' at row 1"),
            n(None, Some("age"), None)
        );
        assert_eq!(
            names(1406, "Data too long for column 'name' at row 1"),
            n(None, Some("name"), None)
        );
        assert_eq!(
            names(
                1366,
                "Incorrect integer value: 'x for column y' for column `db`.`readings`.`value` at row 1"
            ),
            n(Some("readings"), Some("value"), None)
        );
        assert_eq!(
            names(1292, "Truncated incorrect DOUBLE value: 'x'"),
            n(None, None, None)
        );
    }

    #[test]
    fn other_messages_name_nothing() {
        assert_eq!(
            names(1146, "Table 'db.nope' doesn't exist"),
            Names::default()
        );
        // Another language than English.
        assert_eq!(
            names(1048, "La colonne 'age' ne peut être vide"),
            Names::default()
        );
    }

    #[test]
    fn nowait() {
        assert!(asks_nowait("SELECT 1 FOR UPDATE NOWAIT "));
        assert!(!asks_nowait("SELECT 1 FOR UPDATE"));
    }

    #[test]
    fn backticked_paths() {
        assert_eq!(backticked("`a`.`b`, x"), (vec!["a", "b"], ", x"));
        assert_eq!(backticked("`a`. x"), (vec!["a"], ". x"));
        assert_eq!(backticked("no"), (vec![], "no"));
        assert_eq!(backticked("`open"), (vec![], "`open"));
    }
}
