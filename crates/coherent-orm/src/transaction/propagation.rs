//! [`Propagation`]: what a transactional scope does when a transaction is, or is not, open.

/// How a transactional scope relates to an open transaction (MikroORM's
/// `TransactionPropagation`, reference 1.4).
///
/// | propagation | a transaction is open | none is open |
/// |---|---|---|
/// | `Nested` (default of `transactional`) | a savepoint | a new transaction |
/// | `Required` (default of `#[transactional]`) | join it: same EntityManager, no flush; a failure marks it rollback-only | a new transaction |
/// | `Supports` | join it | no transaction: fork, run, flush, merge back |
/// | `Mandatory` | join it | `RequiredTransactionNotFound` |
/// | `Never` | `TransactionNotAllowed` | no transaction |
/// | `RequiresNew` | a new transaction on another connection, the open one suspended (`RequiresNewUnavailable` on SQLite: one writer) | a new transaction |
/// | `NotSupported` | the open one suspended, no transaction | no transaction |
///
/// A suspended transaction waits for the scope, holding its connection and locks: inside the
/// scope, a write of a row it wrote or locked is `Error::WouldDeadlock`, taking a connection
/// it would have to give back is `Error::ConnectionsPinned`, and every lock wait is bounded
/// (`OrmConfig::lock_timeout_while_suspended`).
///
/// ```
/// use coherent_orm::Propagation;
/// assert_eq!(Propagation::default(), Propagation::Nested);
/// assert_eq!(Propagation::Mandatory.name(), "mandatory");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Propagation {
    /// A savepoint inside an open transaction, else a new transaction.
    #[default]
    Nested,
    /// Join the open transaction, else start one.
    Required,
    /// Join the open transaction, else run without one.
    Supports,
    /// Join the open transaction; fail without one.
    Mandatory,
    /// Run without a transaction; fail if one is open.
    Never,
    /// A new, independent transaction on another connection; the open one is suspended.
    RequiresNew,
    /// Run without a transaction; an open one is suspended (its work is not seen, and what
    /// runs here commits on its own).
    NotSupported,
}

impl Propagation {
    /// The name MikroORM's messages use.
    pub fn name(self) -> &'static str {
        match self {
            Propagation::Nested => "nested",
            Propagation::Required => "required",
            Propagation::Supports => "supports",
            Propagation::Mandatory => "mandatory",
            Propagation::Never => "never",
            Propagation::RequiresNew => "requires_new",
            Propagation::NotSupported => "not_supported",
        }
    }
}
