//! The checksum of a migration: SHA-256, as 64 lowercase hex digits.
//!
//! Policy: an SQL migration's checksum covers its `up.sql`, the SQL that made the schema what
//! it is, with `\r\n` read as `\n` (a checkout on Windows does not change it); `down.sql` is
//! not part of it, so a broken `down.sql` of an applied migration can still be fixed. A Rust
//! migration's checksum covers its name (its code cannot be hashed). The history table keeps
//! the checksum each migration was applied with; a different one later is
//! [`Error::ChecksumMismatch`](crate::Error::ChecksumMismatch).

use sha2::{Digest, Sha256};

/// The checksum of an `up.sql`'s text.
///
/// ```
/// use coherent_migrate::migration::checksum::of_sql;
/// assert_eq!(of_sql("SELECT 1;\n"), of_sql("SELECT 1;\r\n"));
/// assert_ne!(of_sql("SELECT 1;"), of_sql("SELECT 2;"));
/// assert_eq!(of_sql("").len(), 64);
/// ```
pub fn of_sql(text: &str) -> String {
    hex(&Sha256::digest(text.replace("\r\n", "\n").as_bytes()))
}

/// The checksum of a Rust migration named `name`.
///
/// ```
/// use coherent_migrate::migration::checksum::{of_rust, of_sql};
/// assert_ne!(of_rust("20260101000000_backfill"), of_sql("20260101000000_backfill"));
/// ```
pub fn of_rust(name: &str) -> String {
    hex(&Sha256::digest(format!("rust migration {name}").as_bytes()))
}

fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    bytes.iter().fold(String::with_capacity(64), |mut out, b| {
        let _ = write!(out, "{b:02x}");
        out
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sha256_of_known_text() {
        assert_eq!(
            of_sql("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(
            of_sql(""),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }

    #[test]
    fn line_endings_do_not_count_but_everything_else_does() {
        assert_eq!(of_sql("a\r\nb\r\n"), of_sql("a\nb\n"));
        assert_ne!(of_sql("a\nb"), of_sql("a\n b"));
        assert_ne!(of_sql("a;"), of_sql("a; "));
    }
}
