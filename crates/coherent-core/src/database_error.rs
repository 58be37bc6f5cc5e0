//! [`DatabaseError`]: what the database (or its driver) said when it refused a statement.
//!
//! Policy:
//! - **Every driver-originated [`Error`](crate::Error) variant carries one** as its
//!   `#[source]` (`Constraint`, `LockTimeout`, `LockNotAvailable`, `StatementTimeout`,
//!   `Deadlock`, `SerializationFailure`, `TransactionAborted`, `InvalidData`, `Database`),
//!   reachable with
//!   [`Error::database_error`](crate::Error::database_error) or through
//!   [`std::error::Error::source`].
//! - **The native error is its source**: the `sqlx::Error` or `rusqlite::Error` the driver
//!   got, boxed, so a `source()` chain reaches it and it can be downcast
//!   ([`DatabaseError::native`]). Only what Coherent refuses itself on the database's behalf
//!   (a MySQL decimal that would be rounded, a statement in a transaction an earlier error
//!   aborted) has none.
//! - **The code is the backend's own**: the SQLSTATE on PostgreSQL (`23505`), the error
//!   number on MySQL/MariaDB (`1062`), the name of the extended result code on SQLite
//!   (`SQLITE_CONSTRAINT_UNIQUE`). Codes differ per backend; the variant ([`ConstraintKind`]
//!   included) is what is portable.
//! - **Details only where the backend gives them, never guessed.** PostgreSQL sends
//!   constraint, table, column, detail and hint as fields of its error. MySQL/MariaDB and
//!   SQLite send a code and a message only; their drivers read the details that message
//!   reliably states (SQLite's `UNIQUE constraint failed: users.email` gives table and column;
//!   MariaDB's 1062 names the key, 1451/1452 the constraint and table, 1048 the column) and
//!   leave the rest `None`. MySQL's messages follow the server's `lc_messages`: in another
//!   language than English the details are `None` and the message is still kept whole.
//! - **`column` is one column.** A violation of a constraint over several columns has no
//!   column (PostgreSQL's detail and SQLite's message list them).
//! - **One pointer wide**: the fields live behind one box, so every variant carrying a
//!   `DatabaseError` keeps [`Error`] small, and the variant's source is the `DatabaseError`
//!   itself (`err.source()` downcasts to it).
//! - **Display is the database's message**, as the database wrote it; [`Error`]'s own text
//!   wraps it in a sentence saying what kind of failure it is.
//!
//! [`ConstraintKind`]: crate::ConstraintKind
//! [`Error`]: crate::Error

use std::error::Error as StdError;
use std::fmt;

/// What the database said when it refused a statement: its code, message and, where the
/// backend gives them, the constraint, table, column, detail and hint; the driver's own error
/// is the [`source`](StdError::source).
///
/// ```
/// use coherent_core::{ConstraintKind, DatabaseError, Error};
///
/// // What the PostgreSQL driver makes of a duplicate email.
/// let err = Error::Constraint {
///     kind: ConstraintKind::Unique,
///     source: DatabaseError::new(r#"duplicate key value violates unique constraint "users_email_key""#)
///         .with_code("23505")
///         .with_constraint(Some("users_email_key"))
///         .with_table(Some("users"))
///         .with_detail(Some("Key (email)=(a@x.io) already exists.")),
/// };
/// let db = err.database_error().unwrap();
/// assert_eq!(db.code(), Some("23505"));
/// assert_eq!(db.constraint(), Some("users_email_key"));
/// assert_eq!(db.table(), Some("users"));
/// assert_eq!(db.column(), None);
/// assert_eq!(db.detail(), Some("Key (email)=(a@x.io) already exists."));
/// assert_eq!(db.hint(), None);
/// assert_eq!(
///     err.to_string(),
///     r#"unique constraint violated on users (users_email_key): duplicate key value violates unique constraint "users_email_key""#
/// );
/// ```
pub struct DatabaseError(Box<Fields>);

struct Fields {
    code: Option<String>,
    message: String,
    constraint: Option<String>,
    table: Option<String>,
    column: Option<String>,
    detail: Option<String>,
    hint: Option<String>,
    source: Option<Box<dyn StdError + Send + Sync>>,
}

impl DatabaseError {
    /// A database error with only a message: no code, no details, no native error (add them
    /// with the `with_` methods).
    pub fn new(message: impl Into<String>) -> DatabaseError {
        DatabaseError(Box::new(Fields {
            code: None,
            message: message.into(),
            constraint: None,
            table: None,
            column: None,
            detail: None,
            hint: None,
            source: None,
        }))
    }

    /// Sets the native code (SQLSTATE, MySQL error number, SQLite result code name).
    pub fn with_code(mut self, code: impl Into<String>) -> DatabaseError {
        self.0.code = Some(code.into());
        self
    }

    /// Sets the name of the constraint (or index) the statement violated, where known.
    pub fn with_constraint(mut self, constraint: Option<impl Into<String>>) -> DatabaseError {
        self.0.constraint = constraint.map(Into::into);
        self
    }

    /// Sets the table concerned, where known.
    pub fn with_table(mut self, table: Option<impl Into<String>>) -> DatabaseError {
        self.0.table = table.map(Into::into);
        self
    }

    /// Sets the column concerned, where known (one column).
    pub fn with_column(mut self, column: Option<impl Into<String>>) -> DatabaseError {
        self.0.column = column.map(Into::into);
        self
    }

    /// Sets the detail, where known (PostgreSQL's `DETAIL`).
    pub fn with_detail(mut self, detail: Option<impl Into<String>>) -> DatabaseError {
        self.0.detail = detail.map(Into::into);
        self
    }

