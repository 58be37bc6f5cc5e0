//! [`SqlFile`]: one SQL file of a migration, split into its statements when it is read.

use crate::error::{Error, Result};
use crate::migration::split::split;

/// An `up.sql` or `down.sql`: where it comes from (for error messages) and its statements.
///
/// ```
/// use coherent_migrate::migration::SqlFile;
/// let file = SqlFile::parse("migrations/20260101000000_a/up.sql", "CREATE TABLE a (id INT);\nCREATE TABLE b (id INT);")?;
/// assert_eq!(file.statements().len(), 2);
/// assert!(SqlFile::parse("up.sql", "SELECT 'oops").is_err());
/// # Ok::<(), coherent_migrate::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SqlFile {
    path: String,
    statements: Vec<String>,
}

impl SqlFile {
    /// Splits `text`, the content of the file at `path`, into statements; an unterminated
    /// quote, comment or body is [`Error::Malformed`] naming `path` and the line.
    /// A statement that ends or opens a transaction (`BEGIN`, `START TRANSACTION`, `COMMIT`,
    /// `END`, `ROLLBACK`) is [`Error::Malformed`] too: the Migrator runs each migration in
    /// a transaction of its own, with its history row.
    pub fn parse(path: impl Into<String>, text: &str) -> Result<SqlFile> {
        let path = path.into();
        let malformed = |reason: String| Error::Malformed {
            path: path.clone().into(),
            reason,
        };
        let statements = split(text).map_err(|e| malformed(e.to_string()))?;
        if let Some((index, sql)) = statements
            .iter()
            .enumerate()
            .find(|(_, sql)| controls_transaction(sql))
        {
            return Err(malformed(format!(
                "statement {} ({sql}) controls the transaction: the Migrator runs each migration in a transaction of its own",
                index + 1
            )));
        }
        Ok(SqlFile { path, statements })
    }

    /// Where the file comes from (a path, or the path an embedded file was read from).
    pub fn path(&self) -> &str {
        &self.path
    }

    /// The statements, in order.
    pub fn statements(&self) -> &[String] {
        &self.statements
    }
}

/// Whether `sql` opens or ends a transaction (`ROLLBACK TO` a savepoint does neither).
fn controls_transaction(sql: &str) -> bool {
    let mut words = sql
        .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .filter(|w| !w.is_empty())
        .map(str::to_ascii_uppercase);
    match (words.next().as_deref(), words.next().as_deref()) {
        (Some("BEGIN" | "COMMIT" | "END"), _) => true,
        (Some("START"), Some("TRANSACTION")) => true,
        (Some("ROLLBACK"), next) => next != Some("TO"),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transaction_control_is_refused() {
        for sql in [
            "BEGIN;",
            "begin transaction;",
            "START TRANSACTION;",
            "COMMIT;",
            "END;",
            "ROLLBACK;",
            "ROLLBACK WORK;",
        ] {
            let err =
                SqlFile::parse("up.sql", &format!("CREATE TABLE a (id INT);\n{sql}")).unwrap_err();
            assert!(
                matches!(&err, Error::Malformed { reason, .. } if reason.starts_with("statement 2 (")),
                "{sql}: {err}"
            );
        }
        for sql in [
            "ROLLBACK TO SAVEPOINT s;",
            "SAVEPOINT s;",
            "CREATE TRIGGER t AFTER INSERT ON a BEGIN SELECT 1; END;",
            "START_TIME_TABLE;",
        ] {
            assert!(SqlFile::parse("up.sql", sql).is_ok(), "{sql}");
        }
    }
}
