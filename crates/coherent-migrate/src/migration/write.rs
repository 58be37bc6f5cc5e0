//! Writing a new migration directory (`coherent migration generate`):
//! `<dir>/<YYYYMMDDHHMMSS>_<label>/up.sql` and, for a reversible migration, `down.sql`.
//!
//! Policy: the timestamp is the current UTC time to the second; the SQL is checked (split)
//! before anything is written, so a generated migration always reads back; an existing
//! directory of the same name is never overwritten ([`Error::Io`], `AlreadyExists`); files
//! end with a newline. A directory left half-written by a failed write is removed.

use crate::error::{Error, Result};
use crate::migration::dir::{DOWN, UP};
use crate::migration::timestamp::Utc;
use crate::migration::{SqlFile, name};
use std::path::{Path, PathBuf};
use std::time::SystemTime;

/// Writes a new migration labelled `label` into `dir` (created if missing), timestamped
/// now; returns the new migration's directory.
///
/// ```
/// use coherent_migrate::migration::{Migrations, write};
/// let dir = std::env::temp_dir().join(format!("coherent-doc-write-{}", std::process::id()));
/// let path = write(&dir, "add_users", "CREATE TABLE users (id INT);", Some("DROP TABLE users;"))?;
/// assert!(path.join("up.sql").exists() && path.join("down.sql").exists());
/// assert_eq!(Migrations::from_dir(&dir)?.len(), 1);
/// # std::fs::remove_dir_all(&dir).unwrap();
/// # Ok::<(), coherent_migrate::Error>(())
/// ```
pub fn write(
    dir: impl AsRef<Path>,
    label: &str,
    up_sql: &str,
    down_sql: Option<&str>,
) -> Result<PathBuf> {
    write_at(dir, label, up_sql, down_sql, SystemTime::now())
}

/// [`write()`], timestamped `time` instead of now.
pub fn write_at(
    dir: impl AsRef<Path>,
    label: &str,
    up_sql: &str,
    down_sql: Option<&str>,
    time: SystemTime,
) -> Result<PathBuf> {
    let dir = dir.as_ref();
    let name = format!("{}_{label}", Utc::of(time).compact());
    let path = dir.join(&name);
    name::check_label(label).map_err(|reason| Error::Malformed {
        path: path.clone(),
        reason,
    })?;
    SqlFile::parse(path.join(UP).display().to_string(), up_sql)?;
    if let Some(down) = down_sql {
        SqlFile::parse(path.join(DOWN).display().to_string(), down)?;
    }
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| Error::Io { path, source }
    };
    std::fs::create_dir_all(dir).map_err(io(dir))?;
    std::fs::create_dir(&path).map_err(io(&path))?;
    let files = [(UP, Some(up_sql)), (DOWN, down_sql)];
    for (file, text) in files {
        let Some(text) = text else { continue };
        let file = path.join(file);
        let mut text = text.to_owned();
        if !text.ends_with('\n') {
            text.push('\n');
        }
        if let Err(e) = std::fs::write(&file, text) {
            let _ = std::fs::remove_dir_all(&path);
            return Err(io(&file)(e));
        }
    }
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::migration::Migrations;
    use std::time::{Duration, UNIX_EPOCH};

    fn temp(tag: &str) -> PathBuf {
        std::env::temp_dir().join(format!("coherent-write-{tag}-{}", std::process::id()))
    }

    #[test]
    fn writes_a_directory_that_reads_back() {
        let dir = temp("back");
        let at = UNIX_EPOCH + Duration::from_secs(1_796_644_800);
        let path = write_at(&dir, "add_users", "CREATE TABLE u (id INT);", None, at).unwrap();
        assert_eq!(path, dir.join("20261207120000_add_users"));
        assert_eq!(
            std::fs::read_to_string(path.join("up.sql")).unwrap(),
            "CREATE TABLE u (id INT);\n"
        );
        assert!(!path.join("down.sql").exists());
        let set = Migrations::from_dir(&dir).unwrap();
        let m = set.get("20261207120000_add_users").unwrap();
        assert!(!m.is_reversible());
        // The same name again is refused, and nothing is overwritten.
        let again = write_at(&dir, "add_users", "SELECT 1;", None, at).unwrap_err();
        assert!(
            matches!(&again, Error::Io { source, .. } if source.kind() == std::io::ErrorKind::AlreadyExists),
            "{again}"
        );
        assert!(
            std::fs::read_to_string(path.join("up.sql"))
                .unwrap()
                .contains("CREATE")
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn bad_labels_and_sql_write_nothing() {
        let dir = temp("bad");
        let err = write(&dir, "add users", "SELECT 1;", None).unwrap_err();
        assert!(matches!(err, Error::Malformed { .. }), "{err}");
        let err = write(&dir, "x", "SELECT 1;", Some("SELECT 'unterminated")).unwrap_err();
        assert!(
            matches!(&err, Error::Malformed { path, .. } if path.ends_with("down.sql")),
            "{err}"
        );
        assert!(!dir.exists());
    }
}
