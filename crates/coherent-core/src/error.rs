//! The one error type of Coherent.
//!
//! Policy:
//! - Every failure a user can provoke is a typed variant they can match on, never a
//!   stringly `Other`. Messages that MikroORM users know are kept word for word (see
//!   `mikro-orm-semantics.md` 1.14).
//! - Drivers classify their native errors into these variants (constraint kind, lock
//!   timeout, deadlock, connection lost) by code, never by message. Every variant a
//!   database's refusal becomes (`Constraint`, `LockTimeout`, `LockNotAvailable`,
//!   `Deadlock`, `SerializationFailure`, `TransactionAborted`, `InvalidData`, `Database`)
//!   carries a [`DatabaseError`] (one pointer wide) as its `#[source]`: the native code (SQLSTATE, MySQL
//!   error number, SQLite result code name), the message, the constraint, table, column,
//!   detail and hint where the backend gives them, and the driver's own error (`sqlx::Error`,
//!   `rusqlite::Error`) as *its* source, so `source()` chains reach it.
//!   [`Error::database_error`] returns it for any of them. A [`Error::Connection`] carries
//!   the driver's error as its source directly.
//! - The texts are Rust-worded sentences saying what failed, with the database's message at
//!   the end (never its detail, which may hold the row's values).

use crate::DatabaseError;

/// What kind of constraint a statement violated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConstraintKind {
    /// A UNIQUE or PRIMARY KEY constraint.
    Unique,
    /// A FOREIGN KEY constraint.
    ForeignKey,
    /// A NOT NULL constraint.
    NotNull,
    /// A CHECK constraint.
    Check,
}

impl std::fmt::Display for ConstraintKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            ConstraintKind::Unique => "unique",
            ConstraintKind::ForeignKey => "foreign key",
            ConstraintKind::NotNull => "not null",
            ConstraintKind::Check => "check",
        })
    }
}

