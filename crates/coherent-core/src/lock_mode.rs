//! [`LockMode`]: optimistic and pessimistic locking, as MikroORM names them.
//!
//! Policy: every pessimistic mode needs an open transaction (the typed error
//! `An open transaction is required for this operation` otherwise); none is ever silently
//! ignored. The SQL per dialect is rendered by `coherent-sql`'s `lock` module.

/// How a read locks what it reads.
///
/// ```
/// use coherent_core::LockMode;
/// assert!(LockMode::PessimisticPartialWrite.is_pessimistic());
/// assert!(!LockMode::Optimistic.is_pessimistic());
/// assert_eq!(LockMode::PessimisticWriteOrFail.name(), "PessimisticWriteOrFail");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum LockMode {
    /// No lock.
    #[default]
    None,
    /// Compare the version in memory with the one the caller expects (no SQL).
    Optimistic,
    /// `FOR SHARE` / `LOCK IN SHARE MODE`.
    PessimisticRead,
    /// `FOR UPDATE`.
    PessimisticWrite,
    /// `FOR UPDATE SKIP LOCKED`: rows others hold are left out.
    PessimisticPartialWrite,
    /// `FOR UPDATE NOWAIT`: fail at once if a row is held.
    PessimisticWriteOrFail,
    /// `FOR SHARE SKIP LOCKED`.
    PessimisticPartialRead,
    /// `FOR SHARE NOWAIT`.
    PessimisticReadOrFail,
}

/// What a pessimistic lock waits for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LockWait {
    /// Wait for the rows.
    Wait,
    /// Skip rows held by others.
    SkipLocked,
    /// Fail at once.
    NoWait,
}

impl LockMode {
    /// Whether the mode takes row locks.
    pub fn is_pessimistic(self) -> bool {
        !matches!(self, LockMode::None | LockMode::Optimistic)
    }

    /// Whether the lock is exclusive (`FOR UPDATE`) rather than shared.
    pub fn is_exclusive(self) -> bool {
        matches!(
            self,
            LockMode::PessimisticWrite
                | LockMode::PessimisticPartialWrite
                | LockMode::PessimisticWriteOrFail
        )
    }

    /// What the lock does about rows held by others.
    pub fn wait(self) -> LockWait {
        match self {
            LockMode::PessimisticPartialWrite | LockMode::PessimisticPartialRead => {
                LockWait::SkipLocked
            }
            LockMode::PessimisticWriteOrFail | LockMode::PessimisticReadOrFail => LockWait::NoWait,
            _ => LockWait::Wait,
        }
    }

    /// The variant's name, for messages.
    pub fn name(self) -> &'static str {
        match self {
            LockMode::None => "None",
            LockMode::Optimistic => "Optimistic",
            LockMode::PessimisticRead => "PessimisticRead",
            LockMode::PessimisticWrite => "PessimisticWrite",
            LockMode::PessimisticPartialWrite => "PessimisticPartialWrite",
            LockMode::PessimisticWriteOrFail => "PessimisticWriteOrFail",
            LockMode::PessimisticPartialRead => "PessimisticPartialRead",
            LockMode::PessimisticReadOrFail => "PessimisticReadOrFail",
        }
    }
}
