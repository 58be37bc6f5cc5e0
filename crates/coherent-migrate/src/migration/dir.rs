//! Reading a migrations directory: one subdirectory per migration,
//! `<timestamp>_<label>/up.sql` and an optional `down.sql`.
//!
//! Policy: plain files beside the migration directories (a README, a schema snapshot) and
//! hidden entries are left alone; a subdirectory is a migration, so a malformed name, a
//! missing `up.sql` or an `.sql` file other than `up.sql` and `down.sql` (a misspelt
//! `donw.sql`) is [`Error::Malformed`] naming its path. Every file is read and split when
//! the directory is read, so a malformed one is refused before anything runs.

use crate::error::{Error, Result};
use crate::migration::{Migration, name};
use std::path::{Path, PathBuf};

/// The file that applies a migration.
pub const UP: &str = "up.sql";
/// The file that reverts a migration.
pub const DOWN: &str = "down.sql";

/// The migrations in `dir`, in the order the directory lists them (see the module docs).
pub fn read(dir: &Path) -> Result<Vec<Migration>> {
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| Error::Io { path, source }
    };
    let mut migrations = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(io(dir))? {
        let entry = entry.map_err(io(dir))?;
        let path = entry.path();
        let hidden = entry.file_name().to_string_lossy().starts_with('.');
        if hidden || !entry.file_type().map_err(io(&path))?.is_dir() {
            continue;
        }
        migrations.push(read_one(&path)?);
    }
    Ok(migrations)
}

/// The migration in the directory `path`.
fn read_one(path: &Path) -> Result<Migration> {
    let malformed = |path: PathBuf, reason: String| Error::Malformed { path, reason };
    let dir_name = path
        .file_name()
        .and_then(|n| n.to_str())
        .ok_or_else(|| malformed(path.into(), "the directory name is not UTF-8".into()))?;
    name::check(dir_name).map_err(|reason| malformed(path.into(), reason))?;
    let read = |file: &str| -> Result<Option<String>> {
        let file = path.join(file);
        match std::fs::read_to_string(&file) {
            Ok(text) => Ok(Some(text)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(source) => Err(Error::Io { path: file, source }),
        }
    };
    for entry in std::fs::read_dir(path).map_err(|source| Error::Io {
        path: path.into(),
        source,
    })? {
        let entry = entry.map_err(|source| Error::Io {
            path: path.into(),
            source,
        })?;
        let file = entry.file_name();
        let file = file.to_string_lossy();
        if file.ends_with(".sql") && file != UP && file != DOWN {
            return Err(malformed(
                entry.path(),
                format!("unexpected file {file} (a migration has {UP} and optionally {DOWN})"),
            ));
        }
    }
    let up =
        read(UP)?.ok_or_else(|| malformed(path.into(), format!("the migration has no {UP}")))?;
    let display = |file: &str| path.join(file).display().to_string();
    let migration = Migration::sql(dir_name, &display(UP), &up)?;
    match read(DOWN)? {
        Some(down) => migration.with_down(&display(DOWN), &down),
        None => Ok(migration),
    }
}
