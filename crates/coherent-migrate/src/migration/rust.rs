//! [`RustMigration`]: a migration written in Rust, for data changes SQL cannot express well
//! (a backfill that computes values, a split of one column into two).
//!
//! Policy: a Rust migration is a migration like the SQL ones: named
//! `<timestamp>_<label>`, ordered with them by name, applied once, recorded in the history
//! table in the same transaction as its work. Its `up` and `down` run on the migration's
//! transaction ([`MigrationContext`]): an error rolls back everything they did (on MariaDB,
//! everything since the last DDL statement, which commits implicitly). Its checksum covers
//! its name ([`checksum::of_rust`](crate::migration::checksum::of_rust)).

use crate::migration::MigrationContext;
use coherent_core::{BoxFuture, Result};

/// A migration written in Rust. `up` and `down` return boxed futures (the trait is used as
/// `dyn RustMigration`): wrap the body in `Box::pin(async move { .. })`.
///
/// ```
/// use coherent_core::BoxFuture;
/// use coherent_migrate::migration::{MigrationContext, Migrations, RustMigration};
///
/// struct LowercaseEmails;
///
/// impl RustMigration for LowercaseEmails {
///     fn name(&self) -> &str {
///         "20260102000000_lowercase_emails"
///     }
///
///     fn up<'a>(&'a self, tx: &'a mut MigrationContext<'_>) -> BoxFuture<'a, coherent_core::Result<()>> {
///         Box::pin(async move {
///             tx.execute("UPDATE users SET email = LOWER(email)", vec![]).await?;
///             Ok(())
///         })
///     }
///
///     fn down<'a>(&'a self, _tx: &'a mut MigrationContext<'_>) -> BoxFuture<'a, coherent_core::Result<()>> {
///         Box::pin(async { Ok(()) }) // the old spelling is gone: nothing to undo
///     }
/// }
///
/// let migrations = Migrations::new().rust(LowercaseEmails)?;
/// assert_eq!(migrations.names().collect::<Vec<_>>(), ["20260102000000_lowercase_emails"]);
/// # Ok::<(), coherent_migrate::Error>(())
/// ```
pub trait RustMigration: Send + Sync + 'static {
    /// The migration's name, `<timestamp>_<label>` (`20260102000000_lowercase_emails`).
    fn name(&self) -> &str;

    /// Applies the migration on its transaction.
    fn up<'a>(&'a self, tx: &'a mut MigrationContext<'_>) -> BoxFuture<'a, Result<()>>;

    /// Reverts the migration on its transaction.
    fn down<'a>(&'a self, tx: &'a mut MigrationContext<'_>) -> BoxFuture<'a, Result<()>>;

    /// What errors name as the migration's "file": the implementing type's path.
    fn source(&self) -> &'static str {
        std::any::type_name::<Self>()
    }
}