/// Coherent's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Every error Coherent returns.
///
/// ```
/// use coherent_core::Error;
/// let e = Error::NotFound { entity: "User", key: "1".into() };
/// assert_eq!(e.to_string(), "User not found (1)");
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A context-specific method was called on the global EntityManager while
    /// `allow_global_context` is off. The message starts with MikroORM's sentence (the one
    /// users search for), followed by the Rust remedy.
    #[error(
        "Using global EntityManager instance methods for context specific actions is disallowed. Work on a fork of your own (`em.fork()`, or a request context: `RequestContext::create`), or allow work on the global identity map with `OrmBuilder::allow_global_context(true)`."
    )]
    GlobalContext,

    /// The Orm was closed ([`Orm::close`](../coherent_orm/struct.Orm.html#method.close)):
    /// no new connection is handed out once closing began, and nothing runs after it ended.
    #[error("the Orm is closed: Orm::close was called, so no more work runs on it")]
    Closed,

    /// `find_one_or_fail` found nothing.
    #[error("{entity} not found ({key})")]
    NotFound {
        /// The entity type.
        entity: &'static str,
        /// The key or filter looked up.
        key: String,
    },

    /// The entity handle does not belong to this EntityManager's identity map.
    #[error(
        "Entity {entity} is not managed. An entity is managed if it was loaded from the database or registered as new with `em.persist(..)` on this EntityManager"
    )]
    NotManaged {
        /// The entity type.
        entity: &'static str,
    },

    /// `persist` of an entity whose key is already managed by another instance.
    #[error(
        "{entity} with key {key} is already managed by this EntityManager; change the managed instance instead of persisting a second one"
    )]
    DuplicateIdentity {
        /// The entity type.
        entity: &'static str,
        /// The key.
        key: String,
    },

    /// `commit`/`rollback` (or a pessimistic lock) without an open transaction.
    #[error("An open transaction is required for this operation")]
    TransactionRequired,

    /// A `Mandatory` scope found no transaction (MikroORM's `TransactionStateError`).
    #[error(
        "No existing transaction found for transaction marked with propagation \"{propagation}\""
    )]
    RequiredTransactionNotFound {
        /// The propagation's name (`mandatory`).
        propagation: &'static str,
    },

    /// A `Never` scope found a transaction (MikroORM's `TransactionStateError`).
    #[error("Existing transaction found for transaction marked with propagation \"{propagation}\"")]
    TransactionNotAllowed {
        /// The propagation's name (`never`).
        propagation: &'static str,
    },

    /// `RequiresNew` inside a transaction on a backend with a single writer (SQLite): the new
    /// transaction would wait for the outer one's write lock, which waits for it.
    #[error(
        "propagation \"requires_new\" needs a second writer while the outer transaction holds the write lock, and {backend} allows only one at a time: it would wait forever; join the transaction (Required/Nested) or run the work after it"
    )]
    RequiresNewUnavailable {
        /// The backend.
        backend: &'static str,
    },

    /// A write of a row that a transaction this task suspended (to run a `RequiresNew` or
    /// `NotSupported` scope inside it) wrote or locked: the statement would wait for that
    /// transaction's row lock, and the transaction waits for the scope. Refused before any SQL
    /// of the flush; the flush is undone as any failed flush (memory as before it).
    #[error(
        "{entity} {key} was written or locked by a transaction this task suspended to run a requires_new or not_supported scope, and it waits for that scope: writing the row here would wait forever; change it in the suspended transaction (join it with Required or Nested), or after it ends"
    )]
    WouldDeadlock {
        /// The entity type.
        entity: &'static str,
        /// Its key.
        key: String,
    },

    /// Taking a connection while every connection of the pool is held by a transaction this
    /// task suspended to run a `RequiresNew` or `NotSupported` scope inside it: those
    /// transactions wait for the scope, so nobody could give a connection back and the wait
    /// would never end. Refused at once, before waiting.
    #[error(
        "all {max_connections} connection(s) of the pool are held by transactions this task suspended to run a requires_new or not_supported scope, and they wait for it: taking another would wait forever; raise max_connections, or join the open transaction (Required/Nested)"
    )]
    ConnectionsPinned {
        /// The pool's size.
        max_connections: usize,
    },

    /// A statement of an EntityManager whose open transaction's connection is reading a
    /// stream (`EntityManager::stream` inside the transaction): the connection can run one
    /// query at a time, and the stream goes on only while the application reads it, so
    /// waiting for it here would wait forever. Refused at once, before any SQL; read the
    /// stream to its end or drop it first.
    #[error(
        "the transaction's connection is reading a stream of {entity}: nothing else can run on it until the stream ends, and the stream only moves while it is read, so waiting would wait forever; read the stream to its end or drop it first"
    )]
    StreamOpen {
        /// The entity the stream reads.
        entity: &'static str,
    },

    /// The backend has no such isolation level.
    #[error("{backend} has no isolation level {level}")]
    IsolationUnsupported {
        /// The level asked for (`REPEATABLE READ`).
        level: &'static str,
        /// The backend.
        backend: &'static str,
    },

    /// A flush inside a read-only transaction.
    #[error("cannot write inside a read-only transaction")]
    ReadOnlyTransaction,

    /// The transaction could only roll back, and was rolled back instead of committed: a scope
    /// that joined it failed, or a statement inside it failed in a way that dooms the whole
    /// transaction (a deadlock or a serialization failure: see
    /// [`Error::dooms_transaction`]). In the second case the error is retryable: running the
    /// whole unit of work again may succeed.
    #[error("the transaction was rolled back: {}", if *.retryable {
        "a statement inside it failed with a deadlock or a serialization failure, which marked it rollback-only; run the whole unit of work again"
    } else {
        "a scope that joined it failed, which marked it rollback-only"
    })]
    RollbackOnly {
        /// A deadlock or serialization failure doomed the transaction (so the whole unit of
        /// work may be retried).
        retryable: bool,
    },

    /// Work that runs against "the current context" found none on the task, or several Orms'.
    #[error(
        "no single context to run in: {reason}; run inside RequestContext::create (or behind the axum RequestContextLayer), or name the EntityManager with `em = <expression>`"
    )]
    NoContext {
        /// What was found.
        reason: &'static str,
    },

    /// The entity type was not registered with the `Orm`.
    #[error(
        "entity {entity} is not registered with this Orm; add it with OrmBuilder::entity::<{entity}>(), or register every derived entity with OrmBuilder::all_entities()"
    )]
    UnknownEntity {
        /// The entity type.
        entity: &'static str,
    },

    /// A statement violated a constraint. The constraint's name, table and column are the
    /// source's [`DatabaseError::constraint`], [`DatabaseError::table`] and
    /// [`DatabaseError::column`], where the backend gives them.
    ///
    /// ```
    /// use coherent_core::{ConstraintKind, DatabaseError, Error};
    ///
    /// fn explain(err: &Error) -> String {
    ///     match err {
    ///         Error::Constraint { kind: ConstraintKind::Unique, source } => {
    ///             format!("{} is taken", source.column().unwrap_or("the value"))
    ///         }
    ///         other => other.to_string(),
    ///     }
    /// }
    /// let err = Error::Constraint {
    ///     kind: ConstraintKind::Unique,
    ///     source: DatabaseError::new("UNIQUE constraint failed: users.email")
    ///         .with_code("SQLITE_CONSTRAINT_UNIQUE")
    ///         .with_table(Some("users"))
    ///         .with_column(Some("email")),
    /// };
    /// assert_eq!(explain(&err), "email is taken");
    /// assert_eq!(
    ///     err.to_string(),
    ///     "unique constraint violated on users.email: UNIQUE constraint failed: users.email"
    /// );
    /// ```
    #[error("{kind} constraint violated{}: {}", describe(source), source.message())]
    Constraint {
        /// Which kind of constraint.
        kind: ConstraintKind,
        /// What the database said.
        #[source]
        source: DatabaseError,
    },

    /// Waiting for a lock took longer than the configured timeout (SQLite `SQLITE_BUSY`,
    /// PostgreSQL 55P03 after `lock_timeout`, MySQL 1205).
    #[error("lock wait timed out: {}", source.message())]
    LockTimeout {
        /// What the database said.
        #[source]
        source: DatabaseError,
    },

    /// A statement ran longer than the configured statement timeout
    /// ([`crate::ConnectOptions::statement_timeout`]) and was cancelled (PostgreSQL 57014,
    /// MariaDB 1969, MySQL 3024, an interrupted SQLite statement). Not retryable: the same
    /// statement would most likely take as long again. Nothing of the statement is written;
    /// a flush it belonged to is rolled back (memory as before it).
    #[error("statement timed out: {}", source.message())]
    StatementTimeout {
        /// What the database said.
        #[source]
        source: DatabaseError,
    },

    /// A reference's entity was read but is not loaded: references never query behind the
    /// caller's back; load it with `em.load(&reference)` (or populate it).
    #[error("the reference to {entity} {key} is not loaded: load it with em.load(&reference)")]
    ReferenceNotLoaded {
        /// The referenced entity type.
        entity: &'static str,
        /// Its key.
        key: String,
    },

    /// A collection was read or changed but is not loaded: collections never query behind
    /// the caller's back; populate it (`FindOptions::populate`, `em.populate_paths`).
    #[error(
        "the collection {relation} of {entity} is not loaded: populate it before reading or changing it"
    )]
    CollectionNotLoaded {
        /// The item entity type.
        entity: &'static str,
        /// The field holding it, `Owner.field` (`?` for a collection made by hand).
        relation: &'static str,
    },

    /// An item was removed from a one-to-many collection without orphan removal, and its
    /// reference back to the owner is not nullable: it can be neither unlinked nor left.
    /// Raised by the flush before any SQL.
    #[error(
        "{item} was removed from {owner_entity}.{field} of {owner}, but {item_entity}.{reference} is not nullable: delete it with em.remove, or declare the collection with orphan_removal"
    )]
    RemovedItemNotNullable {
        /// The item, described (`Post(3)`).
        item: String,
        /// The owner's entity type.
        owner_entity: &'static str,
        /// The collection field.
        field: &'static str,
        /// The owner, described.
        owner: String,
        /// The item's entity type.
        item_entity: &'static str,
        /// The item's reference back to the owner.
        reference: &'static str,
    },

    /// The inverse side of a many-to-many relation was changed: only the owning side's
    /// changes are written. Raised by the flush before any SQL.
    #[error(
        "{field} of {owner} changed, but it is the inverse side of {owning_entity}.{owning_field}: change the owning side"
    )]
    InverseSideChanged {
        /// The inverse collection field.
        field: &'static str,
        /// Its owner, described.
        owner: String,
        /// The owning side's entity type.
        owning_entity: &'static str,
        /// The owning side's field.
        owning_field: &'static str,
    },

    /// An optimistic lock failed: a versioned or concurrency-checked UPDATE found no row
    /// with the expected version or values (someone else changed or deleted it), or a
    /// concurrency-checked entity was changed without changing any checked field.
    #[error("The optimistic lock on entity {entity} failed")]
    OptimisticLock {
        /// The entity type.
        entity: &'static str,
        /// Its key.
        key: String,
    },

    /// An optimistic lock was asked for on an entity without a version.
    #[error("Cannot obtain optimistic lock on unversioned entity {entity}")]
    NotVersioned {
        /// The entity type.
        entity: &'static str,
    },

    /// `lock_version` / `em.lock` found another version in memory than the caller expected.
    #[error(
        "The optimistic lock failed, version {expected} was expected, but is actually {actual}"
    )]
    VersionMismatch {
        /// The entity type.
        entity: &'static str,
        /// The version the caller expected.
        expected: String,
        /// The version the entity has.
        actual: String,
    },

    /// A pessimistic lock mode the backend cannot honour as asked (lock table aliases on
    /// MySQL, which has no `FOR UPDATE OF`; a pessimistic lock in a read-only SQLite
    /// transaction).
    #[error("lock mode {mode} is not supported here: {reason}")]
    LockUnsupported {
        /// The lock mode.
        mode: &'static str,
        /// Why.
        reason: String,
    },

    /// A `NOWAIT` lock request found the row locked (PostgreSQL 55P03; MariaDB reports it as
    /// 1205, MySQL as 3572).
    #[error("lock not available: {}", source.message())]
    LockNotAvailable {
        /// What the database said.
        #[source]
        source: DatabaseError,
    },

    /// The database chose this transaction as a deadlock victim and rolled it back
    /// (PostgreSQL 40P01, MySQL 1213). Running the whole transaction again may succeed.
    #[error("deadlock detected: {}", source.message())]
    Deadlock {
        /// What the database said.
        #[source]
        source: DatabaseError,
    },

    /// A serializable transaction could not be serialized (SQLSTATE 40001). Running the whole
    /// transaction again may succeed.
    #[error("could not serialize access: {}", source.message())]
    SerializationFailure {
        /// What the database said.
        #[source]
        source: DatabaseError,
    },

    /// A statement failed inside a transaction the database then refuses to continue
    /// (PostgreSQL aborts a transaction at its first error); COMMIT was turned into ROLLBACK.
    /// Its source is PostgreSQL's refusal (25P02) where the server answered; where the driver
    /// refused the statement itself (it knows the transaction is aborted) the source has no
    /// code and its message is the error that aborted the transaction, which was returned
    /// (with its native error) by the statement that failed first.
    #[error("the transaction was aborted by an earlier error and has been rolled back: {}", source.message())]
    TransactionAborted {
        /// What the database said, or the error that aborted the transaction.
        #[source]
        source: DatabaseError,
    },

    /// The database refused a bound value: out of range for its column, too long, or not
    /// representable (PostgreSQL SQLSTATE class 22, e.g. a NUL byte in text; MySQL 1264,
    /// 1366, 1406; SQLite `SQLITE_CONSTRAINT_DATATYPE` in a STRICT table, `SQLITE_TOOBIG`).
    /// Nothing was written by the statement. A value Coherent refuses itself before sending
    /// (a MySQL decimal the column would round) has no code.
    #[error("invalid value for the database{}: {}", source.code().map(|c| format!(" ({c})")).unwrap_or_default(), source.message())]
    InvalidData {
        /// What the database said.
        #[source]
        source: DatabaseError,
    },

    /// A statement affected another number of rows than the Unit of Work required.
    #[error("{entity} with key {key}: expected {expected} affected row(s), got {actual}")]
    RowCountMismatch {
        /// The entity type.
        entity: &'static str,
        /// The key of the first row concerned.
        key: String,
        /// Rows expected.
        expected: u64,
        /// Rows affected.
        actual: u64,
    },

    /// A cell could not be decoded into its field.
    #[error("cannot decode column {column}: {message}")]
    Decode {
        /// The column (as `Entity.column` where known).
        column: String,
        /// Why.
        message: String,
    },

    /// A connection could not be had, or was lost. `sent` tells whether the failed work may
    /// have reached the database: false when the connection could not be opened or taken
    /// from the pool, or failed before any statement of the work was sent (then nothing of
    /// it ran, and [`Error::is_retryable`] says so); true when it failed after (a statement
    /// outside a transaction may have run). A lost connection rolls back the transaction it
    /// had open; a loss during COMMIT itself is [`Error::CommitOutcomeUnknown`] instead,
    /// where the driver cannot find out what happened.
    #[error("connection error{}: {message}", if *sent { "" } else { " (nothing was sent)" })]
    Connection {
        /// What failed.
        message: String,
        /// Whether the failed work may have reached the database.
        sent: bool,
        /// The driver's error.
        #[source]
        source: Option<Box<dyn std::error::Error + Send + Sync>>,
    },

    /// The connection was lost while COMMIT was on its way, and whether the transaction
    /// committed could not be determined (MySQL/MariaDB cannot tell; PostgreSQL can unless the
    /// server stays unreachable). Memory is left as before the flush, and every instance the
    /// transaction inserted is marked in doubt: a later flush refuses to insert it again
    /// ([`Error::InDoubt`]) until the application has looked at the database and resolved it.
    #[error(
        "the connection was lost during COMMIT and the outcome is unknown: the transaction may or may not have committed ({message})"
    )]
    CommitOutcomeUnknown {
        /// What was lost, and why the outcome could not be resolved.
        message: String,
        /// The error that cut the COMMIT short.
        #[source]
        source: Option<Box<Error>>,
    },

    /// A flush would insert an instance that a transaction of unknown outcome already
    /// inserted ([`Error::CommitOutcomeUnknown`]): inserting it again could store it twice.
    /// Resolve it first: `em.clear()` (and read the rows again), `em.remove(&e)` to drop the
    /// pending insert, or `em.resolve_in_doubt(&e)` once the row is known not to exist.
    #[error(
        "{entity} {key} may already have been inserted by a transaction whose COMMIT outcome is unknown; resolve it before flushing it again"
    )]
    InDoubt {
        /// The entity type.
        entity: &'static str,
        /// Its key (empty for a key the database generates).
        key: String,
    },

    /// Invalid configuration (URL, options).
    #[error("configuration error: {0}")]
    Config(String),

    /// An argument the caller passed is unusable.
    #[error("invalid argument: {0}")]
    InvalidArgument(String),

    /// A query that cannot be rendered as asked, refused before any SQL: an aggregate in a
    /// filter, `having` without `group_by`, a raw fragment whose `?` count does not match its
    /// parameters, an order or path that does not lead to a column.
    #[error("invalid query: {0}")]
    InvalidQuery(String),

    /// A field name given by the caller (`fields([..])`, a column mapping of `find_by_sql`)
    /// that the entity does not have.
    #[error("{entity} has no field {field:?} (its fields: {known})")]
    UnknownField {
        /// The entity type.
        entity: &'static str,
        /// The name asked for.
        field: String,
        /// The entity's field names, comma-separated.
        known: String,
    },

    /// A row handed to `find_by_sql` lacks a column the entity needs.
    #[error(
        "the rows of this query have no column {column:?}, which {entity}.{field} needs; select it (or alias it with `AS {column}`)"
    )]
    MissingColumn {
        /// The entity type.
        entity: &'static str,
        /// Its field.
        field: &'static str,
        /// The column name expected in the result.
        column: String,
    },

    /// A cursor token that cannot be used: malformed, tampered with, or made by another
    /// query (another entity, order or filter).
    #[error("invalid cursor: {reason}")]
    InvalidCursor {
        /// Why.
        reason: String,
    },

    /// A field of a partially loaded entity that was not loaded was read.
    #[error(
        "{entity}.{field} was not loaded (the entity was loaded with `fields([..])`): load it in full first"
    )]
    FieldNotLoaded {
        /// The entity type.
        entity: &'static str,
        /// The field.
        field: &'static str,
    },

    /// Any other error the database or its driver reported (a syntax error, a missing
    /// table), with the native code where there is one.
    #[error("database error{}: {}", source.code().map(|c| format!(" {c}")).unwrap_or_default(), source.message())]
    Database {
        /// What the database said.
        #[source]
        source: DatabaseError,
    },
}

