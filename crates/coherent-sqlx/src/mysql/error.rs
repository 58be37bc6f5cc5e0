//! Classifying MySQL/MariaDB errors by error number.
//!
//! Policy: 1062 (duplicate entry) is a unique violation; 1451/1452 and 1216/1217 foreign
//! key violations; 1048 and 1364 not-null violations; 3819 (MySQL) and 4025 (MariaDB) check
//! violations. Their constraint is the name the message quotes (for a not-null violation, the
//! column); their table is None (a duplicate-entry message does not name it). 1205 is [`Error::LockTimeout`], except for a statement that asked for
//! `NOWAIT`, where MariaDB uses it for "lock not available" ([`Error::LockNotAvailable`],
//! which MySQL reports as 3572). 1213 is [`Error::Deadlock`] (the server has rolled the whole
//! transaction back). 1969 (MariaDB's `max_statement_time`) and 3024 (MySQL's
//! `max_execution_time`) are [`Error::StatementTimeout`]. Refused values (1264 out of range, 1265/1292/1366 incorrect value,
//! 1406 too long, 1690 out of range) are [`Error::InvalidData`]. Lost connections and pool failures are [`Error::Connection`]; the
//! rest is [`Error::Database`] with the error number.

use coherent_core::{ConstraintKind, Error};
use sqlx::mysql::MySqlDatabaseError;

/// Classifies an sqlx error from a MySQL connection running `sql`.
pub fn classify(error: sqlx::Error, sql: &str) -> Error {
    match error {
        sqlx::Error::Database(db) => {
            let message = db.message().to_owned();
            let number = db
                .try_downcast_ref::<MySqlDatabaseError>()
                .map(MySqlDatabaseError::number);
            // 2006 server gone away, 2013 lost during query, 1927 connection killed.
            if matches!(number, Some(2006 | 2013 | 1927)) {
                return crate::error::lost(message, sqlx::Error::Database(db));
            }
            let Some(my) = db.try_downcast_ref::<MySqlDatabaseError>() else {
                return Error::Database {
                    code: None,
                    message,
                };
            };
            let constraint = |kind| Error::Constraint {
                kind,
                table: None,
                constraint: constraint_name(&message),
                message: message.clone(),
            };
            match my.number() {
                1062 => constraint(ConstraintKind::Unique),
                1451 | 1452 | 1216 | 1217 => constraint(ConstraintKind::ForeignKey),
                1048 | 1364 => constraint(ConstraintKind::NotNull),
                3819 | 4025 => constraint(ConstraintKind::Check),
                1205 if asks_nowait(sql) => Error::LockNotAvailable { message },
                1205 => Error::LockTimeout { message },
                3572 => Error::LockNotAvailable { message },
                1213 => Error::Deadlock { message },
                1969 | 3024 => Error::StatementTimeout { message },
                1264 | 1265 | 1292 | 1366 | 1406 | 1690 => Error::InvalidData {
                    code: Some(my.number().to_string()),
                    message,
                },
                n => Error::Database {
                    code: Some(n.to_string()),
                    message,
                },
            }
        }
        other => crate::error::classify_other(other),
    }
}

fn asks_nowait(sql: &str) -> bool {
    sql.trim_end().to_ascii_uppercase().ends_with("NOWAIT")
}

/// The quoted name after `for key '..'` or `CONSTRAINT \`..\``, or the column of a not-null
/// violation (`Column '..' cannot be null`, `Field '..' doesn't have a default value`).
fn constraint_name(message: &str) -> Option<String> {
    let after = message
        .split_once("for key '")
        .map(|(_, r)| (r, '\''))
        .or_else(|| message.split_once("CONSTRAINT `").map(|(_, r)| (r, '`')))
        .or_else(|| message.strip_prefix("Column '").map(|r| (r, '\'')))
        .or_else(|| message.strip_prefix("Field '").map(|r| (r, '\'')))?;
    after.0.split(after.1).next().map(str::to_owned)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn constraint_names_are_read_from_messages() {
        assert_eq!(
            constraint_name("Duplicate entry 'a' for key 'uq_users_email'").as_deref(),
            Some("uq_users_email")
        );
        assert_eq!(
            constraint_name("Cannot add or update a child row: a foreign key constraint fails (`db`.`t`, CONSTRAINT `fk_t` FOREIGN KEY").as_deref(),
            Some("fk_t")
        );
        assert_eq!(
            constraint_name("Column 'age' cannot be null").as_deref(),
            Some("age")
        );
        assert_eq!(
            constraint_name("Field 'age' doesn't have a default value").as_deref(),
            Some("age")
        );
        assert!(asks_nowait("SELECT 1 FOR UPDATE NOWAIT "));
        assert!(!asks_nowait("SELECT 1 FOR UPDATE"));
    }
}
