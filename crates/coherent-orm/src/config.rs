//! [`OrmConfig`]: options of an `Orm`, shared by all its EntityManagers.

/// Options of an `Orm`.
#[derive(Debug, Clone)]
pub struct OrmConfig {
    /// Allow context-specific methods (`find`, `persist`, `flush`, ...) on the global
    /// EntityManager. Off by default: a long-lived identity map shared by every request is
    /// how stale data gets served (see the README's quickstart). `fork` is always allowed.
    pub allow_global_context: bool,
    /// Rows per multi-row INSERT and keys per DELETE (further limited by the backend's
    /// parameter limit). Default 300, as MikroORM.
    pub batch_size: usize,
    /// When queries flush pending changes first (default [`crate::FlushMode::Auto`]).
    pub flush_mode: crate::FlushMode,
    /// Disable transactions (MikroORM's `disableTransactions`): `transactional` just runs its
    /// closure, `begin`/`rollback` do nothing, `commit` only flushes, and a flush runs without
    /// BEGIN/COMMIT: if a statement fails, those before it stay written (and are applied to
    /// memory), the rest stays pending. Default false.
    pub disable_transactions: bool,
}

impl Default for OrmConfig {
    fn default() -> Self {
        OrmConfig {
            allow_global_context: false,
            batch_size: 300,
            flush_mode: crate::FlushMode::Auto,
            disable_transactions: false,
        }
    }
}
