//! Migration files and Rust migrations.
//!
//! Layout: one directory per migration under a migrations directory, named
//! `<YYYYMMDDHHMMSS>_<label>` (a UTC timestamp, so names sort in the order they were
//! written), holding `up.sql` and, if the migration can be reverted, `down.sql`:
//!
//! ```text
//! migrations/
//!   20261207120000_add_users/
//!     up.sql
//!     down.sql
//!   20261208093000_add_user_email_index/
//!     up.sql
//! ```
//!
//! Policy:
//! - **Plain SQL files**, easy to review in a pull request; each is split into statements
//!   ([`split`]) when it is read, so a malformed file is refused ([`Error::Malformed`],
//!   naming it) before anything runs.
//! - **Rust migrations** ([`RustMigration`]) for data changes, run on the migration's
//!   transaction ([`MigrationContext`]), ordered with the SQL ones by name.
//! - **A set** ([`Migrations`]) gathers them from a directory, from the binary
//!   ([`embed_migrations!`](crate::embed_migrations)) and from Rust, sorted by name.
//! - **Checksums** ([`checksum`]) catch an applied migration whose file changed.
//! - [`write()`] creates a new migration directory (`coherent migration generate`).
//!
//! [`Error::Malformed`]: crate::Error::Malformed

pub mod checksum;
pub mod context;
mod definition;
pub mod dir;
mod embedded;
pub mod name;
mod rust;
mod set;
pub mod split;
mod sql_file;
pub mod timestamp;
mod write;

pub use context::MigrationContext;
pub(crate) use definition::Kind;
pub use definition::Migration;
pub use embedded::Embedded;
pub use rust::RustMigration;
pub use set::Migrations;
pub use sql_file::SqlFile;
pub use write::{write, write_at};