    /// Sets the hint, where known (PostgreSQL's `HINT`).
    pub fn with_hint(mut self, hint: Option<impl Into<String>>) -> DatabaseError {
        self.0.hint = hint.map(Into::into);
        self
    }

    /// Sets the driver's own error, which becomes the [`source`](StdError::source).
    pub fn with_source(
        mut self,
        source: impl Into<Box<dyn StdError + Send + Sync>>,
    ) -> DatabaseError {
        self.0.source = Some(source.into());
        self
    }

    /// The native code: the SQLSTATE on PostgreSQL (`23505`), the error number on
    /// MySQL/MariaDB (`1062`), the extended result code's name on SQLite
    /// (`SQLITE_CONSTRAINT_UNIQUE`). `None` where Coherent refused the statement itself.
    pub fn code(&self) -> Option<&str> {
        self.0.code.as_deref()
    }

    /// The database's message, as it wrote it.
    pub fn message(&self) -> &str {
        &self.0.message
    }

    /// The violated constraint's (or unique index's) name: PostgreSQL's constraint field;
    /// on MySQL/MariaDB the key of a duplicate entry, the foreign key or check constraint its
    /// message names; on SQLite the name of a CHECK constraint or of a unique index on
    /// expressions (a UNIQUE over columns is named by its columns: see [`Self::column`]).
    pub fn constraint(&self) -> Option<&str> {
        self.0.constraint.as_deref()
    }

    /// The table concerned: PostgreSQL's table field; the table SQLite's constraint messages
    /// and MySQL's foreign key and check messages name.
    pub fn table(&self) -> Option<&str> {
        self.0.table.as_deref()
    }

    /// The one column concerned: PostgreSQL's column field (a not-null violation); the column
    /// of SQLite's UNIQUE or NOT NULL message when it names one; the column MySQL names in a
    /// not-null violation or a refused value.
    pub fn column(&self) -> Option<&str> {
        self.0.column.as_deref()
    }

    /// PostgreSQL's detail (`Key (email)=(a@x.io) already exists.`). It may hold the values
    /// of the row: keep it out of responses to other users.
    pub fn detail(&self) -> Option<&str> {
        self.0.detail.as_deref()
    }

    /// PostgreSQL's hint (`No operator matches the given name and argument types. ..`).
    pub fn hint(&self) -> Option<&str> {
        self.0.hint.as_deref()
    }

    /// The driver's own error (a `sqlx::Error`, a `rusqlite::Error`), to downcast:
    ///
    /// ```
    /// use coherent_core::DatabaseError;
    ///
    /// let io = std::io::Error::other("disk full");
    /// let db = DatabaseError::new("disk full").with_source(io);
    /// let native = db.native().unwrap().downcast_ref::<std::io::Error>().unwrap();
    /// assert_eq!(native.to_string(), "disk full");
    /// assert!(DatabaseError::new("refused by Coherent").native().is_none());
    /// ```
    pub fn native(&self) -> Option<&(dyn StdError + Send + Sync + 'static)> {
        self.0.source.as_deref()
    }

    /// The driver's own error, owned.
    pub fn into_native(self) -> Option<Box<dyn StdError + Send + Sync>> {
        self.0.source
    }
}

impl fmt::Debug for DatabaseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Fields {
            code,
            message,
            constraint,
            table,
            column,
            detail,
            hint,
            source,
        } = &*self.0;
        f.debug_struct("DatabaseError")
            .field("code", code)
            .field("message", message)
            .field("constraint", constraint)
            .field("table", table)
            .field("column", column)
            .field("detail", detail)
            .field("hint", hint)
            .field("source", source)
            .finish()
    }
}

impl fmt::Display for DatabaseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0.message)
    }
}

impl StdError for DatabaseError {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        self.0
            .source
            .as_deref()
            .map(|e| e as &(dyn StdError + 'static))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_native_error_is_the_source_and_downcasts() {
        let db = DatabaseError::new("broken pipe")
            .with_code("08006")
            .with_source(std::io::Error::new(std::io::ErrorKind::BrokenPipe, "pipe"));
        assert_eq!(db.to_string(), "broken pipe");
        let source = StdError::source(&db).unwrap();
        let io = source.downcast_ref::<std::io::Error>().unwrap();
        assert_eq!(io.kind(), std::io::ErrorKind::BrokenPipe);
        let native = db.into_native().unwrap();
        assert!(native.downcast_ref::<std::io::Error>().is_some());
    }

    #[test]
    fn debug_shows_every_field() {
        let db = DatabaseError::new("m").with_code("c").with_hint(Some("h"));
        assert_eq!(
            format!("{db:?}"),
            r#"DatabaseError { code: Some("c"), message: "m", constraint: None, table: None, column: None, detail: None, hint: Some("h"), source: None }"#
        );
    }

    #[test]
    fn details_default_to_none() {
        let db = DatabaseError::new("m");
        assert_eq!(db.code(), None);
        assert_eq!(db.message(), "m");
        assert_eq!(
            (
                db.constraint(),
                db.table(),
                db.column(),
                db.detail(),
                db.hint()
            ),
            (None, None, None, None, None)
        );
        assert!(StdError::source(&db).is_none());
    }

    #[test]
    fn setters_take_none_too() {
        let db = DatabaseError::new("m")
            .with_table(Some("t"))
            .with_table(None::<&str>)
            .with_column(Some(String::from("c")))
            .with_hint(Some("h"));
        assert_eq!(
            (db.table(), db.column(), db.hint()),
            (None, Some("c"), Some("h"))
        );
    }
}