/// ` on table.column (constraint)`, of what the database named.
fn describe(db: &DatabaseError) -> String {
    let place = match (db.table(), db.column()) {
        (Some(t), Some(c)) => format!(" on {t}.{c}"),
        (Some(x), None) | (None, Some(x)) => format!(" on {x}"),
        (None, None) => String::new(),
    };
    match db.constraint() {
        Some(c) => format!("{place} ({c})"),
        None => place,
    }
}

impl Error {
    /// The constraint kind, if this is a constraint violation.
    pub fn constraint_kind(&self) -> Option<ConstraintKind> {
        match self {
            Error::Constraint { kind, .. } => Some(*kind),
            _ => None,
        }
    }

    /// What the database said, if this is a refusal of the database or its driver: the
    /// [`DatabaseError`] of `Constraint`, `LockTimeout`, `LockNotAvailable`, `Deadlock`,
    /// `SerializationFailure`, `TransactionAborted`, `InvalidData` and `Database`.
    ///
    /// ```
    /// use coherent_core::{DatabaseError, Error};
    ///
    /// let err = Error::Database {
    ///     source: DatabaseError::new("no such table: nope").with_code("SQLITE_ERROR"),
    /// };
    /// assert_eq!(err.database_error().and_then(|db| db.code()), Some("SQLITE_ERROR"));
    /// assert_eq!(err.to_string(), "database error SQLITE_ERROR: no such table: nope");
    /// assert!(Error::Closed.database_error().is_none());
    /// ```
    pub fn database_error(&self) -> Option<&DatabaseError> {
        match self {
            Error::Constraint { source, .. }
            | Error::LockTimeout { source }
            | Error::LockNotAvailable { source }
            | Error::StatementTimeout { source }
            | Error::Deadlock { source }
            | Error::SerializationFailure { source }
            | Error::TransactionAborted { source }
            | Error::InvalidData { source }
            | Error::Database { source } => Some(source),
            _ => None,
        }
    }

