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
    pub fn parse(path: impl Into<String>, text: &str) -> Result<SqlFile> {
        let path = path.into();
        match split(text) {
            Ok(statements) => Ok(SqlFile { path, statements }),
            Err(e) => Err(Error::Malformed {
                path: path.into(),
                reason: e.to_string(),
            }),
        }
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
