//! [`FlushMode`]: when queries flush pending changes first (MikroORM v7, reference 1.9).
//!
//! Policy:
//! - `Auto` (default): before a query of entity type `T` (`find`, `find_one` when it queries,
//!   `count`), flush if `T` has work queued by `persist` or `remove`; changed fields of managed
//!   entities alone do not trigger it (v7). A query then never misses an entity the application
//!   just persisted, nor finds one it just removed.
//! - `Commit`: never flush before queries; `flush`, `commit` and the end of `transactional`
//!   still do.
//! - `Always`: flush everything before every query.
//! - Set on the Orm (`OrmBuilder::flush_mode`), on a fork (`ForkOptions::flush_mode`, else
//!   inherited), on a transaction (`TxOptions::flush_mode`), on one query
//!   (`FindOptions::flush_mode`), or changed with `EntityManager::set_flush_mode`. `refresh`
//!   never flushes.

/// When queries flush pending changes first.
///
/// ```
/// use coherent_orm::FlushMode;
/// assert_eq!(FlushMode::default(), FlushMode::Auto);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum FlushMode {
    /// Flush before a query of a type with queued persists or removals.
    #[default]
    Auto,
    /// Never flush before queries.
    Commit,
    /// Always flush before queries.
    Always,
}

impl FlushMode {
    pub(crate) fn to_u8(self) -> u8 {
        match self {
            FlushMode::Auto => 0,
            FlushMode::Commit => 1,
            FlushMode::Always => 2,
        }
    }

    pub(crate) fn from_u8(v: u8) -> FlushMode {
        match v {
            1 => FlushMode::Commit,
            2 => FlushMode::Always,
            _ => FlushMode::Auto,
        }
    }
}
