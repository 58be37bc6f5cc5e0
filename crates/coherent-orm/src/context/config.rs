//! [`OrmConfig`]: options of an `Orm`, shared by all its EntityManagers.

/// Default of [`OrmConfig::lock_timeout_while_suspended`].
pub const DEFAULT_LOCK_TIMEOUT_WHILE_SUSPENDED: std::time::Duration =
    std::time::Duration::from_secs(10);

/// Options of an `Orm`.
#[derive(Debug, Clone)]
pub struct OrmConfig {
    /// Allow context-specific methods (`find`, `persist`, `flush`, ...) on the global
    /// EntityManager. Off by default: a long-lived identity map shared by every request is
    /// how stale data gets served (see the README's quickstart). `fork` is always allowed.
    pub allow_global_context: bool,
    /// Rows per multi-row INSERT, UPDATE and keys per DELETE (further limited by the
    /// backend's parameter limit). `None` (the default) takes the backend's own: 300 on
    /// SQLite (MikroORM's), 1 000 on MySQL (each statement is a round trip; measured in
    /// BENCHMARKS.md); PostgreSQL's array statements are not chunked by it.
    pub batch_size: Option<usize>,
    /// When queries flush pending changes first (default [`crate::FlushMode::Auto`]).
    pub flush_mode: crate::FlushMode,
    /// Disable transactions (MikroORM's `disableTransactions`): `transactional` just runs its
    /// closure, `begin`/`rollback` do nothing, `commit` only flushes, and a flush runs without
    /// BEGIN/COMMIT: if a statement fails, those before it stay written (and are applied to
    /// memory), the rest stays pending. Default false.
    pub disable_transactions: bool,
    /// How long a statement waits for a lock while its task has suspended a transaction (to
    /// run a `RequiresNew` or `NotSupported` scope inside it), before
    /// [`coherent_core::Error::LockTimeout`]: the suspended transaction holds its locks until
    /// the scope ends, so a wait for one of them would never end. Default 10 s (long enough
    /// for ordinary contention with other tasks, short enough to surface the mistake);
    /// `None` leaves the server's own setting (PostgreSQL: no limit; MariaDB: 50 s). A
    /// `RequiresNew` scope's [`crate::TxOptions::lock_timeout`] overrides it for that scope's
    /// transaction. PostgreSQL and MySQL only: SQLite waits at most its busy timeout.
    pub lock_timeout_while_suspended: Option<std::time::Duration>,
    /// The key cursor tokens are signed with ([`crate::EntityManager::find_page`]). `None`
    /// (the default) takes a random key when the Orm is built: tokens then work only with
    /// the Orm that made them, so give every instance of a service the same key.
    pub cursor_key: Option<crate::CursorKey>,
}

impl Default for OrmConfig {
    fn default() -> Self {
        OrmConfig {
            allow_global_context: false,
            batch_size: None,
            flush_mode: crate::FlushMode::Auto,
            disable_transactions: false,
            lock_timeout_while_suspended: Some(DEFAULT_LOCK_TIMEOUT_WHILE_SUSPENDED),
            cursor_key: None,
        }
    }
}
