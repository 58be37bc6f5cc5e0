//! [`IsolationLevel`]: the isolation levels a transaction can ask for.

/// A transaction isolation level (MikroORM's `IsolationLevel`, reference 1.1).
///
/// Which levels a backend has is the dialect's business: asking for one it lacks is the typed
/// error [`crate::Error::IsolationUnsupported`], never silently ignored. SQLite transactions are
/// always serializable.
///
/// ```
/// use coherent_core::IsolationLevel;
/// assert_eq!(IsolationLevel::RepeatableRead.sql(), "REPEATABLE READ");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum IsolationLevel {
    /// `READ UNCOMMITTED`
    ReadUncommitted,
    /// `READ COMMITTED`
    ReadCommitted,
    /// `SNAPSHOT` (SQL Server)
    Snapshot,
    /// `REPEATABLE READ`
    RepeatableRead,
    /// `SERIALIZABLE`
    Serializable,
}

impl IsolationLevel {
    /// The level as SQL writes it.
    pub fn sql(self) -> &'static str {
        match self {
            IsolationLevel::ReadUncommitted => "READ UNCOMMITTED",
            IsolationLevel::ReadCommitted => "READ COMMITTED",
            IsolationLevel::Snapshot => "SNAPSHOT",
            IsolationLevel::RepeatableRead => "REPEATABLE READ",
            IsolationLevel::Serializable => "SERIALIZABLE",
        }
    }
}
