//! [`TxState`]: what the driver knows about the transaction open on a connection.
//!
//! Policy: the ORM opens and ends transactions with plain SQL (`BEGIN ..`, `SAVEPOINT trxN`,
//! `COMMIT`); the driver recognises those statements and keeps track, because sqlx's own
//! depth counter only sees transactions opened through sqlx. After an error that aborts the
//! transaction (any error on PostgreSQL, a deadlock on MySQL) every statement but a rollback
//! is refused with [`coherent_core::Error::TransactionAborted`], and a COMMIT becomes a
//! ROLLBACK that reports the same error: nothing runs outside the transaction the caller
//! believes it is in, and an aborted transaction never reports a successful commit.

/// A transaction-control statement, recognised by its leading keywords.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TxControl {
    /// `BEGIN ..` or `START TRANSACTION`.
    Begin,
    /// `COMMIT`.
    Commit,
    /// `ROLLBACK` (the whole transaction).
    Rollback,
    /// `ROLLBACK TO [SAVEPOINT] ..`.
    RollbackTo,
    /// Anything else.
    Other,
}

impl TxControl {
    /// Classifies `sql` by its leading keywords.
    ///
    /// ```
    /// use coherent_sqlx::tx_state::TxControl;
    /// assert_eq!(TxControl::of("BEGIN ISOLATION LEVEL SERIALIZABLE"), TxControl::Begin);
    /// assert_eq!(TxControl::of("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"), TxControl::Begin);
    /// assert_eq!(TxControl::of("START TRANSACTION"), TxControl::Begin);
    /// assert_eq!(TxControl::of("ROLLBACK TO SAVEPOINT trx1"), TxControl::RollbackTo);
    /// assert_eq!(TxControl::of("ROLLBACK"), TxControl::Rollback);
    /// assert_eq!(TxControl::of("SELECT 1"), TxControl::Other);
    /// ```
    pub fn of(sql: &str) -> TxControl {
        let sql = sql.trim();
        if sql.len() > MAX_CONTROL_LEN {
            // Control statements are short; a long statement is never one.
            return TxControl::Other;
        }
        let upper = sql.to_ascii_uppercase();
        let mut words = upper.split_ascii_whitespace();
        match (words.next(), words.next()) {
            (Some("BEGIN"), _) | (Some("START"), Some("TRANSACTION")) => TxControl::Begin,
            (Some("COMMIT"), None) => TxControl::Commit,
            (Some("ROLLBACK"), None) => TxControl::Rollback,
            (Some("ROLLBACK"), Some("TO")) => TxControl::RollbackTo,
            _ => TxControl::Other,
        }
    }
}

/// The longest control statement the ORM renders (`BEGIN ISOLATION LEVEL REPEATABLE READ
/// READ ONLY`, `ROLLBACK TO SAVEPOINT trxN`) with room to spare.
const MAX_CONTROL_LEN: usize = 80;

/// The transaction state of one connection.
#[derive(Debug, Default, Clone)]
pub struct TxState {
    /// A transaction is open (the driver saw its BEGIN and no end yet).
    pub open: bool,
    /// The error that aborted the open transaction, if any.
    pub aborted: Option<String>,
    /// What names the open transaction after its connection is lost, where the backend
    /// learnt it ([`crate::backend::Backend::open_tracked`]).
    pub token: Option<crate::backend::TxToken>,
}

impl TxState {
    /// Records that a control statement succeeded.
    pub fn after(&mut self, control: TxControl) {
        match control {
            TxControl::Begin => {
                self.open = true;
                self.aborted = None;
                self.token = None;
            }
            TxControl::Commit | TxControl::Rollback => {
                self.open = false;
                self.aborted = None;
                self.token = None;
            }
            // Rolling back to a savepoint made after the error repairs the transaction; one
            // made before it could not have been made.
            TxControl::RollbackTo => self.aborted = None,
            TxControl::Other => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn state_follows_control_statements() {
        let mut s = TxState::default();
        s.after(TxControl::of("BEGIN"));
        assert!(s.open);
        s.aborted = Some("boom".into());
        s.after(TxControl::of("ROLLBACK TO SAVEPOINT trx1"));
        assert!(s.open && s.aborted.is_none());
        s.after(TxControl::of("COMMIT"));
        assert!(!s.open);
    }

    #[test]
    fn statements_are_classified_by_whole_keywords() {
        assert_eq!(TxControl::of("BEGIN"), TxControl::Begin);
        assert_eq!(TxControl::of("BEGIN READ ONLY"), TxControl::Begin);
        assert_eq!(
            TxControl::of("BEGIN ISOLATION LEVEL READ COMMITTED"),
            TxControl::Begin
        );
        assert_eq!(
            TxControl::of("ROLLBACK TO SAVEPOINT trx12"),
            TxControl::RollbackTo
        );
        assert_eq!(TxControl::of("COMMIT"), TxControl::Commit);
        assert_eq!(TxControl::of("COMMITTED_ROWS"), TxControl::Other);
        assert_eq!(TxControl::of("START"), TxControl::Other);
        assert_eq!(TxControl::of("SAVEPOINT trx1"), TxControl::Other);
    }

    #[test]
    fn long_statements_are_not_control() {
        assert_eq!(
            TxControl::of("BEGIN_TABLE_NAME_THAT_IS_LONG = 1; SELECT"),
            TxControl::Other
        );
        assert_eq!(TxControl::of("commit"), TxControl::Commit);
    }
}