    /// Whether running the same work again (in a fresh transaction, with freshly loaded
    /// entities) may succeed: a lock timeout, a deadlock, a serialization failure, an
    /// optimistic lock conflict, a connection that failed before anything was sent. A
    /// connection lost after the work was sent is not: the work may have run.
    ///
    /// ```
    /// use coherent_core::Error;
    /// assert!(Error::connection_unavailable("refused").is_retryable());
    /// assert!(!Error::connection_lost("reset by peer").is_retryable());
    /// ```
    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            Error::LockTimeout { .. }
                | Error::Deadlock { .. }
                | Error::SerializationFailure { .. }
                | Error::OptimisticLock { .. }
                | Error::RollbackOnly { retryable: true }
                | Error::Connection { sent: false, .. }
        )
    }

    /// Whether this failure inside a transaction leaves the transaction unable to commit what
    /// it did before: a deadlock (MySQL has already rolled the whole transaction back; the
    /// other side may have waited on locks it still holds) or a serialization failure (its
    /// snapshot is doomed). Coherent then marks the transaction rollback-only: its commit
    /// rolls back with `RollbackOnly { retryable: true }`. A lock timeout or an optimistic
    /// lock conflict leaves the transaction usable (only the failed flush is undone).
    pub fn dooms_transaction(&self) -> bool {
        matches!(
            self,
            Error::Deadlock { .. } | Error::SerializationFailure { .. }
        )
    }

    /// A connection error after which the work may have reached the database.
    pub fn connection_lost(message: impl Into<String>) -> Error {
        Error::Connection {
            message: message.into(),
            sent: true,
            source: None,
        }
    }

    /// A connection error before anything of the work was sent.
    pub fn connection_unavailable(message: impl Into<String>) -> Error {
        Error::Connection {
            message: message.into(),
            sent: false,
            source: None,
        }
    }

    /// [`Error::connection_lost`], caused by the driver's `source`.
    ///
    /// ```
    /// use coherent_core::Error;
    /// let e = Error::connection_lost_from("reset", std::io::Error::other("reset by peer"));
    /// assert!(std::error::Error::source(&e).is_some() && !e.is_retryable());
    /// ```
    pub fn connection_lost_from(
        message: impl Into<String>,
        source: impl std::error::Error + Send + Sync + 'static,
    ) -> Error {
        Error::Connection {
            message: message.into(),
            sent: true,
            source: Some(Box::new(source)),
        }
    }

    /// [`Error::connection_unavailable`], caused by the driver's `source`.
    ///
    /// ```
    /// use coherent_core::Error;
    /// let e = Error::connection_unavailable_from("refused", std::io::Error::other("refused"));
    /// assert!(std::error::Error::source(&e).is_some() && e.is_retryable());
    /// ```
    pub fn connection_unavailable_from(
        message: impl Into<String>,
        source: impl std::error::Error + Send + Sync + 'static,
    ) -> Error {
        Error::Connection {
            message: message.into(),
            sent: false,
            source: Some(Box::new(source)),
        }
    }

    /// Whether this is a connection error (sent or not).
    pub fn is_connection(&self) -> bool {
        matches!(self, Error::Connection { .. })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unique(db: DatabaseError) -> Error {
        Error::Constraint {
            kind: ConstraintKind::Unique,
            source: db,
        }
    }

    #[test]
    fn constraint_message_names_what_the_database_named() {
        let db = || DatabaseError::new("m");
        let cases = [
            (db(), "unique constraint violated: m"),
            (
                db().with_table(Some("users")).with_constraint(Some("uq")),
                "unique constraint violated on users (uq): m",
            ),
            (
                db().with_table(Some("users")).with_column(Some("email")),
                "unique constraint violated on users.email: m",
            ),
            (
                db().with_column(Some("age")),
                "unique constraint violated on age: m",
            ),
            (
                db().with_constraint(Some("uq")),
                "unique constraint violated (uq): m",
            ),
        ];
        for (db, text) in cases {
            assert_eq!(unique(db).to_string(), text);
        }
    }

    #[test]
    fn every_database_variant_exposes_its_database_error_as_source() {
        use std::error::Error as _;
        let db = || DatabaseError::new("m").with_code("c");
        let errors = [
            unique(DatabaseError::new("m").with_code("c")),
            Error::LockTimeout { source: db() },
            Error::LockNotAvailable { source: db() },
            Error::Deadlock { source: db() },
            Error::SerializationFailure { source: db() },
            Error::TransactionAborted { source: db() },
            Error::InvalidData { source: db() },
            Error::Database { source: db() },
        ];
        for e in errors {
            assert_eq!(e.database_error().unwrap().code(), Some("c"), "{e}");
            let source = e.source().unwrap();
            assert!(source.downcast_ref::<DatabaseError>().is_some(), "{e}");
            assert!(e.to_string().ends_with(": m"), "{e}");
        }
        assert!(Error::Deadlock { source: db() }.is_retryable());
        assert!(Error::SerializationFailure { source: db() }.dooms_transaction());
        assert!(!Error::Database { source: db() }.is_retryable());
    }

    #[test]
    fn the_error_stays_small() {
        // A DatabaseError is one box: the enum stays the size of its largest Coherent-made
        // variant.
        assert!(
            std::mem::size_of::<Error>() <= 128,
            "{}",
            std::mem::size_of::<Error>()
        );
    }
}
